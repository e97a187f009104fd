"""The FastAPI glue every feature's routes share: the running service, the API token, and
running a use case off the event loop.

Routes live in their feature packages, which never import ``bot.app``; each declares a
Protocol of the parts of the running service it uses and takes it with
``Annotated[ItsProtocol, Depends(runtime_of)]``. ``bot.app.runtime.Runtime`` satisfies them all.

Protected routes are declared on a ``protected_router``: its routes check the request's
credentials before FastAPI reads or parses the body (a dependency would run only after
the body was parsed, so an unauthenticated request would learn the parser's errors).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from bot.clock import Clock
from bot.security import bearer_matches
from storage.db import Database

MAX_ID = 2**31 - 1
"""The largest id a table holds: ids are ``INTEGER`` columns, 32 bits on PostgreSQL."""

MAX_OFFSET = 2**63 - 1
"""The largest ``OFFSET`` the databases take (a signed 64-bit integer)."""

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A path id. A larger one cannot name a row and would overflow the driver: 422, not 500."""

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


class ServiceCore(Protocol):
    """The parts of the running service nearly every route uses; features' runtime
    Protocols extend it."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...


# Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, which cost
# the webhook two thread hops per request.
async def runtime_of(request: Request) -> Any:
    """The running service, built in the app's lifespan."""
    return request.app.state.runtime


def authenticated(request: Request) -> bool:
    """The one answer to "may this API request go on?", from its headers alone (the body
    is not read). With a people directory the caller's identity (named token, shared
    token, or the local admin) is kept in ``request.state.identity`` for the route;
    without one, the shared ``FIRELINE_API_TOKEN`` (none configured: every request)."""
    runtime = request.app.state.runtime
    people = getattr(runtime, "people", None)
    if people is not None:
        identity = people.identity_from_headers(request.headers)
        request.state.identity = identity
        return identity is not None
    return bearer_matches(request.headers.get("authorization"), runtime.settings.api_token)


UNAUTHORIZED_DETAIL = "missing or wrong bearer token (FIRELINE_API_TOKEN)"


def unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": UNAUTHORIZED_DETAIL},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


class AuthenticatedRoute(APIRoute):
    """A route that refuses an unauthenticated request before its body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            if not authenticated(request):
                return unauthorized()
            return await handler(request)

        return guarded


class Problem(BaseModel):
    """The body of every refusal: a sentence, or for a rejected request the fields named."""

    detail: str | list[dict[str, Any]]


REFUSALS = {
    401: "Missing or wrong bearer token",
    403: "The actor may not do this",
    404: "No such thing",
    409: "Does not fit the current state",
    413: "The body is larger than FIRELINE_MAX_BODY_BYTES",
    422: "The request or its content is refused; the problem named",
    503: "The database is unavailable; retry later",
}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for the OpenAPI document: each status with the ``{"detail": ...}`` body."""
    return {s: {"model": Problem, "description": REFUSALS[s]} for s in statuses}


API_REFUSALS = refusals(401, 422, 503)
"""What every route behind the API token can answer besides its own refusals."""


def protected_router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` whose every route needs the API's credentials (checked before the
    body is read) and documents what every such route can answer."""
    responses = dict(API_REFUSALS)
    responses.update(kwargs.pop("responses", {}))
    return APIRouter(route_class=AuthenticatedRoute, responses=responses, **kwargs)


async def call_service(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a use case in the thread pool; its refusals (FirelineError) reach the app's
    exception handler, which answers each with its ``http_status``."""
    return await run_in_threadpool(call, *args, **kwargs)
