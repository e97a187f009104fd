"""The slash command: ``/fireline declare|ack|resolve|escalate|commander|note|followup|
postmortem|pause|resume|oncall|status|help``, parsed by ``bot.chat.commands``."""

from __future__ import annotations

import re
from typing import Any

from bot.automation import service as automation
from bot.chat import service as chat
from bot.chat.commands import Command, CommandError, help_text, parse_command
from bot.chat.slack.listeners import REFUSALS, Listeners
from bot.chat.slack.modals import declare_view
from bot.chat.slack.text import escape
from bot.durations import parse_duration
from bot.errors import InvalidInputError, NotFoundError
from bot.escalation import service as escalation
from bot.escalation.oncall import add_override, on_call_now, overrides_of, remove_override
from bot.incidents import service as incidents
from bot.maintenance import service as maintenance
from bot.maintenance.decide import parse_request
from bot.people.model import Action, Identity
from bot.postmortem import followups
from bot.postmortem.service import render_postmortem
from bot.status import service as status_page

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

# What each subcommand needs of the decision table (bot.people.decide).
ACTIONS: dict[str, Action] = {
    "help": Action.VIEW,
    "oncall": Action.VIEW,
    "status": Action.VIEW,
    "postmortem": Action.VIEW,
    "declare": Action.DECLARE,
    "pause": Action.PAUSE_AUTOMATION,
    "resume": Action.RESUME_AUTOMATION,
    "ack": Action.ACKNOWLEDGE,
    "resolve": Action.RESOLVE,
    "escalate": Action.ESCALATE,
    "commander": Action.ASSIGN_COMMANDER,
    "note": Action.ADD_NOTE,
    "followup": Action.ADD_NOTE,
    "maintenance": Action.START_MAINTENANCE,
    "override": Action.EDIT_SCHEDULES,
}


