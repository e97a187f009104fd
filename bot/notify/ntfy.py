"""Push notifications through an ntfy server (ntfy.sh or your own), with an Acknowledge
action the ntfy app shows as a button. ntfy's JSON publishing: one POST to the server's
root with the topic in the body."""

from __future__ import annotations

import httpx

from bot.notify.http import post
from bot.notify.model import PersonMessage


class NtfySender:
    def __init__(
        self, client: httpx.AsyncClient, *, base_url: str, token: str | None, timeout: float = 15.0
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/"
        self._token = token
        self._timeout = timeout

    def body(self, topic: str, message: PersonMessage) -> dict[str, object]:
        urgent = message.severity in ("SEV1", "SEV2")
        body: dict[str, object] = {
            "topic": topic,
            "title": message.subject[:250],
            "message": message.text[:4000],
            "priority": 5 if urgent else 3,
            "tags": ["rotating_light"] if urgent else ["warning"],
        }
        actions = [
            {"action": "view", "label": label, "url": url, "clear": True}
            for label, url in (("Acknowledge", message.ack_url), ("Resolve", message.resolve_url))
            if url
        ]
        if actions:
            body["actions"] = actions
            body["click"] = message.ack_url
        return body

    async def send(self, to: str, message: PersonMessage) -> None:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        await post(
            self._client,
            "ntfy",
            self._url,
            json=self.body(to, message),
            headers=headers,
            timeout=self._timeout,
        )
