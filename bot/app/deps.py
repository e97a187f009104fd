"""FastAPI dependencies: the runtime and the API token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from bot.app.runtime import Runtime
from bot.errors import ConflictError, NotFoundError, PermissionDeniedError
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


async def call_service(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a use case in the thread pool and turn its refusals into HTTP answers."""
    try:
        return await run_in_threadpool(call, *args, **kwargs)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except PermissionDeniedError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    except ConflictError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
