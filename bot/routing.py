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
from pydantic import BaseModel

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
    token = request.app.state.runtime.settings.api_token
    if not bearer_matches(request.headers.get("authorization"), token):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token (FIRELINE_API_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


ApiAuth = Depends(require_api_token)


class Problem(BaseModel):
    """The body of every refusal: a sentence, or for a rejected request the fields named."""

    detail: str | list[dict[str, Any]]


REFUSALS = {
    401: "Missing or wrong bearer token",
    403: "The actor may not do this",
    404: "No such thing",
    409: "Does not fit the current state",
    422: "The request or its content is refused; the problem named",
    503: "The database is unavailable; retry later",
}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the OpenAPI document: each status with the ``{"detail": ...}`` body."""
    return {s: {"model": Problem, "description": REFUSALS[s]} for s in statuses}


API_REFUSALS = refusals(401, 422, 503)
"""What every route behind the API token can answer besides its own refusals."""


async def call_service(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a use case in the thread pool; its refusals (FirelineError) reach the app's
    exception handler, which answers each with its ``http_status``."""
    return await run_in_threadpool(call, *args, **kwargs)
