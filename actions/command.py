"""``command``: a fixed argv from a trusted runbook, as a process of its own.

Alert data reaches it only as ``RB_*`` environment variables in an otherwise empty
environment; it never becomes part of the argv. The process leads a session of its own,
so a timeout kills it and everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
from typing import ClassVar

from pydantic import Field, field_validator

from actions.base import Action, ActionArgs, ActionRefused, ActionResult
from actions.context import ActionContext
from actions.masking import cap_output

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Where argv[0] is looked up when it is not a path; the child's environment stays empty.
SEARCH_PATH = "/usr/local/bin:/usr/bin:/bin"


class CommandArgs(ActionArgs):
    argv: list[str] = Field(min_length=1)

    @field_validator("argv")
    @classmethod
    def _no_nul(cls, value: list[str]) -> list[str]:
        if any("\x00" in part for part in value):
            raise ValueError("argv contains a NUL character")
        return value


def child_environment(params: dict[str, str]) -> dict[str, str]:
    """``RB_<NAME>`` for each parameter, and nothing else."""
    env = {}
    for name, value in params.items():
        key = f"RB_{name.upper()}"
        if not _ENV_NAME.fullmatch(key):
            raise ActionRefused(f"parameter {name!r} cannot be an environment variable name")
        if "\x00" in value:
            raise ActionRefused(f"parameter {name!r} contains a NUL character")
        env[key] = value
    return env


class Command(Action):
    name = "command"
    mutating = True  # unless the step is marked read_only
    default_timeout = 60.0
    Args = CommandArgs
    description = "Run a fixed argv from a trusted runbook; parameters only as RB_* variables."
    kill_grace: ClassVar[float] = 2.0

    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        assert isinstance(args, CommandArgs)
        if not context.trusted:
            raise ActionRefused("command steps run only from runbook directories marked trusted")
        program = shutil.which(args.argv[0], path=SEARCH_PATH) or args.argv[0]
        if not os.path.isabs(program):
            raise ActionRefused(f"{args.argv[0]!r} is not installed")
        env = child_environment(dict(context.params))
        process = await asyncio.create_subprocess_exec(
            program,
            *args.argv[1:],
            env=env,
            cwd="/",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output = await _read_capped(process, context.max_output_bytes)
            code = await process.wait()
        except BaseException:
            # Timeout or cancellation: the whole process group goes, not just the leader.
            _kill_group(process.pid)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.kill_grace):
                    await process.wait()
            raise
        _kill_group(process.pid)  # whatever it left running in the background
        return ActionResult(
            ok=code == 0,
            summary=f"{args.argv[0]} exited {code}",
            output=cap_output(output, context.max_output_bytes),
            exit_code=code,
        )


async def _read_capped(process: asyncio.subprocess.Process, limit: int) -> bytes:
    """Read all output, keeping the first ``limit`` bytes (plus one to show truncation)."""
    assert process.stdout is not None
    kept = bytearray()
    while chunk := await process.stdout.read(65536):
        if len(kept) <= limit:
            kept += chunk[: limit + 1 - len(kept)]
    return bytes(kept)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
