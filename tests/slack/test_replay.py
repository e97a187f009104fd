"""A signed Slack request is acted on once: repeats within the window are refused, and so
is a timestamp that is not a number."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.app.settings import Settings
from bot.security import slack_signature_valid
from storage import queries_security
from storage.db import Database
from storage.tables_security import SlackRequestSeen
from tests.slack.standin import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackStandIn,
    signed,
    slack_standin,
    slash,
)
from tests.support import running_app

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with slack_standin() as s:
        yield s


def _settings(make_settings: Callable[..., Settings], standin: SlackStandIn) -> Settings:
    return make_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url,
        slack_channel="CINC",
        slack_major_severity=None,
    )


async def _incidents(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/api/incidents")).json()["items"]
    return items


async def test_one_signed_declare_sent_three_times_declares_one_incident(
    make_settings: Callable[..., Settings], standin: SlackStandIn
) -> None:
    async with running_app(_settings(make_settings, standin)) as (_, client):
        body = slash("declare Checkout is slow sev2", user="UIC0001")
        headers = signed(body)
        answers = [
            await client.post("/slack/events", content=body, headers=headers) for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 401, 401], answers[0].text
        assert answers[0].text == "Declared incident #1: Checkout is slow"
        assert answers[1].json() == {"detail": "this Slack request was already received"}
        assert [i["title"] for i in await _incidents(client)] == ["Checkout is slow"]

        # The same command signed afresh (a new timestamp) is a new request.
        again = signed(body, at=int(time.time()) + 1)
        assert (await client.post("/slack/events", content=body, headers=again)).status_code == 200
        assert len(await _incidents(client)) == 2


@pytest.mark.parametrize(
    "stamp", ["abc", "", "-1", "1e9", " 1700000000", "\u0661\u0667" + "\u0660" * 8, "9" * 40]
)
async def test_a_malformed_timestamp_is_401_not_500(
    make_settings: Callable[..., Settings], standin: SlackStandIn, stamp: str
) -> None:
    async with running_app(_settings(make_settings, standin)) as (_, client):
        body = slash("help", user="U1")
        headers: dict[str, Any] = signed(body) | {"X-Slack-Request-Timestamp": stamp.encode()}
        response = await client.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 401, response.text


def test_signature_checks_are_pure() -> None:
    body = b"a=1"
    stamp = str(int(NOW.timestamp()))
    good = signed(body.decode(), at=int(NOW.timestamp()))["X-Slack-Signature"]
    assert slack_signature_valid(SIGNING_SECRET, body, stamp, good, now=NOW)
    assert slack_signature_valid(SIGNING_SECRET, body, stamp, good, now=NOW + timedelta(minutes=5))
    assert not slack_signature_valid(
        SIGNING_SECRET, body, stamp, good, now=NOW + timedelta(minutes=6)
    )
    assert not slack_signature_valid(SIGNING_SECRET, body + b"&b=2", stamp, good, now=NOW)
    assert not slack_signature_valid(SIGNING_SECRET, body, stamp, good[:-1] + "é", now=NOW)
    assert not slack_signature_valid(SIGNING_SECRET, body, "abc", good, now=NOW)
    assert not slack_signature_valid(SIGNING_SECRET, body, None, good, now=NOW)
    assert not slack_signature_valid(SIGNING_SECRET, body, stamp, None, now=NOW)


def test_seen_signatures_are_pruned_when_their_window_closes(db: Database) -> None:
    closes = NOW + timedelta(minutes=5)

    def sight(signature: str, now: datetime) -> bool:
        with db.write() as session:
            return queries_security.first_sighting(session, signature, expires_at=closes, now=now)

    assert sight("v0=aa", NOW)
    assert not sight("v0=aa", NOW + timedelta(minutes=4))
    assert sight("v0=bb", NOW)
    assert sight("v0=cc", closes + timedelta(seconds=1))
    with db.session() as session:
        left = sorted(session.exec(select(SlackRequestSeen.signature)).all())
    assert left == ["v0=cc"]
