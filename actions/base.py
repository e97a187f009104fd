"""What an action is, seen from the engine: typed arguments in, a result out.

``actions`` knows nothing of ``bot`` or ``storage``; it reports through the small
interfaces defined here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from actions.context import ActionContext


class ActionRefused(Exception):
    """The action will not do this (an address it may not reach, an untrusted command);
    nothing was attempted. The message says what was refused and why."""


class ActionArgs(BaseModel):
    """Base of every action's arguments: unknown arguments are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    summary: str
    output: str = ""
    exit_code: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


class Action(ABC):
    """One catalog entry. Subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str]
    mutating: ClassVar[bool]
    default_timeout: ClassVar[float]
    Args: ClassVar[type[ActionArgs]]
    description: ClassVar[str] = ""

    @abstractmethod
    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        """Do the work; the engine enforces the timeout and catches what escapes."""

    async def dry_run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        """What would run, without touching anything. Read-only actions may override
        this to really run, since a dry run of a diagnosis is still useful."""
        shown = args.model_dump(mode="json")
        return ActionResult(ok=True, summary=f"dry run: would call {self.name} with {shown}")
