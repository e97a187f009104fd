"""Mount the console on the app: static files, every feature's pages, and the answers
to a missing sign-in or CSRF token."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.web import changes, incidents, links, login, oncall, postmortem, reports, runbooks
from bot.web.csrf import CsrfRefused
from bot.web.headers import SecurityHeaders
from bot.web.pages import render
from bot.web.session import SignInNeeded

STATIC = Path(__file__).with_name("static")

PAGES = (
    login.router,
    incidents.router,
    postmortem.router,
    oncall.router,
    changes.router,
    runbooks.router,
    reports.router,
    links.router,
)
"""Every router of console pages, in the order they are matched."""


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    if request.method == "GET" and "hx-request" not in request.headers:
        return RedirectResponse(exc.login_url, status_code=303)
    return render(
        request,
        "error.html.j2",
        {"title": "Sign in needed", "message": "Your session has ended; sign in again."},
        status_code=401,
        headers={"HX-Redirect": exc.login_url},
    )


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return render(
        request,
        "error.html.j2",
        {
            "title": "Form expired",
            "message": "This form was not sent from a current console page; reload the "
            "page and try again.",
        },
        status_code=403,
    )


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in PAGES:
        app.include_router(router)
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_middleware(SecurityHeaders)
