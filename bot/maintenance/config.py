"""The ``maintenance`` section of the YAML config file: windows planned ahead."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.maintenance.decide import CONFIG_PREFIX, Window
from bot.matchers import MatcherError, matchers_from_mapping


class MaintenanceWindowConfig(BaseModel):
    """One planned window; its name is its id (``config:NAME`` on the timeline)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    match: dict[str, str] = Field(default_factory=dict)
    """Alertmanager matchers on an incident's labels (``env: prod``, ``team: =~"db|ops"``)."""
    service: str | None = None
    starts_at: AwareDatetime | None = None
    """Unset: the window is on from the start until ``ends_at``."""
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)
    created_by: str = Field(default="config", min_length=1, max_length=200)

    @field_validator("match")
    @classmethod
    def _matchers_parse(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            matchers_from_mapping(value)
        except MatcherError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _sane(self) -> MaintenanceWindowConfig:
        if not self.match and not self.service:
            raise ValueError(f"maintenance window {self.name!r} names no service and no match")
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError(f"maintenance window {self.name!r} ends before it starts")
        return self

    def window(self) -> Window:
        return Window(
            key=f"{CONFIG_PREFIX}{self.name}",
            matchers=matchers_from_mapping(self.match),
            service=self.service,
            starts_at=self.starts_at or datetime.min.replace(tzinfo=self.ends_at.tzinfo),
            ends_at=self.ends_at,
            created_by=self.created_by,
            reason=self.reason,
        )


def compile_windows(configs: list[MaintenanceWindowConfig]) -> tuple[Window, ...]:
    """The config file's windows; names must be unique."""
    names = [c.name for c in configs]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ValueError(f"maintenance window names must be unique: {', '.join(doubled)}")
    return tuple(c.window() for c in configs)
