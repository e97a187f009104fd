"""What chat shows, decided without any chat tool: the incident card's data, and which
timeline events become thread messages, direct messages or card updates.

A chat adapter (Slack today) renders these into its own format. Everything here is pure:
it takes timeline events and incident state and returns data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.events import EventKind
from bot.incidents.decide import IncidentStatus
from bot.people.model import SLACK_USER_ID

Verbosity = Literal["quiet", "normal", "debug"]

# Events that change what the card shows.
CARD_EVENTS = frozenset(
    {
        EventKind.INCIDENT_OPENED,
        EventKind.INCIDENT_ACKNOWLEDGED,
        EventKind.INCIDENT_UNACKNOWLEDGED,
        EventKind.INCIDENT_RESOLVED,
        EventKind.INCIDENT_REOPENED,
        EventKind.SEVERITY_CHANGED,
        EventKind.COMMANDER_ASSIGNED,
        EventKind.RUNBOOK_SELECTED,
        EventKind.RUNBOOK_NONE,
        EventKind.RUNBOOK_TIE,
        EventKind.ALERT_FIRED,
        EventKind.ALERT_RESOLVED,
        EventKind.ESCALATION_LEVEL_CHANGED,
        EventKind.ESCALATION_NOTIFIED,
        EventKind.ESCALATION_STOPPED,
        EventKind.RUN_FINISHED,
        EventKind.VERIFICATION_PASSED,
        EventKind.VERIFICATION_FAILED,
        EventKind.VERIFICATION_INCONCLUSIVE,
        EventKind.AUTOMATION_REFUSED,
        EventKind.STEP_AWAITING_APPROVAL,
        EventKind.STEP_APPROVED,
        EventKind.STEP_REJECTED,
        EventKind.STEP_STARTED,
        EventKind.STEP_SUCCEEDED,
        EventKind.STEP_FAILED,
        EventKind.STEP_TIMED_OUT,
        EventKind.INCIDENT_SILENCED,
        EventKind.INCIDENT_UNSILENCED,
        EventKind.CHANGE_CORRELATED,
    }
)
# Thread messages at each verbosity; approvals and notices are always posted.
QUIET = frozenset(
    {
        EventKind.ESCALATION_PAGE_FAILED,
        EventKind.NOTIFICATION_FAILED,
        EventKind.INCIDENT_ACKNOWLEDGED,
        EventKind.INCIDENT_UNACKNOWLEDGED,
        EventKind.INCIDENT_RESOLVED,
        EventKind.INCIDENT_REOPENED,
        EventKind.SEVERITY_CHANGED,
        EventKind.COMMANDER_ASSIGNED,
        EventKind.ESCALATION_LEVEL_CHANGED,
        EventKind.AUTOMATION_REFUSED,
        EventKind.AUTOMATION_BREAKER_TRIPPED,
        EventKind.VERIFICATION_FAILED,
        EventKind.INCIDENT_SILENCED,
        EventKind.INCIDENT_UNSILENCED,
        EventKind.CHANGE_CORRELATED,  # "what changed?" is the first question
        EventKind.GRAPH_FAILED,  # why the thread has no graph
    }
)
NORMAL = QUIET | frozenset(
    {
        EventKind.NOTIFICATION_SENT,
        EventKind.ALERT_FIRED,
        EventKind.ALERT_RESOLVED,
        EventKind.RUNBOOK_SELECTED,
        EventKind.RUNBOOK_NONE,
        EventKind.RUNBOOK_TIE,
        EventKind.STEP_SUCCEEDED,
        EventKind.STEP_FAILED,
        EventKind.STEP_TIMED_OUT,
        EventKind.STEP_SKIPPED,
        EventKind.STEP_DRY_RUN,
        EventKind.STEP_INTERRUPTED,
        EventKind.STEP_APPROVED,
        EventKind.STEP_REJECTED,
        EventKind.APPROVAL_REFUSED,
        EventKind.AUTOMATION_PAUSED,
        EventKind.AUTOMATION_THROTTLED,
        EventKind.VERIFICATION_PASSED,
        EventKind.VERIFICATION_INCONCLUSIVE,
        EventKind.RUNBOOK_MESSAGE,
        EventKind.NOTE_ADDED,
        EventKind.CHAT_MESSAGE_ADDED,
        EventKind.FOLLOWUP_ADDED,
        EventKind.STATUS_UPDATE_POSTED,
        EventKind.ESCALATION_HELD,
        EventKind.ALERT_TIME_CLAMPED,  # the alert's clock was off: worth saying once
        EventKind.ACCESS_REFUSED,  # someone tried to act on the incident without the role
    }
)
DEBUG_EXTRA = frozenset(
    {
        EventKind.STEP_STARTED,
        EventKind.TRIAGE_DECIDED,
        EventKind.VERIFICATION_WAITING,
        EventKind.RUN_FINISHED,
    }
)
ICONS = {
    "alert": ":rotating_light:",
    "incident": ":fire:",
    "runbook": ":books:",
    "step": ":gear:",
    "verification": ":white_check_mark:",
    "escalation": ":loudspeaker:",
    "automation": ":octagonal_sign:",
    "approval": ":raised_hand:",
    "note": ":memo:",
    "chat": ":speech_balloon:",
    "commander": ":crown:",
    "change": ":package:",
    "graph": ":chart_with_upwards_trend:",
}


@dataclass(frozen=True)
class Button:
    action: str  # acknowledge | escalate | resolve | silence | approve | reject
    label: str
    value: str
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class ChatMessage:
    """A message in chat-neutral terms."""

    text: str
    detail: str | None = None  # a preformatted block: step output, parameters
    buttons: tuple[Button, ...] = ()
    mentions: tuple[str, ...] = ()  # user:U.. / group:S..

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatMessage:
        return cls(
            text=str(data["text"]),
            detail=data.get("detail"),
            buttons=tuple(Button(**b) for b in data.get("buttons") or ()),
            mentions=tuple(data.get("mentions") or ()),
        )


@dataclass(frozen=True)
class StepLine:
    step_id: str
    action: str
    state: str


@dataclass
class IncidentView:
    """Everything the card shows, read from the database when the card is drawn."""

    id: int
    title: str
    severity: str
    status: str
    service: str | None
    labels: dict[str, str]
    source_url: str | None
    opened_at: datetime
    resolved_at: datetime | None
    acknowledged_by: str | None
    commander: str | None
    runbook_id: str | None
    run_status: str | None
    verification: str | None
    steps: list[StepLine] = field(default_factory=list)
    responders: list[str] = field(default_factory=list)
    alerts_firing: int = 0
    alerts_total: int = 0
    escalation_level: int | None = None
    suppressed: int = 0
    silenced: bool = False
    now: datetime | None = None
    links: dict[str, str] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)  # newest first, as the timeline says

    def buttons(self, *, can_silence: bool) -> list[Button]:
        value = str(self.id)
        if self.status == "resolved":
            return []
        out = []
        if self.status != "acknowledged":
            out.append(Button("acknowledge", "Acknowledge", value, "primary"))
        out.append(Button("escalate", "Escalate", value))
        out.append(Button("resolve", "Resolve", value, "danger"))
        if can_silence and not self.silenced:
            out.append(Button("silence", "Silence", value))
        return out


KEY_LABELS = ("alertname", "service", "namespace", "job", "instance", "env", "cluster")


def thread_message(
    kind: str, text: str, data: dict[str, Any], verbosity: Verbosity
) -> ChatMessage | None:
    """The thread message an event becomes at this verbosity, or None."""
    if kind == EventKind.STEP_AWAITING_APPROVAL:
        return approval_message(text, data)
    if kind == EventKind.ESCALATION_NOTIFIED:
        return escalation_message(text, data)
    wanted = QUIET if verbosity == "quiet" else NORMAL
    if verbosity == "debug":
        wanted = wanted | DEBUG_EXTRA
    if kind not in wanted:
        return None
    icon = ICONS.get(kind.split(".", 1)[0], ":small_blue_diamond:")
    detail = None
    output = data.get("output")
    if verbosity == "debug" and output:
        detail = str(output)[:2500]
    return ChatMessage(f"{icon} {text}", detail=detail)


def escalation_message(text: str, data: dict[str, Any]) -> ChatMessage:
    """The thread line of a page: its text as data, the people it names as mentions.

    The event's text names whom it notified in Slack's own markup; that part is taken out
    and the resolved users and groups become ``mentions``, so the adapter can escape
    everything else (the title and reason come from the alert and people).
    """
    users = [str(u) for u in data.get("users") or ()]
    groups = [str(g) for g in data.get("groups") or ()]
    mentions = (*(f"user:{u}" for u in users), *(f"group:{g}" for g in groups))
    if "users" not in data and "groups" not in data:  # recorded before they were
        targets = (str(t) for t in data.get("targets") or ())
        mentions = tuple(t for t in targets if t.startswith(("user:", "group:")))
    if not mentions:
        return ChatMessage(f"{ICONS['escalation']} {text}")
    who = ", ".join([*(f"<@{u}>" for u in users), *(f"<!subteam^{g}>" for g in groups)])
    at = text.rfind(f" notifies {who}")
    if at >= 0:
        rest = text[at + len(f" notifies {who}") :]
        text = f"{text[:at]}{rest} notifies"
    return ChatMessage(f"{ICONS['escalation']} {text}", mentions=mentions)


def approval_message(text: str, data: dict[str, Any]) -> ChatMessage:
    step_run_id = str(data.get("step_run_id", ""))
    params = data.get("params") or {}
    shown = "\n".join(f"{k}: {v}" for k, v in params.items()) or "(no parameters)"
    description = data.get("description") or ""
    value = f"{step_run_id}:{data.get('args_hash', '')}"
    return ChatMessage(
        f"{ICONS['approval']} {text}" + (f"\n{description}" if description else ""),
        detail=shown,
        buttons=(
            Button("approve", "Approve", value, "primary"),
            Button("reject", "Reject", value, "danger"),
        ),
    )


def escalation_dms(
    incident_id: int, title: str, data: dict[str, Any]
) -> list[tuple[str, ChatMessage]]:
    """A direct message to each person an escalation notified, with Acknowledge and
    Resolve (pressing either checks the person's role, as on the card)."""
    # A person of the directory without a Slack id is paged by id, and reached only by
    # their contact methods.
    users = [str(u) for u in data.get("users") or () if SLACK_USER_ID.match(str(u))]
    level = data.get("level")
    message = ChatMessage(
        f"{ICONS['escalation']} You are paged (level {level}) for incident #{incident_id}: {title}",
        buttons=(
            Button("acknowledge", "Acknowledge", str(incident_id), "primary"),
            Button("resolve", "Resolve", str(incident_id), "danger"),
        ),
    )
    return [(user, message) for user in users]


def channel_name(incident_id: int, title: str) -> str:
    """``inc-<id>-<slug>``: lowercase, at most 80 characters, as Slack requires."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in title.lower())
    slug = "-".join(part for part in slug.split("-") if part)
    return f"inc-{incident_id}-{slug}"[:80].rstrip("-")


DIGEST_LINES = 25  # incidents named in one storm digest; the rest are counted
DIGEST_BUTTONS = 5  # an Acknowledge button for the most severe of them


@dataclass(frozen=True)
class DigestLine:
    incident_id: int
    severity: str
    title: str
    status: str
    own_channel: str | None = None  # a major incident's channel of its own


def major_notice(incident_id: int, severity: str, title: str, channel: str) -> ChatMessage:
    """Told in the channel a major incident would have been carded in."""
    return ChatMessage(
        f":fire: Major incident #{incident_id} [{severity}] {title}: it has a channel of its own,",
        mentions=(f"channel:{channel}",),
    )


def _digest_lines(incidents: list[DigestLine]) -> list[str]:
    shown = incidents[:DIGEST_LINES]
    lines = [
        f"#{i.incident_id} [{i.severity}] {i.title} ({i.status})"
        + (" in its own channel" if i.own_channel else "")
        for i in shown
    ]
    if len(incidents) > len(shown):
        lines.append(f"… and {len(incidents) - len(shown)} more")
    return lines


def digest_message(opened: Sequence[DigestLine], updated: Sequence[DigestLine] = ()) -> ChatMessage:
    """One message for a channel that fell too far behind: the incidents that opened
    meanwhile (no card of their own here) and those whose updates were held (their cards
    are redrawn once the channel has caught up), most severe first. Titles are alert
    text: the adapter escapes them like any other message text."""
    first = sorted(opened, key=lambda i: (i.severity, i.incident_id))
    held = sorted(updated, key=lambda i: (i.severity, i.incident_id))
    said: list[str] = []
    lines: list[str] = []
    if first:
        noun = "incident" if len(first) == 1 else "incidents"
        said.append(
            f":cloud_with_lightning: Storm: {len(first)} more {noun} opened while this channel "
            "was behind. They get no card of their own here so that the channel keeps up; "
            "each is in the console, and its number works with /fireline"
        )
        lines += _digest_lines(first)
    if held:
        noun = "incident" if len(held) == 1 else "incidents"
        said.append(
            f":hourglass: {len(held)} {noun} changed while this channel was behind: their "
            "threads are in the console, and their cards are redrawn once it has caught up"
        )
        lines += _digest_lines(held)
    open_ones = [i for i in [*first, *held] if i.status == IncidentStatus.OPEN]
    channels = [i.own_channel for i in first[:DIGEST_LINES] if i.own_channel]
    return ChatMessage(
        "\n".join(said),
        detail="\n".join(lines),
        buttons=tuple(
            Button("acknowledge", f"Acknowledge #{i.incident_id}", str(i.incident_id))
            for i in open_ones[:DIGEST_BUTTONS]
        ),
        mentions=tuple(f"channel:{c}" for c in channels),
    )
