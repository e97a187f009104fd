"""Chaos: is an on-call engineer paged once, on time, whatever crashes?

Runs the real ``fireline serve`` on a fresh SQLite file with Slack pointed at the Web API
stand-in (``tests/slack/standin.py``), a two-level escalation policy whose webhook is a
recording pager, and a runbook whose one safe step calls a recording service. Sends
Alertmanager webhooks (v4) for ``--alerts`` alerts in ``--groups`` groups, repeats and
growing groups included, each retried until it is answered 200 (a refused or reset
connection is a retry, never a loss). Meanwhile it SIGKILLs the server ``--kills`` times
at random moments (seeded) and starts it again, waiting for ``/readyz`` each time, and
takes Slack down for ``--slack-outage`` seconds in the middle. Then it waits until
Fireline has nothing pending and prints what the world saw against what Fireline
recorded. The parts: ``chaos_alerts`` (Alertmanager), ``chaos_world`` (stand-ins, files,
the server), ``chaos_db`` (settling, reading the database), ``chaos_report`` (the figures
and their definitions; bench/README.md says how to read them).

    .venv/bin/python -m bench.chaos [--alerts 1000 --groups 100 --kills 30
                                     --slack-outage 30 --seed 1]

Exits 1 when a target is missed: 0 lost, 0 duplicate steps, 0 duplicate pages,
0 duplicate cards, 0 out-of-order thread messages, every acknowledged alert stored, one
incident per group, and the worst page delay under 10 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import select

from bench.chaos_alerts import TOKEN, Sender, plan_sends
from bench.chaos_db import settle, stored
from bench.chaos_report import Arrival, ChaosReport, Observations, SlackCall, analyse
from bench.chaos_world import (
    CHANNEL,
    RUNBOOK_ID,
    Hit,
    Recorder,
    Server,
    free_port,
    record_replies,
    recorder,
    serve_env,
    slack_outage,
    write_files,
)
from storage.db import Database
from storage.tables import TimelineEvent
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, SlackStandIn, slack_standin


@dataclass(frozen=True)
class ChaosOptions:
    alerts: int = 1000
    groups: int = 100
    kills: int = 30
    slack_outage: float = 30.0
    seed: int = 1
    uptime: tuple[float, float] = (1.0, 4.0)  # seconds between ready and the next kill
    level_delay: int = 4  # seconds level 1 waits for an acknowledgement
    settle_within: float = 300.0
    workdir: Path | None = None  # kept afterwards when given (server.log, fireline.db)
    progress: Callable[[str], None] | None = None


# --- reading what the world saw ------------------------------------------------------------


def arrivals(hits: list[Hit]) -> list[Arrival]:
    return [Arrival(h.path, h.headers, h.json(), h.at) for h in hits]


def slack_calls(
    standin: SlackStandIn, replies: dict[int, tuple[dict[str, Any], float]]
) -> list[SlackCall]:
    with standin.lock:
        calls = list(standin.calls)
    out = []
    for call in calls:
        reply, at = replies.get(id(call.args), (None, None))
        out.append(SlackCall(call.method, call.args, reply, at))
    return out


# --- the run -------------------------------------------------------------------------------


def server_env(workdir: Path, slack_url: str, files: dict[str, str]) -> dict[str, str]:
    return {
        **serve_env(f"sqlite:///{workdir / 'fireline.db'}"),
        "FIRELINE_WEBHOOK_TOKEN": TOKEN,
        "FIRELINE_LOG_FORMAT": "json",
        "FIRELINE_HTTP_ALLOW": "127.0.0.0/8",
        "FIRELINE_AUTOMATION_BUDGET": "100000 per 1h",
        "FIRELINE_AUTOMATION_LEASE": "5s",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "FIRELINE_SLACK_API_URL": slack_url,
        "FIRELINE_SLACK_CHANNEL": CHANNEL,
        # The stand-in has no rate limit; Slack's own 1 a second per channel would make
        # the 100 incidents' channel take minutes to drain.
        "FIRELINE_SLACK_RATE": "50",
        **files,
    }


def promote(base: str, within: float = 30.0) -> None:
    """Let the runbook's exact version leave suggest mode, as a person would."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            response = httpx.post(
                f"{base}/api/runbooks/{RUNBOOK_ID}/promote",
                json={"by": "UCHAOS"},
                timeout=5,
                trust_env=False,
            )
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"could not promote runbook {RUNBOOK_ID}")


@dataclass
class World:
    """Everything one run starts: the stand-ins, the server, and a reader of its database."""

    workdir: Path
    standin: SlackStandIn
    replies: dict[int, tuple[dict[str, Any], float]]
    slack_seen: threading.Event
    pager: Recorder
    service: Recorder
    server: Server
    db: Database

    @classmethod
    def open(cls, stack: ExitStack, options: ChaosOptions) -> World:
        """Start the stand-ins and write the files; ``stack`` undoes all of it."""
        if options.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chaos-")))
        else:
            workdir = options.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        standin = stack.enter_context(slack_standin())
        slack_seen = threading.Event()
        replies = record_replies(standin, slack_seen)
        pager: Recorder = stack.enter_context(recorder())
        service: Recorder = stack.enter_context(recorder())
        files = write_files(
            workdir, pager_url=pager.url, service_url=service.url, delay=options.level_delay
        )
        env = server_env(workdir, standin.url, files)
        server = Server(env, free_port(), workdir / "server.log")
        stack.callback(server.stop)
        db = Database(f"sqlite:///{workdir / 'fireline.db'}")
        stack.callback(db.dispose)
        return cls(workdir, standin, replies, slack_seen, pager, service, server, db)

    def signature(self) -> tuple[int, ...]:
        """Changes whenever Fireline records or sends anything."""
        with self.db.session() as session:
            last_event = session.exec(select(func.max(TimelineEvent.id))).one() or 0
        with self.standin.lock:
            calls = len(self.standin.calls)
        return (int(last_event), calls, self.pager.count(), self.service.count())

    def tripwire(self, aim: str) -> threading.Event | None:
        return {"page": self.pager.seen, "step": self.service.seen, "slack": self.slack_seen}.get(
            aim
        )


