"""Silence an incident's alerts in Alertmanager from chat, and lift the silences when it
resolves. Silences go through the action catalog, like any other change."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from actions.alertmanager import ExpireSilence, Silence
from actions.context import ActionContext, Endpoints
from actions.durations import format_duration
from actions.engine import execute_step
from actions.gates import StepState
from bot.clock import Clock, utcnow
from bot.errors import ConflictError
from bot.events import EventKind, IncidentSilenced, as_data
from bot.silences.decide import marker
from storage import queries
from storage.db import Database
from storage.tables import Incident


class Silencer:
    def __init__(
        self, http: httpx.AsyncClient, alertmanager_url: str, *, clock: Clock = utcnow
    ) -> None:
        self._http = http
        self._endpoints = Endpoints(alertmanager_url=alertmanager_url)
        self._clock = clock

    def _context(self, incident_id: int) -> ActionContext:
        return ActionContext(
            incident_id=incident_id,
            run_id=0,
            step_id="silence",
            http=self._http,
            endpoints=self._endpoints,
            timeout=20,
        )

    async def silence(
        self, db: Database, incident_id: int, *, by: str, duration: timedelta
    ) -> list[str]:
        """One silence per firing alert, scoped to its exact labels; recorded on the timeline."""
        alerts = await asyncio.to_thread(_firing_labels, db, incident_id)
        if not alerts:
            raise ConflictError("the incident has no firing alerts to silence")
        ids: list[str] = []
        for labels in alerts:
            outcome = await execute_step(
                Silence(),
                {
                    "matchers": labels,
                    "duration": format_duration(duration),
                    "comment": f"{marker(incident_id)}: silenced from chat by {by}",
                },
                self._context(incident_id),
            )
            if outcome.state is not StepState.SUCCEEDED:
                raise ConflictError(f"Alertmanager did not silence: {outcome.summary}")
            ids.append(str(outcome.data["silence_id"]))
        await asyncio.to_thread(_record, db, incident_id, ids, by, duration, self._clock)
        return ids

    async def expire(self, silence_ids: list[str]) -> None:
        for silence_id in silence_ids:
            await execute_step(ExpireSilence(), {"silence_id": silence_id}, self._context(0))


def _firing_labels(db: Database, incident_id: int) -> list[dict[str, str]]:
    with db.session() as session:
        if session.get(Incident, incident_id) is None:
            raise ConflictError(f"incident {incident_id} does not exist")
        return [
            dict(a.labels) for a in queries.alerts_of(session, incident_id) if a.status == "firing"
        ]


def _record(
    db: Database, incident_id: int, ids: list[str], by: str, duration: timedelta, clock: Clock
) -> None:
    with db.write() as session:
        now = clock()
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=EventKind.INCIDENT_SILENCED,
            text=f"Silenced in Alertmanager for {format_duration(duration)} by {by} "
            f"({len(ids)} silence{'s' if len(ids) != 1 else ''}; lifted when it resolves)",
            actor=by,
            at=now,
            recorded_at=now,
            data=as_data(IncidentSilenced(silence_ids=ids, duration=format_duration(duration))),
        )
