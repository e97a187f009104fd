"""The chat client on Slack's Web API, through slack_sdk's AsyncWebClient."""

from __future__ import annotations

import contextlib

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.client import ChatError
from bot.chat.render import ChatMessage, IncidentView
from bot.chat.slack.blocks import card_blocks, card_text, message_blocks, message_text

# Errors that no retry will fix.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "user_not_found",
        "cant_update_message",
        "message_not_found",
        "name_taken",
        "invalid_name_specials",
    }
)


def web_client(token: str, base_url: str) -> AsyncWebClient:
    """One client for every Web API call; the outbox does the retrying, so slack_sdk's
    own retry handlers are off."""
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=[], timeout=15)


class SlackChat:
    def __init__(self, client: AsyncWebClient, *, can_silence: bool = False) -> None:
        self.client = client
        self.can_silence = can_silence

    async def _call(self, method: str, **kwargs: object) -> dict[str, object]:
        try:
            response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            retry_after = None
            if exc.response is not None and exc.response.status_code == 429:
                retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
            raise ChatError(
                f"{method}: {error or exc}",
                retry_after=retry_after,
                permanent=error in PERMANENT,
            ) from exc
        except (OSError, aiohttp.ClientError) as exc:  # Slack unreachable: try again later
            raise ChatError(f"{method}: {exc!r}") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def post_card(self, channel: str, view: IncidentView, *, suppressed: int) -> str:
        answer = await self._call(
            "chat.postMessage",
            channel=channel,
            text=card_text(view),
            blocks=card_blocks(view, can_silence=self.can_silence, suppressed=suppressed),
        )
        return str(answer["ts"])

    async def update_card(
        self, channel: str, ts: str, view: IncidentView, *, suppressed: int
    ) -> None:
        await self._call(
            "chat.update",
            channel=channel,
            ts=ts,
            text=card_text(view),
            blocks=card_blocks(view, can_silence=self.can_silence, suppressed=suppressed),
        )

    async def post(self, channel: str, message: ChatMessage, *, thread: str | None = None) -> str:
        kwargs: dict[str, object] = {
            "channel": channel,
            "text": message_text(message),
            "blocks": message_blocks(message),
        }
        if thread:
            kwargs["thread_ts"] = thread
        answer = await self._call("chat.postMessage", **kwargs)
        return str(answer["ts"])

    async def direct(self, user: str, message: ChatMessage) -> None:
        opened = await self._call("conversations.open", users=user)
        channel = opened.get("channel")
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        if not channel_id:
            raise ChatError(f"conversations.open gave no channel for {user}", permanent=True)
        await self.post(str(channel_id), message)

    async def create_channel(self, name: str, *, invite: list[str]) -> str:
        created = await self._call("conversations.create", name=name)
        channel = created.get("channel")
        channel_id = str(channel.get("id")) if isinstance(channel, dict) else ""
        if invite:
            # A responder who cannot be invited must not cost the incident its channel.
            with contextlib.suppress(ChatError):
                await self.invite(channel_id, invite)
        return channel_id

    async def invite(self, channel: str, users: list[str]) -> None:
        try:
            await self._call("conversations.invite", channel=channel, users=",".join(users))
        except ChatError as exc:
            if "already_in_channel" not in str(exc):
                raise

    async def pin(self, channel: str, ts: str) -> None:
        await self._call("pins.add", channel=channel, timestamp=ts)

    async def upload(
        self, channel: str, *, filename: str, title: str, content: str, thread: str | None
    ) -> None:
        try:
            await self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread,
                filename=filename,
                title=title,
                content=content,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            raise ChatError(f"files.upload: {error or exc}", permanent=error in PERMANENT) from exc
        except (OSError, aiohttp.ClientError) as exc:
            raise ChatError(f"files.upload: {exc!r}") from exc

    async def ephemeral(self, channel: str, user: str, text: str) -> None:
        await self._call("chat.postEphemeral", channel=channel, user=user, text=text)
