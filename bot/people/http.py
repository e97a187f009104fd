"""The caller of an API route, as ``authenticated`` in ``bot.routing`` found it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from bot.people.model import Action, Identity
from bot.people.service import authorize
from bot.routing import ServiceCore, call_service


async def caller(request: Request) -> Identity:
    identity = getattr(request.state, "identity", None)
    if not isinstance(identity, Identity):
        people = getattr(request.app.state.runtime, "people", None)
        identity = people.identity_from_headers(request.headers) if people else None
    if identity is None:
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return identity


Caller = Annotated[Identity, Depends(caller)]


async def allowed(
    runtime: ServiceCore,
    who: Identity,
    action: Action,
    *,
    incident_id: int | None = None,
    claimed: str | None = None,
) -> str:
    """The actor to record, once ``who`` may do ``action`` (else 403, the refusal on the
    incident's timeline); ``claimed`` is the body's actor, taken only where it may be."""
    await call_service(
        authorize, runtime.db, who, action, incident_id=incident_id, now=runtime.clock()
    )
    return who.actor_for(claimed)
