"""How a person is reached: their contact methods, notification rules and working hours, as
the ``people.directory`` entries of the config file declare them. Plain data, checked here;
``bot.notify`` decides from it who is reached how and when.

    - id: alice
      email: alice@example.com
      phone: "+4915112345678"
      timezone: Europe/Berlin
      working_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "18:00"}
      contact_methods:
        - {name: push, kind: ntfy, to: alice-pages}
        - {name: sms, kind: sms}            # ``to`` defaults to the person's phone
        - {name: mail, kind: email}         # ... and email
      notification_rules:
        high: [{method: slack}, {method: push, after: 1m}, {method: sms, after: 3m}]
        low: [{method: mail}]
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from bot.durations import parse_duration
from bot.people.model import SLACK_USER_ID

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MethodKind(StrEnum):
    """How a contact method reaches its person."""

    SLACK = "slack"  # a Slack direct message, sent by chat with its buttons
    EMAIL = "email"  # SMTP
    NTFY = "ntfy"  # push through an ntfy server; ``to`` is the topic
    SMS = "sms"  # a Twilio-compatible Messages API; ``to`` is an E.164 number
    VOICE = "voice"  # a Twilio-compatible Calls API reading the message aloud
    APPRISE = "apprise"  # any service Apprise reaches; ``to`` is its Apprise URL


def check_address(kind: MethodKind, to: str) -> str:
    """``to`` if it is a well-formed address for ``kind``; ValueError naming what is wrong."""
    to = to.strip()
    if kind is MethodKind.EMAIL and not _EMAIL.match(to):
        raise ValueError(f"{to!r} is not an email address")
    if kind in (MethodKind.SMS, MethodKind.VOICE) and not _E164.match(to):
        raise ValueError(f"{to!r} is not a phone number in E.164 form such as +4915112345678")
    if kind is MethodKind.NTFY and not _TOPIC.match(to):
        raise ValueError(f"{to!r} is not an ntfy topic (letters, digits, - and _, up to 64)")
    if kind is MethodKind.SLACK and not SLACK_USER_ID.match(to):
        raise ValueError(f"{to!r} is not a Slack user id such as U012AB3CD")
    if kind is MethodKind.APPRISE and "://" not in to:
        raise ValueError(f"{to!r} is not an Apprise URL such as pover://user@token")
    return to


def _duration(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


Delay = Annotated[timedelta, BeforeValidator(_duration)]


class ContactMethodConfig(BaseModel):
    """One way to reach the person; ``to`` defaults to the person's own slack, email or phone."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9._-]+$")
    kind: MethodKind
    to: str | None = Field(default=None, max_length=500)


class RuleStep(BaseModel):
    """Reach ``method`` this long after the page (0: at once)."""

    model_config = ConfigDict(extra="forbid")

    method: str
    after: Delay = timedelta(0)

    @field_validator("after")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0) or value > timedelta(hours=24):
            raise ValueError("after is between 0s and 24h")
        return value


class NotificationRules(BaseModel):
    """Per urgency (high: SEV1-2, low: SEV3-4), the steps that reach the person until
    someone acknowledges. Unset: every contact method at once, for both urgencies."""

    model_config = ConfigDict(extra="forbid")

    high: list[RuleStep] = Field(default_factory=list)
    low: list[RuleStep] = Field(default_factory=list)


class WorkingHours(BaseModel):
    """When the person works, in their own time zone; low-urgency steps wait for it."""

    model_config = ConfigDict(extra="forbid")

    days: list[str] = Field(default_factory=lambda: list(_DAYS[:5]))
    start: time = time(9)
    end: time = time(17)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.lower()[:3] for d in value]
        unknown = [d for d in days if d not in _DAYS]
        if unknown or not days:
            raise ValueError(f"days are some of {', '.join(_DAYS)} (got {value!r})")
        return days

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError(
                "working hours end after they start (overnight hours are not supported)"
            )
        return self

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(_DAYS.index(d) for d in self.days)
