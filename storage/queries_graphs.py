"""SQL for an incident's graphs."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.errors import IntegrityError
from storage.tables_graphs import IncidentGraph


def add_graph(session: Session, graph: IncidentGraph) -> IncidentGraph | None:
    """Store a graph; None when its request was stored already (a retried delivery)."""
    try:
        with session.begin_nested():
            session.add(graph)
            session.flush()
    except IntegrityError:
        return None
    return graph


def graphs_of(session: Session, incident_id: int) -> list[IncidentGraph]:
    """The incident's graphs, without their pictures' bytes loaded twice: oldest first."""
    query = (
        select(IncidentGraph)
        .where(IncidentGraph.incident_id == incident_id)
        .order_by(col(IncidentGraph.id))
    )
    return list(session.exec(query))
