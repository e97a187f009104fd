"""What the outbox needs from a chat tool. Slack implements it in ``bot.chat.slack.client``."""

from __future__ import annotations

from typing import Protocol

from bot.chat.render import ChatMessage, IncidentView


class ChatError(Exception):
    """A write the chat tool refused or could not take.

    ``retry_after`` (seconds) when it asked to be called again later; ``permanent`` when
    trying again cannot help (a channel that does not exist, a revoked token).
    """

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class ChatClient(Protocol):
    async def post_card(self, channel: str, view: IncidentView, *, suppressed: int) -> str:
        """Post the incident card; returns the message id (Slack's ``ts``)."""
        ...

    async def update_card(
        self, channel: str, ts: str, view: IncidentView, *, suppressed: int
    ) -> None: ...

    async def post(
        self, channel: str, message: ChatMessage, *, thread: str | None = None
    ) -> str: ...

    async def direct(self, user: str, message: ChatMessage) -> None: ...

    async def create_channel(self, name: str, *, invite: list[str]) -> str: ...

    async def invite(self, channel: str, users: list[str]) -> None: ...

    async def pin(self, channel: str, ts: str) -> None: ...

    async def ephemeral(self, channel: str, user: str, text: str) -> None: ...

    async def upload(
        self, channel: str, *, filename: str, title: str, content: str, thread: str | None
    ) -> None:
        """Share a text file (a post-mortem draft) in the channel or the thread."""
        ...
