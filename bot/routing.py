"""The FastAPI glue every feature's routes share: the running service, the API token, and
running a use case off the event loop.

Routes live in their feature packages, which never import ``bot.app``; each declares a
Protocol of the parts of the running service it uses and takes it with
``Annotated[ItsProtocol, Depends(runtime_of)]``. ``bot.app.runtime.Runtime`` satisfies them all.
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from bot.clock import Clock
from bot.security import bearer_matches
from storage.db import Database


class ServiceCore(Protocol):
    """The parts of the running service nearly every route uses; features' runtime
    Protocols extend it."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...


# Both dependencies are async on purpose: FastAPI runs a plain ``def`` dependency in its
# thread pool, which cost the webhook two thread hops per request.
async def runtime_of(request: Request) -> Any:
    """The running service, built in the app's lifespan."""
    return request.app.state.runtime


async def require_api_token(request: Request) -> None:
    """Refuse an unauthenticated request. When the runtime has a people directory
    (``identity_from_headers(headers) -> Identity | None``), the caller's identity is
    kept in ``request.state.identity`` for the route."""
    runtime = request.app.state.runtime
    people = getattr(runtime, "people", None)
    if people is not None:
        identity = people.identity_from_headers(request.headers)
        request.state.identity = identity
        authenticated = identity is not None
    else:
        authenticated = bearer_matches(
            request.headers.get("authorization"), runtime.settings.api_token
        )
    if not authenticated:
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


ApiAuth = Depends(require_api_token)


async def call_service(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a use case in the thread pool; its refusals (FirelineError) reach the app's
    exception handler, which answers each with its ``http_status``."""
    return await run_in_threadpool(call, *args, **kwargs)
