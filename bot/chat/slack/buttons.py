"""The card's buttons: acknowledge, resolve, escalate, silence, and approve or reject a step."""

from __future__ import annotations

from typing import Any

from bot.automation import service as automation
from bot.chat.slack.listeners import REFUSALS, Listeners
from bot.escalation import service as escalation
from bot.incidents import service as incidents
from bot.people.model import Action


class Buttons(Listeners):
    def register(self) -> None:
        self.app.action("acknowledge")(self.on_acknowledge)
        self.app.action("resolve")(self.on_resolve)
        self.app.action("escalate")(self.on_escalate)
        self.app.action("silence")(self.on_silence)
        self.app.action("approve")(self.on_approve)
        self.app.action("reject")(self.on_reject)

    async def incident_action(
        self, body: dict[str, Any], action: Action, call: Any, **kwargs: Any
    ) -> bool:
        """Run ``call`` for the pressed incident when the user may; False when refused."""
        user = body["user"]["id"]
        incident_id = int(body["actions"][0]["value"])
        try:
            await self.allowed(user, action, incident_id=incident_id)
            await self.run(call, self.db, incident_id, actor=user, clock=self.clock, **kwargs)
        except REFUSALS as exc:
            await self.refuse(body, f"Not done: {exc}")
            return False
        return True

    async def on_acknowledge(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.incident_action(
            body, Action.ACKNOWLEDGE, incidents.acknowledge, hooks=self.runtime.hooks
        )

    async def on_resolve(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.incident_action(
            body,
            Action.RESOLVE,
            incidents.resolve,
            reason="resolved from Slack",
            hooks=self.runtime.hooks,
        )

    async def on_escalate(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.incident_action(
            body, Action.ESCALATE, escalation.escalate, rules=self.runtime.escalation.rules
        )
        self.runtime.escalation.poke()

    async def silence(self, body: dict[str, Any]) -> None:
        if self.silencer is None:
            await self.refuse(body, "Silencing needs FIRELINE_ALERTMANAGER_URL")
            return
        incident_id = int(body["actions"][0]["value"])
        try:
            await self.allowed(body["user"]["id"], Action.SILENCE, incident_id=incident_id)
            await self.silencer.silence(
                self.db,
                incident_id,
                by=body["user"]["id"],
                duration=self.settings.silence_duration,
            )
        except REFUSALS as exc:
            await self.refuse(body, f"Not silenced: {exc}")

    async def on_silence(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        await self.silence(body)

    async def decide(self, body: dict[str, Any], approve: bool) -> None:
        step_run_id, _, args_hash = str(body["actions"][0]["value"]).partition(":")
        user = body["user"]["id"]
        try:
            incident_id, approvers = await self.run(
                automation.approvers_of, self.db, int(step_run_id)
            )
            identity = await self.allowed(
                user, Action.APPROVE_STEP, incident_id=incident_id, groups=approvers
            )
            await self.run(
                automation.decide_approval,
                self.db,
                int(step_run_id),
                by=user,
                by_aliases=identity.aliases,
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
