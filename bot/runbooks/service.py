"""Choosing an incident's runbook when triage opens it, inside triage's transaction.

Triage calls the ``RunbookSelector`` hook; this module's ``LibrarySelector`` asks the
pure selection for an answer, resolves the typed parameters, records ``runbook.selected``,
``runbook.tie`` or ``runbook.none`` on the timeline, and sets the incident's runbook id
and content hash. No match is a timeline event, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from bot.events import EventKind
from bot.runbooks.model import Runbook
from bot.runbooks.params import ParamResolution, resolve_params
from bot.runbooks.selection import RunbookIndex, Selection, select_runbook
from storage import queries
from storage.tables import Incident

ACTOR = "fireline"


class RunPlanner(Protocol):
    """Creates the automation run of a chosen runbook (``bot.automation`` provides it)."""

    def __call__(
        self,
        session: Session,
        incident: Incident,
        runbook: Runbook,
        resolution: ParamResolution,
        *,
        fingerprint: str,
        starts_at: datetime,
        now: datetime,
    ) -> object: ...


class RunbookSelector(Protocol):
    def on_incident_opened(
        self,
        session: Session,
        incident: Incident,
        *,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        at: datetime,
        now: datetime,
        fingerprint: str = "",
        starts_at: datetime | None = None,
        deploy: Mapping[str, str] | None = None,
    ) -> Selection:
        """Choose and record the runbook of an incident that has just been opened;
        ``deploy`` is what its parameters may take from the deploy that preceded it."""
        ...


class LibrarySelector:
    """Selects from whatever library snapshot is current when the incident opens."""

    def __init__(
        self, index: Callable[[], RunbookIndex], *, planner: RunPlanner | None = None
    ) -> None:
        self._index = index
        self._planner = planner

    def on_incident_opened(
        self,
        session: Session,
        incident: Incident,
        *,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        at: datetime,
        now: datetime,
        fingerprint: str = "",
        starts_at: datetime | None = None,
        deploy: Mapping[str, str] | None = None,
    ) -> Selection:
        assert incident.id is not None
        selection = select_runbook(self._index(), labels, annotations)
        chosen = selection.chosen
        if chosen is not None:
            resolution = resolve_params(
                chosen.params, labels=labels, annotations=annotations, deploy=deploy or {}
            )
            incident.runbook_id = chosen.id
            incident.runbook_hash = chosen.hash
            session.add(incident)
            _record_selected(session, incident.id, chosen, selection, resolution, at=at, now=now)
            if self._planner is not None:
                self._planner(
                    session,
                    incident,
                    chosen,
                    resolution,
                    fingerprint=fingerprint,
                    starts_at=starts_at or at,
                    now=now,
                )
        elif selection.tie:
            _record_tie(session, incident.id, selection, at=at, now=now)
        else:
            _record_none(session, incident.id, selection, at=at, now=now)
        return selection


def _record_selected(
    session: Session,
    incident_id: int,
    chosen: Runbook,
    selection: Selection,
    resolution: ParamResolution,
    *,
    at: datetime,
    now: datetime,
) -> None:
    text = f"Runbook {chosen.id} ({chosen.title}): {selection.reason}"
    if resolution.errors:
        bad = "; ".join(f"{k}: {v}" for k, v in sorted(resolution.errors.items()))
        text += f". Parameters refused: {bad}"
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=EventKind.RUNBOOK_SELECTED,
        text=text,
        actor=ACTOR,
        at=at,
        recorded_at=now,
        data={
            "runbook_id": chosen.id,
            "runbook_hash": chosen.hash,
            "title": chosen.title,
            "file": chosen.file,
            "reason": selection.reason,
            "params": resolution.as_json(),
            "param_errors": resolution.errors,
        },
    )


def _record_tie(
    session: Session, incident_id: int, selection: Selection, *, at: datetime, now: datetime
) -> None:
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=EventKind.RUNBOOK_TIE,
        text=f"No runbook chosen: {selection.reason}",
        actor=ACTOR,
        at=at,
        recorded_at=now,
        data={
            "candidates": [
                {"runbook_id": r.id, "priority": r.priority, "runbook_hash": r.hash}
                for r in selection.candidates
                if r.id in selection.tie
            ],
            "chosen": None,
            "reason": selection.reason,
        },
    )


def _record_none(
    session: Session, incident_id: int, selection: Selection, *, at: datetime, now: datetime
) -> None:
    """Record that no runbook matched, naming up to three near misses and what they failed."""
    misses = [m.as_dict() for m in selection.near_misses]
    text = f"No runbook: {selection.reason}"
    if misses:
        text += "; near misses: " + "; ".join(
            f"{m['runbook_id']} (failed {', '.join(m['failed'])})" for m in misses[:3]
        )
    queries.add_event(
        session,
        incident_id=incident_id,
        kind=EventKind.RUNBOOK_NONE,
        text=text,
        actor=ACTOR,
        at=at,
        recorded_at=now,
        data={"near_misses": misses, "reason": selection.reason},
    )
