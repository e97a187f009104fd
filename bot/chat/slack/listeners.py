"""What every group of Slack listeners shares: the service, running a use case off the
event loop, and answering a refusal to the person who asked."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.chat.silence import Silencer
from bot.chat.slack.runtime import SlackRuntime
from bot.errors import FirelineError

REFUSALS = (FirelineError,)


class Listeners:
    """Base of the listener groups; each subclass registers its own in ``register``."""

    def __init__(self, app: AsyncApp, runtime: SlackRuntime, silencer: Silencer | None) -> None:
        self.app = app
        self.runtime = runtime
        self.silencer = silencer
        self.settings = runtime.settings
        self.db = runtime.db
        self.clock = runtime.clock

    def register(self) -> None:
        raise NotImplementedError

    async def run(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Use cases are synchronous and write to the database: run them in a thread."""
        return await asyncio.to_thread(call, *args, **kwargs)

    async def refuse(self, body: dict[str, Any], text: str) -> None:
        channel = (body.get("channel") or {}).get("id") or body.get("user", {}).get("id")
        user = body.get("user", {}).get("id")
        if channel and user:
            await self.app.client.chat_postEphemeral(channel=channel, user=user, text=text)
