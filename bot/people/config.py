"""The ``people`` section of the YAML config file: the directory, role grants and named
API tokens. These models only check and convert; ``bot.people.directory`` answers."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.people.contacts import (
    ContactMethodConfig,
    MethodKind,
    NotificationRules,
    WorkingHours,
    check_address,
)
from bot.people.model import Role

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PersonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(default="", max_length=200)
    slack: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]+$")
    email: str | None = None
    phone: str | None = None
    timezone: str = "UTC"
    role: Role | None = None
    working_hours: WorkingHours | None = None
    contact_methods: list[ContactMethodConfig] = Field(default_factory=list)
    notification_rules: NotificationRules | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin") from exc
        return value

    @model_validator(mode="after")
    def _methods(self) -> PersonConfig:
        names = [m.name for m in self.contact_methods]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.id}: contact method names are unique")
        for method in self.contact_methods:
            method.to = check_address(method.kind, self.address_of(method))
        rules = self.notification_rules
        for step in [*(rules.high if rules else ()), *(rules.low if rules else ())]:
            if step.method not in names:
                raise ValueError(
                    f"{self.id}: notification rule names {step.method!r}, which is not one of "
                    f"their contact methods ({', '.join(names) or 'none'})"
                )
        return self

    def address_of(self, method: ContactMethodConfig) -> str:
        """The method's ``to``, or the person's own address of that kind."""
        if method.to:
            return method.to
        own = {
            MethodKind.SLACK: self.slack,
            MethodKind.EMAIL: self.email,
            MethodKind.SMS: self.phone,
            MethodKind.VOICE: self.phone,
        }.get(method.kind)
        if not own:
            raise ValueError(
                f"{self.id}: contact method {method.name!r} ({method.kind}) has no 'to', and "
                f"{self.id} has no {'phone' if method.kind in ('sms', 'voice') else method.kind}"
            )
        return own


class GroupGrant(BaseModel):
    """A role for every member of a Slack user group."""

    model_config = ConfigDict(extra="forbid")

    slack_group: str = Field(pattern=r"^S[A-Z0-9]+$")
    role: Role


class TokenConfig(BaseModel):
    """A named API token: only its sha256 is kept (``printf %s TOKEN | sha256sum``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    sha256: str
    person: str | None = None
    service: str | None = None
    role: Role

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        value = value.strip().lower()
        if not _SHA256.match(value):
            raise ValueError("sha256 is the 64 hex digits of the token's SHA-256")
        return value

    @model_validator(mode="after")
    def _one_identity(self) -> TokenConfig:
        if (self.person is None) == (self.service is None):
            raise ValueError("a token names exactly one of person, service")
        return self


class TeamConfig(BaseModel):
    """People paged together: an escalation level naming ``{team: NAME}`` pages every
    member, each by their own notification rules."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    members: list[str] = Field(min_length=1)


class PeopleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    directory: list[PersonConfig] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)
    groups: list[GroupGrant] = Field(default_factory=list)
    tokens: list[TokenConfig] = Field(default_factory=list)
    # The role of a Slack user granted nothing else. Unset: viewer once anything is
    # configured here, and commander (any Slack user may do what Slack offers) otherwise.
    slack_default_role: Role | None = None

    @property
    def configured(self) -> bool:
        return bool(self.directory or self.groups or self.tokens)

    @model_validator(mode="after")
    def _known_people(self) -> PeopleConfig:
        ids = [p.id for p in self.directory]
        if len(set(ids)) != len(ids):
            raise ValueError("people ids are unique")
        for token in self.tokens:
            if token.person is not None and token.person not in ids:
                raise ValueError(f"token {token.name!r} names unknown person {token.person!r}")
        if len({t.name for t in self.teams}) != len(self.teams):
            raise ValueError("team names are unique")
        for team in self.teams:
            unknown = [m for m in team.members if m not in ids]
            if unknown:
                raise ValueError(f"team {team.name!r} names unknown people: {', '.join(unknown)}")
        if len({t.sha256 for t in self.tokens}) != len(self.tokens):
            raise ValueError("two tokens have the same sha256")
        return self
