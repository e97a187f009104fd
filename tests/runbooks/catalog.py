"""A small action catalog of our own, shaped like the real one, for lint unit tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from actions.base import Action, ActionArgs, ActionResult
from actions.registry import ActionRegistry
from bot.durations import Duration


class _Fake(Action):
    mutating: ClassVar[bool] = False
    default_timeout: ClassVar[float] = 10.0

    async def run(self, args: ActionArgs, context: Any) -> ActionResult:
        return ActionResult(ok=True, summary="not run in lint tests")


class _Deployment(ActionArgs):
    namespace: str
    deployment: str


class RolloutHistory(_Fake):
    name = "kubernetes.rollout_history"
    Args = _Deployment


class RolloutRestart(_Fake):
    name = "kubernetes.rollout_restart"
    mutating = True
    Args = _Deployment


class _UndoArgs(_Deployment):
    to_revision: int | None = None


class RolloutUndo(_Fake):
    name = "kubernetes.rollout_undo"
    mutating = True
    Args = _UndoArgs


class _QueryArgs(ActionArgs):
    query: str
    condition: str | None = None
    prometheus_url: str | None = None


class PrometheusQuery(_Fake):
    name = "prometheus.query"
    Args = _QueryArgs


class _WaitArgs(ActionArgs):
    duration: Duration


class Wait(_Fake):
    name = "wait"
    Args = _WaitArgs


class _NotifyArgs(ActionArgs):
    text: str


class Notify(_Fake):
    name = "notify"
    Args = _NotifyArgs


class _CommandArgs(ActionArgs):
    argv: list[str]


class Command(_Fake):
    name = "command"
    mutating = True
    Args = _CommandArgs


def lint_registry() -> ActionRegistry:
    registry = ActionRegistry()
    for action in (
        RolloutHistory,
        RolloutRestart,
        RolloutUndo,
        PrometheusQuery,
        Wait,
        Notify,
        Command,
    ):
        registry.register(action)
    return registry


# The rest of the agreed catalog contract, so the shipped library can be linted against
# the contract whatever state the real registry is in.


class _HttpArgs(ActionArgs):
    model_config = ActionArgs.model_config | {"populate_by_name": True}

    method: str = "GET"
    url: str
    headers: dict[str, str] = {}
    body: str | None = None
    json_: Any | None = Field(default=None, alias="json")
    expect_status: list[int] = [200]
    timeout: Duration | None = None


class HttpRequest(_Fake):
    name = "http.request"
    mutating = True
    Args = _HttpArgs


class _SilenceArgs(ActionArgs):
    matchers: dict[str, str]
    duration: Duration = timedelta(hours=1)
    comment: str = "Silenced by Fireline"


class Silence(_Fake):
    name = "alertmanager.silence"
    mutating = True
    Args = _SilenceArgs


class _ExpireArgs(ActionArgs):
    silence_id: str


class ExpireSilence(_Fake):
    name = "alertmanager.expire_silence"
    mutating = True
    Args = _ExpireArgs


class _ScaleArgs(_Deployment):
    replicas: int


class Scale(_Fake):
    name = "kubernetes.scale"
    mutating = True
    Args = _ScaleArgs


class _PodArgs(ActionArgs):
    namespace: str
    pod: str


class DeletePod(_Fake):
    name = "kubernetes.delete_pod"
    mutating = True
    Args = _PodArgs


def contract_registry() -> ActionRegistry:
    registry = lint_registry()
    for action in (HttpRequest, Silence, ExpireSilence, Scale, DeletePod):
        registry.register(action)
    return registry
