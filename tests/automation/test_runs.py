"""Runbook runs through the real app: modes, promotion, at-most-once, verification,
approvals, pauses, limits and the circuit breaker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.app.demo.run import demo_service
from bot.app.settings import Settings
from tests.automation.support import (
    events,
    kinds,
    post_alert,
    wait_for,
    web_down,
    write_runbook,
)
from tests.support import running_app


@pytest.fixture
def automation_settings(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> Callable[..., Settings]:
    def make(**runbook: Any) -> Settings:
        extra = runbook.pop("settings", {})
        write_runbook(tmp_path / "runbooks", **runbook)
        return make_settings(
            runbook_dirs=[tmp_path / "runbooks"],
            http_allow=["127.0.0.0/8"],
            automation_tick="100ms",
            **extra,
        )

    return make


def escalated(app: FastAPI, incident_id: int, why: str) -> bool:
    return any(
        e.kind.startswith("escalation.") and why in e.text + e.actor
        for e in events(app, incident_id)
    )


async def runs(client: httpx.AsyncClient, incident_id: int) -> list[dict[str, Any]]:
    response = await client.get(f"/api/incidents/{incident_id}/runs")
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def step(run: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in run["steps"] if s["step_id"] == step_id)


async def promote(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/runbooks/web-heal/promote", json={"by": "U-LEAD"})
    assert response.status_code == 200, response.text


async def test_an_unpromoted_runbook_suggests_then_runs_once_promoted(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        async with running_app(automation_settings()) as (app, client):
            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000001"))
            await wait_for(lambda: "run.finished" in kinds(app), what="the suggest run")
            [run] = await runs(client, 1)
            assert step(run, "announce")["state"] == "succeeded"  # read-only: runs anyway
            heal = step(run, "heal")
            assert heal["state"] == "skipped"
            assert "not promoted" in heal["reason"]
            assert demo.heals == 0
            assert "Healing the web service." in [e.text for e in events(app, 1)]

            await promote(client)
            body = web_down(f"{url}/heal", fingerprint="f000000000000002")
            await post_alert(client, body)
            await wait_for(lambda: demo.heals == 1, what="the heal")
            # Redeliveries and repeat notifications never run it again.
            for _ in range(3):
                await post_alert(client, body)
            await wait_for(lambda: "verification.waiting" in kinds(app, 2), what="verifying")
            assert demo.heals == 1
            [run] = await runs(client, 2)
            assert run["status"] == "verifying"
            assert step(run, "heal")["state"] == "succeeded"
            assert step(run, "heal")["args"] == {
                "method": "POST",
                "url": f"{url}/heal",
                "expect_status": [200],
            }

            resolved = web_down(f"{url}/heal", fingerprint="f000000000000002", status="resolved")
            await post_alert(client, resolved)
            await wait_for(lambda: "verification.passed" in kinds(app, 2), what="verification")
            [run] = await runs(client, 2)
            assert run["status"] == "succeeded"
            assert run["verification"] == "passed"
            story = kinds(app, 2)
            assert story.index("step.started") < story.index("step.succeeded")
            assert story.index("step.succeeded") < story.index("verification.passed")
            assert demo.heals == 1


async def test_a_still_firing_alert_fails_verification_rolls_back_and_escalates(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        port = int(url.rsplit(":", 1)[1])
        settings = automation_settings(within="1s", on_fail="rollback", rollback_port=port)
        async with running_app(settings) as (app, client):
            await promote(client)
            await post_alert(client, web_down(f"{url}/heal"))
            await wait_for(lambda: "verification.failed" in kinds(app, 1), what="the verdict")
            await wait_for(lambda: "run.finished" in kinds(app, 1), what="the rollback")
            [run] = await runs(client, 1)
            assert run["verification"] == "failed"
            assert run["status"] == "failed"
            assert step(run, "undo")["state"] == "succeeded"
            assert demo.heals == 1
            assert demo.breaks == 1  # the rollback ran, once
            story = events(app, 1)
            failed = next(e for e in story if e.kind == "verification.failed")
            assert "still fires" in failed.text
            await wait_for(lambda: escalated(app, 1, "verification failed"), what="escalation")


async def test_approval_is_bound_to_allowed_people_and_the_parameters(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        async with running_app(automation_settings(mode="approve")) as (app, client):
            await promote(client)
            await post_alert(client, web_down(f"{url}/heal"))
            await wait_for(lambda: "step.awaiting_approval" in kinds(app, 1), what="the request")
            [run] = await runs(client, 1)
            heal = step(run, "heal")
            assert heal["state"] == "awaiting_approval"
            path = f"/api/steps/{heal['id']}/approve"

            stranger = await client.post(path, json={"by": "U-STRANGER"})
            assert stranger.status_code == 403
            assert "not among this runbook's approvers" in stranger.json()["detail"]
            trigger = await client.post(path, json={"by": "alertmanager"})
            assert trigger.status_code == 403
            assert "cannot approve" in trigger.json()["detail"]
            stale = await client.post(path, json={"by": "U-LEAD", "args_hash": "0" * 64})
            assert stale.status_code == 409
            assert demo.heals == 0
            assert kinds(app, 1).count("approval.refused") == 3

            granted = await client.post(path, json={"by": "U-LEAD", "args_hash": heal["args_hash"]})
            assert granted.status_code == 200, granted.text
            await wait_for(lambda: demo.heals == 1, what="the approved heal")
            again = await client.post(path, json={"by": "U-LEAD"})
            assert again.status_code == 409
            approved = next(e for e in events(app, 1) if e.kind == "step.approved")
            assert approved.actor == "U-LEAD"
            await wait_for(lambda: "verification.waiting" in kinds(app, 1), what="verifying")
            assert demo.heals == 1


async def test_an_unanswered_approval_expires_and_escalates(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        settings = automation_settings(mode="approve", settings={"approval_timeout": "1s"})
        async with running_app(settings) as (app, client):
            await promote(client)
            await post_alert(client, web_down(f"{url}/heal"))
            await wait_for(lambda: "step.rejected" in kinds(app, 1), what="the expiry")
            [run] = await runs(client, 1)
            assert step(run, "heal")["state"] == "rejected"
            assert step(run, "heal")["reason"] == "nobody approved it in time"
            assert demo.heals == 0
            await wait_for(lambda: escalated(app, 1, "approval of heal expired"), what="escalation")


async def test_pause_holds_every_mutating_step_until_resumed(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        async with running_app(automation_settings()) as (app, client):
            await promote(client)
            paused = await client.post(
                "/api/automation/pause",
                json={"by": "U-IC", "reason": "database migration", "for": "1h"},
            )
            assert paused.status_code == 201, paused.text
            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000001"))
            await wait_for(lambda: "automation.paused" in kinds(app, 1), what="the pause")
            held = next(e for e in events(app, 1) if e.kind == "automation.paused")
            assert "paused by U-IC" in held.text
            assert "database migration" in held.text
            assert demo.heals == 0

            resumed = await client.post("/api/automation/resume", json={"by": "U-IC"})
            assert [p["reason"] for p in resumed.json()["lifted"]] == ["database migration"]
            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000002"))
            await wait_for(lambda: demo.heals == 1, what="the heal after resuming")


async def test_cooldown_throttles_a_second_run_on_the_same_target(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        async with running_app(automation_settings(cooldown="30m")) as (app, client):
            await promote(client)
            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000001"))
            await wait_for(lambda: demo.heals == 1, what="the first heal")
            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000002"))
            await wait_for(lambda: "automation.throttled" in kinds(app, 2), what="throttling")
            throttled = next(e for e in events(app, 2) if e.kind == "automation.throttled")
            assert throttled.data["code"] in ("cooldown", "busy")
            assert demo.heals == 1


async def test_the_circuit_breaker_pauses_a_runbook_until_a_person_resets_it(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        async with running_app(automation_settings(within="300ms")) as (app, client):
            await promote(client)
            for number in (1, 2):
                fingerprint = f"f00000000000000{number}"
                await post_alert(client, web_down(f"{url}/heal", fingerprint=fingerprint))

                def finished(n: int = number) -> bool:
                    return "run.finished" in kinds(app, n)

                await wait_for(finished, what=f"run {number}")
            assert demo.heals == 2
            assert "automation.breaker_tripped" in kinds(app, 2)
            status = (await client.get("/api/automation")).json()
            [breaker] = status["pauses"]
            assert (breaker["kind"], breaker["target"]) == ("breaker", "web-heal")

            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000003"))
            await wait_for(lambda: "automation.paused" in kinds(app, 3), what="the breaker")
            assert demo.heals == 2

            reset = await client.post(
                "/api/automation/resume",
                json={"scope": "runbook", "target": "web-heal", "by": "U-LEAD"},
            )
            [lifted] = reset.json()["lifted"]
            assert lifted["lifted_by"] == "U-LEAD"
            await post_alert(client, web_down(f"{url}/heal", fingerprint="f000000000000004"))
            await wait_for(lambda: demo.heals == 3, what="the heal after the reset")


@pytest.mark.parametrize(
    ("settings", "state", "reason"),
    [
        ({"automation_mode": "dry-run"}, "dry_run", "dry-run"),
        ({"automation_mode": "off"}, "skipped", "automation is off (global mode)"),
        ({"automation_mode": "approve"}, "awaiting_approval", "approve mode (global mode)"),
    ],
)
async def test_the_global_mode_is_the_loosest_any_runbook_gets(
    automation_settings: Callable[..., Settings],
    settings: dict[str, str],
    state: str,
    reason: str,
) -> None:
    with demo_service() as (url, demo):
        async with running_app(automation_settings(settings=settings)) as (app, client):
            await promote(client)
            await post_alert(client, web_down(f"{url}/heal"))
            await wait_for(
                lambda: any(k in kinds(app, 1) for k in ("run.finished", "step.awaiting_approval")),
                what="the run",
            )
            [run] = await runs(client, 1)
            heal = step(run, "heal")
            assert heal["state"] == state
            assert reason in heal["reason"]
            assert demo.heals == 0
            if state == "dry_run":
                assert "dry run: would call http.request" in heal["summary"]


async def test_a_service_pause_holds_only_that_service(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        async with running_app(automation_settings()) as (app, client):
            await promote(client)
            paused = await client.post(
                "/api/automation/pause",
                json={"scope": "service", "target": "web", "by": "U-IC", "reason": "migration"},
            )
            assert paused.status_code == 201
            await post_alert(
                client, web_down(f"{url}/heal", fingerprint="f000000000000001", service="web")
            )
            await wait_for(lambda: "automation.paused" in kinds(app, 1), what="the pause")
            assert demo.heals == 0
            await post_alert(
                client, web_down(f"{url}/heal", fingerprint="f000000000000002", service="shop")
            )
            await wait_for(lambda: demo.heals == 1, what="the other service's heal")
            bad = await client.post(
                "/api/automation/pause", json={"scope": "service", "by": "U", "reason": "x"}
            )
            assert bad.status_code == 422
            assert "a service pause names its service" in bad.json()["detail"]


async def test_a_person_can_run_the_runbook_again_but_not_approve_their_own_run(
    automation_settings: Callable[..., Settings],
) -> None:
    with demo_service() as (url, demo):
        async with running_app(automation_settings(mode="approve")) as (app, client):
            await promote(client)
            await post_alert(client, web_down(f"{url}/heal"))
            await wait_for(lambda: "step.awaiting_approval" in kinds(app, 1), what="the request")
            [first] = await runs(client, 1)
            await client.post(
                f"/api/steps/{step(first, 'heal')['id']}/reject", json={"by": "U-LEAD"}
            )

            started = await client.post("/api/incidents/1/runs", json={"by": "U-LEAD"})
            assert started.status_code == 201, started.text
            assert started.json()["triggered_by"] == "U-LEAD"
            await wait_for(
                lambda: kinds(app, 1).count("step.awaiting_approval") == 2, what="the second"
            )
            second = (await runs(client, 1))[1]
            own = await client.post(
                f"/api/steps/{step(second, 'heal')['id']}/approve", json={"by": "U-LEAD"}
            )
            assert own.status_code == 403
            assert "U-LEAD started this run and cannot approve its steps" in own.json()["detail"]
            assert demo.heals == 0
            assert "run.started" in kinds(app, 1)
            missing = await client.post("/api/incidents/99/runs", json={"by": "U-LEAD"})
            assert missing.status_code == 404
