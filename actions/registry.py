"""The action catalog: every action Fireline can run, by name."""

from __future__ import annotations

from typing import Any

from actions.base import Action


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, type[Action]] = {}

    def register(self, action: type[Action]) -> type[Action]:
        if action.name in self._actions:
            raise ValueError(f"action {action.name!r} is registered twice")
        self._actions[action.name] = action
        return action

    def get(self, name: str) -> type[Action] | None:
        return self._actions.get(name)

    def names(self) -> list[str]:
        return sorted(self._actions)


def is_mutating(action: type[Action], args: dict[str, Any], *, read_only: bool = False) -> bool:
    """Whether a step changes anything: the action says so, an HTTP GET does not, and a
    command marked ``read_only`` in its runbook does not."""
    if not action.mutating:
        return False
    if read_only and action.name == "command":
        return False
    checker = getattr(action, "is_mutating", None)
    return bool(checker(args)) if checker is not None else True


def default_registry() -> ActionRegistry:
    """The catalog shipped with Fireline."""
    from actions import alertmanager, basic, command, http, kubernetes, prometheus

    registry = ActionRegistry()
    for action in (
        http.HttpRequest,
        prometheus.PrometheusQuery,
        alertmanager.Silence,
        alertmanager.ExpireSilence,
        kubernetes.RolloutRestart,
        kubernetes.RolloutUndo,
        kubernetes.RolloutHistory,
        kubernetes.Scale,
        kubernetes.DeletePod,
        command.Command,
        basic.Wait,
        basic.Notify,
    ):
        registry.register(action)
    return registry
