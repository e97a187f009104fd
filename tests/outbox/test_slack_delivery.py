"""Chat's transport against the Slack stand-in: a send cut short is looked up, not posted
twice; a second copy of a card is retired; pages waiting for one person go as one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from bot.chat import service as chat_service
from bot.chat.client import ChatError
from bot.chat.service import ChatWrite
from bot.chat.slack.client import SlackChat, web_client
from bot.chat.transport import PACE_HOLD, ChatTransport
from bot.escalation import service as escalation
from bot.escalation.hooks import EscalationHooks
from bot.incidents import service as incidents
from bot.outbox import service as outbox
from bot.outbox.decide import Pacer
from bot.outbox.model import NotYet, Outgoing
from bot.outbox.worker import OutboxSender
from storage.db import Database
from storage.tables_chat import ChatCard
from storage.tables_outbox import OutboxMessage, OutboxStatus
from tests.automation.support import wait_for
from tests.escalation.support import FakeClock, open_incident, rules
from tests.slack.standin import BOT_TOKEN, SlackStandIn, slack_standin

LEASE = timedelta(seconds=5)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with slack_standin() as s:
        yield s


def chat_of(standin: SlackStandIn) -> SlackChat:
    return SlackChat(web_client(BOT_TOKEN, standin.url))


def transport(db: Database, standin: SlackStandIn, clock: FakeClock) -> ChatTransport:
    return ChatTransport(
        db,
        chat_of(standin),
        still_wanted=lambda i, once: escalation.page_still_wanted(db, i, once=once),
        clock=clock,
        pacer=Pacer(rate=0),
    )


def with_card(
    db: Database, clock: FakeClock, name: str = "HighErrorRate", ts: str | None = None
) -> int:
    """An open incident with its card in CINC; with ``ts``, a card Slack already shows."""
    incident_id = open_incident(db, rules(), now=clock(), name=name)
    with db.write() as session:
        session.add(ChatCard(incident_id=incident_id, channel="CINC", ts=ts, updated_at=clock()))
    return incident_id


def queue(
    db: Database, clock: FakeClock, incident_id: int, kind: str, lane: str, **payload: object
) -> int:
    with db.write() as session:
        outbox.queue(
            session,
            destination="slack",
            lane=lane,
            kind=kind,
            payload=dict(payload),
            now=clock(),
            incident_id=incident_id,
        )
    return max(r.id or 0 for r in outbox.messages_of(db, incident_id))


def queue_note(db: Database, clock: FakeClock, incident_id: int, text: str) -> int:
    """A thread message under the incident's card."""
    message: dict[str, object] = {"text": text, "detail": None, "buttons": [], "mentions": []}
    lane = chat_service.incident_lane(incident_id)
    return queue(db, clock, incident_id, ChatWrite.THREAD, lane, message=message)


def queue_page(db: Database, clock: FakeClock, incident_id: int, text: str, level: int = 1) -> int:
    """A page for U1 about ``checkout``, bundled with U1's other pages for it."""
    return queue(
        db,
        clock,
        incident_id,
        ChatWrite.DM,
        chat_service.person_lane("U1"),
        user="U1",
        message={"text": text, "detail": None, "buttons": [], "mentions": []},
        page={"incident_id": incident_id, "title": "t", "severity": "SEV3", "level": level},
        bundle="page:U1:checkout",
        service="checkout",
    )


async def deliver_all(db: Database, standin: SlackStandIn, clock: FakeClock) -> None:
    sender = OutboxSender(db, {"slack": transport(db, standin, clock)}, clock=clock, lease=LEASE)
    sender.start()
    try:
        await sender.drain(within=15)
    finally:
        await sender.stop()


