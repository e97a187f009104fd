"""Overrides listed and removed, the coming shifts, and the iCalendar feeds, through the
real app; each feed is parsed with the ``icalendar`` library as a calendar app would."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import icalendar
from pydantic import SecretStr

from bot.app.settings import Settings
from bot.escalation.calendar import escape_text, fold, render_calendar
from bot.escalation.schedules import Shift
from tests.support import running_app

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
COMMANDER = "token-of-alice"
VIEWER = "token-of-bob"
SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "primary",
        "layers": [{"members": ["alice", "UBOB"], "length": "7d", "start": "2026-11-30"}],
    },
    {"name": "db, night", "layers": [{"members": ["alice"], "length": "1d"}]},
]
PEOPLE: dict[str, Any] = {
    "directory": [{"id": "alice"}, {"id": "bob", "slack": "UBOB"}],
    "tokens": [
        {
            "name": "alice",
            "sha256": hashlib.sha256(COMMANDER.encode()).hexdigest(),
            "person": "alice",
            "role": "commander",
        },
        {
            "name": "bob",
            "sha256": hashlib.sha256(VIEWER.encode()).hexdigest(),
            "person": "bob",
            "role": "viewer",
        },
    ],
}


def as_(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _settings(make_settings: Callable[..., Settings], **extra: Any) -> Settings:
    return make_settings(schedules=SCHEDULES, people=PEOPLE, **extra)


async def _feed(client: httpx.AsyncClient, url: str) -> icalendar.Calendar:
    parts = urlsplit(url)
    response = await client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    raw = response.content
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"TZID" not in raw
    return icalendar.Calendar.from_ical(raw)


async def test_overrides_are_listed_and_removed_by_a_commander(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(_settings(make_settings), clock=lambda: NOW) as (_app, client):
        url = "/api/schedules/primary/overrides"
        made = []
        for day in (6, 8):
            start = datetime(2026, 12, day, 9, tzinfo=UTC)
            body = {"user": "carol", "start": start.isoformat(), "end": f"2026-12-{day:02d}T18:00Z"}
            response = await client.post(url, json=body, headers=as_(COMMANDER))
            assert response.status_code == 201, response.text
            made.append(response.json()["id"])
        listed = (await client.get(url, headers=as_(VIEWER))).json()
        assert [(o["id"], o["user"], o["created_by"]) for o in listed] == [
            (made[0], "carol", "alice"),
            (made[1], "carol", "alice"),
        ]

        refused = await client.delete(f"{url}/{made[0]}", headers=as_(VIEWER))
        assert refused.status_code == 403
        assert refused.json() == {"detail": "bob is a viewer; edit_schedules needs commander"}
        other = await client.delete(
            f"/api/schedules/db, night/overrides/{made[0]}", headers=as_(COMMANDER)
        )
        assert other.status_code == 404
        gone = await client.delete(f"{url}/{made[0]}", headers=as_(COMMANDER))
        assert gone.status_code == 204
        again = await client.delete(f"{url}/{made[0]}", headers=as_(COMMANDER))
        assert again.status_code == 404
        left = (await client.get(url, headers=as_(VIEWER))).json()
        assert [o["id"] for o in left] == [made[1]]
        unknown = await client.get("/api/schedules/nope/overrides", headers=as_(VIEWER))
        assert unknown.status_code == 404

        shifts = (await client.get("/api/schedules/primary/shifts", headers=as_(VIEWER))).json()
        assert [(s["user"], s["start"][:16], s["source"]) for s in shifts] == [
            ("alice", "2026-12-05T12:00", "layer 1"),
            ("UBOB", "2026-12-07T09:00", "layer 1"),
            ("carol", "2026-12-08T09:00", "override"),
            ("UBOB", "2026-12-08T18:00", "layer 1"),
            ("alice", "2026-12-14T09:00", "layer 1"),
        ]
        assert shifts[-1]["end"][:16] == "2026-12-19T12:00"


async def test_feeds_are_off_without_a_secret(make_settings: Callable[..., Settings]) -> None:
    async with running_app(_settings(make_settings), clock=lambda: NOW) as (_app, client):
        off = await client.get("/api/schedules/primary/calendar", headers=as_(VIEWER))
        assert off.status_code == 404
        assert "FIRELINE_CALENDAR_SECRET" in off.json()["detail"]
        feed = await client.get("/calendar/schedules/primary.ics", params={"key": "0" * 64})
        assert feed.status_code == 404


async def test_schedule_and_person_feeds(make_settings: Callable[..., Settings]) -> None:
    settings = _settings(make_settings, calendar_secret=SecretStr("s3cret"))
    async with running_app(settings, clock=lambda: NOW) as (_app, client):
        override = {"user": "carol", "start": "2026-12-08T09:00Z", "end": "2026-12-08T18:00Z"}
        created = await client.post(
            "/api/schedules/primary/overrides", json=override, headers=as_(COMMANDER)
        )
        assert created.status_code == 201
        url = (await client.get("/api/schedules/primary/calendar", headers=as_(VIEWER))).json()[
            "url"
        ]
        assert url.startswith("http://fireline/calendar/schedules/primary.ics?key=")

        calendar = await _feed(client, url)
        events = calendar.walk("VEVENT")
        starts = [e.decoded("DTSTART") for e in events]
        assert starts[0] == datetime(2026, 11, 30, 9, tzinfo=UTC)
        assert max(starts) < NOW + timedelta(weeks=7)
        assert all(e.decoded("DTSTART").utcoffset() == timedelta(0) for e in events)
        carol = [e for e in events if "carol" in str(e["SUMMARY"])]
        assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in carol] == [
            (datetime(2026, 12, 8, 9, tzinfo=UTC), datetime(2026, 12, 8, 18, tzinfo=UTC))
        ]
        assert str(carol[0]["SUMMARY"]) == "On call: carol (primary)"
        assert len({str(e["UID"]) for e in events}) == len(events)
        again = await _feed(client, url)
        assert [str(e["UID"]) for e in again.walk("VEVENT")] == [str(e["UID"]) for e in events]

        path = urlsplit(url).path
        assert (await client.get(path)).status_code == 403
        wrong = await client.get(path, params={"key": "0" * 64})
        assert wrong.status_code == 403
        key = urlsplit(url).query.removeprefix("key=")
        borrowed = await client.get("/calendar/people/alice.ics", params={"key": key})
        assert borrowed.status_code == 403

        bob = (await client.get("/api/people/bob/calendar", headers=as_(VIEWER))).json()["url"]
        mine = (await _feed(client, bob)).walk("VEVENT")
        assert mine
        assert all(str(e["SUMMARY"]) == "On call: UBOB (primary)" for e in mine)

        alice = (await client.get("/api/people/alice/calendar", headers=as_(VIEWER))).json()
        theirs = (await _feed(client, alice["url"])).walk("VEVENT")
        assert {str(e["SUMMARY"]) for e in theirs} == {
            "On call: alice (primary)",
            "On call: alice (db, night)",
        }
        night = await client.get("/api/schedules/db, night/calendar", headers=as_(VIEWER))
        assert "/calendar/schedules/db%2C%20night.ics?key=" in night.json()["url"]
        assert (await _feed(client, night.json()["url"])).walk("VEVENT")


def test_text_is_escaped_and_long_lines_fold_between_characters() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "SUMMARY:" + "é" * 80
    folded = fold(line)
    pieces = folded.encode().split(b"\r\n ")
    assert all(len(p) <= 75 for p in pieces)
    assert "".join(p.decode() for p in pieces) == line
    shift = Shift("p", "x" * 100 + ",;", NOW, NOW + timedelta(hours=1), "layer 1")
    parsed = icalendar.Calendar.from_ical(render_calendar("p", [shift], now=NOW))
    [event] = parsed.walk("VEVENT")
    assert str(event["SUMMARY"]) == f"On call: {'x' * 100},; (p)"
    assert event.decoded("DTSTAMP") == NOW
