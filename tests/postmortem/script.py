"""A scripted incident: real alerts through the webhook, then the events that runbooks,
approvals and escalations record (as docs/timeline-events.md documents them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from storage import queries
from tests.support import alert, payload, settle

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Paris moves to summer time


class FrozenClock:
    """A clock that says what the test tells it to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: float) -> datetime:
        self.now = T0 + timedelta(minutes=minutes)
        return self.now


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


LABELS = {"service": "checkout", "namespace": "shop", "deployment": "checkout-api"}


def _alerts(status: str) -> list[dict[str, Any]]:
    return [
        alert(
            "CheckoutErrors",
            fingerprint="aaaaaaaaaaaaaaaa",
            status=status,
            starts_at=at(-4),
            ends_at=at(41),
            labels={**LABELS, "severity": "warning"},
            annotations={"summary": "Checkout 5xx above 5%"},
        ),
        alert(
            "CheckoutLatency",
            fingerprint="bbbbbbbbbbbbbbbb",
            status=status,
            starts_at=at(-2),
            ends_at=at(42),
            labels={**LABELS, "severity": "critical"},
        ),
    ]


def add(
    app: FastAPI,
    incident_id: int,
    minutes: float,
    event: str,
    actor: str,
    text: str,
    /,
    **data: Any,
) -> None:
    runtime = app.state.runtime
    with runtime.db.write() as session:
        queries.add_event(
            session,
            incident_id=incident_id,
            kind=event,
            text=text,
            actor=actor,
            at=at(minutes),
            recorded_at=runtime.clock(),
            data=data,
        )


async def post_webhook(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/webhooks/alertmanager", json=body)
    assert response.status_code == 200, response.text


async def scripted_incident(
    app: FastAPI, client: httpx.AsyncClient, clock: FrozenClock, *, resolve: bool = True
) -> int:
    """Play the incident; returns its id."""
    group = {"alertname": "CheckoutErrors"}
    clock.at(0)
    await post_webhook(client, payload(_alerts("firing")[:1], group_labels=group))
    await settle(app)
    clock.at(1)
    await post_webhook(client, payload(_alerts("firing"), group_labels=group))
    await settle(app)
    listing = (await client.get("/api/incidents")).json()
    assert listing["total"] == 1
    incident_id: int = listing["items"][0]["id"]

    run = "run-1"
    common = {"run_id": run, "runbook_id": "checkout-crashloop"}
    add(
        app,
        incident_id,
        1.5,
        "runbook.selected",
        "fireline",
        "Runbook checkout-crashloop chosen (matchers)",
        runbook_id="checkout-crashloop",
        runbook_hash="abc123",
        title="Checkout pods crash-looping after a deploy",
        reason="matchers alertname, namespace",
        params={"namespace": "shop"},
    )
    add(
        app,
        incident_id,
        2,
        "step.started",
        "fireline",
        "Step history started",
        **common,
        step_id="history",
        action="kubernetes.rollout_history",
        kind="diagnose",
        params={"namespace": "shop", "deployment": "checkout-api"},
    )
    add(
        app,
        incident_id,
        2.1,
        "step.succeeded",
        "fireline",
        "Step history succeeded",
        **common,
        step_id="history",
        action="kubernetes.rollout_history",
        kind="diagnose",
        result="succeeded",
        output="REVISION 41 | 42 (current)",
        exit_code=0,
    )
    add(
        app,
        incident_id,
        2.5,
        "step.awaiting_approval",
        "fireline",
        "Step undo waits for approval",
        **common,
        step_id="undo",
        action="kubernetes.rollout_undo",
        kind="remediate",
        params={"namespace": "shop", "deployment": "checkout-api"},
    )
    add(
        app,
        incident_id,
        5,
        "escalation.notified",
        "scheduler",
        "Paged level 2: @dana",
        policy="checkout",
        level=2,
        targets=["dana"],
        channel="#inc-checkout",
    )
    add(
        app,
        incident_id,
        6,
        "step.approved",
        "carol",
        "carol approved step undo",
        **common,
        step_id="undo",
        approved_by="carol",
    )
    add(
        app,
        incident_id,
        6.1,
        "step.started",
        "fireline",
        "Step undo started",
        **common,
        step_id="undo",
        action="kubernetes.rollout_undo",
        kind="remediate",
    )
    add(
        app,
        incident_id,
        7,
        "step.succeeded",
        "fireline",
        "Step undo succeeded",
        **common,
        step_id="undo",
        action="kubernetes.rollout_undo",
        kind="remediate",
        result="succeeded",
        exit_code=0,
        output="deployment.apps/checkout-api rolled back",
    )
    add(
        app,
        incident_id,
        8,
        "escalation.notified",
        "scheduler",
        "Paged level 3: @erin",
        policy="checkout",
        level=3,
        targets=["erin"],
        channel="#inc-checkout",
    )

    clock.at(9)
    response = await client.post(f"/api/incidents/{incident_id}/acknowledge", json={"actor": "bob"})
    assert response.status_code == 200, response.text
    add(app, incident_id, 9.5, "commander.assigned", "bob", "bob is incident commander", user="bob")
    clock.at(10)
    response = await client.post(
        f"/api/incidents/{incident_id}/notes",
        json={"actor": "bob", "text": "Error rate falls after the rollback | watching"},
    )
    assert response.status_code == 201, response.text
    add(
        app,
        incident_id,
        12,
        "verification.passed",
        "fireline",
        "Verification passed: CheckoutErrors resolved",
        run_id=run,
        step_id="undo",
        method="alert_resolved",
        detail="alert resolved within 10m",
    )
    # Recorded late, out of order: the first page went out when the incident opened.
    add(
        app,
        incident_id,
        0.05,
        "escalation.notified",
        "scheduler",
        "Paged level 1: @alice",
        policy="checkout",
        level=1,
        targets=["alice"],
        channel="#inc-checkout",
    )
    if resolve:
        clock.at(43)
        await post_webhook(client, payload(_alerts("resolved"), group_labels=group))
        await settle(app)
        # The resolution's follow-up for the runbook, if any, before anyone reads the draft.
        await app.state.runtime.followups.drain()
    return incident_id
