"""A change as plain data, whichever receiver brought it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ChangeKind(StrEnum):
    DEPLOY = "deploy"
    CONFIG = "config"
    FLAG = "flag"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class ChangeFacts:
    """A change to record. ``external_id`` is the sender's own id for it (GitHub's
    delivery, a CI job's), so a retried delivery is stored once."""

    kind: ChangeKind
    service: str
    actor: str
    at: datetime
    source: str
    environment: str | None = None
    version: str | None = None
    previous_version: str | None = None
    summary: str = ""
    link: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    external_id: str | None = None


@dataclass(frozen=True)
class NearbyChange:
    """A stored change as correlation sees it."""

    id: int
    kind: str
    service: str
    environment: str | None
    version: str | None
    previous_version: str | None
    actor: str
    link: str | None
    labels: dict[str, str]
    at: datetime