async def test_a_card_slack_already_has_is_adopted_not_posted_again(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    incident_id = with_card(db, clock)
    row_id = queue(
        db, clock, incident_id, ChatWrite.CARD_POST, chat_service.incident_lane(incident_id)
    )
    # A sender took the row and Slack took the card, then the sender died.
    (held,) = outbox.claim(db, owner="crashed", now=clock(), lease=LEASE, capacity=lambda d: 8)
    view = chat_service.view_of(db, incident_id, now=clock())
    assert view is not None
    first_ts = await chat_of(standin).post_card("CINC", view, suppressed=0, outbox_id=held.id)
    clock.advance(seconds=6)
    await deliver_all(db, standin, clock)
    assert len(standin.of("chat.postMessage")) == 1
    card = chat_service.card_of(db, incident_id)
    assert card is not None
    assert card.ts == first_ts
    (row,) = [r for r in outbox.messages_of(db, incident_id) if r.id == row_id]
    assert row.status == OutboxStatus.SENT


async def test_a_card_posted_twice_is_retired_and_loses_its_buttons(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    incident_id = with_card(db, clock)
    queue(db, clock, incident_id, ChatWrite.CARD_POST, chat_service.incident_lane(incident_id))
    outbox.claim(db, owner="crashed", now=clock(), lease=LEASE, capacity=lambda d: 8)
    view = chat_service.view_of(db, incident_id, now=clock())
    assert view is not None
    # An older copy Slack holds under another outbox row (a database restored from backup,
    # a metadata lookup that failed): the live card is posted now, the stale one retired.
    stale = await chat_of(standin).post_card("CINC", view, suppressed=0, outbox_id=9999)
    clock.advance(seconds=6)
    await deliver_all(db, standin, clock)
    live = chat_service.card_of(db, incident_id)
    assert live is not None
    assert live.ts not in (None, stale)
    (retired,) = [u for u in standin.of("chat.update") if u["ts"] == stale]
    assert retired["text"].startswith("Superseded:")
    assert not any(b["type"] == "actions" for b in retired["blocks"])


async def test_a_thread_message_cut_short_is_not_posted_twice(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    card_ts = "1.000001"
    incident_id = with_card(db, clock, ts=card_ts)
    queue_note(db, clock, incident_id, "a note")
    (held,) = outbox.claim(db, owner="crashed", now=clock(), lease=LEASE, capacity=lambda d: 8)
    from bot.chat.render import ChatMessage

    await chat_of(standin).post("CINC", ChatMessage("a note"), thread=card_ts, outbox_id=held.id)
    clock.advance(seconds=6)
    await deliver_all(db, standin, clock)
    assert len(standin.of("chat.postMessage")) == 1
    assert len(standin.of("conversations.replies")) == 1


async def test_a_row_put_off_by_a_busy_channel_comes_back_when_it_may_wait_for_a_slot(
    db: Database, standin: SlackStandIn
) -> None:
    """Not when the slot is free: by then a row queued later would have reserved it."""
    clock = FakeClock()
    incident_id = with_card(db, clock, ts="1.000001")
    queue_note(db, clock, incident_id, "a note")
    (row,) = outbox.claim(db, owner="o", now=clock(), lease=LEASE, capacity=lambda d: 8)
    pacer = Pacer(rate=1, burst=1)
    for _ in range(4):
        pacer.reserve("CINC", 100.0)  # the next slot is 4 s away: too far to wait in place
    sending = paced_sender(db, standin, clock, pacer, lambda: 100.0)
    with pytest.raises(NotYet) as put_off:
        await sending.deliver(row)
    assert put_off.value.wait == pytest.approx(4.0 - PACE_HOLD)
    assert pacer.wait("CINC", 100.0 + put_off.value.wait) <= PACE_HOLD
    assert standin.of("chat.postMessage") == []


def real_time_pace(rate: float, reserved: int) -> tuple[Pacer, Callable[[], float]]:
    """A pace on a monotonic clock that starts at 0 now, with ``reserved`` slots taken."""
    started = time.monotonic()
    pacer = Pacer(rate=rate, burst=1)
    for _ in range(reserved):
        pacer.reserve("CINC", 0.0)
    return pacer, lambda: time.monotonic() - started


def paced_sender(
    db: Database,
    standin: SlackStandIn,
    clock: FakeClock,
    pacer: Pacer,
    monotonic: Callable[[], float],
) -> ChatTransport:
    """A Slack sender pacing CINC with ``pacer`` on the ``monotonic`` clock."""
    return ChatTransport(
        db,
        chat_of(standin),
        still_wanted=lambda i, once: None,
        clock=clock,
        pacer=pacer,
        monotonic=monotonic,
    )


async def test_the_first_row_in_line_waits_in_place_for_a_near_slot_and_the_rest_by_rank(
    db: Database, standin: SlackStandIn
) -> None:
    """Put off, the first row came back a moment after rows claimed meanwhile had taken
    its slot; a storm's digest lost that race for minutes."""
    clock = FakeClock()
    rows = claimed_notes(db, clock, ["n0", "n1", "n2"])
    pacer, monotonic = real_time_pace(rate=2, reserved=3)  # the next slot is 1.5 s away
    sending = paced_sender(db, standin, clock, pacer, monotonic)
    outcomes = await asyncio.gather(*(sending.deliver(r) for r in rows), return_exceptions=True)
    assert outcomes[0] is None
    assert [m["text"] for m in standin.of("chat.postMessage")] == ["n0"]
    put_off = [o for o in outcomes[1:] if isinstance(o, NotYet)]
    assert len(put_off) == 2
    # n1's slot comes 0.5 s after n0's, n2's 0.5 s after that: each is put off until
    # its own slot is near enough to wait for.
    assert put_off[0].wait == pytest.approx(1.5 + 0.5 - PACE_HOLD, abs=0.2)
    assert put_off[1].wait == pytest.approx(1.5 + 1.0 - PACE_HOLD, abs=0.2)
    assert pacer.state("CINC")[0] == pytest.approx(2.0)  # n0 took the slot at 1.5 s


async def test_a_card_that_comes_while_a_row_waits_in_place_takes_its_slot(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    (note,) = claimed_notes(db, clock, ["n0"])
    incident_id = with_card(db, clock, name="Fresh")
    queue(db, clock, incident_id, ChatWrite.CARD_POST, chat_service.incident_lane(incident_id))
    (card,) = outbox.claim(db, owner="o", now=clock(), lease=LEASE, capacity=lambda d: 8)
    sending = paced_sender(db, standin, clock, *real_time_pace(rate=2, reserved=3))
    waiting = asyncio.create_task(sending.deliver(note))
    await wait_for(
        lambda: "CINC" in sending._lines and sending._lines["CINC"].waiting is not None,
        what="the note to wait in place",
    )
    await sending.deliver(card)
    with pytest.raises(NotYet):
        await waiting
    (posted,) = standin.of("chat.postMessage")
    assert "Fresh" in posted["text"]


async def test_a_row_that_has_waited_as_long_as_urgent_after_keeps_its_slot_from_a_new_card(
    db: Database, standin: SlackStandIn
) -> None:
    """New cards first starved a storm channel's older thread posts for a minute."""
    clock = FakeClock()
    queue_note(db, clock, with_card(db, clock, ts="1.000001"), "n0")
    clock.advance(seconds=outbox.URGENT_AFTER.total_seconds())
    incident_id = with_card(db, clock, name="Fresh")
    queue(db, clock, incident_id, ChatWrite.CARD_POST, chat_service.incident_lane(incident_id))
    rows = outbox.claim(db, owner="o", now=clock(), lease=LEASE, capacity=lambda d: 8)
    note, card = sorted(rows, key=lambda r: r.id)
    sending = paced_sender(db, standin, clock, *real_time_pace(rate=2, reserved=3))
    waiting = asyncio.create_task(sending.deliver(note))
    await wait_for(
        lambda: "CINC" in sending._lines and sending._lines["CINC"].waiting is not None,
        what="the note to wait in place",
    )
    with pytest.raises(NotYet):
        await sending.deliver(card)
    await waiting
    assert [m["text"] for m in standin.of("chat.postMessage")] == ["n0"]


async def test_rows_in_flight_for_one_channel_take_its_slots_oldest_first(
    db: Database, standin: SlackStandIn
) -> None:
    """Whichever reaches the pace first, the oldest goes first and the youngest waits."""
    clock = FakeClock()
    ids = []
    for n in range(3):
        incident_id = with_card(db, clock, name=f"Alert{n}", ts=f"1.00000{n}")
        ids.append(queue_note(db, clock, incident_id, f"note {n}"))
    rows = outbox.claim(db, owner="o", now=clock(), lease=LEASE, capacity=lambda d: 8)
    assert sorted(r.id for r in rows) == ids
    # One slot now, the next in 1 s, then one beyond.
    sending = paced_sender(db, standin, clock, Pacer(rate=1, burst=1), lambda: 100.0)
    youngest_first = sorted(rows, key=lambda r: -r.id)
    outcomes = await asyncio.gather(
        *(sending.deliver(r) for r in youngest_first), return_exceptions=True
    )
    put_off = [r.id for r, o in zip(youngest_first, outcomes, strict=True) if o is not None]
    assert put_off == [ids[2]]
    assert [m["text"] for m in standin.of("chat.postMessage")] == ["note 0", "note 1"]


def claimed_notes(db: Database, clock: FakeClock, texts: list[str]) -> list[Outgoing]:
    """A thread message for each of ``texts``, each under its own incident's posted card
    in CINC, claimed by one sender; oldest first."""
    for n, text in enumerate(texts):
        queue_note(db, clock, with_card(db, clock, name=f"Alert{n}", ts=f"1.00000{n}"), text)
    rows = outbox.claim(db, owner="o", now=clock(), lease=LEASE, capacity=lambda d: 8)
    return sorted(rows, key=lambda r: r.id)


def replica(db: Database, standin: SlackStandIn, clock: FakeClock) -> ChatTransport:
    """One ``fireline serve``'s Slack sender, pacing a channel at one post in 4 s."""
    return ChatTransport(
        db,
        chat_of(standin),
        still_wanted=lambda i, once: None,
        clock=clock,
        pacer=Pacer(rate=0.25, burst=1),
        shared_pace=True,
    )


async def test_replicas_take_one_channel_s_slots_from_one_pace(
    db: Database, standin: SlackStandIn
) -> None:
    """Each pacing on its own, two replicas sent twice the rate Slack allows a channel."""
    clock = FakeClock()
    first, second = claimed_notes(db, clock, ["n0", "n1"])
    await replica(db, standin, clock).deliver(first)
    with pytest.raises(NotYet) as put_off:
        await replica(db, standin, clock).deliver(second)
    assert put_off.value.wait == pytest.approx(4.0 - PACE_HOLD)
    clock.advance(seconds=put_off.value.wait)
    await replica(db, standin, clock).deliver(second)
    assert [m["text"] for m in standin.of("chat.postMessage")] == ["n0", "n1"]


async def test_a_429_to_one_replica_holds_the_channel_for_every_replica(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    first, second = claimed_notes(db, clock, ["n0", "n1"])
    standin.rate_limited, standin.retry_after = 1, 30
    with pytest.raises(ChatError):
        await replica(db, standin, clock).deliver(first)
    with pytest.raises(NotYet) as put_off:
        await replica(db, standin, clock).deliver(second)
    assert put_off.value.wait == pytest.approx(30.0 - PACE_HOLD)
    assert standin.of("chat.postMessage") == []


async def test_pages_waiting_for_one_person_go_as_one_message_less_the_acknowledged(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    ids = [with_card(db, clock, name=f"Alert{n}") for n in range(4)]
    for incident_id in ids:
        queue_page(db, clock, incident_id, f"page {incident_id}")
    incidents.acknowledge(db, ids[3], actor="ann", hooks=EscalationHooks(rules()), clock=clock)
    await deliver_all(db, standin, clock)
    (dm,) = standin.of("chat.postMessage")
    assert dm["channel"] == "DU1"
    assert "You are paged for 3 incidents of checkout" in dm["text"]
    statuses = sorted(r.status for i in ids for r in outbox.messages_of(db, i) if r.kind == "dm")
    assert statuses == [OutboxStatus.BUNDLED] * 3 + [OutboxStatus.SENT]
    with db.session() as session:
        from sqlmodel import col, select

        first = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "dm").order_by(col(OutboxMessage.id))
        ).first()
    assert first is not None
    assert len(first.payload["bundled"]) == 3


async def test_an_incident_paged_twice_before_delivery_is_one_page_at_its_latest_level(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    incident_id = with_card(db, clock)
    for level in (1, 2):
        queue_page(db, clock, incident_id, f"You are paged (level {level})", level=level)
    await deliver_all(db, standin, clock)
    (dm,) = standin.of("chat.postMessage")
    assert dm["text"] == "You are paged (level 2)"


async def test_a_failed_look_up_is_tried_again_before_posting(
    db: Database, standin: SlackStandIn
) -> None:
    clock = FakeClock()
    incident_id = with_card(db, clock)
    row_id = queue(
        db, clock, incident_id, ChatWrite.CARD_POST, chat_service.incident_lane(incident_id)
    )
    (held,) = outbox.claim(db, owner="crashed", now=clock(), lease=LEASE, capacity=lambda d: 8)
    view = chat_service.view_of(db, incident_id, now=clock())
    assert view is not None
    first_ts = await chat_of(standin).post_card("CINC", view, suppressed=0, outbox_id=held.id)
    standin.errors["conversations.history"] = "internal_error"  # the first look-up fails
    clock.advance(seconds=6)
    sender = OutboxSender(db, {"slack": transport(db, standin, clock)}, clock=clock, lease=LEASE)
    sender.start()
    try:

        def retrying() -> bool:
            (row,) = [r for r in outbox.messages_of(db, incident_id) if r.id == row_id]
            return row.status == OutboxStatus.PENDING and row.attempts == 2

        await wait_for(retrying, what="the failed look-up to be retried")
        clock.advance(seconds=60)
        await sender.drain(within=15)
    finally:
        await sender.stop()
    # The failed look-up, the one that found the card, and the look for second copies.
    assert len(standin.of("conversations.history")) == 3
    assert len(standin.of("chat.postMessage")) == 1
    card = chat_service.card_of(db, incident_id)
    assert card is not None
    assert card.ts == first_ts
