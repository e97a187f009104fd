"""``/a/{token}``: a notification's acknowledge or resolve link, from a phone, signed in or
not. The link is the capability (``bot.people.links``): following it shows a page with one
button and changes nothing, so mail scanners and chat previews that fetch links are
harmless; only the button's POST acts, once, with the person's role checked then. The form
carries no CSRF token: a session is not what authorises it, the signed token is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from bot.errors import FirelineError, PermissionDeniedError
from bot.incidents import links as link_service
from bot.incidents import service as incidents
from bot.people.links import PATH, LinkAction, LinkClaim, LinkRefusedError
from bot.people.service import authorize
from bot.routing import call_service
from bot.web.pages import render

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=10, max_length=500)]

VERBS = {LinkAction.ACKNOWLEDGE: "Acknowledge", LinkAction.RESOLVE: "Resolve"}
DONE = {LinkAction.ACKNOWLEDGE: "Acknowledged", LinkAction.RESOLVE: "Resolved"}


def _problem(request: Request, title: str, exc: Exception, status: int) -> HTMLResponse:
    return render(
        request, "error.html.j2", {"title": title, "message": str(exc)}, status_code=status
    )


def _claim(request: Request, token: str) -> LinkClaim:
    links = request.app.state.runtime.links
    if links is None:
        raise LinkRefusedError("links are not enabled on this Fireline (FIRELINE_LINK_SECRET)")
    claim: LinkClaim = links.read(token)
    return claim


@router.get(f"{PATH}/{{token}}", response_class=HTMLResponse)
async def confirm(request: Request, token: Token) -> HTMLResponse:
    runtime = request.app.state.runtime
    try:
        claim = _claim(request, token)
        if await call_service(link_service.link_spent, runtime.db, claim):
            raise LinkRefusedError("this link was already used")
        detail = await call_service(incidents.get_incident, runtime.db, claim.incident_id)
    except LinkRefusedError as exc:
        return _problem(request, "This link no longer works", exc, 410)
    except FirelineError as exc:
        return _problem(request, "Not found", exc, exc.http_status)
    return render(
        request,
        "link.html.j2",
        {
            "verb": VERBS[claim.action],
            "incident": detail.incident,
            "person": claim.person,
            "action_url": f"{PATH}/{token}",
            "expires": claim.issued_at + runtime.links.lifetime,
        },
    )


@router.post(f"{PATH}/{{token}}", response_class=HTMLResponse)
async def act(request: Request, token: Token) -> HTMLResponse:
    runtime = request.app.state.runtime
    now = runtime.clock()
    try:
        claim = _claim(request, token)
        if runtime.people.person(claim.person) is None:
            raise PermissionDeniedError(f"{claim.person} is no longer in the people directory")
        identity = runtime.people.command_identity(claim.person)
        await call_service(
            authorize,
            runtime.db,
            identity,
            claim.action.permission,
            incident_id=claim.incident_id,
            now=now,
        )
        incident = await call_service(
            link_service.act_on_link, runtime.db, claim, hooks=runtime.hooks, now=now
        )
    except LinkRefusedError as exc:
        return _problem(request, "This link no longer works", exc, 410)
    except PermissionDeniedError as exc:
        return _problem(request, "Not allowed", exc, 403)
    except FirelineError as exc:
        return _problem(request, "Nothing to do", exc, exc.http_status)
    message = f"{DONE[claim.action]} incident #{incident.id} as {claim.person}: {incident.title}"
    return render(request, "error.html.j2", {"title": DONE[claim.action], "message": message})
