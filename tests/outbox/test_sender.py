"""The outbox sender on the real databases: leases, take-over after a crash, lanes and
destinations that never wait for each other, retries and giving up."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from bot.outbox import service
from bot.outbox.decide import Pacer, gives_up, retry_delay
from bot.outbox.model import DeliveryError, NotYet, Outgoing
from bot.outbox.worker import OutboxSender
from storage.db import Database
from storage.tables_outbox import OutboxMessage, OutboxStatus
from tests.automation.support import wait_for
from tests.escalation.support import FakeClock


class Recording:
    """A transport that keeps what it was given; ``gate`` holds every send until set."""

    def __init__(self, *, gate: asyncio.Event | None = None, fail: int = 0) -> None:
        self.delivered: list[Outgoing] = []
        self.gate = gate
        self.fail = fail
        self.given_up: list[str] = []

    def max_attempts(self, message: Outgoing) -> int | None:
        return 3

    async def deliver(self, message: Outgoing) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail > 0:
            self.fail -= 1
            raise DeliveryError("503 from the peer", retry_after=0.01)
        self.delivered.append(message)

    async def gave_up(self, message: Outgoing, error: str) -> None:
        self.given_up.append(error)


def queue(db: Database, destination: str, lane: str, *, key: str, now: object) -> None:
    with db.write() as session:
        service.queue(
            session,
            destination=destination,
            lane=lane,
            kind="page",
            payload={"key": key},
            now=now,  # type: ignore[arg-type]
            idempotency_key=key,
        )


def rows(db: Database) -> list[OutboxMessage]:
    with db.session() as session:
        from sqlmodel import col, select

        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def test_a_message_queued_twice_under_one_key_is_queued_once(db: Database) -> None:
    clock = FakeClock()
    queue(db, "test:a", "lane", key="page:1:3:a", now=clock())
    queue(db, "test:a", "lane", key="page:1:3:a", now=clock())
    assert len(rows(db)) == 1


async def test_a_crashed_senders_message_is_taken_over_after_its_lease(db: Database) -> None:
    clock = FakeClock()
    queue(db, "test:a", "lane", key="k1", now=clock())
    lease = timedelta(seconds=5)
    (held,) = service.claim(db, owner="crashed", now=clock(), lease=lease, capacity=lambda d: 8)
    assert (held.attempt, held.interrupted) == (1, False)
    clock.advance(seconds=4)
    assert service.claim(db, owner="other", now=clock(), lease=lease, capacity=lambda d: 8) == []
    clock.advance(seconds=2)  # the crashed sender stopped renewing: its lease is over
    transport = Recording()
    sender = OutboxSender(db, {"test": transport}, clock=clock, lease=lease)
    sender.start()
    try:
        await wait_for(lambda: transport.delivered, what="the take-over")
    finally:
        await sender.stop()
    (again,) = transport.delivered
    assert (again.id, again.attempt, again.interrupted) == (held.id, 2, True)
    (row,) = rows(db)
    assert (row.status, row.claimed_by, row.lease_until) == (OutboxStatus.SENT, None, None)


async def test_a_send_in_flight_keeps_its_lease_by_heartbeat(db: Database) -> None:
    clock = FakeClock()
    queue(db, "test:a", "lane", key="k1", now=clock())
    gate = asyncio.Event()
    transport = Recording(gate=gate)
    lease = timedelta(seconds=0.3)  # renewed every 0.1 s of real time
    sender = OutboxSender(db, {"test": transport}, clock=clock, lease=lease)
    sender.start()
    try:
        await wait_for(lambda: sender.in_flight == 1, what="the send to start")
        (first,) = rows(db)
        assert first.status == OutboxStatus.SENDING
        clock.advance(seconds=10)  # far past the first lease

        def renewed() -> bool:
            (row,) = rows(db)
            return row.lease_until is not None and row.lease_until > clock()

        await wait_for(renewed, what="the heartbeat to renew the lease")
        assert (
            service.claim(db, owner="other", now=clock(), lease=lease, capacity=lambda d: 8) == []
        )
        gate.set()
        await wait_for(lambda: transport.delivered, what="the delivery")
    finally:
        gate.set()
        await sender.stop()


async def test_a_slow_destination_holds_neither_its_other_lanes_nor_other_destinations(
    db: Database,
) -> None:
    clock = FakeClock()
    queue(db, "slow:a", "slow:incident:1", key="s1", now=clock())
    queue(db, "slow:a", "slow:incident:1", key="s2", now=clock())  # behind s1 in its lane
    queue(db, "fast:b", "fast:incident:1", key="f1", now=clock())
    queue(db, "slow:a", "slow:incident:2", key="s3", now=clock())  # another lane
    gate = asyncio.Event()
    slow, fast = Recording(gate=gate), Recording()
    sender = OutboxSender(db, {"slow": slow, "fast": fast}, clock=clock)
    sender.start()
    try:
        await wait_for(lambda: fast.delivered, what="the other destination")
        await wait_for(lambda: sender.in_flight == 2, what="both slow lanes in flight")
        assert slow.delivered == []
        gate.set()
        await wait_for(lambda: len(slow.delivered) == 3, what="the slow lanes")
    finally:
        gate.set()
        await sender.stop()
    keys = [m.payload["key"] for m in slow.delivered]
    assert keys.index("s1") < keys.index("s2")  # one lane, in order


async def test_failures_are_retried_then_given_up_and_reported(db: Database) -> None:
    clock = FakeClock()
    queue(db, "test:a", "lane", key="k1", now=clock())
    transport = Recording(fail=5)
    sender = OutboxSender(db, {"test": transport}, clock=clock)
    sender.start()
    try:

        def retried(attempts: int) -> bool:
            (row,) = rows(db)
            return row.status == OutboxStatus.PENDING and row.attempts == attempts

        for attempts in (1, 2):  # the clock is the test's: let each backoff pass at once
            await wait_for(partial(retried, attempts), what="a retry to be scheduled")
            clock.advance(seconds=60)
            sender.poke()
        await wait_for(lambda: transport.given_up, what="giving up")
    finally:
        await sender.stop()
    (row,) = rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 3)
    assert transport.given_up == ["503 from the peer"]
    assert transport.delivered == []


def test_retry_rules() -> None:
    import random

    jitter = random.Random(1)  # noqa: S311 - jitter, not security
    assert retry_delay(3, retry_after=7.0, jitter=jitter) == 7.0
    assert all(retry_delay(n, retry_after=None, jitter=jitter) <= 30 for n in range(1, 40))
    assert gives_up(attempts=1, max_attempts=None, permanent=True)
    assert not gives_up(attempts=100, max_attempts=None, permanent=False)
    assert gives_up(attempts=3, max_attempts=3, permanent=False)


def test_the_pacer_allows_a_burst_then_one_a_second_and_honours_a_hold() -> None:
    pacer = Pacer(rate=1.0, burst=3)
    assert [pacer.reserve("C1", 0.0) for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert [pacer.wait("C1", 0.0) for _ in range(2)] == [3.0, 3.0]  # looking takes no slot
    assert pacer.reserve("C1", 0.0) == 3.0
    assert pacer.reserve("C2", 0.0) == 0.0  # channels are paced apart
    pacer.hold("C2", 30.0)
    assert pacer.reserve("C2", 10.0) == 20.0


async def test_once_the_peer_answers_again_its_backlog_goes_at_once(db: Database) -> None:
    clock = FakeClock()
    for lane in ("lane:1", "lane:2", "lane:3"):
        queue(db, "test:a", lane, key=lane, now=clock())
    transport = Recording(fail=3)  # one failed attempt per lane: the peer is down
    sender = OutboxSender(db, {"test": transport}, clock=clock)
    sender.start()
    try:

        def all_backing_off() -> bool:
            return all(r.status == OutboxStatus.PENDING and r.attempts == 1 for r in rows(db))

        await wait_for(all_backing_off, what="every lane to fail once")
        # The peer is back. One lane's backoff ends; its success lets the others go now,
        # without waiting out their own backoff on the (frozen) clock.
        with db.write() as session:
            first = session.get(OutboxMessage, rows(db)[0].id)
            assert first is not None
            first.next_attempt_at = clock()
            session.add(first)
        sender.poke()
        await wait_for(lambda: len(transport.delivered) == 3, what="the backlog")
    finally:
        await sender.stop()


def test_heads_of_the_first_kinds_are_claimed_before_older_lanes(db: Database) -> None:
    clock = FakeClock()
    with db.write() as session:
        for lane, kind in (("old", "thread"), ("older", "thread"), ("new", "card.post")):
            service.queue(
                session,
                destination="test:a",
                lane=lane,
                kind=kind,
                payload={},
                now=clock(),
                idempotency_key=f"{lane}:{kind}",
            )
    lease = timedelta(seconds=5)
    (first,) = service.claim(
        db, owner="a", now=clock(), lease=lease, capacity=lambda d: 1, first_kinds=("card.post",)
    )
    assert (first.lane, first.kind) == ("new", "card.post")
    (second,) = service.claim(db, owner="a", now=clock(), lease=lease, capacity=lambda d: 1)
    assert second.lane == "old"  # otherwise the oldest first


async def test_a_transports_own_concurrency_replaces_the_default(db: Database) -> None:
    clock = FakeClock()
    for n in range(6):
        queue(db, "wide:a", f"wide:incident:{n}", key=f"w{n}", now=clock())
        queue(db, "narrow:a", f"narrow:incident:{n}", key=f"n{n}", now=clock())
    gate = asyncio.Event()
    wide, narrow = Recording(gate=gate), Recording(gate=gate)
    sender = OutboxSender(db, {"narrow": narrow}, clock=clock, per_destination=2)
    sender.add_transport("wide", wide, concurrency=5)
    sender.start()
    try:
        # Five wide sends and two narrow ones wait at the gate together, and no more.
        await wait_for(lambda: sender.in_flight == 7, what="both destinations at their limit")
        await asyncio.sleep(0)  # one more turn of the loop changes nothing
        assert sender.in_flight == 7
        gate.set()
        await wait_for(
            lambda: len(wide.delivered) == 6 and len(narrow.delivered) == 6, what="all of them"
        )
    finally:
        gate.set()
        await sender.stop()


class PutOff(Recording):
    """A peer whose pace takes each message only on its second try, 30 s later."""

    def __init__(self) -> None:
        super().__init__()
        self.tried: set[int] = set()

    async def deliver(self, message: Outgoing) -> None:
        if message.id not in self.tried:
            self.tried.add(message.id)
            raise NotYet(30.0)
        await super().deliver(message)


async def test_a_row_put_off_by_the_peers_pace_frees_its_place_and_counts_no_attempt(
    db: Database,
) -> None:
    clock = FakeClock()
    queue(db, "paced:a", "paced:incident:1", key="p1", now=clock())
    queue(db, "paced:a", "paced:incident:1", key="p2", now=clock())  # behind p1 in its lane
    queue(db, "other:b", "other:incident:1", key="o1", now=clock())
    paced, other = PutOff(), Recording()
    sender = OutboxSender(db, {"paced": paced, "other": other}, clock=clock)
    sender.start()
    try:
        await wait_for(lambda: other.delivered, what="the other destination")

        def put_back() -> bool:
            first = rows(db)[0]
            return first.status == OutboxStatus.PENDING and sender.in_flight == 0

        await wait_for(put_back, what="the put-off row back in its lane")
        first = rows(db)[0]
        assert first.attempts == 0  # nothing was sent: no attempt is counted
        assert first.next_attempt_at == clock() + timedelta(seconds=30)
        assert paced.delivered == []  # p2 waits behind p1
        clock.advance(seconds=30)
        sender.poke()
        await wait_for(lambda: len(paced.delivered) == 1, what="p1 once it is due")
        clock.advance(seconds=30)  # p2 was put off in its turn
        sender.poke()
        await wait_for(lambda: len(paced.delivered) == 2, what="p2 after it")
    finally:
        await sender.stop()
    assert [m.payload["key"] for m in paced.delivered] == ["p1", "p2"]
    assert [m.attempt for m in paced.delivered] == [1, 1]
    assert all(r.status == OutboxStatus.SENT for r in rows(db))


async def test_a_lease_renewal_locks_its_rows_in_id_order(postgres_url: str) -> None:
    """Settling rows and renewing their leases each change a set of the same rows; taken
    in the order each plan visited them, the two deadlocked now and then. Here the lower
    row's newest version sits after the higher one in the table: a renewal blocked at the
    lower row must not hold the higher one meanwhile."""
    from sqlalchemy import text

    from tests.conftest import _truncate_all

    _truncate_all(postgres_url)
    db = Database(postgres_url)
    try:
        clock = FakeClock()
        queue(db, "pager", "lane-a", key="low", now=clock())
        queue(db, "pager", "lane-b", key="high", now=clock())
        held = service.claim(
            db, owner="me", now=clock(), lease=timedelta(seconds=30), capacity=lambda d: 5
        )
        low, high = sorted(m.id for m in held)
        with db.write() as session:  # a new version of the lower row, after the higher
            session.execute(
                text("UPDATE outbox_message SET error = 'x' WHERE id = :id"), {"id": low}
            )
        with db.write() as session:  # a table this small is read in its order, not by id
            session.execute(text("ANALYZE outbox_message"))
        with db.write() as blocker:
            blocker.execute(
                text("SELECT 1 FROM outbox_message WHERE id = :id FOR UPDATE"), {"id": low}
            )
            renewal = asyncio.create_task(
                asyncio.to_thread(
                    service.renew, db, [high, low], owner="me", until=clock() + timedelta(minutes=1)
                )
            )

            def renewal_waits_for_a_lock() -> bool:
                with db.session() as session:
                    query = (
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query LIKE '%outbox_message%'"
                    )
                    return bool(session.execute(text(query)).scalar())

            await wait_for(renewal_waits_for_a_lock, what="the renewal to wait for the lower row")
            with db.write() as other:
                free = other.execute(
                    text("SELECT id FROM outbox_message WHERE id = :id FOR UPDATE SKIP LOCKED"),
                    {"id": high},
                ).all()
            assert free == [(high,)], "the renewal held the higher row while it waited"
        assert await renewal == 2
    finally:
        db.dispose()
