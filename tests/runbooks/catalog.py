"""A small action catalog of our own, shaped like the real one, for lint unit tests."""

from __future__ import annotations

from typing import Any, ClassVar

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
