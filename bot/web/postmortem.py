"""The post-mortem in the console: the draft as HTML, the sections people write as forms,
the follow-ups, and the Markdown export. Every write goes through the same services and
role check as the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from bot.people.http import allowed
from bot.people.model import Action
from bot.postmortem import followups, sections
from bot.postmortem.service import render_postmortem
from bot.routing import Id, call_service
from bot.web.csrf import CsrfChecked
from bot.web.markdown import markdown_html
from bot.web.pages import attempt, render
from bot.web.session import SignedIn

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


@router.get("/incidents/{incident_id}/postmortem")
async def postmortem_page(incident_id: Id, request: Request, who: SignedIn) -> Response:
    runtime = _runtime(request)
    draft = await call_service(
        render_postmortem, runtime.db, incident_id, runtime.drafts, clock=runtime.clock
    )
    states = await call_service(sections.section_states, runtime.db, incident_id)
    items = await call_service(followups.followups_of, runtime.db, incident_id)
    now = runtime.clock()
    return render(
        request,
        "postmortem/page.html.j2",
        {
            "incident_id": incident_id,
            # markdown-it escapes every text it is given (html=False): the one HTML here
            # is the markup it writes itself.
            "draft_html": markdown_html(draft),
            "sections": states,
            "followups": [(f, followups.is_overdue(f.status, f.due_at, now=now)) for f in items],
        },
    )


@router.get("/incidents/{incident_id}/postmortem.md")
async def postmortem_markdown(incident_id: Id, request: Request, who: SignedIn) -> Response:
    runtime = _runtime(request)
    text = await call_service(
        render_postmortem, runtime.db, incident_id, runtime.drafts, clock=runtime.clock
    )
    disposition = f'attachment; filename="postmortem-{incident_id}.md"'
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


@router.post("/incidents/{incident_id}/postmortem/sections/{section}")
async def save_section(
    incident_id: Id,
    section: str,
    request: Request,
    who: SignedIn,
    _csrf: CsrfChecked,
    text: Annotated[str, Form(max_length=sections.MAX_TEXT)] = "",
) -> Response:
    runtime = _runtime(request)

    async def work() -> None:
        sections.check_section(section)
        await allowed(runtime, who, Action.EDIT_POSTMORTEM, incident_id=incident_id)
        await call_service(
            sections.save_section,
            runtime.db,
            incident_id,
            section,
            text=text,
            author=who.actor,
            clock=runtime.clock,
        )

    title = sections.SECTIONS.get(section, section)
    return await attempt(
        request,
        work(),
        done=f"{title} saved",
        back_to=f"/incidents/{incident_id}/postmortem#section-{section}",
    )


@router.post("/incidents/{incident_id}/followups/{followup_id}/done")
async def followup_done(
    incident_id: Id, followup_id: Id, request: Request, who: SignedIn, _csrf: CsrfChecked
) -> Response:
    runtime = _runtime(request)

    async def work() -> None:
        await allowed(runtime, who, Action.ADD_NOTE, incident_id=incident_id)
        await call_service(
            followups.mark_done, runtime.db, followup_id, actor=who.actor, clock=runtime.clock
        )

    return await attempt(
        request,
        work(),
        done=f"Follow-up #{followup_id} done",
        back_to=f"/incidents/{incident_id}/postmortem#followups",
    )
