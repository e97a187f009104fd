"""SQLite's write gate: ingest's commits go before ordinary writes, never twice in a row
while an ordinary write waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from storage.db import WriteGate


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def writer(gate: WriteGate, name: str, *, urgent: bool, order: list[str]) -> threading.Thread:
    def run() -> None:
        with gate.hold(urgent=urgent):
            order.append(name)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def turns_after(holder: str, *, urgent: bool) -> list[str]:
    """Who holds the gate, in order, when ``holder`` (urgent or not) holds it while an
    ordinary writer ("triage") and then an urgent one ("ingest") queue behind it."""
    gate, order = WriteGate(), []
    release = threading.Event()

    def hold() -> None:
        with gate.hold(urgent=urgent):
            order.append(holder)
            release.wait(10)

    first = threading.Thread(target=hold)
    first.start()
    until(lambda: order == [holder], "the first writer to hold the gate")
    ordinary = writer(gate, "triage", urgent=False, order=order)
    until(lambda: gate.queued == (0, 1), "the ordinary writer to queue")
    urgent_one = writer(gate, "ingest", urgent=True, order=order)
    until(lambda: gate.queued == (1, 1), "the urgent writer to queue")
    release.set()
    for thread in (first, ordinary, urgent_one):
        thread.join(10)
    assert gate.queued == (0, 0)
    return order


def test_an_urgent_writer_goes_before_the_ordinary_ones_already_waiting() -> None:
    assert turns_after("holder", urgent=False) == ["holder", "ingest", "triage"]


def test_urgent_writers_take_turns_with_an_ordinary_one_that_waits() -> None:
    assert turns_after("ingest 1", urgent=True) == ["ingest 1", "triage", "ingest"]
