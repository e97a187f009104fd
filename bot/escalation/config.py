"""The ``escalation`` and ``schedules`` sections of the YAML config file.

These models only check and convert; the arithmetic is in ``bot.escalation.decide`` and
``bot.escalation.schedules``. Levels and start levels are 1-based here, as people count them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.durations import Duration, parse_duration
from bot.escalation.decide import Level, Policy, Target, TargetKind
from bot.escalation.schedules import Override, Rotation, Schedule
from bot.incidents.decide import Severity

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from exc
    return value


def _clock_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int):  # YAML 1.1 reads 09:00 as sexagesimal minutes
        return time(*divmod(value, 60)) if 0 <= value < 24 * 60 else time(99)
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day such as '09:00'") from None


class TargetConfig(BaseModel):
    """Exactly one of: a Slack user, a person or a team of the directory, a user group, a
    schedule, a role or a webhook."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = None
    person: str | None = None
    team: str | None = None
    group: str | None = None
    schedule: str | None = None
    role: str | None = None
    webhook: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TargetConfig:
        given = [kind for kind in TargetKind if getattr(self, kind.value)]
        if len(given) != 1:
            raise ValueError(
                "a target names exactly one of user, person, team, group, schedule, role, webhook"
            )
        return self

    def to_target(self) -> Target:
        for kind in TargetKind:
            name = getattr(self, kind.value)
            if name:
                return Target(kind, name)
        raise AssertionError("validated to have one target")


class LevelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[TargetConfig] = Field(min_length=1)
    delay: Duration = Field(default=timedelta(minutes=5))

    @field_validator("delay")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("a level waits at least 1s before the next")
        return value


class PolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    levels: list[LevelConfig] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=100)
    severities: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    start_level: dict[str, int] = Field(default_factory=dict)  # severity -> 1-based level

    @field_validator("severities")
    @classmethod
    def _severities(cls, value: list[str]) -> list[str]:
        return [Severity.parse(s).name for s in value]

    @field_validator("start_level")
    @classmethod
    def _start_levels(cls, value: dict[str, int]) -> dict[str, int]:
        return {Severity.parse(k).name: v for k, v in value.items()}

    @model_validator(mode="after")
    def _start_levels_exist(self) -> PolicyConfig:
        for severity, level in self.start_level.items():
            if not 1 <= level <= len(self.levels):
                raise ValueError(
                    f"start_level {severity}: {level} is not a level of this policy "
                    f"(1..{len(self.levels)})"
                )
        return self

    def to_policy(self) -> Policy:
        return Policy(
            name=self.name,
            levels=tuple(
                Level(tuple(t.to_target() for t in level.targets), level.delay)
                for level in self.levels
            ),
            repeat=self.repeat,
            severities=frozenset(self.severities),
            services=frozenset(self.services),
            start_level={k: v - 1 for k, v in self.start_level.items()},
        )


class WebhookConfig(BaseModel):
    """An outbound webhook: generic JSON, PagerDuty's Events API v2, or Opsgenie's Alert API
    (docs/webhooks.md)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    kind: Literal["generic", "pagerduty", "opsgenie"] = "generic"
    # Names of secrets in FIRELINE_SECRETS: PagerDuty's routing key or Opsgenie's API key;
    # the key a generic webhook's body is signed with (HMAC-SHA256).
    routing_key_secret: str | None = None
    signing_secret: str | None = None
    # A generic webhook that also gets every lifecycle event of every incident (opened,
    # severity changed, acknowledged, un-acknowledged, escalated, resolved), not only pages.
    lifecycle: bool = False
    timeout: Duration = Field(default=timedelta(seconds=5))
    # Outbox attempts before the page is given up (backoff up to 30 s apart).
    attempts: int = Field(default=10, ge=1, le=50)

    @model_validator(mode="after")
    def _pagerduty_needs_key(self) -> WebhookConfig:
        if self.kind in ("pagerduty", "opsgenie") and not self.routing_key_secret:
            raise ValueError(f"a {self.kind} webhook needs routing_key_secret")
        if self.kind != "generic" and (self.lifecycle or self.signing_secret):
            raise ValueError(
                f"lifecycle and signing_secret are for generic webhooks; a {self.kind} webhook "
                "follows its incident's acknowledgement and resolution by itself"
            )
        return self


class WatchdogConfig(BaseModel):
    """Alertmanager's always-firing alert; off unless ``missing_after`` is set."""

    model_config = ConfigDict(extra="forbid")

    alertname: str = "Watchdog"
    missing_after: Duration | None = None
    severity: str = "SEV1"
    title: str = "Alerting pipeline down"
    service: str | None = None

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        return Severity.parse(value).name


def _seed_policy() -> PolicyConfig:
    """The seed workflow: acknowledge within 5 min, then the next level; a senior engineer
    at +15 min; the incident commander at +30 min."""

    def level(role: str, minutes: int) -> LevelConfig:
        return LevelConfig(targets=[TargetConfig(role=role)], delay=timedelta(minutes=minutes))

    return PolicyConfig(
        name="default",
        levels=[
            level("on_call", 5),
            level("secondary", 10),
            level("senior_engineer", 15),
            level("incident_commander", 30),
        ],
    )


