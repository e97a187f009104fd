"""What every group of Slack listeners shares: the service, running a use case off the
event loop, and answering a refusal to the person who asked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.chat.silence import Silencer
from bot.chat.slack.runtime import SlackRuntime
from bot.errors import FirelineError
from bot.people.groups import GroupMembers
from bot.people.model import Action, Identity
from bot.people.service import authorize

REFUSALS = (FirelineError,)


class Listeners:
    """Base of the listener groups; each subclass registers its own in ``register``."""

    def __init__(
        self,
        app: AsyncApp,
        runtime: SlackRuntime,
        silencer: Silencer | None,
        groups: GroupMembers,
    ) -> None:
        self.app = app
        self.groups = groups
        self.people = runtime.people
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

    async def identity_of(self, user: str, groups: Iterable[str] = ()) -> Identity:
        """The Slack user's identity; ``groups`` are more user groups worth resolving
        (a step's approvers) besides those the directory grants roles to."""
        found = await self.groups.groups_of(user, [*self.people.group_ids, *groups])
        return self.people.slack_identity(user, found)

    async def allowed(
        self,
        user: str,
        action: Action,
        *,
        incident_id: int | None = None,
        groups: Iterable[str] = (),
    ) -> Identity:
        """The user's identity once the decision table allows ``action``; a refusal is
        recorded on the incident's timeline and raised as PermissionDeniedError."""
        identity = await self.identity_of(user, groups)
        await self.run(
            authorize, self.db, identity, action, incident_id=incident_id, now=self.clock()
        )
        return identity

    async def refuse(self, body: dict[str, Any], text: str) -> None:
        channel = (body.get("channel") or {}).get("id") or body.get("user", {}).get("id")
        user = body.get("user", {}).get("id")
        if channel and user:
            await self.app.client.chat_postEphemeral(channel=channel, user=user, text=text)
