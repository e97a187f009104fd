"""The background worker, driven by a fake cycle: every wait is on a condition, not a sleep."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.worker import Worker, Workers, backoff_delay

HOUR = 3600.0


class FakeCycle:
    """Counts its runs and lets the test wait for the n-th one."""

    def __init__(self, fail_first: int = 0) -> None:
        self.runs = 0
        self.fail_first = fail_first
        self.changed = asyncio.Condition()

    async def __call__(self) -> None:
        async with self.changed:
            self.runs += 1
            self.changed.notify_all()
        if self.runs <= self.fail_first:
            raise RuntimeError(f"boom {self.runs}")

    async def reached(self, runs: int) -> None:
        async with asyncio.timeout(10):
            async with self.changed:
                await self.changed.wait_for(lambda: self.runs >= runs)


async def test_poke_runs_a_cycle_at_once_although_the_tick_is_an_hour() -> None:
    cycle = FakeCycle()
    worker = Worker("fake", HOUR, cycle)
    worker.start()
    worker.poke()
    await cycle.reached(1)
    worker.poke()
    await cycle.reached(2)
    await worker.stop()
    assert cycle.runs == 2
    assert not worker.running


async def test_stop_ends_a_wait_in_progress_without_another_cycle() -> None:
    cycle = FakeCycle()
    worker = Worker("fake", HOUR, cycle, run_at_start=True)
    worker.start()
    await cycle.reached(1)
    async with asyncio.timeout(10):
        await worker.stop()
    assert cycle.runs == 1
    assert not worker.running


async def test_a_failed_cycle_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cycle = FakeCycle(fail_first=2)
    worker = Worker("fake", HOUR, cycle, run_at_start=True)
    with caplog.at_level(logging.ERROR, logger="bot.worker"):
        worker.start()
        await cycle.reached(1)
        worker.poke()
        await cycle.reached(2)
        assert worker.failures == 2
        worker.poke()
        await cycle.reached(3)
        await worker.stop()
    assert worker.failures == 0
    failed = [r for r in caplog.records if "fake cycle failed" in r.getMessage()]
    assert len(failed) == 2
    assert failed[0].exc_info is not None


async def test_cycles_log_nothing_at_info(caplog: pytest.LogCaptureFixture) -> None:
    cycle = FakeCycle()
    worker = Worker("fake", HOUR, cycle, run_at_start=True)
    with caplog.at_level(logging.INFO):
        worker.start()
        for n in range(1, 6):
            await cycle.reached(n)
            worker.poke()
        await worker.stop()
    assert cycle.runs >= 5
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


async def test_wake_in_from_a_cycle_runs_the_next_one_before_the_tick() -> None:
    cycle = FakeCycle()
    worker = Worker("fake", HOUR, cycle, run_at_start=True)

    async def soon_again() -> None:
        await cycle()
        if cycle.runs == 1:
            worker.wake_in(0.0)

    worker._cycle = soon_again
    worker.start()
    await cycle.reached(2)
    await worker.stop()
    assert cycle.runs == 2


def test_backoff_doubles_from_the_tick_and_stops_at_the_ceiling() -> None:
    assert backoff_delay(1.0, 0, 60.0) == 1.0
    assert backoff_delay(1.0, 1, 60.0) == 2.0
    assert backoff_delay(1.0, 3, 60.0) == 8.0
    assert backoff_delay(1.0, 10, 60.0) == 60.0
    assert backoff_delay(120.0, 2, 60.0) == 120.0


async def test_a_cycle_past_its_stop_grace_is_cancelled() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hangs() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    worker = Worker("stuck", HOUR, hangs, run_at_start=True, stop_grace=0.01)
    worker.start()
    await started.wait()
    async with asyncio.timeout(10):
        await worker.stop()
    assert cancelled.is_set()
    assert not worker.running


async def test_without_a_grace_stop_lets_the_cycle_in_hand_finish() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    finished: list[bool] = []

    async def slow() -> None:
        started.set()
        await release.wait()
        finished.append(True)

    worker = Worker("slow", HOUR, slow, run_at_start=True)
    worker.start()
    await started.wait()
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0)
    assert not stopping.done()
    release.set()
    async with asyncio.timeout(10):
        await stopping
    assert finished == [True]


class Recorded:
    """Background work that records its starts and stops into one shared list."""

    def __init__(self, name: str, events: list[str], *, fail_stop: bool = False) -> None:
        self.name = name
        self.events = events
        self.fail_stop = fail_stop

    def start(self) -> None:
        self.events.append(f"start {self.name}")

    async def stop(self) -> None:
        self.events.append(f"stop {self.name}")
        if self.fail_stop:
            raise RuntimeError(f"{self.name} would not stop")


class FailsToStart(Recorded):
    def start(self) -> None:
        raise RuntimeError(f"{self.name} would not start")


async def test_workers_start_in_order_and_stop_in_reverse() -> None:
    events: list[str] = []
    workers = Workers([Recorded("a", events), Recorded("b", events), Recorded("c", events)])
    workers.start_all()
    await workers.stop_all()
    assert events == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
    await workers.stop_all()
    assert len(events) == 6


async def test_a_failing_stop_is_logged_and_the_rest_still_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []
    workers = Workers([Recorded("a", events), Recorded("b", events, fail_stop=True)])
    workers.start_all()
    with caplog.at_level(logging.ERROR, logger="bot.worker"):
        await workers.stop_all()
    assert events[-2:] == ["stop b", "stop a"]
    assert "stopping Recorded failed" in caplog.text


async def test_when_a_start_fails_only_what_started_is_stopped() -> None:
    events: list[str] = []
    workers = Workers([Recorded("a", events), FailsToStart("b", events), Recorded("c", events)])
    with pytest.raises(RuntimeError, match="b would not start"):
        workers.start_all()
    await workers.stop_all()
    assert events == ["start a", "stop a"]
