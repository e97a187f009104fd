"""The escalation and schedules sections of the config file: defaults and file:line errors."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.app.settings import load_settings
from bot.errors import ConfigError
from bot.escalation.config import EscalationConfig, compile_schedules
from bot.escalation.decide import Target, TargetKind, ladder
from bot.escalation.schedules import on_call
from bot.notify.service import NotifyRules

GOOD = """\
schedules:
  - name: primary
    zone: Europe/Berlin
    layers:
      - members: [U1, U2]
        length: weekly
        handoff: "09:00"
        start: 2026-01-05
      - members: [U9]
        length: daily
        between: 09:00-17:00
        weekdays: [mon, tue, wed, thu, fri]
    overrides:
      - {user: U7, from: "2026-01-06T08:00:00+01:00", to: "2026-01-06T20:00:00+01:00"}
escalation:
  policies:
    - name: checkout
      services: [checkout]
      repeat: 2
      start_level: {SEV1: 2}
      levels:
        - targets: [{schedule: primary}]
          delay: 5m
        - targets: [{group: S123}, {webhook: pd}]
          delay: 10m
  roles:
    incident_commander: [{user: UIC}]
  webhooks:
    pd: {url: "http://127.0.0.1:9/v2/enqueue", kind: pagerduty, routing_key_secret: pd_key}
  watchdog: {missing_after: 10m}
"""


def test_a_full_file_compiles(tmp_path: Path) -> None:
    path = tmp_path / "fireline.yml"
    path.write_text(GOOD)
    settings = load_settings(config=path)
    (policy,) = settings.escalation.compiled()
    assert policy.repeat == 2
    assert policy.start_level == {"SEV1": 1}
    assert policy.levels[1].targets[1].kind is TargetKind.WEBHOOK
    assert settings.escalation.watchdog.missing_after == timedelta(minutes=10)
    schedule = compile_schedules(settings.schedules)["primary"]
    assert schedule.layers[0].handoff == time(9)
    assert schedule.layers[0].zone == "Europe/Berlin"
    assert on_call(schedule, datetime(2026, 1, 6, 12, tzinfo=UTC)).user == "U7"
    assert on_call(schedule, datetime(2026, 1, 7, 12, tzinfo=UTC)).user == "U9"
    assert on_call(schedule, datetime(2026, 1, 7, 20, tzinfo=UTC)).user == "U1"


def test_default_policy_is_the_seed_workflow() -> None:
    (policy,) = load_settings().escalation.compiled()  # no section: the seed policy
    assert EscalationConfig(enabled=False).compiled() == ()
    minutes = [
        (p.due_at - datetime(2026, 1, 1, tzinfo=UTC)) / timedelta(minutes=1)
        for p, _ in ladder(policy, severity="SEV2", start=datetime(2026, 1, 1, tzinfo=UTC))
    ]
    assert minutes == [0, 5, 15, 30]
    assert policy.levels[-1].targets[0].name == "incident_commander"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (GOOD.replace("length: weekly", "length: 30m"), 6, "whole number of hours"),
        (GOOD.replace("zone: Europe/Berlin", "zone: Mars/Olympus"), 3, "IANA"),
        (GOOD.replace("{SEV1: 2}", "{SEV1: 3}"), 17, "start_level"),
        (GOOD.replace("{group: S123}", "{group: S123, user: U1}"), 24, "exactly one"),
        (GOOD.replace("{webhook: pd}", "{webhook: nope}"), 15, "no webhook named 'nope'"),
        (GOOD.replace("delay: 10m", "delay: soon"), 25, "duration"),
        (GOOD.replace("kind: pagerduty, ", "kind: pagerduty, routing_key: x, "), 29, "routing"),
    ],
)
def test_problems_name_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "fireline.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(config=path)
    assert f"{path}:{line}:" in str(info.value)
    assert fragment in str(info.value)


def test_a_schedule_named_by_a_policy_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "fireline.yml"
    path.write_text(GOOD.replace("{schedule: primary}", "{schedule: secondary}"))
    with pytest.raises(ConfigError, match="no schedule named 'secondary'"):
        load_settings(config=path)


def test_a_person_named_by_a_policy_must_be_in_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "fireline.yml"
    with_person = GOOD.replace("{group: S123}", "{person: alice}")
    path.write_text(with_person)
    with pytest.raises(ConfigError, match=r"no person .alice. under people\.directory"):
        load_settings(config=path)
    path.write_text(with_person + "people:\n  directory:\n    - {id: alice, name: Alice}\n")
    level = load_settings(config=path).escalation.compiled()[0].levels[1]
    assert level.targets[0].kind is TargetKind.PERSON


def test_a_team_pages_each_member_by_their_slack_id_or_their_id(tmp_path: Path) -> None:
    path = tmp_path / "fireline.yml"
    with_team = GOOD.replace("{group: S123}", "{team: payments}")
    path.write_text(with_team)
    with pytest.raises(ConfigError, match=r"no team .payments. under people\.teams"):
        load_settings(config=path)
    people = (
        "people:\n  directory:\n    - {id: alice, slack: UALICE}\n    - {id: bob}\n"
        "  teams:\n    - {name: payments, members: [alice, bob]}\n"
    )
    path.write_text(with_team + people.replace("[alice, bob]", "[alice, zed]"))
    with pytest.raises(ConfigError, match="team 'payments' names unknown people: zed"):
        load_settings(config=path)
    path.write_text(with_team + people)
    settings = load_settings(config=path)
    level = settings.escalation.compiled()[0].levels[1]
    assert level.targets[0] == Target(TargetKind.TEAM, "payments")
    reach = NotifyRules.of(settings.people)
    assert [reach.address_of(m) for m in reach.teams["payments"]] == ["UALICE", "bob"]
