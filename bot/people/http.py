"""The caller of an API route, as ``authenticated`` in ``bot.routing`` found it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from bot.people.model import Identity


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
