"""First message: how long from Alertmanager's 200 to the incident's card in Slack.

Runs the real app in-process on a fresh SQLite file with Slack pointed at the Web API
stand-in (which answers at once), and opens ``--incidents`` incidents at ``--rate`` new
ones per second, one Alertmanager POST each. For every incident it takes the time from the
webhook's 200 to the stand-in receiving the card's ``chat.postMessage``. The baseline,
measured in the same run against the same stand-in, is a bare ``chat.postMessage`` through
the same slack_sdk client: the floor any card sits on.

    .venv/bin/python -m bench.first_message [--incidents 500 --rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.app.settings import Settings
from bot.chat.slack.client import CARD_EVENT, web_client
from storage import migrate
from storage.db import Database
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, SlackStandIn, slack_standin
from tests.support import alert, payload, running_app

TARGET_P99_MS = 300.0


def quantiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return statistics.median(ordered), at(0.90), at(0.99)


def card_times(standin: SlackStandIn) -> dict[int, float]:
    """When the stand-in received each incident's first card."""
    seen: dict[int, float] = {}
    with standin.lock:
        calls = list(standin.calls)
    for call in calls:
        if call.method != "chat.postMessage":
            continue
        metadata: Any = call.args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if not isinstance(metadata, dict) or metadata.get("event_type") != CARD_EVENT:
            continue
        incident = int(metadata.get("event_payload", {}).get("incident_id", 0))
        seen.setdefault(incident, call.at)
    return seen


async def baseline(standin: SlackStandIn, rounds: int) -> list[float]:
    """Bare posts through the client the app uses, over kept-open connections as its are."""
    took = []
    async with aiohttp.ClientSession() as session:
        client = web_client(BOT_TOKEN, standin.url, session=session)
        for n in range(rounds):
            started = time.monotonic()
            await client.chat_postMessage(channel="CBASE", text=f"baseline {n}")
            took.append((time.monotonic() - started) * 1000)
    return took


async def first_messages(incidents: int, rate: float, workdir: Path) -> None:
    path = workdir / "fireline.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    runbooks = workdir / "runbooks"
    runbooks.mkdir()
    with slack_standin() as standin:
        floor = await baseline(standin, min(incidents, 200))
        settings = Settings(
            database_url=f"sqlite:///{path}",
            migrate_on_start=False,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=standin.url,
            slack_channel="CINC",
            slack_major_severity=None,
            slack_rate=0,
            runbook_dirs=[runbooks],
        )
        answered: dict[int, float] = {}
        async with running_app(settings) as (_app, client):
            started = time.monotonic()
            for n in range(incidents):
                due = started + n / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                body = payload(
                    [alert(f"FirstMessage{n}", fingerprint=f"{n:016x}")],
                    group_labels={"alertname": f"FirstMessage{n}"},
                )
                response = await client.post("/webhooks/alertmanager", json=body)
                assert response.status_code == 200, response.text
                answered[n + 1] = time.monotonic()  # incidents are numbered in order
            for _ in range(1200):  # up to 120 s for the last card
                if len(card_times(standin)) >= incidents:
                    break
                await asyncio.sleep(0.1)
        cards = card_times(standin)
    latency = [(cards[i] - at) * 1000 for i, at in answered.items() if i in cards]
    missing = incidents - len(latency)
    p50, p90, p99 = quantiles(latency)
    b50, b90, b99 = quantiles(floor)
    print(f"{incidents} incidents at {rate:g}/s; {missing} cards missing after 120 s")
    print(f"200 -> card chat.postMessage: p50 {p50:.0f} ms, p90 {p90:.0f} ms, p99 {p99:.0f} ms")
    print(f"baseline bare chat.postMessage: p50 {b50:.1f} ms, p90 {b90:.1f} ms, p99 {b99:.1f} ms")
    tenth = max(1, len(latency) // 10)
    early, late = statistics.median(latency[:tenth]), statistics.median(latency[-tenth:])
    print(
        f"first tenth p50 {early:.0f} ms, last tenth p50 {late:.0f} ms "
        "(a growing gap: cards fall behind the alerts)"
    )
    verdict = "met" if p99 < TARGET_P99_MS and not missing else "missed"
    print(f"target: p99 under {TARGET_P99_MS:.0f} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="new incidents per second")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fireline-first-"))
    try:
        asyncio.run(first_messages(args.incidents, args.rate, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
