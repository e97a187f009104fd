"""The outbox in the running service: a slow peer never holds the webhook's answer, chat
projection misses nothing whatever order transactions commit in, and a storm of alerts
is one thread message, not hundreds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.app.settings import Settings
from bot.chat import service as chat_service
from bot.chat.config import ChatConfig
from bot.events import EventKind
from bot.outbox import service as outbox
from storage import queries
from storage.db import Database
from storage.tables_chat import ChatCard
from storage.tables_outbox import OutboxMessage
from tests.automation.support import wait_for
from tests.escalation.httpserver import http_server
from tests.escalation.support import FakeClock, open_incident, rules
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, slack_standin
from tests.support import alert, payload, running_app, settle

PAGING = """\
escalation:
  tick: 100ms
  policies:
    - name: default
      levels:
        - targets: [{{webhook: pager}}]
          delay: 1h
  webhooks:
    pager: {{url: "{url}/page", timeout: 30s}}
"""


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_template: Path) -> Callable[..., Settings]:
    import shutil

    path = tmp_path / "fireline.db"
    shutil.copy(sqlite_template, path)

    def make(**overrides: Any) -> Settings:
        return Settings(database_url=f"sqlite:///{path}", migrate_on_start=False, **overrides)

    return make


async def test_a_slow_pager_does_not_hold_the_webhooks_answer_on_sqlite(
    sqlite_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    gate = threading.Event()  # the pager answers only when the test says so
    with http_server(gate=gate) as pager:
        config = tmp_path / "fireline.yml"
        config.write_text(PAGING.format(url=pager.url))
        runbooks = tmp_path / "runbooks"
        runbooks.mkdir()
        settings = sqlite_settings(config=config, runbook_dirs=[runbooks])
        async with running_app(settings) as (app, client):
            first = payload([alert("DiskFull", labels={"severity": "warning"})])
            assert (await client.post("/webhooks/alertmanager", json=first)).status_code == 200
            await wait_for(pager.arrived.is_set, what="the page to reach the pager")
            # The pager now holds its answer. Another delivery is taken, stored and triaged,
            # and its own page goes out, while the first page is still in flight.
            second = payload([alert("CpuHot", labels={"severity": "warning"})])
            started = time.monotonic()
            response = await client.post("/webhooks/alertmanager", json=second)
            answered_in = time.monotonic() - started
            assert response.status_code == 200
            assert not gate.is_set()
            await settle(app)
            await wait_for(lambda: len(pager.requests) == 2, what="the second page")
            assert not gate.is_set()  # the first page's request is still open
            print(f"webhook answered in {answered_in * 1000:.1f} ms with the pager holding")
            gate.set()
            await app.state.runtime.outbox.drain(within=15)


def test_projection_misses_no_event_committed_out_of_id_order(postgres_url: str) -> None:
    """Two transactions commit in the opposite order to their events' ids."""
    db = Database(postgres_url)
    try:
        from tests.conftest import _truncate_all

        _truncate_all(postgres_url)
        clock = FakeClock()
        incident_id = open_incident(db, rules(), now=clock())
        with db.write() as session:
            session.add(
                ChatCard(incident_id=incident_id, channel="CINC", ts="1.1", updated_at=clock())
            )
        chat_rules = chat_service.ChatRules(default_channel="CINC", routes=ChatConfig())
        chat_service.project(db, chat_rules, now=clock())

        def note(session: Any, text: str, at: datetime) -> int | None:
            return queries.add_event(
                session,
                incident_id=incident_id,
                kind=EventKind.NOTE_ADDED,
                text=text,
                actor="ann",
                at=at,
                recorded_at=at,
            )

        with db.write() as slow:
            early = note(slow, "written first, committed last", clock())
            with db.write() as quick:
                late = note(quick, "written second, committed first", clock())
            assert early is not None
            assert late is not None
            assert early < late
            chat_service.project(db, chat_rules, now=clock())  # sees only the later id
        chat_service.project(db, chat_rules, now=clock())
        texts = [
            m.payload["message"]["text"]
            for m in chat_service.messages(db, incident_id)
            if m.kind == "thread"
        ]
        assert any("written first" in t for t in texts)
        assert any("written second" in t for t in texts)
    finally:
        db.dispose()


def digest_rules() -> chat_service.ChatRules:
    """One channel at one message a second, digests after 30 s behind."""
    return chat_service.ChatRules(
        default_channel="CINC", routes=ChatConfig(), rate=1, burst=1, digest_after=30
    )


def lane_rows(db: Database, lane: str) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.lane == lane)).all())


