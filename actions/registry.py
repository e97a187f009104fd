"""The action catalog: every action Fireline can run, by name."""

from __future__ import annotations

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


def default_registry() -> ActionRegistry:
    """The catalog shipped with Fireline."""
    return ActionRegistry()
