"""Which changes concern an incident, how they read, and what receivers' bodies mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.changes.decide import (
    ago,
    argocd_change,
    concerns,
    correlate,
    deploy_context,
    describe,
    github_change,
)
from bot.changes.model import ChangeKind, NearbyChange
from bot.errors import InvalidInputError

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def change(
    id: int = 1,
    *,
    service: str = "checkout",
    minutes_before: float = 12,
    kind: str = "deploy",
    environment: str | None = None,
    labels: dict[str, str] | None = None,
    version: str | None = "v1.4.2",
) -> NearbyChange:
    return NearbyChange(
        id=id,
        kind=kind,
        service=service,
        environment=environment,
        version=version,
        previous_version="v1.4.1",
        actor="dana",
        link=None,
        labels=labels or {},
        at=T0 - timedelta(minutes=minutes_before),
    )


def test_a_change_concerns_its_service_or_the_labels_it_names() -> None:
    assert concerns(change(), service="checkout", labels={})
    assert not concerns(change(), service="search", labels={})
    tagged = change(service="infra", labels={"cluster": "eu-1"})
    assert concerns(tagged, service="search", labels={"cluster": "eu-1"})
    assert not concerns(tagged, service="search", labels={"cluster": "us-1"})


def test_another_environment_is_never_the_cause() -> None:
    staging = change(environment="staging")
    assert not concerns(staging, service="checkout", labels={"env": "prod"})
    assert concerns(staging, service="checkout", labels={"env": "staging"})
    assert concerns(staging, service="checkout", labels={})  # the alert does not say


def test_correlation_keeps_the_window_before_the_alert_newest_first() -> None:
    found = correlate(
        [
            change(1, minutes_before=90),
            change(2, minutes_before=5),
            change(3, minutes_before=-3),  # after the alert started
            change(4, minutes_before=200),  # before the window
            change(5, service="search", minutes_before=1),
        ],
        service="checkout",
        labels={},
        started_at=T0,
        window=timedelta(hours=2),
    )
    assert [c.id for c in found] == [2, 1]


def test_a_change_reads_as_what_who_and_how_long_before() -> None:
    text = describe(change(environment="prod"), started_at=T0)
    assert text == "deploy checkout v1.4.2 to prod by dana, 12 min before the alert"
    assert ago(timedelta(seconds=20)) == "less than a minute"
    assert ago(timedelta(minutes=65)) == "1 h 5 min"
    assert ago(timedelta(hours=2)) == "2 h"


def test_the_deploy_context_is_the_latest_deploy() -> None:
    data = [
        {"change_id": 1, "kind": "deploy", "version": "v2", "previous_version": "v1",
         "service": "checkout", "by": "dana", "changed_at": "2026-12-01T09:40:00+00:00"},
        {"change_id": 2, "kind": "flag", "service": "checkout", "by": "eve",
         "changed_at": "2026-12-01T09:55:00+00:00"},
        {"change_id": 3, "kind": "deploy", "version": "v3", "previous_version": "v2",
         "service": "checkout", "by": "finn", "changed_at": "2026-12-01T09:50:00+00:00"},
    ]  # fmt: skip
    assert deploy_context(data) == {
        "version": "v3",
        "previous_version": "v2",
        "service": "checkout",
        "by": "finn",
    }
    assert deploy_context([data[1]]) == {}


GITHUB: dict[str, Any] = {
    "action": "created",
    "deployment_status": {
        "id": 42,
        "state": "success",
        "environment": "production",
        "log_url": "https://ci.example/runs/7",
        "created_at": "2026-12-01T09:48:00Z",
    },
    "deployment": {
        "id": 9,
        "sha": "a1b2c3d4e5f6a7b8c9d0",
        "ref": "v1.4.2",
        "environment": "production",
        "payload": {"service": "checkout"},
        "creator": {"login": "dana"},
    },
    "repository": {"name": "shop", "full_name": "acme/shop"},
    "sender": {"login": "deploy-bot"},
}


def test_a_successful_github_deployment_status_is_a_deploy() -> None:
    facts = github_change(GITHUB, now=T0)
    assert not isinstance(facts, str)
    assert (facts.kind, facts.service, facts.version, facts.environment, facts.actor) == (
        ChangeKind.DEPLOY,
        "checkout",  # the deployment's payload names the service; else the repository
        "v1.4.2",
        "production",
        "dana",
    )
    assert facts.at == datetime(2026, 12, 1, 9, 48, tzinfo=UTC)
    assert facts.external_id == "deployment_status:42"
    assert facts.link == "https://ci.example/runs/7"


def test_other_github_states_are_not_changes_and_bad_bodies_are_named() -> None:
    pending = {**GITHUB, "deployment_status": {**GITHUB["deployment_status"], "state": "pending"}}
    assert github_change(pending, now=T0) == "deployment status 'pending' is not a finished deploy"
    with pytest.raises(InvalidInputError, match=r"deployment_status\.state is missing"):
        github_change({"deployment": {}}, now=T0)
    bad_time = {
        **GITHUB,
        "deployment_status": {**GITHUB["deployment_status"], "created_at": "yesterday"},
    }
    with pytest.raises(InvalidInputError, match=r"deployment_status\.created_at"):
        github_change(bad_time, now=T0)


def test_an_argocd_sync_is_a_deploy_once_it_succeeded() -> None:
    body = {"app": "checkout-prod", "revision": "4f2a9c1d", "service": "checkout",
            "environment": "prod", "by": "dana", "phase": "Succeeded",
            "finished_at": "2026-12-01T09:50:00Z"}  # fmt: skip
    facts = argocd_change(body, now=T0)
    assert not isinstance(facts, str)
    assert (facts.service, facts.version, facts.actor) == ("checkout", "4f2a9c1d", "dana")
    assert facts.external_id == "checkout-prod:4f2a9c1d:2026-12-01T09:50:00+00:00"
    assert argocd_change({**body, "phase": "Running"}, now=T0) == (
        "sync phase 'Running' is not a finished deploy"
    )
    with pytest.raises(InvalidInputError, match="missing: revision"):
        argocd_change({"app": "checkout-prod"}, now=T0)
