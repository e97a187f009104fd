"""The ``chat`` section of the YAML config file: which channel an incident's card goes to."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ChatRoute(BaseModel):
    """Incidents of this service and/or severity go to this channel (first match wins)."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = None
    severity: Literal["SEV1", "SEV2", "SEV3", "SEV4"] | None = None
    channel: str = Field(min_length=1)

    @model_validator(mode="after")
    def _names_something(self) -> ChatRoute:
        if self.service is None and self.severity is None:
            raise ValueError("a route names a service, a severity or both")
        return self


class ChatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routes: list[ChatRoute] = Field(default_factory=list)

    def channel_for(self, *, service: str | None, severity: str, default: str | None) -> str | None:
        for route in self.routes:
            if route.service is not None and route.service != service:
                continue
            if route.severity is not None and route.severity != severity:
                continue
            return route.channel
        return default
