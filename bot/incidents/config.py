"""The ``triage`` section of the YAML config file: rules checked here, compiled for triage."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.incidents.decide import Severity, Signal, TriageRule
from bot.matchers import MatcherError, matchers_from_mapping


class TriageRuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = None
    match: dict[str, str] = Field(min_length=1)
    severity: str | None = None
    raise_by: int = Field(default=0, alias="raise", ge=-3, le=3)
    service: str | None = None
    signal: Signal | None = None

    @field_validator("match")
    @classmethod
    def _matchers_parse(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            matchers_from_mapping(value)
        except MatcherError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("severity")
    @classmethod
    def _severity_parses(cls, value: str | None) -> str | None:
        return None if value is None else Severity.parse(value).name

    def to_rule(self, index: int) -> TriageRule:
        return TriageRule(
            name=self.name or f"rule {index + 1}",
            matchers=matchers_from_mapping(self.match),
            severity=Severity.parse(self.severity) if self.severity else None,
            raise_by=self.raise_by,
            service=self.service,
            signal=self.signal,
        )


class TriageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[TriageRuleConfig] = Field(default_factory=list)

    def compiled(self) -> tuple[TriageRule, ...]:
        return tuple(rule.to_rule(i) for i, rule in enumerate(self.rules))
