"""What an action is, seen from the engine: typed arguments in, a result out.

``actions`` knows nothing of ``bot`` or ``storage``; it reports through the small
interfaces defined here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


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
    async def run(self, args: ActionArgs, context: Any) -> ActionResult:
        """Do the work; the engine enforces the timeout and catches what escapes."""