class SlashCommand(Listeners):
    def register(self) -> None:
        self.app.command(self.settings.slack_command)(self.on_command)

    async def on_command(self, ack: Any, body: dict[str, Any], client: Any) -> None:
        channel = body.get("channel_id", "")
        here = await self.run(chat.incident_for_channel, self.db, channel)
        try:
            command = parse_command(
                body.get("text", ""), channel_incident=here, command=self.settings.slack_command
            )
            if command.name == "declare" and not command.text:
                await self.allowed(body["user_id"], Action.DECLARE)
                await ack()
                await client.views_open(trigger_id=body["trigger_id"], view=declare_view())
                return
            answer = await self.execute(command, body["user_id"])
        except CommandError as exc:
            await ack(text=str(exc))
            return
        except REFUSALS as exc:
            await ack(text=f"Not done: {exc}")
            return
        await ack(text=answer)

    async def execute(self, command: Command, user: str) -> str:
        """The answer shown to the person; refusals raise."""
        action = ACTIONS.get(command.name, Action.VIEW)
        if command.name == "status" and command.phase:
            action = Action.POST_STATUS
        if command.name == "maintenance" and _ends_window(command):
            action = Action.END_MAINTENANCE
        if command.name == "override" and command.text.lower().startswith("list"):
            action = Action.VIEW
        identity = await self.allowed(user, action, incident_id=command.incident_id)
        general = {
            "help": self.help,
            "declare": self.declare,
            "pause": self.pause,
            "resume": self.resume,
            "oncall": self.oncall,
            "maintenance": self.maintenance,
            "override": self.override,
        }
        if command.name in general:
            return await general[command.name](command, user)
        incident_id = command.incident_id
        assert incident_id is not None
        about_one = {
            "ack": self.acknowledge,
            "resolve": self.resolve,
            "escalate": self.escalate,
            "commander": self.commander,
            "note": self.note,
            "followup": self.followup,
            "postmortem": self.postmortem,
        }
        if command.name in about_one:
            return await about_one[command.name](command, user, incident_id)
        if command.phase:
            return await self.post_status(command, identity, incident_id)
        return await self.status(incident_id)

    async def help(self, command: Command, user: str) -> str:
        return help_text(self.settings.slack_command)

    async def declare(self, command: Command, user: str) -> str:
        incident = await self.run(
            incidents.declare,
            self.db,
            title=command.text,
            severity=command.severity or "SEV3",
            actor=user,
            hooks=self.runtime.hooks,
            clock=self.clock,
        )
        self.runtime.escalation.poke()
        return f"Declared incident #{incident.id}: {escape(incident.title)}"

    async def pause(self, command: Command, user: str) -> str:
        await self.run(
            automation.pause,
            self.db,
            scope="global",
            target="",
            by=user,
            reason=command.text,
            until=None,
            now=self.clock(),
        )
        return "Automation paused: no mutating step starts until someone resumes it."

    async def resume(self, command: Command, user: str) -> str:
        lifted = await self.run(
            automation.resume, self.db, scope="global", target="", by=user, now=self.clock()
        )
        self.runtime.automation.poke()
        return f"Automation resumed ({len(lifted)} pause{'s' if len(lifted) != 1 else ''} lifted)."

    async def maintenance(self, command: Command, user: str) -> str:
        if _ends_window(command):
            window_id = command.text.split()[1].lstrip("#")
            if not window_id.isdigit():
                raise InvalidInputError(f"{window_id!r} is not a maintenance window's id")
            ended = await self.run(
                maintenance.end_window, self.db, int(window_id), by=user, now=self.clock()
            )
            if self.runtime.maintenance is not None:
                self.runtime.maintenance.poke()
            return f"Maintenance window {ended.key} ended; what it held is re-evaluated."
        asked = parse_request(command.text)
        window = await self.run(
            maintenance.create_window,
            self.db,
            matchers=asked.matchers,
            service=None,
            starts_at=None,
            ends_at=None,
            duration=asked.duration,
            created_by=user,
            reason=asked.reason,
            now=self.clock(),
        )
        return (
            f"Maintenance window {window.key} until {window.ends_at:%Y-%m-%d %H:%M} UTC: "
            f"{escape(window.describe())} ({escape(window.reason)}). Incidents it covers are "
            f"recorded; nobody is paged and no remediation runs until it ends."
        )

    async def override(self, command: Command, user: str) -> str:
        """``override list|add|remove``: the same service calls as the API and the CLI."""
        verb, *rest = command.text.split() or ["list"]
        rules = self.runtime.escalation.rules
        usage = (
            "`override list <schedule>`, `override add <schedule> @user 4h`, `override remove <id>`"
        )
        if verb == "list" and len(rest) == 1:
            rows = await self.run(overrides_of, self.db, rules, rest[0], now=self.clock())
            lines = [
                f"#{r.id} <@{r.user}> {r.start_at:%Y-%m-%d %H:%M} to {r.end_at:%Y-%m-%d %H:%M} UTC "
                f"(by {escape(r.created_by)})"
                for r in rows
            ]
            return "\n".join(lines) or f"No overrides of {escape(rest[0])} to come."
        if verb == "add" and len(rest) == 3 and (who := _MENTION.fullmatch(rest[1])):
            now = self.clock()
            try:
                length = parse_duration(rest[2])
            except ValueError as exc:
                raise InvalidInputError(f"{rest[2]!r}: {exc}") from exc
            row = await self.run(
                add_override,
                self.db,
                rules,
                schedule=rest[0],
                user=who.group(1),
                start=now,
                end=now + length,
                actor=user,
                clock=self.clock,
            )
            until = f"{row.end_at:%Y-%m-%d %H:%M}"
            where = escape(row.schedule)
            return f"Override #{row.id}: <@{row.user}> on call in {where} until {until} UTC."
        if verb == "remove" and len(rest) == 1 and (number := rest[0].lstrip("#")).isdigit():
            row = await self.run(remove_override, self.db, int(number))
            return f"Override #{number} removed (<@{row.user}> in {escape(row.schedule)})."
        raise InvalidInputError(f"try {usage}")

    async def oncall(self, command: Command, user: str) -> str:
        answers = await self.run(
            on_call_now,
            self.db,
            self.runtime.escalation.rules,
            schedule=command.text or None,
            at=self.clock(),
        )
        if not answers:
            return "No on-call schedules are configured."
        return "\n".join(f"{a.schedule}: {a.user or 'nobody'} ({a.source})" for a in answers)

    async def acknowledge(self, command: Command, user: str, incident_id: int) -> str:
        await self.run(
            incidents.acknowledge,
            self.db,
            incident_id,
            actor=user,
            hooks=self.runtime.hooks,
            clock=self.clock,
        )
        return f"Acknowledged #{incident_id}."

    async def resolve(self, command: Command, user: str, incident_id: int) -> str:
        await self.run(
            incidents.resolve,
            self.db,
            incident_id,
            actor=user,
            reason=command.text,
            hooks=self.runtime.hooks,
            clock=self.clock,
        )
        return f"Resolved #{incident_id}."

    async def escalate(self, command: Command, user: str, incident_id: int) -> str:
        await self.run(
            escalation.escalate,
            self.db,
            incident_id,
            actor=user,
            rules=self.runtime.escalation.rules,
            clock=self.clock,
        )
        self.runtime.escalation.poke()
        return f"Escalated #{incident_id}."

    async def commander(self, command: Command, user: str, incident_id: int) -> str:
        assert command.user is not None
        await self.run(
            incidents.assign_commander,
            self.db,
            incident_id,
            user=command.user,
            actor=user,
            clock=self.clock,
        )
        return f"<@{command.user}> is the commander of #{incident_id}."

    async def note(self, command: Command, user: str, incident_id: int) -> str:
        await self.run(
            incidents.add_note,
            self.db,
            incident_id,
            actor=user,
            text=command.text,
            clock=self.clock,
        )
        return f"Noted on #{incident_id}."

    async def followup(self, command: Command, user: str, incident_id: int) -> str:
        item = await self.run(
            followups.add_followup,
            self.db,
            incident_id,
            text=command.text,
            actor=user,
            clock=self.clock,
        )
        return f"Follow-up {item.id} added to #{incident_id}."

    async def postmortem(self, command: Command, user: str, incident_id: int) -> str:
        text: str = await self.run(
            render_postmortem, self.db, incident_id, self.runtime.drafts, clock=self.clock
        )
        await self.run(
            chat.share_file,
            self.db,
            incident_id,
            filename=f"postmortem-{incident_id}.md",
            title=f"Post-mortem draft: incident #{incident_id}",
            content=text,
            now=self.clock(),
        )
        if self.runtime.chat is not None:
            self.runtime.chat.poke()
        return f"The post-mortem draft of #{incident_id} is on its way to the incident's thread."

    async def post_status(self, command: Command, who: Identity, incident_id: int) -> str:
        assert command.phase is not None
        await self.run(
            status_page.post_update,
            self.db,
            incident_id,
            author=who.actor,
            phase=command.phase,
            text=command.text,
            now=self.clock(),
            config=self.runtime.status,
        )
        return f"Posted to the status page for #{incident_id} ({command.phase})."

    async def status(self, incident_id: int) -> str:
        view = await self.run(chat.view_of, self.db, incident_id, now=self.clock())
        if view is None:
            raise NotFoundError(f"incident {incident_id} does not exist")
        steps = ", ".join(f"{s.step_id} {s.state}" for s in view.steps) or "no steps"
        return escape(
            f"#{view.id} [{view.severity}] {view.title}: {view.status}; "
            f"runbook {view.runbook_id or 'none'} ({steps}); "
            f"commander {view.commander or 'nobody'}"
        )


def _ends_window(command: Command) -> bool:
    words = command.text.split()
    return len(words) == 2 and words[0].lower() == "end"