class EscalationConfig(BaseModel):
    """Escalation always runs unless ``enabled: false``; without an ``escalation`` section
    incidents follow the seed policy, notifying the log (and chat) until roles are mapped."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    policies: list[PolicyConfig] = Field(default_factory=lambda: [_seed_policy()])
    roles: dict[str, list[TargetConfig]] = Field(default_factory=dict)
    webhooks: dict[str, WebhookConfig] = Field(default_factory=dict)
    watchdog: WatchdogConfig = Field(default_factory=WatchdogConfig)
    tick: Duration = Field(default=timedelta(seconds=1))  # how often timers are looked at

    @model_validator(mode="after")
    def _names_resolve(self) -> EscalationConfig:
        names = [p.name for p in self.policies]
        if len(set(names)) != len(names):
            raise ValueError("policy names must be unique")
        for role, targets in self.roles.items():
            if any(t.role for t in targets):
                raise ValueError(f"role {role!r} cannot name another role")
        for where, target in self._targets():
            if target.webhook and target.webhook not in self.webhooks:
                raise ValueError(f"{where}: no webhook named {target.webhook!r} under webhooks")
        return self

    def _targets(self) -> list[tuple[str, TargetConfig]]:
        found = [
            (f"policies.{p}.levels.{i}.targets.{j}", target)
            for p, policy in enumerate(self.policies)
            for i, level in enumerate(policy.levels)
            for j, target in enumerate(level.targets)
        ]
        found += [(f"roles.{r}.{j}", t) for r, ts in self.roles.items() for j, t in enumerate(ts)]
        return found

    def check_schedules(self, schedules: list[str]) -> None:
        for where, target in self._targets():
            if target.schedule and target.schedule not in schedules:
                raise ValueError(
                    f"escalation.{where}: no schedule named {target.schedule!r} under schedules"
                )

    def check_people(self, people: list[str], teams: list[str]) -> None:
        for where, target in self._targets():
            if target.person and target.person not in people:
                raise ValueError(
                    f"escalation.{where}: no person {target.person!r} under people.directory"
                )
            if target.team and target.team not in teams:
                raise ValueError(f"escalation.{where}: no team {target.team!r} under people.teams")

    @classmethod
    def absent(cls) -> EscalationConfig:
        return cls(enabled=False)

    def compiled(self) -> tuple[Policy, ...]:
        return tuple(p.to_policy() for p in self.policies) if self.enabled else ()

    def role_targets(self) -> dict[str, tuple[Target, ...]]:
        return {r: tuple(t.to_target() for t in ts) for r, ts in self.roles.items()}


class LayerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[str] = Field(min_length=1)
    length: timedelta = Field(default=timedelta(weeks=1))
    handoff: time = time(9, 0)
    start: date = date(2024, 1, 1)
    zone: str | None = None
    between: str | None = None  # "09:00-17:00", local
    weekdays: list[str] = Field(default_factory=list)

    @field_validator("length", mode="before")
    @classmethod
    def _length(cls, value: object) -> timedelta:
        named = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
        length = named.get(str(value)) if isinstance(value, str) else None
        length = length or parse_duration(value)
        if length < timedelta(hours=1) or length % timedelta(hours=1):
            raise ValueError("length is daily, weekly, or a whole number of hours or days")
        return length

    @field_validator("handoff", mode="before")
    @classmethod
    def _handoff(cls, value: object) -> time:
        return _clock_time(value)

    @field_validator("zone")
    @classmethod
    def _zone_exists(cls, value: str | None) -> str | None:
        return None if value is None else _zone(value)

    @field_validator("between")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None:
            begin, sep, end = value.partition("-")
            if not sep:
                raise ValueError("between is a local window such as '09:00-17:00'")
            _clock_time(begin.strip())
            _clock_time(end.strip())
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        for day in days:
            if day not in _WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday (mon..sun)")
        return days

    def to_rotation(self, zone: str) -> Rotation:
        window = None
        if self.between:
            begin, _, end = self.between.partition("-")
            window = (_clock_time(begin.strip()), _clock_time(end.strip()))
        return Rotation(
            members=tuple(self.members),
            length=self.length,
            handoff=self.handoff,
            zone=self.zone or zone,
            start=self.start,
            window=window,
            weekdays=frozenset(_WEEKDAYS.index(d) for d in self.weekdays),
        )


class OverrideConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    user: str = Field(min_length=1)
    start: AwareDatetime = Field(alias="from")
    end: AwareDatetime = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> OverrideConfig:
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")
        return self

    def to_override(self) -> Override:
        return Override(self.user, self.start, self.end)


class ScheduleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    zone: str = "UTC"
    layers: list[LayerConfig] = Field(min_length=1)
    overrides: list[OverrideConfig] = Field(default_factory=list)

    @field_validator("zone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        return _zone(value)

    def to_schedule(self) -> Schedule:
        return Schedule(
            name=self.name,
            layers=tuple(layer.to_rotation(self.zone) for layer in self.layers),
            overrides=tuple(o.to_override() for o in self.overrides),
        )


def check_file_sections(
    escalation: EscalationConfig,
    schedules: list[ScheduleConfig],
    people: list[str],
    teams: list[str] | None = None,
) -> None:
    """Cross-section checks: unique schedule names, and every schedule, person and team a
    target names (``people``: the directory's ids; ``teams``: its teams' names)."""
    names = [s.name for s in schedules]
    if len(set(names)) != len(names):
        raise ValueError("schedule names must be unique")
    escalation.check_schedules(names)
    escalation.check_people(people, teams or [])


def compile_schedules(schedules: list[ScheduleConfig]) -> dict[str, Schedule]:
    return {s.name: s.to_schedule() for s in schedules}


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant with a zone (``Z`` accepted) for the CLI and API."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no zone; add Z or an offset such as +01:00")
    return parsed
