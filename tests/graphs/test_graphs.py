"""The alert's graph through the running service, from the real Prometheus binary: drawn
at open and uploaded into the incident's thread with files upload v2; shown in the
console; and when the data fails to load, no graph and the thread says why."""

from __future__ import annotations

import io
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from bot.app.settings import Settings
from bot.graphs.draw import HEIGHT, WIDTH
from tests.automation import stack
from tests.automation.support import kinds, post_alert, wait_for
from tests.slack.standin import BOT_TOKEN, SIGNING_SECRET, SlackStandIn, slack_standin
from tests.support import alert, payload, running_app


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with stack.prometheus(tmp_path_factory.mktemp("prom"), stack.SELF_SCRAPE) as process:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a few scrapes, so there is a line to draw
            answer = httpx.get(
                f"{process.url}/api/v1/query", params={"query": "count_over_time(up[1m])"}
            ).json()
            result = answer["data"]["result"]
            if result and float(result[0]["value"][1]) >= 3:
                break
            time.sleep(0.3)
        yield process.url


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with slack_standin() as s:
        yield s


def settings_for(
    make_settings: Callable[..., Settings], tmp_path: Path, prometheus: str, standin: SlackStandIn
) -> Settings:
    return make_settings(
        runbook_dirs=[tmp_path],
        prometheus_url=prometheus,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=standin.url,
        slack_channel="CINC",
        slack_major_severity=None,
    )


def firing(expression: str, *, fingerprint: str) -> dict[str, Any]:
    generator = "http://prometheus:9090/graph?" + urllib.parse.urlencode(
        {"g0.expr": expression, "g0.tab": "1"}
    )
    one = alert(
        "PrometheusUp",
        fingerprint=fingerprint,
        starts_at=datetime.now(UTC) - timedelta(seconds=5),
        labels={"severity": "warning", "service": "monitoring"},
    )
    one["generatorURL"] = generator
    return payload([one], group_labels={"alertname": "PrometheusUp", "fp": fingerprint})


def thread_lines(standin: SlackStandIn) -> list[str]:
    return [str(m["text"]) for m in standin.of("chat.postMessage") if m.get("thread_ts")]


async def test_the_graph_is_drawn_from_prometheus_and_uploaded_into_the_thread(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    prometheus: str,
    standin: SlackStandIn,
) -> None:
    settings = settings_for(make_settings, tmp_path, prometheus, standin)
    async with running_app(settings) as (app, client):
        await post_alert(client, firing('up{job="prometheus"} > 0', fingerprint="9a00000000000001"))
        [completed] = await wait_for(
            lambda: standin.of("files.completeUploadExternal"), what="the graph's upload"
        )
        from bot.chat import service as chat_service

        row = chat_service.card_of(app.state.runtime.db, 1)
        assert row is not None
        assert (completed["channel_id"], completed["thread_ts"]) == ("CINC", row.ts)
        [png] = standin.uploads.values()
        image = Image.open(io.BytesIO(png))
        assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None
        assert len(colours) > 20
        assert "graph.drawn" in kinds(app, 1)
        timeline = (await client.get("/api/incidents/1/timeline")).json()
        (drawn,) = [e for e in timeline if e["kind"] == "graph.drawn"]
        assert drawn["data"]["series"] == 1
        assert drawn["text"] == 'Graph at open of up{job="prometheus"} > 0 (1 series)'
        # The console shows the same picture.
        path = f"/incidents/1/graphs/{drawn['data']['graph_id']}.png"
        page = (await client.get("/incidents/1")).text
        assert f'<img src="{path}"' in page
        served = await client.get(path)
        assert (served.status_code, served.headers["content-type"]) == (200, "image/png")
        assert served.content == png
        assert (await client.get("/incidents/2/graphs/1.png")).status_code == 404
        draft = (await client.get("/api/incidents/1/postmortem")).text
        assert f"]({path})" in draft
        assert "## Graphs" in draft


async def test_no_graph_from_data_that_fails_to_load_and_the_thread_says_why(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    prometheus: str,
    standin: SlackStandIn,
) -> None:
    settings = settings_for(make_settings, tmp_path, prometheus, standin)
    async with running_app(settings) as (_app, client):
        await post_alert(client, firing("no_such_metric > 1", fingerprint="9a00000000000002"))
        await post_alert(client, firing("up{ > 1", fingerprint="9a00000000000003"))
        lines = await wait_for(
            lambda: (
                len([t for t in thread_lines(standin) if "No graph" in t]) == 2
                and thread_lines(standin)
            ),
            what="the thread lines",
        )
        said = [t for t in lines if "No graph" in t]
        assert any("Prometheus has no data for it over the span" in t for t in said)
        assert any("Prometheus refused the query" in t for t in said)
        assert standin.of("files.completeUploadExternal") == []
        assert standin.uploads == {}