AIMS = ("page", "step", "slack", "anywhere")


def kill_and_restart(
    world: World, options: ChaosOptions, rng: random.Random, say: Callable[[str], None]
) -> tuple[list[float], list[tuple[float, float]]]:
    """``options.kills`` SIGKILLs, each after a random uptime; three in four are aimed at
    a random instant up to 30 ms after the pager, the service or Slack next sees a request
    (where a send is most likely cut off between the wire and its commit), the rest land
    anywhere. Returns the seconds each restart took to be ready, and when (wall clock)
    each kill came and its restart was ready."""
    restarts, down = [], []
    low, high = options.uptime
    for kill in range(1, options.kills + 1):
        aim = rng.choice(AIMS)
        pause, offset = rng.uniform(low, high), rng.uniform(0.0, 0.03)
        tripwire = world.tripwire(aim)
        if tripwire is None:
            time.sleep(pause)
        else:
            time.sleep(pause / 2)
            tripwire.clear()
            tripwire.wait(high)
            time.sleep(offset)
        killed_at = time.time()
        world.server.kill()
        world.server.start()
        restarts.append(world.server.wait_ready())
        down.append((killed_at, time.time()))
        say(f"kill {kill}/{options.kills} ({aim}): ready again in {restarts[-1]:.1f} s")
    return restarts, down


def observe(
    world: World, options: ChaosOptions, sender: Sender, restarts: list[float]
) -> Observations:
    """Everything the report needs, once the server has stopped."""
    alerts_stored, incidents, events = stored(world.db)
    return Observations(
        alerts=options.alerts,
        groups=options.groups,
        kills=options.kills,
        slack_outage=options.slack_outage,
        seed=options.seed,
        alerts_acknowledged=len(sender.acknowledged),
        posts=len(sender.sends),
        post_attempts=sender.attempts,
        alerts_stored=alerts_stored,
        incidents=incidents,
        events=events,
        pages=arrivals(world.pager.snapshot()),
        steps=arrivals(world.service.snapshot()),
        slack=slack_calls(world.standin, world.replies),
        level_delay=float(options.level_delay),
        channel=CHANNEL,
        restarts=restarts,
        slack_refused=world.standin.refused,
    )


def run_chaos(options: ChaosOptions) -> ChaosReport:
    """The whole run; every process and server it starts is gone when it returns."""
    rng = random.Random(options.seed)
    began = time.monotonic()
    say = options.progress or (lambda _message: None)
    with ExitStack() as stack:
        world = World.open(stack, options)
        world.server.start()
        restarts = [world.server.wait_ready()]
        promote(world.server.base)
        phase = max(10.0, options.kills * (sum(options.uptime) / 2 + restarts[0]))
        sends = plan_sends(options.alerts, options.groups, rng, datetime.now(UTC))
        say(f"{len(sends)} webhook posts over about {phase:.0f} s, {options.kills} kills")
        sender = Sender(f"{world.server.base}/webhooks/alertmanager", sends, phase)
        stack.callback(sender.stop)
        sender.start()
        outage_at = max(0.0, (phase - options.slack_outage) / 2)
        with slack_outage(world.standin, start_in=outage_at, length=options.slack_outage):
            more, down = kill_and_restart(world, options, rng, say)
            restarts += more
            deadline = time.monotonic() + phase + options.settle_within
            while not sender.finished() and time.monotonic() < deadline:
                time.sleep(0.2)
        sender.stop()
        say(f"all posts answered ({sender.attempts} attempts); settling")
        settled, settle_seconds = settle(
            world.db, world.server.base, world.signature, within=options.settle_within, say=say
        )
        world.server.stop()
        observations = observe(world, options, sender, restarts)
        observations.settled = settled and sender.finished() and not sender.refused
        observations.settle_seconds = settle_seconds
        observations.down = down
        observations.elapsed = time.monotonic() - began
        return analyse(observations)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--slack-outage", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settle-within", type=float, default=300.0)
    parser.add_argument("--workdir", type=Path, help="keep server.log and fireline.db here")
    args = parser.parse_args()
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:6.1f} s] {message}", file=sys.stderr, flush=True)

    report = run_chaos(
        ChaosOptions(
            alerts=args.alerts,
            groups=args.groups,
            kills=args.kills,
            slack_outage=args.slack_outage,
            seed=args.seed,
            settle_within=args.settle_within,
            workdir=args.workdir,
            progress=progress,
        )
    )
    print(report.render())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
