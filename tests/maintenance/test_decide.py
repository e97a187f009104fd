"""The pure decisions of maintenance windows, on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InvalidInputError
from bot.maintenance.config import MaintenanceWindowConfig, compile_windows
from bot.maintenance.decide import (
    Window,
    check_scope,
    holding,
    parse_matchers,
    parse_request,
    window_span,
)

NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)


def window(key: str, *matchers: str, service: str | None = None, hours: float = 1) -> Window:
    return Window(
        key=key,
        matchers=parse_matchers(matchers),
        service=service,
        starts_at=NOW - timedelta(minutes=5),
        ends_at=NOW + timedelta(hours=hours),
        created_by="ann",
        reason="schema upgrade",
    )


def test_a_window_holds_what_its_matchers_and_service_fit() -> None:
    db = window("1", 'team="db"', 'env=~"prod|staging"', service="orders")
    fits = {"team": "db", "env": "prod"}
    assert holding([db], labels=fits, service="orders", now=NOW) == db
    assert holding([db], labels=fits, service="billing", now=NOW) is None
    assert holding([db], labels={"team": "db", "env": "dev"}, service="orders", now=NOW) is None


def test_only_while_it_runs_and_the_latest_ending_wins() -> None:
    short, long = window("1", 'team="db"'), window("2", 'team="db"', hours=3)
    labels = {"team": "db"}
    assert holding([short, long], labels=labels, service=None, now=NOW) == long
    assert holding([short], labels=labels, service=None, now=NOW + timedelta(hours=1)) is None
    assert holding([short], labels=labels, service=None, now=NOW - timedelta(hours=1)) is None


def test_span_from_a_duration_or_an_end() -> None:
    assert window_span(starts_at=None, ends_at=None, duration="2h", now=NOW) == (
        NOW,
        NOW + timedelta(hours=2),
    )
    end = NOW + timedelta(minutes=30)
    assert window_span(starts_at=None, ends_at=end, duration=None, now=NOW) == (NOW, end)


@pytest.mark.parametrize(
    ("starts", "ends", "duration", "message"),
    [
        (NOW, NOW - timedelta(minutes=1), None, "before it starts"),
        (None, None, None, "either ends_at or a duration"),
        (None, NOW + timedelta(hours=1), "1h", "either ends_at or a duration"),
        (None, None, "soon", "not a duration"),
        (NOW - timedelta(hours=2), NOW - timedelta(hours=1), None, "already past"),
        (None, None, "40d", "at most 31 days"),
        (None, datetime(2026, 12, 6, 1, 0), None, "time zone"),  # noqa: DTZ001
    ],
)
def test_bad_spans_are_refused_by_name(
    starts: datetime | None, ends: datetime | None, duration: str | None, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        window_span(starts_at=starts, ends_at=ends, duration=duration, now=NOW)


def test_matchers_and_scope() -> None:
    with pytest.raises(InvalidInputError, match="'team~db' is not a matcher"):
        parse_matchers(["team~db"])
    with pytest.raises(InvalidInputError, match="needs a service or at least one matcher"):
        check_scope((), None)


def test_a_chat_request_splits_into_duration_matchers_and_reason() -> None:
    asked = parse_request('2h team="db" env=prod upgrading the primary')
    assert (asked.duration, asked.matchers, asked.reason) == (
        "2h",
        ('team="db"', "env=prod"),
        "upgrading the primary",
    )
    with pytest.raises(InvalidInputError, match="no matcher"):
        parse_request("2h upgrading")
    with pytest.raises(InvalidInputError, match="say why"):
        parse_request('2h team="db"')


def test_config_windows_compile_with_their_names() -> None:
    freeze = MaintenanceWindowConfig.model_validate(
        {
            "name": "freeze",
            "match": {"env": "staging"},
            "ends_at": "2026-12-24T00:00:00Z",
            "reason": "holiday freeze",
        }
    )
    (compiled,) = compile_windows([freeze])
    assert compiled.key == "config:freeze"
    assert compiled.from_config
    assert compiled.active(NOW)
    assert holding([compiled], labels={"env": "staging"}, service=None, now=NOW) == compiled
    with pytest.raises(ValueError, match="must be unique: freeze"):
        compile_windows([freeze, freeze])
    with pytest.raises(ValueError, match="names no service and no match"):
        MaintenanceWindowConfig.model_validate(
            {"name": "x", "ends_at": "2026-12-24T00:00:00Z", "reason": "r"}
        )
