"""On-call in the console: who is on call now for each schedule, the hand-offs of the
next two weeks, the stored overrides (add, remove) and each schedule's calendar feed.
Writes go through the same services and role check (``edit_schedules``) as the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from bot.errors import InvalidInputError
from bot.escalation.api import person_feed_path, schedule_feed_path
from bot.escalation.config import parse_instant
from bot.escalation.oncall import add_override, overrides_of, remove_override, shifts_of
from bot.people.http import allowed
from bot.people.model import Action
from bot.routing import Id, call_service
from bot.security import feed_key
from bot.web.csrf import CsrfChecked
from bot.web.pages import attempt, render
from bot.web.session import SignedIn

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

WINDOW = timedelta(days=14)


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


def _feed(runtime: Any, path: str) -> str | None:
    secret = runtime.settings.calendar_secret
    return f"{path}?key={feed_key(secret, path)}" if secret is not None else None


@router.get("/oncall")
async def oncall_page(request: Request, who: SignedIn) -> Response:
    runtime = _runtime(request)
    rules = runtime.escalation.rules
    now = runtime.clock()
    schedules = []
    for name in sorted(rules.schedules):
        found = await call_service(shifts_of, runtime.db, rules, name, start=now, span=WINDOW)
        stored = await call_service(overrides_of, runtime.db, rules, name, now=now)
        schedules.append(
            {
                "name": name,
                "now": found[0] if found else None,
                "handoffs": found[1:],
                "overrides": stored,
                "feed": _feed(runtime, schedule_feed_path(name)),
            }
        )
    mine = _feed(runtime, person_feed_path(who.actor))
    return render(request, "oncall/page.html.j2", {"schedules": schedules, "my_feed": mine})


def _instant(value: str, field: str) -> datetime:
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise InvalidInputError(f"{field}: {exc}") from exc


@router.post("/oncall/{name}/overrides")
async def add_override_form(
    name: str,
    request: Request,
    who: SignedIn,
    _csrf: CsrfChecked,
    user: Annotated[str, Form(min_length=1, max_length=200)],
    start: Annotated[str, Form(max_length=64)],
    end: Annotated[str, Form(max_length=64)],
) -> Response:
    runtime = _runtime(request)

    async def work() -> None:
        await allowed(runtime, who, Action.EDIT_SCHEDULES)
        await call_service(
            add_override,
            runtime.db,
            runtime.escalation.rules,
            schedule=name,
            user=user.strip(),
            start=_instant(start, "start"),
            end=_instant(end, "end"),
            actor=who.actor,
            clock=runtime.clock,
        )

    return await attempt(request, work(), done=f"Override for {user} added", back_to="/oncall")


@router.post("/oncall/{name}/overrides/{override_id}/remove")
async def remove_override_form(
    name: str, override_id: Id, request: Request, who: SignedIn, _csrf: CsrfChecked
) -> Response:
    runtime = _runtime(request)

    async def work() -> None:
        await allowed(runtime, who, Action.EDIT_SCHEDULES)
        await call_service(remove_override, runtime.db, override_id, schedule=name)

    return await attempt(request, work(), done=f"Override {override_id} removed", back_to="/oncall")
