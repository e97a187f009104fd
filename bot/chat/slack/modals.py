"""The declare modal, the add-to-timeline message shortcut, and the answer to a mention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.chat import service as chat
from bot.chat.commands import help_text
from bot.chat.slack.listeners import REFUSALS, Listeners
from bot.incidents import service as incidents
from bot.people.model import Action

DECLARE_VIEW = "declare_incident"


class Modals(Listeners):
    def register(self) -> None:
        self.app.view(DECLARE_VIEW)(self.on_declare)
        self.app.shortcut("add_to_timeline")(self.on_add_to_timeline)
        self.app.event("app_mention")(self.on_mention)

    async def on_declare(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        title = values["title"]["title"]["value"] or ""
        severity = values["severity"]["severity"]["selected_option"]["value"]
        if not title.strip():
            await ack(response_action="errors", errors={"title": "An incident needs a title"})
            return
        try:
            await self.allowed(body["user"]["id"], Action.DECLARE)
        except REFUSALS as exc:
            await ack(response_action="errors", errors={"title": f"Not declared: {exc}"})
            return
        await ack()
        await self.run(
            incidents.declare,
            self.db,
            title=title,
            severity=severity,
            actor=body["user"]["id"],
            hooks=self.runtime.hooks,
            clock=self.clock,
        )
        self.runtime.escalation.poke()

    async def on_add_to_timeline(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        channel = body["channel"]["id"]
        message = body["message"]
        incident_id = await self.run(chat.incident_for_channel, self.db, channel)
        if incident_id is None and message.get("thread_ts"):
            incident_id = await self.run(
                chat.incident_for_thread, self.db, channel, message["thread_ts"]
            )
        if incident_id is None:
            await self.refuse(body, "This message is not in an incident's channel or thread.")
            return
        try:
            await self.allowed(body["user"]["id"], Action.ADD_NOTE, incident_id=incident_id)
        except REFUSALS as exc:
            await self.refuse(body, f"Not added: {exc}")
            return
        author = message.get("user") or message.get("username") or "someone"
        await self.run(
            incidents.add_chat_message,
            self.db,
            incident_id,
            actor=body["user"]["id"],
            author=author,
            text=message.get("text", ""),
            original_time=datetime.fromtimestamp(float(message["ts"]), UTC),
            permalink=None,
            clock=self.clock,
        )

    async def on_mention(self, event: dict[str, Any], client: Any) -> None:
        await client.chat_postMessage(
            channel=event["channel"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text=help_text(self.settings.slack_command),
        )


def declare_view() -> dict[str, Any]:
    options = [
        {"text": {"type": "plain_text", "text": sev}, "value": sev}
        for sev in ("SEV1", "SEV2", "SEV3", "SEV4")
    ]
    return {
        "type": "modal",
        "callback_id": DECLARE_VIEW,
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "What is happening?"},
                "element": {"type": "plain_text_input", "action_id": "title"},
            },
            {
                "type": "input",
                "block_id": "severity",
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": "severity",
                    "initial_option": options[2],
                    "options": options,
                },
            },
        ],
    }
