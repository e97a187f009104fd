"""Each catalog action against a real local counterpart: an HTTP target, the real
Prometheus and Alertmanager, a Kubernetes API stand-in, real subprocesses."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.base import Action
from actions.context import ActionContext, Endpoints
from actions.engine import execute_step
from actions.gates import StepState
from actions.registry import default_registry
from bot.app.demo.target import make_server
from tests.automation import stack
from tests.automation.kubeapi import Cluster, kube_api, kubeconfig

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        yield client


def context(http: httpx.AsyncClient, **overrides: Any) -> ActionContext:
    values: dict[str, Any] = {"incident_id": 1, "run_id": 1, "step_id": "s", "http": http}
    values.update(overrides)
    return ActionContext(**values)


def action(name: str) -> Action:
    found = default_registry().get(name)
    assert found is not None
    return found()


@pytest.fixture
def demo() -> Iterator[tuple[str, Any]]:
    import threading

    server, state = make_server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


# --- http.request -------------------------------------------------------------------------


async def test_http_request_calls_an_allowed_endpoint(
    http: httpx.AsyncClient, demo: tuple[str, Any]
) -> None:
    url, state = demo
    state.broken = True
    ctx = context(http, endpoints=Endpoints(http_allow=LOOPBACK), timeout=5)
    outcome = await execute_step(
        action("http.request"), {"method": "POST", "url": f"{url}/heal"}, ctx
    )
    assert outcome.state is StepState.SUCCEEDED, outcome.summary
    assert state.heals == 1
    assert state.broken is False


async def test_http_request_reports_an_unexpected_status(
    http: httpx.AsyncClient, demo: tuple[str, Any]
) -> None:
    url, _ = demo
    ctx = context(http, endpoints=Endpoints(http_allow=LOOPBACK), timeout=5)
    outcome = await execute_step(action("http.request"), {"url": f"{url}/missing"}, ctx)
    assert outcome.state is StepState.FAILED
    assert "answered 404, expected 200" in outcome.summary


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://127.0.0.1:1/heal",  # loopback is private unless allow-listed
        "http://10.1.2.3/heal",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "http://user:pass@example.com/",
    ],
)
async def test_http_request_refuses_addresses_it_may_not_reach(
    http: httpx.AsyncClient, url: str
) -> None:
    outcome = await execute_step(action("http.request"), {"url": url}, context(http, timeout=5))
    assert outcome.state is StepState.FAILED
    assert outcome.summary.startswith("refused:"), outcome.summary
    assert outcome.attempts == 0 or "refused" in outcome.summary


async def test_metadata_addresses_stay_refused_even_when_allow_listed(
    http: httpx.AsyncClient,
) -> None:
    everything = (ipaddress.ip_network("0.0.0.0/0"),)
    ctx = context(http, endpoints=Endpoints(http_allow=everything), timeout=5)
    outcome = await execute_step(action("http.request"), {"url": "http://169.254.169.254/"}, ctx)
    assert "link-local or cloud metadata" in outcome.summary


async def test_secrets_reach_the_request_but_never_the_result(http: httpx.AsyncClient) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers["authorization"])
            body = json.dumps({"you_sent": self.headers["authorization"]}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ctx = context(
            http,
            endpoints=Endpoints(http_allow=LOOPBACK),
            secrets={"flag_token": "Bearer s3cr3t-value"},
            timeout=5,
        )
        outcome = await execute_step(
            action("http.request"),
            {
                "url": f"http://127.0.0.1:{server.server_address[1]}/",
                "headers": {"Authorization": "secrets.flag_token"},
            },
            ctx,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["Bearer s3cr3t-value"]
    assert "s3cr3t" not in outcome.output + outcome.summary
    assert "***" in outcome.output


# --- prometheus.query ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with stack.prometheus(tmp_path_factory.mktemp("prom"), stack.SELF_SCRAPE) as process:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the first scrape
            answer = httpx.get(f"{process.url}/api/v1/query", params={"query": "up"}).json()
            if answer["data"]["result"]:
                break
            time.sleep(0.3)
        yield process.url


async def test_prometheus_query_checks_a_condition_on_real_prometheus(
    http: httpx.AsyncClient, prometheus: str
) -> None:
    ctx = context(http, endpoints=Endpoints(prometheus_url=prometheus), timeout=10)
    query = action("prometheus.query")
    up = await execute_step(query, {"query": 'up{job="prometheus"}', "condition": "== 1"}, ctx)
    assert up.state is StepState.SUCCEEDED, up.summary
    assert 'job="prometheus"' in up.output
    none = await execute_step(query, {"query": 'up{job="nothing"}', "condition": "nonempty"}, ctx)
    assert none.state is StepState.FAILED
    assert "expected at least one" in none.summary


async def test_a_bad_query_is_inconclusive_not_success(
    http: httpx.AsyncClient, prometheus: str
) -> None:
    ctx = context(http, endpoints=Endpoints(prometheus_url=prometheus), timeout=10)
    outcome = await execute_step(
        action("prometheus.query"), {"query": "up{", "condition": "empty"}, ctx
    )
    assert outcome.state is StepState.FAILED
    assert outcome.inconclusive
    assert "refused the query (400)" in outcome.summary


async def test_a_verify_step_polls_until_its_condition_holds(
    http: httpx.AsyncClient, prometheus: str
) -> None:
    ctx = context(http, endpoints=Endpoints(prometheus_url=prometheus), timeout=1.5)
    outcome = await execute_step(
        action("prometheus.query"),
        {"query": 'up{job="nothing"}', "condition": "nonempty"},
        ctx,
        poll=True,
        poll_interval=0.2,
    )
    assert outcome.state is StepState.FAILED  # still firing is never success
    assert outcome.attempts > 2
    assert "still so after" in outcome.summary


# --- Alertmanager silences ----------------------------------------------------------------


async def test_silence_and_expire_through_real_alertmanager(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    with stack.alertmanager(tmp_path, stack.SILENT_ALERTMANAGER) as am:
        ctx = context(http, endpoints=Endpoints(alertmanager_url=am.url), timeout=10)
        made = await execute_step(
            action("alertmanager.silence"),
            {"matchers": {"alertname": "DiskFull", "instance": '=~"db-.*"'}, "duration": "30m"},
            ctx,
        )
        assert made.state is StepState.SUCCEEDED, made.summary
        silence_id = made.data["silence_id"]
        [silence] = (await http.get(f"{am.url}/api/v2/silences")).json()
        assert silence["id"] == silence_id
        assert silence["status"]["state"] == "active"
        matchers = {m["name"]: (m["value"], m["isRegex"]) for m in silence["matchers"]}
        assert matchers == {"alertname": ("DiskFull", False), "instance": ("db-.*", True)}

        expired = await execute_step(
            action("alertmanager.expire_silence"), {"silence_id": silence_id}, ctx
        )
        assert expired.state is StepState.SUCCEEDED, expired.summary
        [silence] = (await http.get(f"{am.url}/api/v2/silences")).json()
        assert silence["status"]["state"] == "expired"


# --- Kubernetes ---------------------------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, Endpoints]]:
    with kube_api() as fake:
        fake.add_deployment("shop", "checkout", ["checkout:1.0", "checkout:1.1", "checkout:1.2"])
        fake.pods.add(("shop", "checkout-abc12"))
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(fake.url))
        yield fake, Endpoints(kubeconfig=config)


async def test_rollout_history_lists_revisions(
    http: httpx.AsyncClient, cluster: tuple[Cluster, Endpoints]
) -> None:
    _, endpoints = cluster
    outcome = await execute_step(
        action("kubernetes.rollout_history"),
        {"namespace": "shop", "deployment": "checkout"},
        context(http, endpoints=endpoints, timeout=10),
    )
    assert outcome.state is StepState.SUCCEEDED, outcome.summary
    assert "is at revision 3" in outcome.summary
    assert "2  deploy checkout:1.1  checkout:1.1" in outcome.output


async def test_rollout_undo_restores_the_previous_template(
    http: httpx.AsyncClient, cluster: tuple[Cluster, Endpoints]
) -> None:
    fake, endpoints = cluster
    outcome = await execute_step(
        action("kubernetes.rollout_undo"),
        {"namespace": "shop", "deployment": "checkout"},
        context(http, endpoints=endpoints, timeout=10),
    )
    assert outcome.state is StepState.SUCCEEDED, outcome.summary
    template = fake.deployments[("shop", "checkout")]["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "checkout:1.1"
    assert "pod-template-hash" not in template["metadata"]["labels"]


async def test_restart_scale_and_delete_pod(
    http: httpx.AsyncClient, cluster: tuple[Cluster, Endpoints]
) -> None:
    fake, endpoints = cluster
    ctx = context(http, endpoints=endpoints, timeout=10)
    target = {"namespace": "shop", "deployment": "checkout"}
    restarted = await execute_step(action("kubernetes.rollout_restart"), target, ctx)
    assert restarted.state is StepState.SUCCEEDED
    annotations = fake.deployments[("shop", "checkout")]["spec"]["template"]["metadata"]
    assert "kubectl.kubernetes.io/restartedAt" in annotations["annotations"]
    scaled = await execute_step(action("kubernetes.scale"), {**target, "replicas": 5}, ctx)
    assert scaled.summary == "scaled shop/checkout from 3 to 5"
    deleted = await execute_step(
        action("kubernetes.delete_pod"), {"namespace": "shop", "pod": "checkout-abc12"}, ctx
    )
    assert deleted.state is StepState.SUCCEEDED
    assert fake.pods == set()
    missing = await execute_step(
        action("kubernetes.scale"), {**target, "deployment": "nope", "replicas": 1}, ctx
    )
    assert missing.state is StepState.FAILED
    assert 'deployments "nope" not found' in missing.summary


@pytest.mark.parametrize(
    "name", ["../../api/v1/secrets", "checkout/../x", "Checkout", "-o", "a b", "x" * 300]
)
async def test_kubernetes_names_never_reach_a_path_unvalidated(
    http: httpx.AsyncClient, cluster: tuple[Cluster, Endpoints], name: str
) -> None:
    fake, endpoints = cluster
    outcome = await execute_step(
        action("kubernetes.rollout_restart"),
        {"namespace": "shop", "deployment": name},
        context(http, endpoints=endpoints, timeout=10),
    )
    assert outcome.state is StepState.FAILED
    assert outcome.summary.startswith("refused: deployment:")
    assert fake.requests == []


# --- command ------------------------------------------------------------------------------


async def test_command_refuses_an_untrusted_runbook(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    canary = tmp_path / "ran"
    outcome = await execute_step(
        action("command"), {"argv": ["touch", str(canary)]}, context(http, timeout=5)
    )
    assert outcome.summary.startswith("refused: command steps run only from runbook")
    assert not canary.exists()


async def test_command_passes_params_only_as_environment(http: httpx.AsyncClient) -> None:
    hostile = "$(touch /tmp/x) `id` ; rm -rf / \"' --help"
    outcome = await execute_step(
        action("command"),
        {"argv": ["bash", "-euo", "pipefail", "-c", 'printf "%s|" "$RB_NAMESPACE"; env']},
        context(http, trusted=True, timeout=5, params={"namespace": hostile}),
    )
    assert outcome.state is StepState.SUCCEEDED, outcome.summary
    printed, _, environment = outcome.output.partition("|")
    assert printed == hostile
    names = {line.split("=", 1)[0] for line in environment.splitlines() if "=" in line}
    # bash adds a few of its own (PWD, SHLVL, _); nothing comes from Fireline's environment.
    assert names <= {"RB_NAMESPACE", "PWD", "SHLVL", "_", "OLDPWD"}
    assert "HOME" not in names


async def test_command_timeout_kills_the_whole_process_group(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"
    started = time.monotonic()
    outcome = await execute_step(
        action("command"),
        {"argv": ["bash", "-c", script]},
        context(http, trusted=True, timeout=1.0),
    )
    assert outcome.state is StepState.TIMED_OUT
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    await asyncio.sleep(0.2)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent that may never reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status").read_text()
    return "\nState:\tZ" not in status


async def test_command_output_is_capped(http: httpx.AsyncClient) -> None:
    outcome = await execute_step(
        action("command"),
        {"argv": ["bash", "-c", "head -c 200000 /dev/zero | tr '\\0' a"]},
        context(http, trusted=True, timeout=10, max_output_bytes=1000),
    )
    assert outcome.state is StepState.SUCCEEDED
    assert outcome.output.startswith("a" * 1000)
    assert "more bytes not kept" in outcome.output
    assert len(outcome.output) < 1100


async def test_a_failing_idempotent_step_is_retried_with_backoff(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    script = f"echo x >> {counter}; test $(wc -l < {counter}) -ge 3"
    outcome = await execute_step(
        action("command"),
        {"argv": ["bash", "-c", script]},
        context(http, trusted=True, timeout=10),
        retries=3,
        backoff_base=0.01,
    )
    assert outcome.state is StepState.SUCCEEDED
    assert outcome.attempts == 3
