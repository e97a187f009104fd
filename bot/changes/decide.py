"""Which changes concern an incident, how they read, and what receivers' bodies mean.

Plain data in and out; the clock is passed in where it matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.changes.model import ChangeFacts, ChangeKind, NearbyChange
from bot.errors import InvalidInputError

ENVIRONMENT_LABELS = ("environment", "env")
GITHUB_SOURCE = "github"
ARGOCD_SOURCE = "argocd"


def concerns(change: NearbyChange, *, service: str | None, labels: Mapping[str, str]) -> bool:
    """A change concerns an incident of its service, or one whose labels carry every label
    the change names; never one of another environment, when both say which."""
    env = next((labels[k] for k in ENVIRONMENT_LABELS if labels.get(k)), None)
    if change.environment and env and change.environment != env:
        return False
    if service is not None and change.service == service:
        return True
    return bool(change.labels) and all(labels.get(k) == v for k, v in change.labels.items())


def correlate(
    changes: Iterable[NearbyChange],
    *,
    service: str | None,
    labels: Mapping[str, str],
    started_at: datetime,
    window: timedelta,
) -> list[NearbyChange]:
    """The changes of the ``window`` before the alert started that concern the incident,
    newest first: the likeliest cause leads."""
    near = [
        c
        for c in changes
        if started_at - window <= c.at <= started_at and concerns(c, service=service, labels=labels)
    ]
    return sorted(near, key=lambda c: (c.at, c.id), reverse=True)


def ago(delta: timedelta) -> str:
    """``12 min``, ``1 h 5 min``, ``less than a minute``."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def describe(change: NearbyChange, *, started_at: datetime) -> str:
    """``deploy checkout v1.4.2 to prod by dana, 12 min before the alert``."""
    what = f"{change.kind} {change.service}"
    if change.version:
        what += f" {change.version}"
    if change.environment:
        what += f" to {change.environment}"
    return f"{what} by {change.actor}, {ago(started_at - change.at)} before the alert"


def deploy_context(correlated: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """What a runbook may take from the latest deploy before its alert (``from:
    deploy.previous_version``), from the ``change.correlated`` events' data; empty when
    no deploy preceded it."""
    deploys = [d for d in correlated if d.get("kind") in (ChangeKind.DEPLOY, ChangeKind.ROLLBACK)]
    if not deploys:
        return {}
    latest = max(deploys, key=lambda d: (str(d.get("changed_at")), int(d.get("change_id", 0))))
    fields = {
        "version": latest.get("version"),
        "previous_version": latest.get("previous_version"),
        "service": latest.get("service"),
        "environment": latest.get("environment"),
        "by": latest.get("by"),
    }
    return {k: str(v) for k, v in fields.items() if v}


# --- receivers ----------------------------------------------------------------------------


def _text(body: Mapping[str, Any], *path: str) -> str | None:
    value: Any = body
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value if isinstance(value, str) and value else None


def _when(text: str | None, *, field: str, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"{field}: {text[:40]!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise InvalidInputError(f"{field}: {text[:40]!r} has no time zone")
    return at


def github_change(body: Mapping[str, Any], *, now: datetime) -> ChangeFacts | str:
    """A GitHub ``deployment_status`` event as a deploy, or why it is not one: only a
    successful status is a change that happened."""
    state = _text(body, "deployment_status", "state")
    if state is None:
        raise InvalidInputError("deployment_status.state is missing")
    if state != "success":
        return f"deployment status {state!r} is not a finished deploy"
    status_id = (body.get("deployment_status") or {}).get("id")
    deployment = body.get("deployment") or {}
    payload = deployment.get("payload") if isinstance(deployment, Mapping) else None
    service = (
        _text(payload or {}, "service")
        or _text(body, "repository", "name")
        or _text(body, "deployment", "environment")
    )
    if service is None:
        raise InvalidInputError("repository.name is missing")
    sha = _text(body, "deployment", "sha")
    ref = _text(body, "deployment", "ref")
    version = ref if ref and ref != sha else (sha[:12] if sha else None)
    repository = _text(body, "repository", "full_name")
    return ChangeFacts(
        kind=ChangeKind.DEPLOY,
        service=service,
        environment=_text(body, "deployment_status", "environment")
        or _text(body, "deployment", "environment"),
        version=version,
        actor=_text(body, "deployment", "creator", "login")
        or _text(body, "sender", "login")
        or "github",
        at=_when(
            _text(body, "deployment_status", "created_at"),
            field="deployment_status.created_at",
            now=now,
        ),
        summary=_text(body, "deployment_status", "description")
        or _text(body, "deployment", "description")
        or "",
        link=_text(body, "deployment_status", "log_url")
        or _text(body, "deployment_status", "target_url")
        or _text(body, "deployment_status", "environment_url")
        or _text(body, "repository", "html_url"),
        labels={"repository": repository} if repository else {},
        source=GITHUB_SOURCE,
        external_id=f"deployment_status:{status_id}" if status_id is not None else None,
    )


def argocd_change(body: Mapping[str, Any], *, now: datetime) -> ChangeFacts | str:
    """The body of Argo CD notifications' webhook template (docs/changes.md) as a deploy,
    or why it is not one: only a ``Succeeded`` sync is."""
    app = _text(body, "app")
    revision = _text(body, "revision")
    if app is None or revision is None:
        missing = [name for name, value in (("app", app), ("revision", revision)) if value is None]
        raise InvalidInputError(f"missing: {', '.join(missing)} (see the template in the docs)")
    phase = _text(body, "phase") or "Succeeded"
    if phase != "Succeeded":
        return f"sync phase {phase!r} is not a finished deploy"
    at = _when(_text(body, "finished_at"), field="finished_at", now=now)
    return ChangeFacts(
        kind=ChangeKind.DEPLOY,
        service=_text(body, "service") or app,
        environment=_text(body, "environment"),
        version=revision[:40],
        actor=_text(body, "by") or "argocd",
        at=at,
        summary=f"Argo CD synced {app} to {revision[:12]}",
        link=_text(body, "url"),
        labels={"argocd_app": app},
        source=ARGOCD_SOURCE,
        external_id=f"{app}:{revision}:{at.isoformat()}",
    )
