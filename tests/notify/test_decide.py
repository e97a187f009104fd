"""A person's notification rules become timed steps: delays, urgency, working hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.notify.decide import Reach, next_working_time, plan, steps_for
from bot.notify.model import MethodKind, Urgency
from bot.people.config import PersonConfig
from bot.people.contacts import NotificationRules, RuleStep, WorkingHours

PUSH = Reach("push", MethodKind.NTFY, "alice-pages")
SMS = Reach("sms", MethodKind.SMS, "+4915112345678")
MAIL = Reach("mail", MethodKind.EMAIL, "alice@example.com")
RULES = NotificationRules(
    high=[
        RuleStep(method="push"),
        RuleStep(method="sms", after=timedelta(minutes=3)),
    ],
    low=[RuleStep(method="mail", after=timedelta(minutes=1))],
)
# A Monday, 03:00 in Berlin (02:00 UTC in winter).
NIGHT = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
OFFICE = WorkingHours(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00")


def test_high_urgency_follows_its_steps_in_order_from_the_page() -> None:
    steps = plan(
        [PUSH, SMS, MAIL],
        RULES,
        Urgency.HIGH,
        now=NIGHT,
        timezone="Europe/Berlin",
        working_hours=OFFICE,
    )
    assert [(s.method.name, s.at) for s in steps] == [
        ("push", NIGHT),
        ("sms", NIGHT + timedelta(minutes=3)),
    ]


def test_low_urgency_waits_for_working_hours_in_the_persons_zone() -> None:
    steps = plan(
        [PUSH, SMS, MAIL],
        RULES,
        Urgency.LOW,
        now=NIGHT,
        timezone="Europe/Berlin",
        working_hours=OFFICE,
    )
    # 09:00 Berlin is 08:00 UTC; the rule's minute comes on top.
    assert [(s.method.name, s.at) for s in steps] == [
        ("mail", datetime(2026, 12, 7, 8, 1, tzinfo=UTC))
    ]


def test_low_urgency_inside_working_hours_goes_at_once() -> None:
    ten = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00 Berlin
    assert next_working_time(ten, timezone="Europe/Berlin", hours=OFFICE) == ten


def test_the_weekend_waits_for_monday() -> None:
    saturday = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
    monday_nine = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)
    assert next_working_time(saturday, timezone="Europe/Berlin", hours=OFFICE) == monday_nine


def test_without_rules_every_method_goes_at_once_and_low_falls_back_to_high() -> None:
    assert steps_for([PUSH, MAIL], None, Urgency.LOW) == [
        (PUSH, timedelta(0)),
        (MAIL, timedelta(0)),
    ]
    only_high = NotificationRules(high=[RuleStep(method="sms", after=timedelta(minutes=5))])
    assert steps_for([SMS], only_high, Urgency.LOW) == [(SMS, timedelta(minutes=5))]


def test_a_method_added_through_the_api_brings_its_own_step() -> None:
    call = Reach(
        "call",
        MethodKind.VOICE,
        "+4915112345678",
        after=timedelta(minutes=5),
        urgencies=frozenset({Urgency.HIGH}),
    )
    high = steps_for([PUSH, SMS, call], RULES, Urgency.HIGH)
    assert [(r.name, after) for r, after in high] == [
        ("push", timedelta(0)),
        ("sms", timedelta(minutes=3)),
        ("call", timedelta(minutes=5)),
    ]
    assert all(r.name != "call" for r, _ in steps_for([MAIL, call], RULES, Urgency.LOW))


def test_the_config_names_what_is_wrong_with_a_contact_method() -> None:
    with pytest.raises(ValidationError, match="has no 'to', and bob has no phone"):
        PersonConfig.model_validate(
            {"id": "bob", "contact_methods": [{"name": "s", "kind": "sms"}]}
        )
    with pytest.raises(ValidationError, match=r"not a phone number in E\.164"):
        PersonConfig.model_validate(
            {"id": "bob", "phone": "0151 1234", "contact_methods": [{"name": "s", "kind": "sms"}]}
        )
    with pytest.raises(ValidationError, match="names 'pager', which is not one of"):
        PersonConfig.model_validate(
            {
                "id": "bob",
                "email": "bob@example.com",
                "contact_methods": [{"name": "mail", "kind": "email"}],
                "notification_rules": {"high": [{"method": "pager"}]},
            }
        )
    with pytest.raises(ValidationError, match="after is between 0s and 24h"):
        RuleStep(method="x", after=timedelta(days=2))


def test_a_method_without_to_takes_the_persons_own_address() -> None:
    person = PersonConfig.model_validate(
        {
            "id": "alice",
            "email": "alice@example.com",
            "contact_methods": [{"name": "mail", "kind": "email"}],
            "notification_rules": {"low": [{"method": "mail", "after": "2m"}]},
            "working_hours": {"days": ["Monday"], "start": "08:30", "end": "12:00"},
        }
    )
    assert person.contact_methods[0].to == "alice@example.com"
    assert person.notification_rules is not None
    assert person.notification_rules.low[0].after == timedelta(minutes=2)
    assert person.working_hours is not None
    assert person.working_hours.weekdays == {0}
