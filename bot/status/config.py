"""The ``status`` section of the YAML config file: what the public status page shows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.matchers import Matcher, MatcherError, matchers_from_mapping

SeverityName = Literal["SEV1", "SEV2", "SEV3", "SEV4"]


class StatusComponent(BaseModel):
    """A part of the product customers know by name, and the services behind it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    services: list[str] = Field(default_factory=list)
    match: dict[str, str] = Field(default_factory=dict)
    """Alertmanager matchers on an incident's labels; any incident they fit affects it."""

    @field_validator("match")
    @classmethod
    def _matchers_parse(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            matchers_from_mapping(value)
        except MatcherError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _maps_something(self) -> StatusComponent:
        if not self.services and not self.match:
            raise ValueError(f"component {self.name!r} names no services and no match")
        return self

    def matchers(self) -> tuple[Matcher, ...]:
        return matchers_from_mapping(self.match)


class StatusConfig(BaseModel):
    """Which incidents the public sees, and how: only what a person wrote is public."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="Service status", min_length=1, max_length=200)
    components: list[StatusComponent] = Field(default_factory=list)
    min_severity: SeverityName = "SEV2"
    """Incidents less severe than this leave every component operational."""
    partial_severity: SeverityName | None = None
    """Incidents this severe or worse (but not major) are a partial outage; unset: never."""
    major_severity: SeverityName = "SEV1"
    """Incidents this severe or worse are a major outage."""
    show_titles: bool = False
    """Show incidents' titles (taken from alerts) on the public page; off by default."""
    history_days: int = Field(default=90, ge=1, le=366)

    @model_validator(mode="after")
    def _names_unique(self) -> StatusConfig:
        names = [c.name for c in self.components]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"component names must be unique: {', '.join(doubled)}")
        return self

    def component_names(self) -> list[str]:
        return [c.name for c in self.components]
