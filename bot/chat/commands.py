"""The slash command's grammar: text in, a command (or what to type instead) out."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.status.decide import Phase

COMMANDS = {
    "declare": "declare <title> [SEV1-4]: open an incident",
    "ack": "ack [#id]: acknowledge",
    "resolve": "resolve [#id] [reason]: resolve",
    "escalate": "escalate [#id]: page the next level now",
    "commander": "commander @user [#id]: assign the incident commander",
    "note": "note [#id] <text>: add a note to the timeline",
    "status": "status [#id] [investigating|identified|monitoring|resolved <text>]: the "
    "incident's state, or post a public update to the status page",
    "oncall": "oncall [schedule]: who is on call now",
    "override": "override list <schedule> | override add <schedule> @user <for, e.g. 4h> | "
    "override remove <id>: a schedule's on-call overrides",
    "postmortem": "postmortem [#id]: the post-mortem draft",
    "followup": "followup [#id] <text>: add a follow-up item",
    "pause": "pause <reason>: pause all automation",
    "resume": "resume: resume automation",
    "maintenance": "maintenance <duration> <matchers> <reason>: hold pages and remediation "
    'for planned work (`maintenance 2h team="db" schema upgrade`); `maintenance end <id>` '
    "ends one early",
    "help": "help: this list",
}
NEEDS_INCIDENT = frozenset(
    {"ack", "resolve", "escalate", "commander", "note", "status", "postmortem", "followup"}
)
_ID = re.compile(r"#?(\d{1,9})")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_SEVERITY = re.compile(r"(?i)sev([1-4])")
PHASES = tuple(phase.value for phase in Phase)


@dataclass(frozen=True)
class Command:
    name: str
    incident_id: int | None = None
    text: str = ""
    user: str | None = None
    severity: str | None = None
    phase: str | None = None
    """For ``status``: the public update's phase (its text is ``text``)."""


class CommandError(ValueError):
    """The text is not a command; the message says what to type instead."""


def help_text(command: str = "/fireline") -> str:
    return "\n".join(f"`{command} {usage}`" for usage in COMMANDS.values())


def parse_command(
    text: str, *, channel_incident: int | None, command: str = "/fireline"
) -> Command:
    words = text.split()
    if not words:
        return Command("help")
    name, rest = words[0].lower(), words[1:]
    if name not in COMMANDS:
        raise CommandError(f"unknown command {name!r}; try:\n{help_text(command)}")
    incident_id = None
    if rest and (found := _ID.fullmatch(rest[0])) and name in NEEDS_INCIDENT:
        incident_id, rest = int(found.group(1)), rest[1:]
    if name == "commander":
        user = next((m.group(1) for w in rest if (m := _USER.fullmatch(w))), None)
        rest = [w for w in rest if not _USER.fullmatch(w)]
        if rest and (found := _ID.fullmatch(rest[0])):
            incident_id, rest = int(found.group(1)), rest[1:]
        if user is None:
            raise CommandError(f"name the commander: `{command} commander @someone`")
        return _with_incident(Command(name, incident_id, user=user), channel_incident, command)
    if name == "declare":
        severity = "SEV3"
        if rest and (found := _SEVERITY.fullmatch(rest[-1])):
            severity, rest = f"SEV{found.group(1)}", rest[:-1]
        return Command(name, text=" ".join(rest), severity=severity)
    if name == "status" and rest and rest[0].lower() in PHASES:
        phase, text = rest[0].lower(), " ".join(rest[1:])
        if not text:
            raise CommandError(f"say what customers read: `{command} status {phase} <text>`")
        return _with_incident(
            Command(name, incident_id, text, phase=phase), channel_incident, command
        )
    body = " ".join(rest)
    if name in ("note", "followup") and not body:
        raise CommandError(f"say what: `{command} {name} <text>`")
    if name == "maintenance" and not body:
        raise CommandError(
            f'say how long, what and why: `{command} maintenance 2h team="db" schema upgrade`'
        )
    if name == "pause" and not body:
        raise CommandError(f"say why: `{command} pause <reason>`")
    if name in NEEDS_INCIDENT:
        return _with_incident(Command(name, incident_id, text=body), channel_incident, command)
    return Command(name, text=body)


def _with_incident(cmd: Command, channel_incident: int | None, command: str) -> Command:
    if cmd.incident_id is not None:
        return cmd
    if channel_incident is None:
        raise CommandError(
            f"which incident? Outside an incident's channel add its id: "
            f"`{command} {cmd.name} #12{' @someone' if cmd.user else ''}`"
        )
    return Command(cmd.name, channel_incident, cmd.text, cmd.user, cmd.severity, cmd.phase)
