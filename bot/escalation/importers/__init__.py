"""Turn another on-call product's export into Fireline's config: people, schedules and
escalation policies as plain dicts, ready to dump as YAML and load with Fireline's own
validation. What has no Fireline equivalent is said, one warning each, never dropped in
silence (docs/importing.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_ID = re.compile(r"[^a-z0-9._-]+")


@dataclass
class Imported:
    people: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def config(self) -> dict[str, Any]:
        return {
            "people": {"directory": self.people},
            "schedules": self.schedules,
            "escalation": {"policies": self.policies},
        }


def person_id(email: str | None, name: str, taken: set[str]) -> str:
    """A directory id from the email's local part (or the name), unique among ``taken``."""
    base = _ID.sub("-", (email.split("@")[0] if email else name).lower()).strip("-") or "person"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def slug(name: str) -> str:
    return _ID.sub("-", name.lower()).strip("-") or "imported"


def length_of(seconds: int) -> str | None:
    """Fireline's rotation length for a turn of ``seconds``, or None when it has none."""
    if seconds == 86400:
        return "daily"
    if seconds == 604800:
        return "weekly"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return None


def handoff_of(start: str, zone: str) -> tuple[str, str]:
    """(local hand-off time, local start date) of a rotation starting at ``start``."""
    local = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
    return local.strftime("%H:%M"), local.date().isoformat()


def delay_of(minutes: float) -> str:
    return f"{max(1, round(minutes))}m" if minutes else "1m"


__all__ = ["Imported", "delay_of", "handoff_of", "length_of", "person_id", "slug", "timedelta"]
