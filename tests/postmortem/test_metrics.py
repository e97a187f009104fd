"""GET /metrics, read back with Prometheus' own text parser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from bot.app.settings import Settings
from bot.outbox import service as outbox
from storage.tables_outbox import OutboxMessage, OutboxStatus
from tests.postmortem.script import T0, FrozenClock, add, scripted_incident
from tests.support import running_app


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_after_a_scripted_incident(make_settings: Callable[..., Settings]) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(), clock=clock) as (app, client):
        incident_id = await scripted_incident(app, client, clock)
        bad = await client.post("/webhooks/alertmanager", content=b"{not json")
        assert bad.status_code == 422
        db = app.state.runtime.db
        queued_at = clock()
        with db.write() as session:  # a destination nothing here delivers to: it waits
            for number in range(2):
                outbox.queue(
                    session,
                    destination="webhook:pager",
                    lane=f"webhook:pager:incident:{incident_id}",
                    kind="page",
                    payload={},
                    now=queued_at,
                    incident_id=incident_id,
                    idempotency_key=f"test:{number}",
                )
            session.add(
                OutboxMessage(
                    destination="webhook:pager",
                    lane="gone",
                    kind="page",
                    status=OutboxStatus.FAILED,
                    next_attempt_at=queued_at,
                    created_at=queued_at,
                )
            )
        clock.now = queued_at + timedelta(seconds=90)
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert incident_id == 1
    assert got[("fireline_incidents_opened_total", (("severity", "SEV1"),))] == 1
    assert not any(name == "fireline_open_incidents" for name, _ in got)
    assert got[("fireline_time_to_acknowledge_seconds_count", ())] == 1
    assert got[("fireline_time_to_acknowledge_seconds_sum", ())] == 9 * 60
    assert got[("fireline_time_to_acknowledge_seconds_bucket", (("le", "300.0"),))] == 0
    assert got[("fireline_time_to_acknowledge_seconds_bucket", (("le", "600.0"),))] == 1
    assert got[("fireline_time_to_resolve_seconds_count", ())] == 1
    assert got[("fireline_time_to_resolve_seconds_sum", ())] == 47 * 60
    runs = (
        "fireline_remediation_runs_total",
        (("result", "succeeded"), ("runbook", "checkout-crashloop")),
    )
    assert got[runs] == 1
    assert got[("fireline_webhook_requests_total", (("code", "200"),))] == 3
    assert got[("fireline_webhook_requests_total", (("code", "422"),))] == 1
    assert got[("fireline_webhook_request_duration_seconds_count", ())] == 4
    pager = (("destination", "webhook:pager"),)
    assert got[("fireline_outbox_backlog", pager)] == 2
    assert got[("fireline_outbox_oldest_age_seconds", pager)] == 90
    assert got[("fireline_outbox_failed_total", pager)] == 1
    assert got[("fireline_escalation_timer_lag_seconds", ())] == 0
    assert got[("fireline_triage_backlog", ())] == 0
    assert got[("fireline_triage_oldest_age_seconds", ())] == 0


async def test_open_incidents_are_counted_at_scrape_time(
    make_settings: Callable[..., Settings],
) -> None:
    clock = FrozenClock(T0)
    async with running_app(make_settings(), clock=clock) as (app, client):
        await scripted_incident(app, client, clock, resolve=False)
        got = samples((await client.get("/metrics")).text)
        assert got[("fireline_open_incidents", (("severity", "SEV1"),))] == 1
        assert not any(name == "fireline_outbox_backlog" for name, _ in got)


async def test_each_app_has_its_own_registry(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    async with running_app(settings) as (_a, first), running_app(settings) as (_b, second):
        await first.post("/webhooks/alertmanager", content=b"[]")
        one = samples((await first.get("/metrics")).text)
        two = samples((await second.get("/metrics")).text)
    assert one[("fireline_webhook_requests_total", (("code", "422"),))] == 1
    assert ("fireline_webhook_requests_total", (("code", "422"),)) not in two


async def test_runs_recounted_when_new_steps_arrive(make_settings: Callable[..., Settings]) -> None:
    clock = FrozenClock(T0)
    runs = "fireline_remediation_runs_total"
    failed = (runs, (("result", "failed"), ("runbook", "checkout-crashloop")))
    succeeded = (runs, (("result", "succeeded"), ("runbook", "checkout-crashloop")))
    async with running_app(make_settings(), clock=clock) as (app, client):
        incident_id = await scripted_incident(app, client, clock, resolve=False)
        before = samples((await client.get("/metrics")).text)
        assert before[succeeded] == 1
        assert failed not in before
        for minutes, state in ((20, "started"), (21, "failed")):
            add(
                app,
                incident_id,
                minutes,
                f"step.{state}",
                "fireline",
                f"Step undo {state}",
                run_id="run-2",
                step_id="undo",
                action="kubernetes.rollout_undo",
                kind="remediate",
            )
        after = samples((await client.get("/metrics")).text)
    assert after[succeeded] == 1
    assert after[failed] == 1
