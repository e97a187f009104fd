"""Durability: a database outage answers 503 and half-writes nothing; state outlives the
process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.app.settings import Settings
from storage.tables import AlertRecord, Incident, WebhookReceipt
from tests.support import TcpProxy, alert, payload, running_app, settle


@pytest.mark.postgres
async def test_database_outage_answers_503_and_loses_nothing_accepted(postgres_url: str) -> None:
    from tests.conftest import _truncate_all

    _truncate_all(postgres_url)
    real = make_url(postgres_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    proxy.start()
    url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = Settings(database_url=url, migrate_on_start=False)
    first = payload([alert("Before", fingerprint="1000000000000001")])
    during = payload([alert("During", fingerprint="2000000000000002")])
    after = payload([alert("After", fingerprint="3000000000000003")])
    try:
        async with running_app(settings) as (app, client):
            assert (await client.post("/webhooks/alertmanager", json=first)).status_code == 200
            await settle(app)
            proxy.sever()
            response = await client.post("/webhooks/alertmanager", json=during)
            assert response.status_code == 503
            assert response.headers["retry-after"]
            proxy.restore()
            assert (await client.post("/webhooks/alertmanager", json=after)).status_code == 200
            await settle(app)
            with app.state.runtime.db.session() as session:
                bodies = [json.loads(r.body) for r in session.exec(select(WebhookReceipt))]
                names = sorted(a.labels["alertname"] for a in session.exec(select(AlertRecord)))
            assert [b["alerts"][0]["labels"]["alertname"] for b in bodies] == ["Before", "After"]
            assert names == ["After", "Before"]
    finally:
        proxy.stop()


async def test_a_new_process_sees_every_incident(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    db_file = tmp_path / "fireline.db"
    shutil.copy(sqlite_template, db_file)
    url = f"sqlite:///{db_file}"
    body = payload(
        [alert("CheckoutErrors", fingerprint="c0ffee0000000001", labels={"service": "checkout"})]
    )
    async with running_app(Settings(database_url=url, migrate_on_start=False)) as (app, client):
        assert (await client.post("/webhooks/alertmanager", json=body)).status_code == 200
        await settle(app)
        with app.state.runtime.db.session() as session:
            [incident] = list(session.exec(select(Incident)))

    env = {**os.environ, "FIRELINE_DATABASE_URL": url, "COLUMNS": "200"}
    shown = subprocess.run(  # noqa: ASYNC221  (the app is stopped; nothing else runs)
        [sys.executable, "-m", "bot", "incidents", "show", str(incident.id)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    assert "CheckoutErrors" in shown
    assert "alert.fired" in shown
    assert "incident.opened" in shown
    listed = subprocess.run(  # noqa: ASYNC221
        [sys.executable, "-m", "bot", "incidents", "list", "--status", "open"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    assert "checkout" in listed


async def test_receipts_stored_before_a_crash_are_triaged_on_the_next_start(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """Receipts are committed before the 200; triage is only a consequence of them."""
    import shutil
    from datetime import UTC, datetime

    from storage.db import Database
    from storage.queries import insert_receipts

    db_file = tmp_path / "fireline.db"
    shutil.copy(sqlite_template, db_file)
    url = f"sqlite:///{db_file}"
    body = payload([alert("LeftBehind", fingerprint="dead000000000001")])
    db = Database(url)
    with db.write_engine.begin() as connection:  # what the writer commits before answering
        insert_receipts(
            connection,
            [
                {
                    "received_at": datetime.now(UTC),
                    "receiver": body["receiver"],
                    "group_key": body["groupKey"],
                    "status": "firing",
                    "alert_count": 1,
                    "body": json.dumps(body),
                    "processed_at": None,
                    "error": None,
                }
            ],
        )
    db.dispose()
    async with running_app(Settings(database_url=url, migrate_on_start=False)) as (app, _):
        await settle(app)
        with app.state.runtime.db.session() as session:
            [incident] = list(session.exec(select(Incident)))
        assert incident.title.startswith("LeftBehind")
