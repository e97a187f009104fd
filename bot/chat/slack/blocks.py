"""Block Kit for Fireline's messages: the incident card and chat-neutral messages."""

from __future__ import annotations

from typing import Any

from bot.chat.render import KEY_LABELS, Button, ChatMessage, IncidentView
from bot.chat.slack.text import (
    BUTTON,
    FIELD,
    HEADER,
    MESSAGE,
    SECTION,
    cut,
    escape,
    link,
    mrkdwn,
    plain,
    within_limits,
)
from bot.incidents.timeline import format_delta

LABEL_VALUE = 200  # characters of one label's value on the card
FENCE = "```"
BROKEN_FENCE = "`\u200b``"  # looks like a fence, closes none

SEVERITY_ICON = {
    "SEV1": ":red_circle:",
    "SEV2": ":large_orange_circle:",
    "SEV3": ":large_yellow_circle:",
    "SEV4": ":white_circle:",
}
STATUS_ICON = {"open": ":fire:", "acknowledged": ":eyes:", "resolved": ":white_check_mark:"}
STEP_ICON = {
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "timed_out": ":hourglass:",
    "skipped": ":fast_forward:",
    "rejected": ":no_entry:",
    "awaiting_approval": ":raised_hand:",
    "running": ":gear:",
    "pending": ":hourglass_flowing_sand:",
    "dry_run": ":test_tube:",
    "interrupted": ":warning:",
}


def _slack_id(name: str) -> bool:
    return name.isascii() and name.isalnum() and name.upper() == name


def mention(target: str) -> str:
    """``user:U1`` → ``<@U1>``, ``group:S1`` → ``<!subteam^S1>``, ``channel:C1`` →
    ``<#C1>``: the only markup of people Fireline writes. Anything else is escaped text."""
    kind, _, name = target.partition(":")
    if _slack_id(name):
        if kind == "user":
            return f"<@{name}>"
        if kind == "group":
            return f"<!subteam^{name}>"
        if kind == "channel":
            return f"<#{name}>"
    return escape(target)


def _person(name: str | None) -> str:
    if not name:
        return "nobody"
    if name[:1] in ("U", "W") and _slack_id(name[1:]):
        return f"<@{name}>"
    return escape(name)


def button(b: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": b.action,
        "text": {"type": "plain_text", "text": plain(b.label, BUTTON)},
        "value": b.value,
    }
    if b.style:
        element["style"] = b.style
    return element


def card_text(view: IncidentView) -> str:
    title = cut(escape(view.title), SECTION)
    return f"[{escape(view.severity)}] #{view.id} {title} ({escape(view.status)})"


def card_blocks(
    view: IncidentView, *, can_silence: bool, suppressed: int = 0
) -> list[dict[str, Any]]:
    status = f"{STATUS_ICON.get(view.status, '')} *{escape(view.status)}*"
    if view.status == "acknowledged":
        status += f" by {_person(view.acknowledged_by)}"
    now = view.now or view.opened_at
    open_for = format_delta((view.resolved_at or now) - view.opened_at)
    fields = [
        f"*Severity*\n{SEVERITY_ICON.get(view.severity, '')} {escape(view.severity)}",
        f"*Status*\n{status}",
        f"*Service*\n{escape(view.service or '-')}",
        f"*Open for*\n{open_for}",
        f"*Alerts*\n{view.alerts_firing} firing of {view.alerts_total}",
        f"*Commander*\n{_person(view.commander)}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": plain(f"#{view.id} {view.title}", HEADER)},
        },
        {"type": "section", "fields": [mrkdwn(f, FIELD) for f in fields]},
    ]
    labels = [
        f"`{k}={cut(escape(view.labels[k]), LABEL_VALUE)}`"
        for k in KEY_LABELS
        if view.labels.get(k)
    ]
    if labels:
        blocks.append({"type": "context", "elements": [mrkdwn(" ".join(labels))]})
    if view.changes:
        shown = "\n".join(f"• {cut(escape(c), LABEL_VALUE * 2)}" for c in view.changes[:3])
        more = len(view.changes) - 3
        if more > 0:
            shown += f"\n… and {more} more"
        blocks.append({"type": "section", "text": mrkdwn(f"*What changed*\n{shown}")})
    runbook = f"*Runbook* {escape(view.runbook_id or 'none')}"
    if view.run_status:
        runbook += f" · run {escape(view.run_status)}"
    if view.verification:
        runbook += f" · verification {escape(view.verification)}"
    if view.steps:
        runbook += "\n" + "  ".join(
            f"{STEP_ICON.get(s.state, '')} `{escape(s.step_id)}` {escape(s.state)}"
            for s in view.steps
        )
    blocks.append({"type": "section", "text": mrkdwn(runbook)})
    people = []
    if view.responders:
        people.append("*Paged* " + ", ".join(_person(p) for p in view.responders))
    if view.escalation_level:
        people.append(f"*Escalation* level {view.escalation_level}")
    if view.source_url:
        people.append(link(view.source_url, "alert source"))
    people.extend(link(url, name) for name, url in view.links.items())
    if view.silenced:
        people.append(":no_bell: silenced")
    if suppressed:
        people.append(f"{suppressed} updates suppressed")
    if people:
        blocks.append({"type": "context", "elements": [mrkdwn(" · ".join(people))]})
    buttons = view.buttons(can_silence=can_silence)
    if buttons:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"incident:{view.id}",
                "elements": [button(b) for b in buttons],
            }
        )
    return within_limits(blocks)


def _code(detail: str) -> str:
    """A preformatted block that its text cannot close early."""
    inner = escape(detail).replace(FENCE, BROKEN_FENCE)
    return FENCE + cut(inner, SECTION - 2 * len(FENCE)) + FENCE


def _with_mentions(message: ChatMessage, limit: int) -> str:
    """The escaped, cut text, then the mentions Fireline decided on (never cut away)."""
    tail = "".join(" " + mention(m) for m in message.mentions)
    return cut(escape(message.text), max(limit - len(tail), 100)) + tail


def message_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(_with_mentions(message, SECTION))}
    ]
    if message.detail:
        blocks.append({"type": "section", "text": mrkdwn(_code(message.detail))})
    if message.buttons:
        blocks.append({"type": "actions", "elements": [button(b) for b in message.buttons]})
    return within_limits(blocks)


def message_text(message: ChatMessage) -> str:
    return _with_mentions(message, MESSAGE)
