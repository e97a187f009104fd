"""Block Kit for Fireline's messages: the incident card and chat-neutral messages."""

from __future__ import annotations

from typing import Any

from bot.chat.render import KEY_LABELS, Button, ChatMessage, IncidentView
from bot.incidents.timeline import format_delta

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


def mention(target: str) -> str:
    """``user:U1`` → ``<@U1>``, ``group:S1`` → ``<!subteam^S1>``; anything else as text."""
    kind, _, name = target.partition(":")
    if kind == "user":
        return f"<@{name}>"
    if kind == "group":
        return f"<!subteam^{name}>"
    return target


def _person(name: str | None) -> str:
    if not name:
        return "nobody"
    return f"<@{name}>" if name[:1] in ("U", "W") and name[1:].isalnum() else name


def button(b: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "action_id": b.action,
        "text": {"type": "plain_text", "text": b.label},
        "value": b.value,
    }
    if b.style:
        element["style"] = b.style
    return element


def card_text(view: IncidentView) -> str:
    return f"[{view.severity}] #{view.id} {view.title} ({view.status})"


def card_blocks(
    view: IncidentView, *, can_silence: bool, suppressed: int = 0
) -> list[dict[str, Any]]:
    status = f"{STATUS_ICON.get(view.status, '')} *{view.status}*"
    if view.status == "acknowledged":
        status += f" by {_person(view.acknowledged_by)}"
    now = view.now or view.opened_at
    open_for = format_delta((view.resolved_at or now) - view.opened_at)
    fields = [
        f"*Severity*\n{SEVERITY_ICON.get(view.severity, '')} {view.severity}",
        f"*Status*\n{status}",
        f"*Service*\n{view.service or '-'}",
        f"*Open for*\n{open_for}",
        f"*Alerts*\n{view.alerts_firing} firing of {view.alerts_total}",
        f"*Commander*\n{_person(view.commander)}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"#{view.id} {view.title}"[:150]},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    labels = [f"`{k}={view.labels[k]}`" for k in KEY_LABELS if view.labels.get(k)]
    if labels:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " ".join(labels)}]}
        )
    runbook = f"*Runbook* {view.runbook_id or 'none'}"
    if view.run_status:
        runbook += f" · run {view.run_status}"
    if view.verification:
        runbook += f" · verification {view.verification}"
    if view.steps:
        runbook += "\n" + "  ".join(
            f"{STEP_ICON.get(s.state, '')} `{s.step_id}` {s.state}" for s in view.steps
        )
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": runbook}})
    people = []
    if view.responders:
        people.append("*Paged* " + ", ".join(_person(p) for p in view.responders))
    if view.escalation_level:
        people.append(f"*Escalation* level {view.escalation_level}")
    if view.source_url:
        people.append(f"<{view.source_url}|alert source>")
    people.extend(f"<{url}|{name}>" for name, url in view.links.items())
    if view.silenced:
        people.append(":no_bell: silenced")
    if suppressed:
        people.append(f"{suppressed} updates suppressed")
    if people:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(people)}]}
        )
    buttons = view.buttons(can_silence=can_silence)
    if buttons:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"incident:{view.id}",
                "elements": [button(b) for b in buttons],
            }
        )
    return blocks


def message_blocks(message: ChatMessage) -> list[dict[str, Any]]:
    text = message.text
    if message.mentions:
        text += " " + " ".join(mention(m) for m in message.mentions)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}
    ]
    if message.detail:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"```{message.detail[:2800]}```"},
            }
        )
    if message.buttons:
        blocks.append({"type": "actions", "elements": [button(b) for b in message.buttons]})
    return blocks


def message_text(message: ChatMessage) -> str:
    text = message.text
    if message.mentions:
        text += " " + " ".join(mention(m) for m in message.mentions)
    return text[:3000]
