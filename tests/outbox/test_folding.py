"""Folding into a waiting row: a batch finds the row once, a row queued in the lane after
it ends the folding, and no sender takes a row while it is being folded into."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from bot.outbox import service as outbox
from bot.outbox.model import Outgoing
from storage.db import Database
from storage.tables_outbox import OutboxMessage
from tests.conftest import _truncate_all
from tests.escalation.support import FakeClock

LANE = "slack:incident:1"


def fold_alert(session: Session, clock: FakeClock, line: str) -> None:
    """One alert line into the lane's waiting alerts message, or a new one."""

    def fold(row: OutboxMessage) -> None:
        row.payload = {**row.payload, "lines": [*row.payload["lines"], line]}

    outbox.fold_or_queue(
        session,
        destination="slack",
        lane=LANE,
        kind="alerts",
        payload={"lines": [line]},
        now=clock(),
        incident_id=None,
        fold=fold,
        last=True,
    )


def lines_in_lane(db: Database) -> list[tuple[str, list[str]]]:
    with db.session() as session:
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.lane == LANE).order_by(col(OutboxMessage.id))
        ).all()
        return [(row.kind, list(row.payload.get("lines", []))) for row in rows]


def test_a_row_queued_in_the_lane_ends_folding_into_the_one_before(db: Database) -> None:
    """Folding past it would send the later alerts before the message queued after them."""
    clock = FakeClock()
    with db.write() as session:
        fold_alert(session, clock, "a")
        fold_alert(session, clock, "b")
        outbox.queue(
            session, destination="slack", lane=LANE, kind="thread", payload={}, now=clock()
        )
        fold_alert(session, clock, "c")
        fold_alert(session, clock, "d")
    assert lines_in_lane(db) == [("alerts", ["a", "b"]), ("thread", []), ("alerts", ["c", "d"])]


def test_folding_after_a_rolled_back_savepoint_starts_a_new_row(db: Database) -> None:
    """The row the savepoint queued is gone with it; the fold must not land in it."""
    clock = FakeClock()
    with db.write() as session:
        savepoint = session.begin_nested()
        fold_alert(session, clock, "undone")
        fold_alert(session, clock, "undone too")
        savepoint.rollback()
        fold_alert(session, clock, "kept")
    assert lines_in_lane(db) == [("alerts", ["kept"])]


def test_no_sender_takes_a_row_while_a_transaction_folds_into_it(postgres_url: str) -> None:
    """Taken between the fold's read and its commit, the row would go out without the
    folded line, and the line would be lost."""
    _truncate_all(postgres_url)
    db = Database(postgres_url)
    try:
        clock = FakeClock()
        with db.write() as session:
            fold_alert(session, clock, "first")

        def claim() -> list[Outgoing]:
            return outbox.claim(
                db, owner="sender", now=clock(), lease=timedelta(seconds=30), capacity=lambda d: 5
            )

        with db.write() as folding:
            fold_alert(folding, clock, "second")
            assert claim() == [], "a sender took the row being folded into"
        (taken,) = claim()
        assert taken.payload["lines"] == ["first", "second"]
    finally:
        db.dispose()
