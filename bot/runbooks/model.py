"""A parsed runbook: typed, and every field and step remembers its file and line.

The models hold data only. Parsing lives in ``parser``, checks in ``lint``, choosing a
runbook for an alert in ``selection``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, InstanceOf, field_validator, model_validator

from bot.durations import Duration, parse_duration
from bot.matchers import Matcher

PARAM_REF = "params."
SHELL_ACTION = "command"
SHELL_ARGV = ("bash", "-euo", "pipefail", "-c")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a runbook, printed ``file:line: message``."""

    file: str
    line: int
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "rule": self.rule, "message": self.message}


class StepKind(StrEnum):
    DIAGNOSE = "diagnose"
    REMEDIATE = "remediate"
    VERIFY = "verify"
    ROLLBACK = "rollback"
    NOTIFY = "notify"


class ParamType(StrEnum):
    K8S_NAME = "k8s_name"
    HOSTNAME = "hostname"
    INT = "int"
    DURATION = "duration"
    ENUM = "enum"
    PATTERN = "pattern"


Mode = Literal["suggest", "approve", "auto", "dry-run", "off"]
_ID = r"^[a-z0-9][a-z0-9._-]{0,127}$"
_SOURCE = re.compile(r"(labels|annotations|deploy)\.([a-zA-Z_][a-zA-Z0-9_]*)")
# What a parameter may take from the deploy that preceded the alert (``from: deploy.NAME``).
DEPLOY_FIELDS = ("version", "previous_version", "service", "environment", "by")
# ``when: deploy.preceded``: a deploy of the incident's service came shortly before its alert.
DEPLOY_PRECEDED = "deploy.preceded"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ParamSpec(_Strict):
    """``name: {from: labels.x, type: k8s_name}``: a typed value taken from the alert."""

    source: str = Field(alias="from")
    type: ParamType | None = None
    values: tuple[str, ...] = ()
    pattern: str | None = None
    default: str | int | None = None
    line: int = 0

    @field_validator("source")
    @classmethod
    def _source_names_labels_or_annotations(cls, value: str) -> str:
        if not _SOURCE.fullmatch(value):
            raise ValueError(
                f"'from' must be labels.NAME, annotations.NAME or deploy.FIELD, not {value!r}"
            )
        scope, _, key = value.partition(".")
        if scope == "deploy" and key not in DEPLOY_FIELDS:
            raise ValueError(f"'from' deploy.{key}: a deploy has {', '.join(DEPLOY_FIELDS)}")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} is not a valid regex: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _typed(self) -> ParamSpec:
        if self.type is None and self.pattern is None:
            raise ValueError(
                "a parameter needs a type or a pattern (k8s_name, hostname, int, "
                "duration, enum with values, or pattern: REGEX)"
            )
        if self.kind is ParamType.ENUM and not self.values:
            raise ValueError("an enum parameter lists its values: values: [a, b]")
        if self.kind is ParamType.PATTERN and self.pattern is None:
            raise ValueError("a pattern parameter needs pattern: REGEX")
        return self

    @property
    def kind(self) -> ParamType:
        """The effective type: ``pattern:`` alone means a pattern parameter."""
        if self.type is None:
            return ParamType.PATTERN
        return self.type

    @property
    def where(self) -> tuple[Literal["labels", "annotations", "deploy"], str]:
        found = _SOURCE.fullmatch(self.source)
        assert found is not None
        scope = cast(Literal["labels", "annotations", "deploy"], found.group(1))
        return scope, found.group(2)


class RunLimits(_Strict):
    cooldown: Duration = timedelta(minutes=30)
    max_runs: str = "3 per 1h"
    stale_after: Duration = timedelta(minutes=15)

    @field_validator("max_runs")
    @classmethod
    def _rate_parses(cls, value: str) -> str:
        parse_rate(value)
        return value

    @property
    def rate(self) -> tuple[int, timedelta]:
        return parse_rate(self.max_runs)


