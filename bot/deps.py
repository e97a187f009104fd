"""FastAPI dependencies: the runtime and the API token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from bot.runtime import Runtime
from bot.security import bearer_matches


# Both dependencies are async on purpose: FastAPI runs a plain ``def`` dependency in its
# thread pool, which cost the webhook two thread hops per request.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_api_token(request: Request, runtime: RuntimeDep) -> None:
    if not bearer_matches(request.headers.get("authorization"), runtime.settings.api_token):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token (FIRELINE_API_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


ApiAuth = Depends(require_api_token)
