"""Hostile label values reaching every parameterised action: nothing executes, and each
is refused with a clear reason on the timeline."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.context import ActionContext, Endpoints
from actions.engine import execute_step
from actions.gates import StepState
from actions.registry import default_registry
from bot.app.demo.run import demo_service
from bot.app.settings import Settings
from tests.automation.kubeapi import kube_api, kubeconfig
from tests.automation.support import events, kinds, wait_for
from tests.support import alert, payload, running_app

CANARY = Path("/tmp/fireline-canary")  # noqa: S108 - a hostile value names it literally

CORPUS = [
    "; touch /tmp/fireline-canary",
    "$(touch /tmp/fireline-canary)",
    "`touch /tmp/fireline-canary`",
    "| touch /tmp/fireline-canary",
    "-o",
    "--",
    "--kubeconfig=/etc/passwd",
    "web\ntouch /tmp/fireline-canary",
    "{{ .Labels.instance }}",
    "${labels.instance}",
    "{% raw %}x{% endraw %}",
    "../../../etc/passwd",
    "%2e%2e%2fetc%2fpasswd",
    "169.254.169.254",
    "http://169.254.169.254/latest/meta-data/",
    "x" * 1_000_000,
]
PARAM_LABELS = ("namespace", "deployment", "host", "replicas", "level")
VALID_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
IDS = [f"{i}-{v[:20]!r}" for i, v in enumerate(CORPUS)]

CORPUS_RUNBOOK = """---
id: corpus
title: Every parameterised action
owners: ["@sec"]
match:
  alertname: Hostile
params:
  namespace: {from: labels.namespace, type: k8s_name}
  deployment: {from: labels.deployment, type: k8s_name}
  host: {from: labels.host, type: hostname}
  replicas: {from: labels.replicas, type: int}
  level: {from: labels.level, type: enum, values: [low, high]}
  url: {from: annotations.url, pattern: "http://127\\\\.0\\\\.0\\\\.1:[0-9]{1,5}/heal"}
policy:
  mode: auto
  limits: {cooldown: 0s, max_runs: 100 per 1h, stale_after: 1h}
---
# Hostile

## Resolution Steps

Scale it.

```action {"id": "scale", "kind": "remediate", "safe": true}
uses: kubernetes.scale
with: {namespace: params.namespace, deployment: params.deployment, replicas: params.replicas}
```

Call it.

```action {"id": "call", "kind": "remediate", "safe": true}
uses: http.request
with: {method: POST, url: params.url}
```

Silence it.

```action {"id": "silence", "kind": "remediate", "safe": true}
uses: alertmanager.silence
with: {matchers: {instance: params.host}}
```

Look at it.

```shell {"id": "look", "kind": "diagnose", "read_only": true}
touch "/tmp/fireline-canary-$RB_HOST"
```

Tell it.

```action {"id": "tell", "kind": "notify"}
uses: notify
with: {text: params.level}
```
"""


@pytest.fixture(autouse=True)
def no_canary() -> Iterator[None]:
    CANARY.unlink(missing_ok=True)
    yield
    assert not CANARY.exists(), "a hostile value was executed"


async def test_hostile_label_values_are_refused_before_any_step(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / "corpus.md").write_text(CORPUS_RUNBOOK)
    with demo_service() as (_, demo), kube_api() as cluster:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(cluster.url))
        settings = make_settings(
            runbook_dirs=[trusted],
            trusted_runbook_dirs=[trusted],
            http_allow=["127.0.0.0/8"],
            kubeconfig=config,
            automation_tick="100ms",
            max_body_bytes=32 * 1024 * 1024,  # the 1 MB value appears in every label
        )
        async with running_app(settings) as (app, client):
            await client.post("/api/runbooks/corpus/promote", json={"by": "U-SEC"})
            for number, value in enumerate(CORPUS, start=1):
                labels = dict.fromkeys(PARAM_LABELS, value)
                body = payload(
                    [
                        alert(
                            "Hostile",
                            fingerprint=f"{number:016x}",
                            labels={**labels, "case": str(number)},
                            annotations={"url": value, "summary": "hostile"},
                        )
                    ],
                    group_labels={"case": str(number)},
                )
                response = await client.post("/webhooks/alertmanager", json=body)
                assert response.status_code == 200
            for number, value in enumerate(CORPUS, start=1):

                def was_refused(n: int = number) -> bool:
                    return "automation.refused" in kinds(app, n)

                await wait_for(was_refused, what=f"case {number}")
                refused = next(e for e in events(app, number) if e.kind == "automation.refused")
                errors = refused.data["param_errors"]
                # Every parameter whose type cannot hold the value is named, with why.
                assert {"replicas", "level", "url"} <= set(errors), value[:40]
                assert "parameters refused" in refused.text
                assert len(refused.text) < 5000
                assert not any(k.startswith("step.") for k in kinds(app, number))
            assert cluster.requests == []
            assert demo.heals == 0


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.mark.parametrize("value", CORPUS, ids=IDS)
async def test_actions_refuse_hostile_values_that_a_loose_pattern_let_through(
    http: httpx.AsyncClient, tmp_path: Path, value: str
) -> None:
    """Defence in depth: the action validates its own arguments too."""
    registry = default_registry()
    with kube_api() as cluster:
        config = tmp_path / "kubeconfig"
        config.write_text(kubeconfig(cluster.url))
        context = ActionContext(
            incident_id=1,
            run_id=1,
            step_id="s",
            http=http,
            endpoints=Endpoints(kubeconfig=config),
            trusted=True,
            timeout=10,
            params={"host": value[:100_000]},
        )
        calls: list[tuple[str, dict[str, Any]]] = [("http.request", {"url": value})]
        if not VALID_NAME.fullmatch(value):  # 169.254.169.254 is a fine pod name, not a URL
            calls += [
                ("kubernetes.delete_pod", {"namespace": "shop", "pod": value}),
                ("kubernetes.rollout_restart", {"namespace": value, "deployment": "web"}),
            ]
        for name, args in calls:
            action = registry.get(name)
            assert action is not None
            outcome = await execute_step(action(), args, context)
            assert outcome.state is StepState.FAILED, (name, outcome.summary)
            assert outcome.summary.startswith("refused:"), (name, outcome.summary)
        assert cluster.requests == []
        # A shell step gets the value only as data in its environment.
        command = registry.get("command")
        assert command is not None
        shown = await execute_step(
            command(), {"argv": ["bash", "-euo", "pipefail", "-c", 'printf %s "$RB_HOST"']}, context
        )
        if "\x00" not in value:
            assert shown.state is StepState.SUCCEEDED
            assert shown.output.startswith(value[:1000])