def parse_rate(text: str) -> tuple[int, timedelta]:
    """``"3 per 1h"`` → (3, one hour)."""
    found = re.fullmatch(r"\s*(\d+)\s+per\s+(\S+)\s*", str(text))
    if not found or int(found.group(1)) < 1:
        raise ValueError(f"a rate is written 'N per DURATION' (e.g. '3 per 1h'), not {text!r}")
    return int(found.group(1)), parse_duration(found.group(2))


class CircuitBreaker(_Strict):
    consecutive_failures: int = Field(default=2, ge=1, le=100)


class Policy(_Strict):
    mode: Mode = "suggest"
    limits: RunLimits = Field(default_factory=RunLimits)
    circuit_breaker: CircuitBreaker = Field(default_factory=CircuitBreaker)


class Verify(_Strict):
    """How a mutating run is judged: the alert resolves within a window."""

    alert_resolved: bool = True
    within: Duration = timedelta(minutes=10)
    on_fail: Literal["escalate", "rollback"] = "escalate"


class StepCondition(_Strict):
    """``when: "check.failed"``: run only if an earlier step ended that way; or
    ``when: deploy.preceded``: only if a deploy of the service came shortly before the alert."""

    step: str
    outcome: Literal["succeeded", "failed", "skipped", "preceded"]

    def __str__(self) -> str:
        return f"{self.step}.{self.outcome}"


class Step(_Strict):
    """One executable fenced block."""

    id: str
    kind: StepKind
    uses: str
    args: dict[str, Any] = Field(default_factory=dict)
    shell: str | None = None
    description: str = ""
    section: str | None = None
    timeout: Duration | None = None
    safe: bool = False
    idempotent: bool = False
    read_only: bool = False
    retries: int = 0
    when: tuple[StepCondition, ...] = ()
    rollback: str | None = None
    mode: Mode | None = None  # stricter than the runbook's for this step only
    file: str
    line: int
    body: str = ""
    body_line: int = 0
    arg_lines: dict[str, int] = Field(default_factory=dict)

    def param_refs(self) -> Iterator[tuple[str, int]]:
        """Every ``params.NAME`` reference in the arguments, with its line."""
        for key, value in self.args.items():
            for ref in _refs(value):
                yield ref, self.arg_lines.get(key, self.body_line)

    def resolved_args(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments with every ``params.NAME`` replaced by its typed value."""
        return {key: _substitute(value, params) for key, value in self.args.items()}


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith(PARAM_REF):
        yield value[len(PARAM_REF) :]
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _substitute(value: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith(PARAM_REF):
        return params[value[len(PARAM_REF) :]]
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    return value


class Section(_Strict):
    title: str
    level: int
    line: int
    text: str = ""


class Runbook(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: str = Field(pattern=_ID)
    title: str
    owners: tuple[str, ...] = ()
    matchers: tuple[InstanceOf[Matcher], ...]
    priority: int = 0
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)
    verify: Verify | None = None
    escalation: str | None = None
    approvers: tuple[str, ...] = ()
    last_reviewed: date | None = None  # when people last checked it still holds
    steps: tuple[Step, ...] = ()
    sections: tuple[Section, ...] = ()
    file: str
    hash: str
    lines: dict[str, int] = Field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return self.file.rsplit("/", 1)[-1]

    def line_of(self, *path: str) -> int:
        """The line of a front-matter field, ``line_of("policy", "mode")``."""
        parts = list(path)
        while parts:
            key = ".".join(parts)
            if key in self.lines:
                return self.lines[key]
            parts.pop()
        return self.lines.get("", 1)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "file": self.file,
            "hash": self.hash,
            "priority": self.priority,
            "match": [str(m) for m in self.matchers],
            "mode": self.policy.mode,
            "owners": list(self.owners),
            "params": sorted(self.params),
            "steps": [s.id for s in self.steps],
            "last_reviewed": self.last_reviewed.isoformat() if self.last_reviewed else None,
        }
