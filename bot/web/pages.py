"""Rendering a console page: one Jinja2 environment, autoescaped, with the signed-in
person's permissions, the session's CSRF token and its flash message."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.clock import Clock
from bot.errors import FirelineError
from bot.incidents.timeline import format_delta, format_seconds, format_time
from bot.people.decide import may
from bot.people.model import Action, Identity
from bot.web.session import WebRuntime, change_session, flash, session_of

TEMPLATES = Path(__file__).with_name("templates")


def _ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "—"
    delta = now - at
    if delta < timedelta(0):
        return "in " + format_delta(-delta)
    return format_delta(delta) + " ago"


def _duration(value: timedelta | float | None) -> str:
    if isinstance(value, timedelta):
        return format_delta(value)
    return format_seconds(value)


@cache
def environment() -> Environment:
    """Every console template: autoescaped whatever its name, undefined names fail."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda at: "—" if at is None else format_time(at) + " UTC"
    env.filters["iso"] = lambda at: "" if at is None else at.isoformat()
    env.filters["duration"] = _duration
    return env


def _commit_session(request: Request, response: Response) -> None:
    if getattr(request.state, "session_changed", False):
        runtime: WebRuntime = request.app.state.runtime
        runtime.sessions.write(request, response, session_of(request))


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """``template`` rendered with ``context`` and what every page has: ``me`` (the
    signed-in identity or None), ``can(action)``, ``csrf``, ``flash`` (shown once),
    ``now`` and ``request``."""
    session = session_of(request)
    if session.flash is not None:
        change_session(request, replace(session, flash=None))
    me: Identity | None = getattr(request.state, "identity", None)
    clock: Clock = request.app.state.runtime.clock
    now = clock()

    def can(action: Action) -> bool:
        return me is not None and may(me.role, action)

    values: dict[str, Any] = {
        "request": request,
        "me": me,
        "can": can,
        "Action": Action,
        "csrf": session.csrf,
        "flash": session.flash,
        "now": now,
        "ago": lambda at: _ago(at, now),
    }
    values.update(context or {})
    body = environment().get_template(template).render(values)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    _commit_session(request, response)
    return response


def see_other(request: Request, url: str) -> Response:
    """Back to a page after a form: 303, so a reload does not post again."""
    response = RedirectResponse(url, status_code=303)
    _commit_session(request, response)
    return response


async def attempt(
    request: Request, work: Awaitable[object], *, done: str, back_to: str
) -> Response:
    """Run a person's action and go back to the page, flashing what happened: ``done``,
    or the refusal's own sentence (a 403 from the role table, a 409 from the state)."""
    try:
        await work
    except FirelineError as exc:
        flash(request, str(exc))
    else:
        flash(request, done)
    return see_other(request, back_to)
