"""The chat client on Slack's Web API, through slack_sdk's AsyncWebClient.

Every message Fireline posts carries Slack message ``metadata`` naming the outbox row it
delivers (and, for a card, its incident). After a send that was cut short, the outbox
looks for that message (``conversations.history`` / ``conversations.replies``, which need
the ``channels:history``/``groups:history``/``im:history`` scopes) before posting again.
"""

from __future__ import annotations

import contextlib
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.client import ChatError, Posted
from bot.chat.render import ChatMessage, IncidentView
from bot.chat.slack.blocks import card_blocks, card_text, message_blocks, message_text
from bot.chat.slack.text import escape, plain

FILE_NAME = 250  # characters of a file's name and title

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


CARD_EVENT = "fireline_card"
MESSAGE_EVENT = "fireline_message"


def _metadata(event_type: str, outbox_id: int, **extra: object) -> dict[str, object]:
    return {"event_type": event_type, "event_payload": {"outbox_id": outbox_id, **extra}}


def web_client(
    token: str, base_url: str, *, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """One client for every Web API call; the outbox does the retrying, so slack_sdk's
    own retry handlers are off.

    With ``session`` (kept open by the caller, closed when the app stops) calls reuse its
    connections; without one slack_sdk opens a connection, and a TLS handshake, per call,
    which costs a card more than everything else on its way to Slack.
    """
    return AsyncWebClient(
        token=token, base_url=base_url, retry_handlers=[], timeout=15, session=session
    )


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

    async def post_card(
        self, channel: str, view: IncidentView, *, suppressed: int, outbox_id: int
    ) -> str:
        answer = await self._call(
            "chat.postMessage",
            channel=channel,
            text=card_text(view),
            blocks=card_blocks(view, can_silence=self.can_silence, suppressed=suppressed),
            metadata=_metadata(CARD_EVENT, outbox_id, incident_id=view.id),
        )
        return str(answer["ts"])

    async def retire_card(self, channel: str, ts: str, *, incident_id: int, current: str) -> None:
        text = (
            f"Superseded: incident #{incident_id}'s card was posted twice; "
            f"the live one is {self._link(channel, current)}."
        )
        await self._call(
            "chat.update",
            channel=channel,
            ts=ts,
            text=text,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        )

    @staticmethod
    def _link(channel: str, ts: str) -> str:
        return f"<https://slack.com/archives/{channel}/p{ts.replace('.', '')}|here>"

    async def find_posted(
        self, channel: str, *, since: float, thread: str | None = None
    ) -> list[Posted]:
        """Fireline's messages in the channel (or the thread) since ``since`` (epoch s)."""
        if thread:
            answer = await self._call(
                "conversations.replies",
                channel=channel,
                ts=thread,
                oldest=f"{since:.6f}",
                include_all_metadata=True,
                limit=200,
            )
        else:
            answer = await self._call(
                "conversations.history",
                channel=channel,
                oldest=f"{since:.6f}",
                include_all_metadata=True,
                limit=200,
            )
        found: list[Posted] = []
        for message in answer.get("messages") or []:  # type: ignore[attr-defined]
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") in (CARD_EVENT, MESSAGE_EVENT) and "outbox_id" in payload:
                incident = payload.get("incident_id")
                found.append(
                    Posted(
                        ts=str(message.get("ts")),
                        outbox_id=int(payload["outbox_id"]),
                        incident_id=int(incident) if incident is not None else None,
                        card=metadata.get("event_type") == CARD_EVENT,
                    )
                )
        return found

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

    async def post(
        self,
        channel: str,
        message: ChatMessage,
        *,
        thread: str | None = None,
        outbox_id: int | None = None,
    ) -> str:
        kwargs: dict[str, object] = {
            "channel": channel,
            "text": message_text(message),
            "blocks": message_blocks(message),
        }
        if outbox_id is not None:
            kwargs["metadata"] = _metadata(MESSAGE_EVENT, outbox_id)
        if thread:
            kwargs["thread_ts"] = thread
        answer = await self._call("chat.postMessage", **kwargs)
        return str(answer["ts"])

    async def open_direct(self, user: str) -> str:
        """The direct-message channel with ``user``."""
        opened = await self._call("conversations.open", users=user)
        channel = opened.get("channel")
        channel_id = channel.get("id") if isinstance(channel, dict) else None
        if not channel_id:
            raise ChatError(f"conversations.open gave no channel for {user}", permanent=True)
        return str(channel_id)

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
        self,
        channel: str,
        *,
        filename: str,
        title: str,
        content: str | bytes,
        thread: str | None,
    ) -> None:
        # files.getUploadURLExternal and completeUploadExternal (files_upload_v2): text as
        # ``content``, bytes (a PNG) as ``file``.
        body: dict[str, Any] = (
            {"file": content} if isinstance(content, bytes) else {"content": content}
        )
        try:
            await self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread,
                filename=plain(filename, FILE_NAME),
                title=escape(plain(title, FILE_NAME)),
                **body,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            raise ChatError(f"files.upload: {error or exc}", permanent=error in PERMANENT) from exc
        except (OSError, aiohttp.ClientError) as exc:
            raise ChatError(f"files.upload: {exc!r}") from exc

    async def ephemeral(self, channel: str, user: str, text: str) -> None:
        await self._call("chat.postEphemeral", channel=channel, user=user, text=text)
