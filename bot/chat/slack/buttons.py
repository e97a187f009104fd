"""The card's buttons: acknowledge, resolve, escalate, silence, and approve or reject a step."""

from __future__ import annotations

from typing import Any

from bot.automation import service as automation
from bot.chat.slack.listeners import REFUSALS, Listeners
from bot.escalation import service as escalation
from bot.incidents import service as incidents


class Buttons(Listeners):
    def register(self) -> None:
        self.app.action("acknowledge")(self.on_acknowledge)
        self.app.action("resolve")(self.on_resolve)
        self.app.action("escalate")(self.on_escalate)
        self.app.action("silence")(self.on_silence)
        self.app.action("approve")(self.on_approve)
        self.app.action("reject")(self.on_reject)

    async def incident_action(self, body: dict[str, Any], call: Any, **kwargs: Any) -> None:
        user = body["user"]["id"]
        incident_id = int(body["actions"][0]["value"])
        try:
            await self.run(call, self.db, incident_id, actor=user, clock=self.clock, **kwargs)
        except REFUSALS as exc:
            await self.refuse(body, f"Not done: {exc}")

    async def on_acknowledge(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.incident_action(body, incidents.acknowledge, hooks=self.runtime.hooks)
        if self.silencer is not None and self.settings.slack_silence_on_ack:
            await self.silence(body)

    async def on_resolve(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.incident_action(
            body, incidents.resolve, reason="resolved from Slack", hooks=self.runtime.hooks
        )

    async def on_escalate(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.incident_action(body, escalation.escalate, rules=self.runtime.escalation.rules)
        self.runtime.escalation.poke()

    async def silence(self, body: dict[str, Any]) -> None:
        if self.silencer is None:
            await self.refuse(body, "Silencing needs FIRELINE_ALERTMANAGER_URL")
            return
        try:
            await self.silencer.silence(
                self.db,
                int(body["actions"][0]["value"]),
                by=body["user"]["id"],
                duration=self.settings.slack_silence_duration,
            )
        except REFUSALS as exc:
            await self.refuse(body, f"Not silenced: {exc}")

    async def on_silence(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.silence(body)

    async def decide(self, body: dict[str, Any], approve: bool) -> None:
        step_run_id, _, args_hash = str(body["actions"][0]["value"]).partition(":")
        try:
            await self.run(
                automation.decide_approval,
                self.db,
                int(step_run_id),
                by=body["user"]["id"],
                approve=approve,
                expected_hash=args_hash or None,
                note="from Slack",
                now=self.clock(),
            )
        except REFUSALS as exc:
            await self.refuse(body, f"Not {'approved' if approve else 'rejected'}: {exc}")
            return
        self.runtime.automation.poke()

    async def on_approve(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.decide(body, True)

    async def on_reject(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.decide(body, False)
