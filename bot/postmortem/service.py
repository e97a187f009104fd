"""Load an incident's recorded facts, build the post-mortem data, render the draft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bot.clock import Clock, utcnow
from bot.errors import NotFoundError
from bot.incidents.timeline import zone
from bot.postmortem.facts import build_postmortem
from bot.postmortem.followups import is_overdue
from bot.postmortem.model import AlertInfo, FollowUpInfo, IncidentInfo, PostmortemData
from bot.postmortem.render import render_markdown
from bot.postmortem.sections import current_of
from storage import queries, queries_followups, queries_postmortem, queries_reports
from storage.db import Database
from storage.tables import AlertRecord, Incident
from storage.tables_followups import FollowUp

_AS_JSON = TypeAdapter(PostmortemData)


def incident_info(incident: Incident) -> IncidentInfo:
    assert incident.id is not None
    return IncidentInfo(
        id=incident.id,
        title=incident.title,
        status=incident.status,
        severity=incident.severity,
        service=incident.service,
        signal=incident.signal,
        labels=dict(incident.labels or {}),
        started_at=incident.started_at,
        opened_at=incident.opened_at,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        resolved_at=incident.resolved_at,
        resolved_by=incident.resolved_by,
        reopen_count=incident.reopen_count,
    )


def alert_info(alert: AlertRecord) -> AlertInfo:
    return AlertInfo(
        name=alert.labels.get("alertname", "alert"),
        fingerprint=alert.fingerprint,
        status=alert.status,
        labels=dict(alert.labels),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        summary=(alert.annotations or {}).get("summary", ""),
    )


def followup_info(item: FollowUp, *, now: datetime) -> FollowUpInfo:
    assert item.id is not None
    return FollowUpInfo(
        id=item.id,
        text=item.text,
        status=item.status,
        owner=item.owner,
        created_by=item.created_by,
        created_at=item.created_at,
        done_by=item.done_by,
        done_at=item.done_at,
        due_at=item.due_at,
        link=item.link,
        overdue=is_overdue(item.status, item.due_at, now=now),
    )


@dataclass(frozen=True)
class DraftOptions:
    """How drafts are shown: the reader's time zone and an optional Jinja2 template."""

    display_timezone: str = "UTC"
    template: Path | None = None


def postmortem_data(
    db: Database, incident_id: int, options: DraftOptions, *, clock: Clock = utcnow
) -> PostmortemData:
    """The facts behind the draft, read in one session."""
    with db.session() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        alerts = queries.alerts_of(session, incident_id)
        events = queries_reports.timeline_facts(session, incident_id)
        followups = queries_followups.followups_of(session, incident_id)
        sections = queries_postmortem.section_history(session, incident_id)
    now = clock()
    display = zone(options.display_timezone)
    return build_postmortem(
        incident=incident_info(incident),
        alerts=[alert_info(a) for a in alerts],
        events=events,
        followups=[followup_info(f, now=now) for f in followups],
        sections=current_of(sections),
        display=display,
        display_name=options.display_timezone,
        generated_at=now,
    )


def render_postmortem(
    db: Database, incident_id: int, options: DraftOptions, *, clock: Clock = utcnow
) -> str:
    """The Markdown draft for one incident (raises NotFoundError for an unknown id)."""
    data = postmortem_data(db, incident_id, options, clock=clock)
    return render_markdown(data, display=zone(options.display_timezone), template=options.template)


def postmortem_json(data: PostmortemData) -> dict[str, Any]:
    dumped: dict[str, Any] = _AS_JSON.dump_python(data, mode="json")
    return dumped
