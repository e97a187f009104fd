"""The post-mortem's human sections: saved with their author, every version kept.

The draft writes the facts; people write these. Saving a section appends a version (the
previous text stays readable in its history) and a ``postmortem.section_saved`` event, in
one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

from bot.clock import Clock, utcnow
from bot.errors import InvalidInputError, NotFoundError
from bot.events import EventKind, PostmortemSectionSaved, as_data
from bot.postmortem.model import SectionVersion
from storage import queries, queries_postmortem
from storage.db import Database
from storage.tables import Incident
from storage.tables_postmortem import PostmortemSection

#: Each section's key (in URLs and JSON) and its heading in the draft, in draft order.
SECTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "summary": "Summary",
        "impact": "Impact",
        "went_well": "What went well",
        "went_badly": "What did not go well",
        "root_cause": "Root cause",
        "lessons": "Lessons",
    }
)

MAX_TEXT = 20_000


@dataclass(frozen=True, slots=True)
class SectionState:
    """A section as it stands: its current text (None: still to write) and every version."""

    section: str
    title: str
    current: SectionVersion | None
    history: tuple[SectionVersion, ...]


def _version(row: PostmortemSection) -> SectionVersion:
    return SectionVersion(row.section, row.version, row.text, row.author, row.saved_at)


def check_section(section: str) -> str:
    if section not in SECTIONS:
        known = ", ".join(SECTIONS)
        raise NotFoundError(f"no post-mortem section {section!r} (sections: {known})")
    return section


def current_of(rows: Sequence[PostmortemSection]) -> dict[str, SectionVersion]:
    """The newest version of each section, left out where it was emptied."""
    newest: dict[str, PostmortemSection] = {}
    for row in rows:
        if row.section not in newest or row.version > newest[row.section].version:
            newest[row.section] = row
    return {key: _version(row) for key, row in newest.items() if row.text}


def section_states(db: Database, incident_id: int) -> list[SectionState]:
    """Every section in draft order, with its history (NotFoundError for an unknown id)."""
    with db.session() as session:
        if session.get(Incident, incident_id) is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        rows = queries_postmortem.section_history(session, incident_id)
    by_section: dict[str, list[SectionVersion]] = {}
    for row in rows:
        by_section.setdefault(row.section, []).append(_version(row))
    states = []
    for key, title in SECTIONS.items():
        history = tuple(by_section.get(key, ()))
        current = history[-1] if history and history[-1].text else None
        states.append(SectionState(key, title, current, history))
    return states


def save_section(
    db: Database,
    incident_id: int,
    section: str,
    *,
    text: str,
    author: str,
    clock: Clock = utcnow,
) -> SectionVersion:
    """Save a new version of one section; saving the current text again changes nothing."""
    check_section(section)
    text = text.strip().replace("\r\n", "\n")
    if len(text) > MAX_TEXT:
        raise InvalidInputError(f"a section holds at most {MAX_TEXT} characters")
    with db.write() as session:
        if queries.lock_incident(session, incident_id) is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        latest = queries_postmortem.latest_version(session, incident_id, section)
        if latest is not None and latest.text == text:
            return _version(latest)
        if latest is None and not text:
            raise InvalidInputError("a new section needs some text")
        now = clock()
        row = PostmortemSection(
            incident_id=incident_id,
            section=section,
            version=(latest.version + 1) if latest else 1,
            text=text,
            author=author,
            saved_at=now,
        )
        session.add(row)
        session.flush()
        title = SECTIONS[section]
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=EventKind.POSTMORTEM_SECTION_SAVED,
            text=f"Post-mortem section {title!r} saved (version {row.version})",
            actor=author,
            at=now,
            recorded_at=now,
            data=as_data(PostmortemSectionSaved(section=section, version=row.version)),
        )
        return _version(row)
