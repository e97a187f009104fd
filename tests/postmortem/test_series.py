"""GET /api/reports/series on a small data set over three days, worked out by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app.settings import Settings
from bot.postmortem.series import Bucket, bucket_start, default_bucket, period_starts
from storage.db import Database
from tests.postmortem.test_reports import T0 as _T0
from tests.postmortem.test_reports import _event, _incident, _step
from tests.support import running_app

MONDAY = datetime(2026, 10, 5, tzinfo=UTC)
OFFSET = (MONDAY + timedelta(hours=12) - _T0) / timedelta(minutes=1)  # minutes from T0


def at(minutes: float) -> float:
    """Minutes from T0 for a moment given in minutes from Monday 12:00."""
    return OFFSET + minutes


def seed(db: Database) -> None:
    with db.write() as s:
        old = _incident(s, severity="SEV1", service="old", started=0, opened=0, status="open")
        _event(s, old, 0, "incident.opened", "alertmanager")

        a = _incident(
            s, severity="SEV1", service="checkout", started=at(-2), opened=at(0),
            status="resolved", resolved=at(20),
        )  # fmt: skip
        _event(s, a, at(0), "incident.opened", "alertmanager")
        _event(s, a, at(3), "runbook.selected", runbook_id="rb-a")
        _step(s, a, at(3), "r1", "started")
        _step(s, a, at(3.5), "r1", "succeeded")
        _event(s, a, at(4), "incident.acknowledged", "bob")

        b = _incident(
            s, severity="SEV2", service="checkout", started=at(99), opened=at(100),
            status="resolved", resolved=at(130),
        )  # fmt: skip
        _event(s, b, at(100), "incident.opened", "alertmanager")
        _event(s, b, at(101), "runbook.selected", runbook_id="rb-a")
        _step(s, b, at(102), "r2", "started")
        _step(s, b, at(103), "r2", "failed", reason="exit 1")
        _event(s, b, at(110), "incident.acknowledged", "carol")

        two_days = 2 * 24 * 60
        c = _incident(
            s, severity="SEV2", service="payments", started=at(two_days),
            opened=at(two_days), status="open",
        )  # fmt: skip
        _event(s, c, at(two_days), "incident.opened", "alertmanager")
        _step(s, c, at(two_days + 1), "r3", "succeeded", runbook_id="rb-b")
        _event(s, c, at(two_days + 2), "verification.failed", run_id="r3", step_id="fix")


def spread(count: int, p50: float | None = None, p90: float | None = None) -> dict[str, object]:
    return {"count": count, "p50": p50, "p90": p90}


async def test_series_per_day(make_settings: Callable[..., Settings], db: Database) -> None:
    seed(db)
    since, until = MONDAY.isoformat(), (MONDAY + timedelta(days=3)).isoformat()
    async with running_app(make_settings()) as (_app, client):
        response = await client.get("/api/reports/series", params={"since": since, "until": until})
        weekly = await client.get(
            "/api/reports/series",
            params={"since": since, "until": (MONDAY + timedelta(days=14)).isoformat()},
        )
    assert response.status_code == 200, response.text
    series = response.json()
    assert series["bucket"] == "day"
    first, empty, third = series["periods"]
    assert [p["start"][:10] for p in series["periods"]] == [
        "2026-10-05",
        "2026-10-06",
        "2026-10-07",
    ]
    assert first["incidents"] == 2
    assert first["time_to_acknowledge"] == spread(2, 420.0, 564.0)
    assert first["time_to_mitigate"] == spread(1, 330.0, 330.0)
    assert first["time_to_resolve"] == spread(2, 1590.0, 1806.0)
    assert (first["automation_runs"], first["automation_succeeded"]) == (2, 1)
    assert first["automation_success_rate"] == 0.5
    assert empty["incidents"] == 0
    assert empty["time_to_acknowledge"] == spread(0)
    assert empty["automation_success_rate"] is None
    assert third["time_to_mitigate"] == spread(0)  # its fix failed verification
    assert third["automation_success_rate"] == 1.0
    assert series["by_service_severity"] == {
        "checkout": {"SEV1": 1, "SEV2": 1},
        "payments": {"SEV2": 1},
    }
    assert weekly.status_code == 200, weekly.text
    assert weekly.json()["bucket"] == "day"  # 14 days still read per day
    assert [p["incidents"] for p in weekly.json()["periods"]] == [2, 0, 1] + [0] * 11


async def test_series_per_week_and_refusals(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    seed(db)
    async with running_app(make_settings()) as (_app, client):

        async def get(**params: str) -> tuple[int, dict[str, Any]]:
            response = await client.get("/api/reports/series", params=params)
            return response.status_code, response.json()

        since = MONDAY.isoformat()
        code, weeks = await get(
            since=since, until=(MONDAY + timedelta(days=14)).isoformat(), bucket="week"
        )
        backwards = await get(since=since, until=(MONDAY - timedelta(days=1)).isoformat())
        naive = await get(since="2026-10-05T00:00:00")
        too_long = await get(since="2020-01-01T00:00:00Z", until=since, bucket="day")
        unknown = await get(since=since, bucket="month")
    assert code == 200
    assert [p["incidents"] for p in weeks["periods"]] == [3, 0]
    assert [p["automation_success_rate"] for p in weeks["periods"]] == [0.6667, None]
    for refused in (backwards, naive, too_long, unknown):
        assert refused[0] == 422, refused


def test_periods_cover_the_range_with_until_excluded() -> None:
    sunday = MONDAY + timedelta(days=6, hours=23)
    assert bucket_start(sunday, Bucket.WEEK) == MONDAY
    assert bucket_start(sunday, Bucket.DAY) == MONDAY + timedelta(days=6)
    assert period_starts(MONDAY, MONDAY + timedelta(days=2), Bucket.DAY) == [
        MONDAY,
        MONDAY + timedelta(days=1),
    ]
    assert period_starts(MONDAY + timedelta(hours=5), MONDAY + timedelta(hours=6), Bucket.DAY) == [
        MONDAY
    ]
    assert default_bucket(MONDAY, MONDAY + timedelta(days=60)) is Bucket.DAY
    assert default_bucket(MONDAY, MONDAY + timedelta(days=61)) is Bucket.WEEK
