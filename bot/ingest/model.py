"""Alertmanager's webhook payload (version 4), exactly as Alertmanager 0.25+ sends it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

GO_ZERO_YEAR = 1


def _none_for_go_zero_time(value: object) -> object:
    """Go's zero time (``0001-01-01T00:00:00Z``) means "not set"."""
    if isinstance(value, str) and value.startswith("0001-01-01"):
        return None
    return value


def _aware(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


OptionalTime = Annotated[datetime | None, BeforeValidator(_none_for_go_zero_time)]
LabelSet = dict[str, str]


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["firing", "resolved"]
    labels: LabelSet
    annotations: LabelSet = Field(default_factory=dict)
    startsAt: datetime
    endsAt: OptionalTime = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=64)

    @property
    def starts_at(self) -> datetime:
        return self.startsAt.astimezone(UTC)

    @property
    def ends_at(self) -> datetime | None:
        return self.endsAt.astimezone(UTC) if self.endsAt else None


class WebhookPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal["4"]
    groupKey: str = Field(min_length=1)
    truncatedAlerts: int = 0
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: LabelSet = Field(default_factory=dict)
    commonLabels: LabelSet = Field(default_factory=dict)
    commonAnnotations: LabelSet = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[Alert]
