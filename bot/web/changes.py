"""Changes in the console: the deploys, config changes, flag flips and rollbacks recorded,
newest first, filtered by service; each links to the incidents it was attached to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from bot.changes import service
from bot.routing import call_service
from bot.web.pages import render
from bot.web.session import SignedIn

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
SHOWN = 200


@router.get("/changes")
async def changes_page(
    request: Request,
    _who: SignedIn,
    service_name: Annotated[str | None, Query(alias="service", max_length=200)] = None,
) -> Response:
    runtime: Any = request.app.state.runtime
    wanted = service_name or None
    rows = await call_service(service.list_changes, runtime.db, service=wanted, limit=SHOWN)
    attached = await call_service(service.incidents_of_changes, runtime.db, rows)
    return render(
        request,
        "changes/page.html.j2",
        {"changes": rows, "service": wanted or "", "attached": attached, "limit": SHOWN},
    )
