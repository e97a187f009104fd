"""Storm: does Fireline keep up when Alertmanager pages everything at once?

Runs the real ``fireline serve`` (one or more replicas on one database) with Slack
pointed at the Web API stand-in, which enforces Slack's per-channel rate (``--slack-rate``
a second, bursts of ``--slack-burst``) and answers 429 with ``Retry-After`` past it.
Sends the storm of ``bench.storm_plan`` (by default 50,000 alerts in 500 groups over
5 minutes, ``group_wait`` 10 s, ``group_interval`` 30 s, repeats every 60 s) on
schedule, then waits until nothing is pending and prints:

- webhook latency (p50, p99) against the same bodies posted to the parse-only endpoint
  (``bench.bare_app``) in the same run, the baseline;
- how long receipts waited for triage (worst and p99), and how long after the last
  delivery triage, automation and the outbox were drained;
- Slack calls in total against one call per timeline event (the baseline bundling is
  measured against), 429s, the worst calls per second on one channel, and how far
  behind real time each channel fell (the longest a message waited in the outbox);
- the server's CPU seconds and peak resident memory.

    .venv/bin/python -m bench.storm [--groups 500 --alerts-per-group 100 --seconds 300
                                     --postgres URL --replicas 2 --workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import create_engine, text

from bench.chaos_world import Server, free_port
from bench.ingest import start as start_process
from bench.schema import own_schema
from bench.storm_plan import Notification, StormShape, plan
from storage import migrate
from storage.db import Database, normalise_url
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, SlackStandIn, slack_standin

TOKEN = "storm-token"  # noqa: S105 - the bench's own webhook token
CHANNEL = "CSTORM"
TARGETS = {
    "triage wait": 5.0,  # s, the longest a receipt waits
    "drained": 30.0,  # s after the last delivery
    "channel behind": 60.0,  # s
    "webhook p99": 100.0,  # ms
    "memory": 300.0,  # MB
}


@dataclass
class Sent:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (at, ms)
    failures: Counter[str] = field(default_factory=Counter)
    last_answered: float = 0.0


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def post_storm(
    bases: list[str], sends: list[Notification], token: str | None, *, request_timeout: float = 60.0
) -> Sent:
    """POST every notification at its time (round robin over ``bases``), retrying a refusal
    until it is answered 200, as Alertmanager does."""
    sent = Sent()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(limits=limits, timeout=request_timeout, headers=headers) as client:
        began = time.monotonic()

        async def one(n: int, notification: Notification) -> None:
            await asyncio.sleep(max(0.0, began + notification.at - time.monotonic()))
            url = f"{bases[n % len(bases)]}/webhooks/alertmanager"
            for _attempt in range(20):
                started = time.monotonic()
                try:
                    response = await client.post(url, content=notification.body)
                except httpx.HTTPError as exc:
                    sent.failures[type(exc).__name__] += 1
                    await asyncio.sleep(1)
                    continue
                if response.status_code == 200:
                    ended = time.monotonic()
                    sent.latencies.append((started - began, (ended - started) * 1000))
                    sent.last_answered = max(sent.last_answered, ended)
                    return
                sent.failures[str(response.status_code)] += 1
                await asyncio.sleep(1)

        await asyncio.gather(*(one(n, s) for n, s in enumerate(sends)))
    return sent


def bare_baseline(sends: list[Notification], env: dict[str, str], rounds: int) -> list[float]:
    """The same bodies to the parse-only endpoint, 8 at a time: the floor of a webhook."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port)]
    process = start_process([*command, "--log-level", "warning", "--no-access-log"], env, port)
    took: list[float] = []
    try:
        with httpx.Client(timeout=30, headers={"content-type": "application/json"}) as client:
            sample = sends[:: max(1, len(sends) // rounds)][:rounds]
            for notification in sample:
                started = time.monotonic()
                client.post(
                    f"http://127.0.0.1:{port}/webhooks/alertmanager", content=notification.body
                )
                took.append((time.monotonic() - started) * 1000)
    finally:
        process.terminate()
        process.wait(10)
    return took


# --- watching the server ------------------------------------------------------------------


def proc_usage(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak resident MB) of a process, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cpu, peak


def samples(metrics: str) -> list[Sample]:
    """Every sample of a Prometheus text page, as the client library reads it."""
    return [
        sample for family in text_string_to_metric_families(metrics) for sample in family.samples
    ]


def gauge(found: Sequence[Sample], name: str) -> float:
    """The sum of a metric's samples, whatever their labels (0 when absent)."""
    return sum(sample.value for sample in found if sample.name == name)


@dataclass
class Watch:
    triage_oldest: float = 0.0  # the worst fireline_triage_oldest_age_seconds seen
    slack_oldest: float = 0.0
    samples: int = 0
    webhook_buckets: dict[float, float] = field(default_factory=dict)  # le -> requests


def buckets(found: Sequence[Sample], name: str) -> dict[float, float]:
    """A histogram's cumulative buckets: upper bound -> count."""
    return {
        float(sample.labels["le"]): sample.value
        for sample in found
        if sample.name == f"{name}_bucket"
    }


def within(found: dict[float, float], share: float) -> float:
    """The smallest bucket bound that holds ``share`` of the requests (NaN: no requests)."""
    total = found.get(float("inf"), 0.0)
    for bound in sorted(found):
        if total and found[bound] >= share * total:
            return bound
    return float("nan")


def pending(client: httpx.Client, base: str, watch: Watch) -> float:
    """Receipts and outbox rows still waiting, as /metrics tells; updates ``watch``."""
    page = samples(client.get(f"{base}/metrics").text)  # parsed once for every figure
    watch.samples += 1
    watch.triage_oldest = max(
        watch.triage_oldest, gauge(page, "fireline_triage_oldest_age_seconds")
    )
    watch.slack_oldest = max(watch.slack_oldest, gauge(page, "fireline_outbox_oldest_age_seconds"))
    watch.webhook_buckets = buckets(page, "fireline_webhook_request_duration_seconds")
    return gauge(page, "fireline_triage_backlog") + gauge(page, "fireline_outbox_backlog")


async def watch_while(base: str, watch: Watch, done: asyncio.Event) -> None:
    with httpx.Client(timeout=10) as client:
        while not done.is_set():
            await asyncio.to_thread(pending, client, base, watch)
            await asyncio.sleep(1.0)


def settle(base: str, watch: Watch, within: float) -> float:
    """Wait until nothing is pending for 3 s in a row; returns when it first was."""
    deadline = time.monotonic() + within
    quiet_since: float | None = None
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            if pending(client, base, watch) == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 3:
                    return quiet_since
            else:
                quiet_since = None
            time.sleep(0.25)
    return float("nan")


# --- what the database says afterwards ---------------------------------------------------


@dataclass
class Stored:
    incidents: int
    alerts: int
    events: int
    triage_waits: list[float]
    behind: dict[str, float]  # channel -> the longest a Slack row waited, seconds
    slack_rows: int


def read_database(url: str) -> Stored:
    engine = create_engine(normalise_url(url))
    with engine.connect() as c:
        incidents = c.execute(text("SELECT count(*) FROM incident")).scalar_one()
        alerts = c.execute(text("SELECT count(*) FROM alert")).scalar_one()
        events = c.execute(text("SELECT count(*) FROM timeline_event")).scalar_one()
        receipts = c.execute(text("SELECT received_at, processed_at FROM webhook_receipt")).all()
        rows = c.execute(
            text(
                "SELECT CASE WHEN outbox_message.lane LIKE 'slack:channel:%' "
                "THEN substr(outbox_message.lane, 15) "
                "ELSE coalesce(chat_card.channel, outbox_message.lane) END, "
                "outbox_message.created_at, outbox_message.sent_at "
                "FROM outbox_message LEFT JOIN chat_card "
                "ON chat_card.incident_id = outbox_message.incident_id "
                "WHERE outbox_message.destination = 'slack' "
                "AND outbox_message.sent_at IS NOT NULL"
            )
        ).all()
    engine.dispose()
    waits = [(_t(p) - _t(r)) for r, p in receipts if p is not None]
    behind: dict[str, float] = defaultdict(float)
    for channel, created, sent in rows:
        behind[str(channel)] = max(behind[str(channel)], _t(sent) - _t(created))
    return Stored(incidents, alerts, events, waits, dict(behind), len(rows))


def _t(value: object) -> float:
    """A timestamp column as epoch seconds, whichever way the driver returns it."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def slack_figures(standin: SlackStandIn) -> tuple[Counter[str], dict[str, int]]:
    """Calls by method, and the worst calls in one second per channel (accepted ones)."""
    with standin.lock:
        calls = list(standin.calls)
    methods: Counter[str] = Counter(c.method for c in calls)
    per_second: Counter[tuple[str, int]] = Counter(
        (str(c.args.get("channel")), int(c.at)) for c in calls if c.args.get("channel")
    )
    worst: dict[str, int] = {}
    for (channel, _second), count in per_second.items():
        worst[channel] = max(worst.get(channel, 0), count)
    return methods, worst


# --- the run ------------------------------------------------------------------------------


@contextmanager
def own_database(postgres: str | None, workdir: Path) -> Iterator[str]:
    """A fresh SQLite file, or a PostgreSQL schema of the run's own, migrated."""
    with own_schema(postgres, prefix="bench_storm") as schema:
        url = schema or f"sqlite:///{workdir / 'fireline.db'}"
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield url


def server_env(url: str, slack_url: str, workdir: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("FIRELINE_", "SLACK_"))}
    runbooks = workdir / "runbooks"
    runbooks.mkdir(exist_ok=True)
    return {
        **inherited,
        "NO_PROXY": "127.0.0.1,localhost",
        "FIRELINE_DATABASE_URL": url,
        "FIRELINE_MIGRATE_ON_START": "false",
        "FIRELINE_HOST": "127.0.0.1",
        "FIRELINE_WEBHOOK_TOKEN": TOKEN,
        "FIRELINE_LOG_LEVEL": "WARNING",
        "FIRELINE_RUNBOOK_DIRS": str(runbooks),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "FIRELINE_SLACK_API_URL": slack_url,
        "FIRELINE_SLACK_CHANNEL": CHANNEL,
    }


@dataclass
class Outcome:
    shape: StormShape
    posts: int
    sent: Sent
    floor: list[float]
    drained_after: float
    watch: Watch
    stored: Stored
    methods: Counter[str]
    worst_per_second: dict[str, int]
    refused: int
    cpu: float
    peak_mb: float
    wall: float


def run_storm(
    shape: StormShape,
    *,
    postgres: str | None,
    replicas: int,
    rate: float,
    burst: int,
    keep: Path | None = None,
) -> Outcome:
    """The storm; with ``keep``, its database and server logs stay in that directory."""
    sends = plan(shape)
    with ExitStack() as stack:
        if keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fireline-")))
        else:
            workdir = keep
            workdir.mkdir(parents=True, exist_ok=True)
        url = stack.enter_context(own_database(postgres, workdir))
        standin = stack.enter_context(slack_standin())
        standin.channel_rate, standin.channel_burst = rate, burst
        env = server_env(url, standin.url, workdir)
        floor = bare_baseline(sends, env, rounds=200)
        servers = [Server(env, free_port(), workdir / f"server-{n}.log") for n in range(replicas)]
        for server in servers:
            server.start()
            stack.callback(server.stop)
        for server in servers:
            server.wait_ready()
        watch, done = Watch(), asyncio.Event()
        began = time.monotonic()

        async def storm() -> Sent:
            watcher = asyncio.create_task(watch_while(servers[0].base, watch, done))
            try:
                return await post_storm([s.base for s in servers], sends, TOKEN)
            finally:
                done.set()
                await watcher

        sent = asyncio.run(storm())
        if keep is not None:
            lines = (f"{at:.3f}\t{ms:.1f}\n" for at, ms in sorted(sent.latencies))
            (workdir / "webhooks.tsv").write_text("at_s\tms\n" + "".join(lines))
        quiet = settle(servers[0].base, watch, within=900)
        wall = time.monotonic() - began
        usage = [proc_usage(s.process.pid) for s in servers if s.process is not None]
        for server in servers:
            server.stop()
        methods, worst = slack_figures(standin)
        return Outcome(
            shape=shape,
            posts=len(sends),
            sent=sent,
            floor=floor,
            drained_after=quiet - sent.last_answered,
            watch=watch,
            stored=read_database(url),
            methods=methods,
            worst_per_second=worst,
            refused=standin.refused,
            cpu=sum(u[0] for u in usage),
            peak_mb=max(u[1] for u in usage),
            wall=wall,
        )


def verdict(value: float, target: float) -> str:
    return "ok" if value == value and value <= target else "MISSED"  # NaN is missed


def report(o: Outcome) -> None:
    s = o.shape
    latencies = [ms for _, ms in o.sent.latencies]
    p50, p99 = quantile(latencies, 0.5), quantile(latencies, 0.99)
    f50, f99 = quantile(o.floor, 0.5), quantile(o.floor, 0.99)
    waits = o.stored.triage_waits
    calls = sum(o.methods.values())
    print(
        f"storm: {s.groups} groups x {s.alerts_per_group} alerts over {s.seconds:.0f} s "
        f"(group_wait {s.group_wait:.0f} s, group_interval {s.group_interval:.0f} s, "
        f"repeat {s.repeat_interval:.0f} s): {o.posts} POSTs, "
        f"{len(o.sent.latencies)} answered 200, refusals {dict(o.sent.failures) or 'none'}"
    )
    print(f"stored: {o.stored.incidents} incidents, {o.stored.alerts} alerts")
    print(
        f"webhook: p50 {p50:.0f} ms, p99 {p99:.0f} ms  [target p99 < "
        f"{TARGETS['webhook p99']:.0f} ms: {verdict(p99, TARGETS['webhook p99'])}]"
    )
    print(
        f"  baseline, each body alone to the parse-only endpoint: p50 {f50:.0f}, p99 {f99:.0f} ms"
    )
    inside = within(o.watch.webhook_buckets, 0.99) * 1000
    print(
        f"  the first server's own histogram (from its app's call to the answer): "
        f"99% <= {inside:.0f} ms"
    )
    worst_wait = max(waits, default=float("nan"))
    print(
        f"triage wait: p99 {quantile(waits, 0.99):.1f} s, worst {worst_wait:.1f} s "
        f"[target < {TARGETS['triage wait']:.0f} s: {verdict(worst_wait, TARGETS['triage wait'])}]"
    )
    print(
        f"drained {o.drained_after:.1f} s after the last delivery "
        f"[target < {TARGETS['drained']:.0f} s: {verdict(o.drained_after, TARGETS['drained'])}]"
    )
    print(
        f"slack: {calls} calls ({', '.join(f'{m} {n}' for m, n in o.methods.most_common())}); "
        f"{o.refused} answered 429; baseline one call per timeline event: {o.stored.events}"
    )
    target = TARGETS["channel behind"]
    channels = {c: b for c, b in o.stored.behind.items() if c.startswith("C")}
    furthest = sorted(channels, key=lambda c: -channels[c])[:5]
    busiest = sorted(o.worst_per_second, key=lambda c: -o.worst_per_second[c])[:2]
    for channel in dict.fromkeys([*furthest, *busiest]):
        behind = channels.get(channel, float("nan"))
        print(
            f"  channel {channel}: worst {o.worst_per_second.get(channel, 0)} calls in one "
            f"second, fell {behind:.0f} s behind [target < {target:.0f} s: "
            f"{verdict(behind, target)}]"
        )
    worst_behind = max(channels.values(), default=float("nan"))
    print(
        f"  {len(channels)} channels, the furthest {worst_behind:.0f} s behind "
        f"[target < {target:.0f} s: {verdict(worst_behind, target)}]; "
        f"{len(o.stored.behind) - len(channels)} other lanes (DMs)"
    )
    print(
        f"server: {o.cpu:.0f} s CPU in {o.wall:.0f} s, peak resident {o.peak_mb:.0f} MB "
        f"[target < {TARGETS['memory']:.0f} MB: {verdict(o.peak_mb, TARGETS['memory'])}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--alerts-per-group", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--postgres", metavar="URL", help="run on this PostgreSQL, not SQLite")
    parser.add_argument("--replicas", type=int, default=1, help="fireline serve processes")
    parser.add_argument("--slack-rate", type=float, default=1.0, help="per channel, a second")
    parser.add_argument("--slack-burst", type=int, default=5)
    parser.add_argument(
        "--workdir", type=Path, help="keep the database, logs and webhook latencies here"
    )
    args = parser.parse_args()
    if args.replicas > 1 and args.postgres is None:
        parser.error("--replicas needs --postgres: SQLite has one writer")
    shape = StormShape(
        groups=args.groups, alerts_per_group=args.alerts_per_group, seconds=args.seconds
    )
    report(
        run_storm(
            shape,
            postgres=args.postgres,
            replicas=args.replicas,
            rate=args.slack_rate,
            burst=args.slack_burst,
            keep=args.workdir,
        )
    )


if __name__ == "__main__":
    main()
