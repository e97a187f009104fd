"""How a feature's commands reach what the root ``fireline`` command wired for them.

Feature packages never import ``bot.app`` (where settings are read), so each feature's
``cli.py`` declares a small Protocol of what it needs and takes it from here; the root
command installs a ``CliEnv`` that satisfies every one of them before any sub-command runs.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

_current: ContextVar[Any] = ContextVar("fireline_cli_env")


def install(env: object) -> None:
    """Called by the root command's callback."""
    _current.set(env)


def cli_env() -> Any:
    """What the root command installed for its sub-commands."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("run feature commands through the root `fireline` command") from None
