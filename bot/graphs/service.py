"""Graphs in the database: which events ask for one, and storing what was drawn.

A timeline projection ("graphs") turns an incident's opening and the end of its
verification into one ``graph`` outbox row each, carrying everything the picture needs
(the expression, the span, the changes to mark). The transport queries Prometheus and
draws outside any transaction, then ``record`` stores the picture, or why there is none,
with its ``graph.drawn`` or ``graph.failed`` event, in one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.events import EventKind, GraphDrawn, as_data
from bot.graphs.decide import Moment, expression_of, span_of, threshold_of
from bot.outbox import service as outbox
from bot.outbox.projection import EventHandler
from storage import queries, queries_graphs
from storage.db import Database
from storage.tables import Incident, TimelineEvent
from storage.tables_graphs import IncidentGraph

NAME = "graphs"  # the projection's cursor
DESTINATION = "graph"
ACTOR = "fireline"
ASKS: Mapping[str, Moment] = {
    EventKind.INCIDENT_OPENED: Moment.OPEN,
    EventKind.VERIFICATION_PASSED: Moment.VERIFICATION,
    EventKind.VERIFICATION_FAILED: Moment.VERIFICATION,
    EventKind.VERIFICATION_INCONCLUSIVE: Moment.VERIFICATION,
}


def expression_for(session: Session, incident: Incident) -> str | None:
    if found := expression_of(incident.source_url):
        return found
    assert incident.id is not None
    alerts = queries.alerts_of(session, incident.id)
    return next((e for a in alerts if (e := expression_of(a.generator_url))), None)


def request_of(
    session: Session, incident: Incident, moment: Moment, *, until: datetime
) -> dict[str, Any] | None:
    """What the transport needs to draw the incident's graph, or None when its alert
    carries no Prometheus expression."""
    expression = expression_for(session, incident)
    if expression is None or incident.id is None:
        return None
    span = span_of(incident.started_at, until=until)
    correlated = queries.events_of_kind(session, incident.id, EventKind.CHANGE_CORRELATED)
    return {
        "incident_id": incident.id,
        "moment": moment.value,
        "expression": expression,
        "threshold": threshold_of(expression),
        "alert_started": incident.started_at.isoformat(),
        "start": span.start.isoformat(),
        "end": span.end.isoformat(),
        "step": span.step.total_seconds(),
        "changes": [
            {"at": e.at.isoformat(), "label": f"{e.data.get('kind')} {e.data.get('version') or ''}"}
            for e in correlated
            if span.start <= e.at <= span.end
        ],
        "title": f"#{incident.id} {incident.title}: {expression}",
    }


def handler() -> EventHandler:
    def handle(session: Session, event: TimelineEvent, now: datetime) -> None:
        moment = ASKS.get(event.kind)
        if moment is None:
            return
        incident = session.get(Incident, event.incident_id)
        if incident is None or incident.id is None:
            return
        request = request_of(session, incident, moment, until=max(event.at, incident.started_at))
        if request is None:
            return
        outbox.queue(
            session,
            destination=DESTINATION,
            lane=f"{DESTINATION}:incident:{incident.id}",
            kind=moment.value,
            payload=request,
            now=now,
            incident_id=incident.id,
            idempotency_key=f"{NAME}:{event.id}",
        )

    return handle


def record(
    db: Database,
    request: Mapping[str, Any],
    *,
    request_key: str,
    png: bytes | None,
    series: int,
    error: str | None,
    now: datetime,
) -> int | None:
    """Store the picture (or why there is none) and its timeline event; the graph's id, or
    None when this request was recorded already."""
    incident_id = int(request["incident_id"])
    expression = str(request["expression"])
    with db.write() as session:
        stored = queries_graphs.add_graph(
            session,
            IncidentGraph(
                incident_id=incident_id,
                moment=str(request["moment"]),
                expression=expression,
                png=png,
                error=error,
                series=series,
                starts_at=datetime.fromisoformat(str(request["start"])),
                ends_at=datetime.fromisoformat(str(request["end"])),
                created_at=now,
                request_key=request_key,
            ),
        )
        if stored is None or stored.id is None:
            return None
        moment = "at open" if request["moment"] == Moment.OPEN else "after verification"
        data = GraphDrawn(
            graph_id=stored.id, moment=str(request["moment"]), expression=expression, series=series
        )
        if error is None:
            kind, text = EventKind.GRAPH_DRAWN, f"Graph {moment} of {expression} ({series} series)"
        else:
            data["reason"] = error
            kind, text = EventKind.GRAPH_FAILED, f"No graph {moment} of {expression}: {error}"
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=kind,
            text=text,
            actor=ACTOR,
            at=now,
            recorded_at=now,
            data=as_data(data),
        )
        return stored.id


def png_of(db: Database, incident_id: int, graph_id: int) -> bytes | None:
    with db.session() as session:
        graph = session.get(IncidentGraph, graph_id)
        if graph is None or graph.incident_id != incident_id:
            return None
        return graph.png


def graphs_of(db: Database, incident_id: int) -> list[IncidentGraph]:
    """The incident's drawn graphs, oldest first."""
    with db.session() as session:
        return [g for g in queries_graphs.graphs_of(session, incident_id) if g.png is not None]
