"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bot.app.runtime import Runtime
from bot.routing import refusals, runtime_of
from storage import migrate
from storage.errors import SQLAlchemyError

RuntimeDep = Annotated[Runtime, Depends(runtime_of)]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=refusals(503))
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    def check() -> tuple[bool, str]:
        try:
            runtime.db.ping()
            current = migrate.current_revisions(runtime.db)
        except SQLAlchemyError as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        head = migrate.head_revisions()
        if current != head:
            missing = ", ".join(sorted(head - current))
            return False, f"database schema lacks {missing}: run fireline db upgrade"
        return True, "ok"

    ready, detail = await run_in_threadpool(check)
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "detail": detail},
        status_code=200 if ready else 503,
    )
