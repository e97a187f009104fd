"""Signing in and out, the console's front door, who am I, and the API's own docs page."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.people.decide import MINIMUM_ROLE, may
from bot.people.directory import token_digest
from bot.web.csrf import CsrfChecked
from bot.web.pages import render, see_other
from bot.web.session import Session, SignedIn, WebRuntime, change_session, identity_of, safe_next

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/incidents", status_code=303)


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    if identity_of(request) is not None:
        return see_other(request, safe_next(next))
    return render(request, "login.html.j2", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    _csrf: CsrfChecked,
    token: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    runtime: WebRuntime = request.app.state.runtime
    digest = token_digest(token.strip())
    identity = runtime.people.identity_from_digest(digest) if token.strip() else None
    if identity is None:
        peer = request.client.host if request.client else "?"
        log.warning("console sign-in refused: unknown token, from %s", peer)
        return render(
            request,
            "login.html.j2",
            {"next": safe_next(next), "error": "That token is not known to Fireline."},
            status_code=401,
        )
    # A new session (and CSRF token) at sign-in: a token planted before it is worthless.
    change_session(request, Session.new(digest))
    log.info("console sign-in: %s (%s)", identity.actor, identity.role.value)
    return see_other(request, safe_next(next))


@router.post("/logout")
async def logout(request: Request, _csrf: CsrfChecked) -> Response:
    change_session(request, Session.new())
    return see_other(request, "/login")


@router.get("/me")
async def me(request: Request, who: SignedIn) -> Response:
    allowed = [(action, role, may(who.role, action)) for action, role in MINIMUM_ROLE.items()]
    return render(request, "me.html.j2", {"allowed": allowed})


@router.get("/docs")
async def api_docs(request: Request) -> Response:
    """Swagger UI from Fireline's own files (the framework's page loads a CDN)."""
    return render(request, "docs.html.j2")
