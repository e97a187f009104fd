"""``wait`` and ``notify``: the two actions that touch nothing outside Fireline."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import Field, field_validator

from actions.base import Action, ActionArgs, ActionResult
from actions.context import ActionContext
from actions.durations import Duration, format_duration


class WaitArgs(ActionArgs):
    duration: Duration

    @field_validator("duration")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if value > timedelta(hours=1):
            raise ValueError("a wait step waits at most 1h")
        return value


class Wait(Action):
    name = "wait"
    mutating = False
    default_timeout = 3600.0
    Args = WaitArgs
    description = "Pause the run, for example to let a rollout settle."

    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        assert isinstance(args, WaitArgs)
        await asyncio.sleep(args.duration.total_seconds())
        return ActionResult(ok=True, summary=f"waited {format_duration(args.duration)}")

    async def dry_run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        return await self.run(args, context)


class NotifyArgs(ActionArgs):
    text: str = Field(min_length=1, max_length=3000)


class Notify(Action):
    name = "notify"
    mutating = False
    default_timeout = 30.0
    Args = NotifyArgs
    description = "Post a message in the incident's thread."

    async def run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        assert isinstance(args, NotifyArgs)
        await context.post_message(args.text)
        return ActionResult(ok=True, summary="posted to the incident", output=args.text)

    async def dry_run(self, args: ActionArgs, context: ActionContext) -> ActionResult:
        return await self.run(args, context)
