"""Storm: how many Slack posts a delivery of many alerts queues.

Runs the real app in-process on a fresh SQLite file with Slack pointed at the Web API
stand-in, sends ``--alerts`` alerts in ``--groups`` groups as Alertmanager would (one
POST per group), lets triage and the chat projection finish, and counts what the outbox
queued and what reached Slack. The baseline, measured in the same run from the same
timeline, is what one thread post per timeline event would have queued.

    .venv/bin/python -m bench.storm [--alerts 10000 --groups 10]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.app.settings import Settings
from bot.chat.render import thread_message
from bot.chat.service import SLACK
from storage import migrate
from storage.db import Database
from storage.tables import TimelineEvent
from storage.tables_outbox import OutboxMessage
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, slack_standin
from tests.support import alert, payload, running_app, settle


async def storm(alerts: int, groups: int, workdir: Path) -> None:
    path = workdir / "fireline.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    runbooks = workdir / "runbooks"
    runbooks.mkdir()
    with slack_standin() as standin:
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
        started = time.monotonic()
        async with running_app(settings) as (app, client):
            per_group = alerts // groups
            for group in range(groups):
                body = payload(
                    [
                        alert(
                            f"Storm{group}",
                            fingerprint=f"{group:04x}{n:012x}",
                            labels={"pod": f"p{n}"},
                        )
                        for n in range(per_group)
                    ]
                )
                response = await client.post("/webhooks/alertmanager", json=body)
                assert response.status_code == 200, response.text
            await settle(app, within=600)
            await app.state.runtime.chat.drain(within=600)
            runtime_db = app.state.runtime.db
            with runtime_db.session() as session:
                from sqlmodel import select

                rows = session.exec(
                    select(OutboxMessage).where(OutboxMessage.destination == SLACK)
                ).all()
                events = session.exec(select(TimelineEvent)).all()
        elapsed = time.monotonic() - started
        one_per_event = sum(
            1 for e in events if thread_message(e.kind, e.text, dict(e.data), "normal") is not None
        )
        kinds = Counter(r.kind for r in rows)
        posts = len(standin.of("chat.postMessage"))
    print(f"storm: {alerts} alerts in {groups} groups, {elapsed:.1f} s to settle and drain")
    print(f"  baseline, one thread post per timeline event: {one_per_event}")
    print(f"  outbox rows queued for Slack:                  {len(rows)}  {dict(kinds)}")
    print(f"  chat.postMessage calls at the stand-in:        {posts}")
    print(f"  folded into other rows:                        {sum(r.suppressed for r in rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fireline-storm-"))
    try:
        asyncio.run(storm(args.alerts, args.groups, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