def test_a_major_incident_joins_the_digest_still_waiting_instead_of_a_notice(
    db: Database,
) -> None:
    """A notice of its own would queue behind the waiting digest and split it in two."""
    clock = FakeClock()
    chat_rules = digest_rules()
    chat_service.start_cursor(db)
    lane = chat_service.channel_lane("CINC")
    with db.write() as session:
        outbox.queue(
            session,
            destination=chat_service.SLACK,
            lane=lane,
            kind=chat_service.ChatWrite.DIGEST,
            payload={"channel": "CINC", "incidents": [99], "updated": []},
            now=clock(),
        )
    major = open_incident(db, rules(), now=clock(), severity="critical")
    chat_service.project(db, chat_rules, now=clock())
    in_lane = lane_rows(db, lane)
    assert [(m.kind, m.payload["incidents"]) for m in in_lane] == [("digest", [99, major])]
    kinds = [m.kind for m in chat_service.messages(db, major)]
    assert "channel.create" in kinds
    assert "card.post" in kinds


def test_a_new_digest_gathers_for_a_third_of_digest_after_before_it_is_due(
    db: Database,
) -> None:
    """Sent at its first line, each digest took a slot from the backlog it stands in for."""
    clock = FakeClock()
    chat_rules = digest_rules()
    chat_service.start_cursor(db)
    for n in range(40):
        open_incident(db, rules(), now=clock(), name=f"Storm{n}", fingerprint=f"{n:016x}")
    while chat_service.project(db, chat_rules, now=clock()):
        pass
    lane = chat_service.channel_lane("CINC")
    (digest,) = lane_rows(db, lane)
    assert digest.payload["incidents"]
    assert digest.next_attempt_at.replace(tzinfo=None) == (clock() + timedelta(seconds=10)).replace(
        tzinfo=None
    )


def opened_31_s_apart(db: Database, meanwhile: Callable[[], None] = lambda: None) -> list[int]:
    """Two incidents in CINC (digests after 30 s behind), each projected as it opens,
    the second 31 s after the first; ``meanwhile`` runs between them."""
    clock = FakeClock()
    chat_service.start_cursor(db)
    opened = []
    for n, name in enumerate(["Early", "Later"]):
        if n:
            meanwhile()
            clock.advance(seconds=31)
        opened.append(open_incident(db, rules(), now=clock(), name=name, fingerprint=f"{n:016x}"))
        chat_service.project(db, digest_rules(), now=clock())
    return opened


def test_a_channel_whose_oldest_row_has_waited_too_long_gets_no_new_card(
    db: Database,
) -> None:
    """New cards go first, so a channel kept just under the count's limit by them left
    its oldest rows waiting twice the limit: the oldest row's wait counts too."""
    first, later = opened_31_s_apart(db)  # the first's card and rows: far from 30
    assert "card.post" in [m.kind for m in chat_service.messages(db, first)]
    assert "card.post" not in [m.kind for m in chat_service.messages(db, later)]
    (digest,) = lane_rows(db, chat_service.channel_lane("CINC"))
    assert digest.payload["incidents"] == [later]


def test_a_row_retried_after_failures_does_not_put_a_channel_behind(db: Database) -> None:
    """It waits for Slack, not for the channel's pace: a quiet channel stays quiet."""

    def retried() -> None:
        with db.write() as session:
            for row in session.exec(select(OutboxMessage)).all():
                row.attempts = 3
                session.add(row)

    first, later = opened_31_s_apart(db, retried)
    assert "card.post" in [m.kind for m in chat_service.messages(db, first)]
    assert "card.post" in [m.kind for m in chat_service.messages(db, later)]


def test_rows_queued_behind_a_retried_row_do_not_put_a_channel_behind(db: Database) -> None:
    """They wait for Slack too: a Slack outage that held an incident's lane for 31 s is no
    backlog at the channel's pace, and the next incident still gets its card."""
    held: list[int] = []

    def lane_heads_retried() -> None:
        with db.write() as session:
            rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
            heads: dict[str, OutboxMessage] = {}
            for row in rows:
                heads.setdefault(row.lane, row)
            for head in heads.values():
                head.attempts = 3
                session.add(head)
            held.extend(row.id or 0 for row in rows if row.attempts == 0)

    first, later = opened_31_s_apart(db, lane_heads_retried)
    assert held, "no row waited behind a retried one: the test would prove nothing"
    assert "card.post" in [m.kind for m in chat_service.messages(db, first)]
    assert "card.post" in [m.kind for m in chat_service.messages(db, later)]


async def test_an_alert_storm_is_one_bundled_thread_message(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    with slack_standin() as standin:
        runbooks = tmp_path / "runbooks"
        runbooks.mkdir()
        settings = make_settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=standin.url,
            slack_channel="CINC",
            slack_major_severity=None,
            slack_rate=0,
            runbook_dirs=[runbooks],
        )
        storm = [
            alert("ManyPods", fingerprint=f"{n:016x}", labels={"pod": f"web-{n}"})
            for n in range(300)
        ]
        async with running_app(settings) as (app, client):
            body = payload(storm)
            assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
            await settle(app)
            await app.state.runtime.chat.drain(within=30)
            thread = [m for m in standin.of("chat.postMessage") if m.get("thread_ts")]
            alerts = [m for m in thread if ":rotating_light:" in m["text"]]
            assert 1 <= len(alerts) <= 3, [m["text"] for m in alerts]
            assert (
                sum(int(m["text"].split()[1]) if "alerts fired" in m["text"] else 1 for m in alerts)
                == 300
            )
