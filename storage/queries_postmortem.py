"""Queries on the post-mortem's human sections."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.tables_postmortem import PostmortemSection


def section_history(session: Session, incident_id: int) -> list[PostmortemSection]:
    """Every saved version of every section of one incident, oldest first."""
    query = select(PostmortemSection).where(PostmortemSection.incident_id == incident_id)
    order = (col(PostmortemSection.section), col(PostmortemSection.version))
    return list(session.exec(query.order_by(*order)))


def latest_version(session: Session, incident_id: int, section: str) -> PostmortemSection | None:
    query = (
        select(PostmortemSection)
        .where(PostmortemSection.incident_id == incident_id)
        .where(PostmortemSection.section == section)
        .order_by(col(PostmortemSection.version).desc())
    )
    return session.exec(query).first()
