"""The status page's use cases: a commander posts a public update; anyone reads the page.

Only what a person wrote as a public update, and the state derived from severities and
the configured components, leaves this module for the public routes: never an alert's
labels, annotations or (unless ``show_titles``) title, nor notes or runbook output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.errors import InvalidInputError, NotFoundError
from bot.events import EventKind, StatusUpdatePosted, as_data
from bot.status.config import StatusConfig
from bot.status.decide import (
    ComponentState,
    ComponentStatus,
    IncidentFacts,
    Phase,
    affected_components,
    impact,
    page_components,
    public_heading,
    window_start,
)
from storage import queries, queries_status
from storage.db import Database
from storage.tables import Incident
from storage.tables_status import StatusUpdate

MAX_TEXT = 2000


@dataclass(frozen=True)
class PublicUpdate:
    id: int
    incident_id: int
    heading: str
    phase: Phase
    text: str
    at: datetime
    components: tuple[str, ...]


@dataclass(frozen=True)
class PublicIncident:
    id: int
    heading: str
    phase: Phase
    components: tuple[str, ...]
    opened_at: datetime
    updates: tuple[PublicUpdate, ...]
    """Newest first."""


@dataclass(frozen=True)
class StatusPage:
    title: str
    now: datetime
    overall: ComponentState
    components: list[ComponentStatus]
    active: list[PublicIncident]
    history_days: int


def parse_phase(value: str) -> Phase:
    try:
        return Phase(value.strip().lower())
    except ValueError:
        words = ", ".join(p.value for p in Phase)
        raise InvalidInputError(f"a phase is one of {words}, not {value!r}") from None


def post_update(
    db: Database,
    incident_id: int,
    *,
    author: str,
    phase: str,
    text: str,
    components: Sequence[str] = (),
    now: datetime,
    config: StatusConfig | None = None,
) -> StatusUpdate:
    """Publish an update for an incident (what the console, the API, Slack and the CLI
    call), stored with its timeline event in one transaction. ``author`` has been allowed
    ``post_status`` by the caller's adapter, as for every write; with ``config``,
    components must be ones it names."""
    chosen = parse_phase(phase)
    text = text.strip()
    if not text:
        raise InvalidInputError("a public update needs some text")
    if len(text) > MAX_TEXT:
        raise InvalidInputError(f"a public update is at most {MAX_TEXT} characters")
    names = list(dict.fromkeys(c.strip() for c in components if c.strip()))
    if config is not None:
        unknown = [n for n in names if n not in config.component_names()]
        if unknown:
            raise InvalidInputError(f"no such status component: {', '.join(unknown)}")
    with db.write() as session:
        if queries.lock_incident(session, incident_id) is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        update = queries_status.add_update(
            session,
            StatusUpdate(
                incident_id=incident_id,
                phase=chosen.value,
                text=text,
                author=author,
                created_at=now,
                components=names,
            ),
        )
        assert update.id is not None
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=EventKind.STATUS_UPDATE_POSTED,
            text=f"Public update ({chosen.value}): {text}",
            actor=author,
            at=now,
            recorded_at=now,
            data=as_data(
                StatusUpdatePosted(update_id=update.id, phase=chosen.value, components=names)
            ),
        )
        return update


def list_updates(
    db: Database, *, incident_id: int | None = None, limit: int = 50
) -> list[StatusUpdate]:
    """The latest updates, newest first, with their authors (for the API, not the public)."""
    with db.session() as session:
        return queries_status.recent_updates(session, incident_id=incident_id, limit=limit)


def _facts(incident: Incident, updates: Sequence[StatusUpdate]) -> IncidentFacts:
    assert incident.id is not None
    named = frozenset(c for u in updates for c in (u.components or []))
    return IncidentFacts(
        id=incident.id,
        title=incident.title,
        severity=incident.severity,
        service=incident.service,
        labels=dict(incident.labels or {}),
        opened_at=incident.opened_at,
        resolved_at=incident.resolved_at if incident.status == "resolved" else None,
        named_components=named,
    )


def _public(update: StatusUpdate, heading: str) -> PublicUpdate:
    assert update.id is not None
    return PublicUpdate(
        id=update.id,
        incident_id=update.incident_id,
        heading=heading,
        phase=Phase(update.phase),
        text=update.text,
        at=update.created_at,
        components=tuple(update.components or ()),
    )


def status_page(db: Database, config: StatusConfig, *, now: datetime) -> StatusPage:
    """Everything the public page shows: components with their state and history, and the
    open incidents that affect a component or have public updates."""
    with db.session() as session:
        incidents = queries_status.incidents_since(session, window_start(now, config.history_days))
        updates = queries_status.updates_of(session, [i.id for i in incidents if i.id])
    by_incident: dict[int, list[StatusUpdate]] = {}
    for update in updates:
        by_incident.setdefault(update.incident_id, []).append(update)
    facts = [_facts(i, by_incident.get(i.id or 0, [])) for i in incidents]
    components = page_components(config, facts, now=now)
    active = []
    for fact in facts:
        own = by_incident.get(fact.id, [])
        shown = impact(config, fact.severity) is not ComponentState.OPERATIONAL
        names = affected_components(config, fact)
        if not fact.is_open or not (own or (shown and names)):
            continue
        heading = public_heading(config, fact)
        newest = [_public(u, heading) for u in reversed(own)]
        active.append(
            PublicIncident(
                id=fact.id,
                heading=heading,
                phase=newest[0].phase if newest else Phase.INVESTIGATING,
                components=tuple(names),
                opened_at=fact.opened_at,
                updates=tuple(newest),
            )
        )
    worst = max((c.state for c in components), key=lambda s: s.rank, default=None)
    return StatusPage(
        title=config.title,
        now=now,
        overall=worst or ComponentState.OPERATIONAL,
        components=components,
        active=sorted(active, key=lambda i: i.opened_at, reverse=True),
        history_days=config.history_days,
    )


def feed(db: Database, config: StatusConfig, *, limit: int = 50) -> list[PublicUpdate]:
    """The latest public updates, newest first, as the Atom feed shows them."""
    with db.session() as session:
        updates = queries_status.recent_updates(session, limit=limit)
        incidents = queries_status.incidents_by_id(session, {u.incident_id for u in updates})
        all_updates = queries_status.updates_of(session, list(incidents))
    by_incident: dict[int, list[StatusUpdate]] = {}
    for update in all_updates:
        by_incident.setdefault(update.incident_id, []).append(update)
    headings = {
        incident_id: public_heading(config, _facts(incident, by_incident.get(incident_id, [])))
        for incident_id, incident in incidents.items()
    }
    return [_public(u, headings[u.incident_id]) for u in updates]
