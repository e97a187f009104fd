"""The public status page as HTML, JSON and Atom 1.0, from the page model alone.

Every string reaches the output escaped: the HTML through Jinja2's autoescape, the Atom
feed through ElementTree's serializer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.status.decide import ComponentState
from bot.status.service import PublicUpdate, StatusPage

TEMPLATES = Path(__file__).resolve().parent / "templates"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:fireline:status"

OVERALL = {
    ComponentState.OPERATIONAL: "All systems operational",
    ComponentState.DEGRADED: "Some systems are degraded",
    ComponentState.PARTIAL_OUTAGE: "Partial outage",
    ComponentState.MAJOR_OUTAGE: "Major outage",
}


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def update_id(update: PublicUpdate) -> str:
    """An entry's Atom id: the same for an update wherever and whenever the feed is read."""
    return f"{FEED_ID}:update:{update.id}"


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["when"] = when
_environment.filters["rfc3339"] = rfc3339


def render_html(page: StatusPage) -> str:
    template = _environment.get_template("status.html.j2")
    return template.render(page=page, overall=OVERALL[page.overall])


def _update_json(update: PublicUpdate) -> dict[str, Any]:
    return {
        "id": update.id,
        "phase": update.phase.value,
        "text": update.text,
        "at": rfc3339(update.at),
        "components": list(update.components),
    }


def page_json(page: StatusPage) -> dict[str, Any]:
    return {
        "title": page.title,
        "updated": rfc3339(page.now),
        "status": page.overall.value,
        "components": [
            {
                "name": c.name,
                "description": c.description,
                "state": c.state.value,
                "history": [{"date": d.day.isoformat(), "state": d.state.value} for d in c.history],
            }
            for c in page.components
        ],
        "incidents": [
            {
                "id": i.id,
                "heading": i.heading,
                "phase": i.phase.value,
                "components": list(i.components),
                "opened_at": rfc3339(i.opened_at),
                "updates": [_update_json(u) for u in i.updates],
            }
            for i in page.active
        ],
    }


def _sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str) -> None:
    child = ElementTree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    child.text = text


def render_atom(
    updates: Sequence[PublicUpdate], *, title: str, base_url: str, now: datetime
) -> bytes:
    """An Atom 1.0 feed of the public updates, newest first."""
    ElementTree.register_namespace("", ATOM_NS)
    feed = ElementTree.Element(f"{{{ATOM_NS}}}feed")
    base = base_url.rstrip("/")
    _sub(feed, "title", title)
    _sub(feed, "id", FEED_ID)
    _sub(feed, "updated", rfc3339(updates[0].at if updates else now))
    _sub(feed, "link", rel="self", href=f"{base}/status.atom", type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=f"{base}/status", type="text/html")
    author = ElementTree.SubElement(feed, f"{{{ATOM_NS}}}author")
    _sub(author, "name", title)
    for update in updates:
        entry = ElementTree.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _sub(entry, "id", update_id(update))
        _sub(entry, "title", f"{update.heading}: {update.phase.value.capitalize()}")
        _sub(entry, "updated", rfc3339(update.at))
        _sub(entry, "published", rfc3339(update.at))
        _sub(entry, "link", rel="alternate", href=f"{base}/status", type="text/html")
        _sub(entry, "content", update.text, type="text")
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
