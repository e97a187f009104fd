"""The chaos run's report: what the world saw, set against what Fireline recorded.

Pure: plain data in (recorder hits, the Slack stand-in's calls, timeline rows, counts),
figures out. The definitions, which bench/README.md repeats:

- **Duplicate step**: a (step, service) pair the service recorder saw more than once.
- **Duplicate page**: for one (incident, level, round), pages at the pager beyond the
  number of times Fireline decided to page it (``escalation.notified`` events; at least
  one). A page sent by a transaction that a crash then rolled back, and sent again after
  the restart, is a duplicate; a second, deliberate escalation is not. The pager honours
  ``Idempotency-Key`` as the webhook contract asks: a request repeating the key of one it
  already took (a crash after the pager answered, before Fireline wrote that down) is
  the same page delivered again, counted as a redelivery, not as a second page.
- **Duplicate card**: a card ``chat.postMessage`` (no ``thread_ts``, the card's
  ``[SEVn] #ID`` text, in the incidents channel) beyond the first for an incident, unless
  that card was later marked superseded (``chat.delete`` of its ts, or a ``chat.update``
  of it whose text says "superseded").
- **Lost**: an incident with no card; an expected page with no arrival (levels 1 and 2 of
  round 0 for every incident, and every decided page); and a lost thread message: one
  that the timeline says should reach the thread but did not. The thread messages an
  incident should get are its timeline events after ``incident.opened``, in id order,
  that the chat projection turns into a thread post (``bot.chat.render.thread_message``
  at the run's verbosity), rendered as Slack's text; what it got are the
  ``chat.postMessage`` calls whose ``thread_ts`` is one of its cards, in arrival order.
  They are matched by text, the k-th copy of a text to the k-th expected copy; an
  expected copy left unmatched is lost, a received copy left over is a duplicate
  (reported, no target: Slack offers no idempotency key for a post).
- **Out of order**: matched thread messages outside the longest run that arrived in
  timeline order.
- **Thread message delay** (no target; a Slack outage delays messages by design): from
  the event's ``recorded_at`` to the arrival of its matched post.
- **Page delay**: from the page's due time (``fired_due_at`` in the ``escalation.notified``
  event; else the incident's opening for level 1 and the previous level's notification
  plus the policy's delay) to its first arrival at the pager.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.chat.render import Verbosity, thread_message
from bot.chat.slack.blocks import message_text
from bot.events import EventKind

PAGE_DELAY_TARGET = 10.0
CARD_TEXT = re.compile(r"^\[SEV\d\] #(\d+) ")
PageKey = tuple[int, int, int]  # incident, level, round


@dataclass(frozen=True)
class Event:
    id: int
    incident_id: int
    kind: str
    text: str
    data: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True)
class SlackCall:
    method: str
    args: dict[str, Any]
    reply: dict[str, Any] | None
    at: float | None = None  # wall clock when the stand-in answered it


@dataclass(frozen=True)
class Arrival:
    """A request at a recorder: its JSON body, headers and wall-clock time."""

    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Observations:
    """Everything the report is computed from."""

    alerts: int
    groups: int
    kills: int
    slack_outage: float
    seed: int
    alerts_acknowledged: int
    posts: int
    post_attempts: int
    alerts_stored: int
    incidents: int
    events: list[Event]
    pages: list[Arrival]
    steps: list[Arrival]
    slack: list[SlackCall]
    level_delay: float
    channel: str
    verbosity: Verbosity = "normal"
    restarts: list[float] = field(default_factory=list)  # seconds to ready, each start
    down: list[tuple[float, float]] = field(default_factory=list)  # killed, ready again
    settled: bool = True
    settle_seconds: float = 0.0
    elapsed: float = 0.0
    slack_refused: int = 0


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    target: str
    ok: bool | None  # None: reported, no target


@dataclass
class ChaosReport:
    alerts_acknowledged: int = 0
    alerts_stored: int = 0
    groups: int = 0
    incidents: int = 0
    step_executions: int = 0
    duplicate_steps: int = 0
    pages: int = 0
    pages_decided: int = 0
    duplicate_pages: int = 0
    redelivered_pages: int = 0
    lost_pages: int = 0
    cards: int = 0
    duplicate_cards: int = 0
    superseded_cards: int = 0
    lost_cards: int = 0
    thread_expected: int = 0
    thread_received: int = 0
    lost_thread: int = 0
    duplicate_thread: int = 0
    out_of_order_thread: int = 0
    duplicate_dms: int = 0
    worst_page_delay: float | None = None
    worst_thread_delay: float | None = None
    median_thread_delay: float | None = None
    median_page_delay: float | None = None
    late_pages: int = 0
    pages_due_while_down: int = 0
    worst_delay_due_while_down: float | None = None
    settled: bool = True
    figures: list[Figure] = field(default_factory=list)
    header: str = ""

    @property
    def lost(self) -> int:
        return self.lost_pages + self.lost_cards + self.lost_thread

    @property
    def ok(self) -> bool:
        return all(f.ok is not False for f in self.figures)

    @property
    def missed(self) -> list[str]:
        return [f.name for f in self.figures if f.ok is False]

    def render(self) -> str:
        width = max(len(f.name) for f in self.figures) + 2
        lines = [self.header, ""]
        lines.append(f"{'':<{width}}{'measured':>14}   {'target':<10}")
        for f in self.figures:
            verdict = {True: "ok", False: "MISSED", None: ""}[f.ok]
            lines.append(f"{f.name:<{width}}{f.value:>14}   {f.target:<10} {verdict}".rstrip())
        lines.append("")
        missed = self.missed
        lines.append("every target met" if not missed else f"targets missed: {', '.join(missed)}")
        return "\n".join(lines)


# --- the parts -------------------------------------------------------------------------


def duplicate_steps(steps: Sequence[Arrival]) -> int:
    seen = Counter((hit.path.split("?", 1)[0], step_service(hit)) for hit in steps)
    return sum(count - 1 for count in seen.values() if count > 1)


def step_service(hit: Arrival) -> str:
    if isinstance(hit.body, dict) and "service" in hit.body:
        return str(hit.body["service"])
    lowered = {k.lower(): v for k, v in hit.headers.items()}
    return lowered.get("x-service", "")


def page_key(body: Any) -> PageKey | None:
    """(incident, level, round) of a pager request: the generic webhook's fields, or a
    PagerDuty event's custom details."""
    if not isinstance(body, dict):
        return None
    source = body
    if "incident_id" not in source:
        details = (body.get("payload") or {}).get("custom_details")
        source = details if isinstance(details, dict) else {}
    try:
        return int(source["incident_id"]), int(source["level"]), int(source.get("round", 0))
    except (KeyError, TypeError, ValueError):
        return None


def epoch(moment: datetime) -> float:
    """Seconds since the epoch; Fireline's times are UTC, with or without a zone."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _due(value: Any) -> float | None:
    if not value:
        return None
    try:
        return epoch(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


@dataclass
class PageFigures:
    arrivals: int = 0
    redelivered: int = 0  # repeats of an Idempotency-Key the pager already took
    decided: int = 0
    duplicates: int = 0
    lost: int = 0
    delays: list[float] = field(default_factory=list)
    across_crash: list[float] = field(default_factory=list)  # due while the server was down


def page_figures(
    pages: Sequence[Arrival],
    events: Sequence[Event],
    incident_ids: Sequence[int],
    delay: float,
    down: Sequence[tuple[float, float]] = (),
) -> PageFigures:
    out = PageFigures()
    first_arrival: dict[PageKey, float] = {}
    arrived: Counter[PageKey] = Counter()
    taken: set[str] = set()
    for hit in pages:
        key = page_key(hit.body)
        if key is None:
            continue
        out.arrivals += 1
        idempotency = {k.lower(): v for k, v in hit.headers.items()}.get("idempotency-key")
        if idempotency is not None and idempotency in taken:
            out.redelivered += 1
            continue
        if idempotency is not None:
            taken.add(idempotency)
        arrived[key] += 1
        first_arrival[key] = min(first_arrival.get(key, hit.at), hit.at)
    decided: Counter[PageKey] = Counter()
    due: dict[PageKey, float] = {}
    notified_at: dict[PageKey, float] = {}
    opened: dict[int, float] = {}
    for event in events:
        if event.kind == EventKind.INCIDENT_OPENED:
            opened.setdefault(event.incident_id, epoch(event.recorded_at))
        if event.kind != EventKind.ESCALATION_NOTIFIED:
            continue
        key = (event.incident_id, int(event.data.get("level", 0)), int(event.data.get("round", 0)))
        decided[key] += 1
        notified_at.setdefault(key, epoch(event.recorded_at))
        when = _due(event.data.get("fired_due_at"))  # (``due_at`` is the next level's)
        if when is not None:
            due.setdefault(key, when)
    out.decided = sum(decided.values())
    out.duplicates = sum(max(0, n - max(1, decided[key])) for key, n in arrived.items())
    expected = set(decided) | {(i, level, 0) for i in incident_ids for level in (1, 2)}
    out.lost = sum(1 for key in expected if arrived[key] == 0)
    for key, at in first_arrival.items():
        incident, level, round_ = key
        when = due.get(key)
        if when is None and level == 1 and round_ == 0:
            when = opened.get(incident)
        if when is None and (incident, level - 1, round_) in notified_at:
            when = notified_at[(incident, level - 1, round_)] + delay
        if when is not None:
            out.delays.append(max(0.0, at - when))
            if any(killed <= when <= ready for killed, ready in down):
                out.across_crash.append(out.delays[-1])
    return out


@dataclass
class CardFigures:
    cards: int = 0
    duplicates: int = 0
    superseded: int = 0
    lost: int = 0
    ts_of: dict[str, int] = field(default_factory=dict)  # card ts -> incident


def card_incident(call: SlackCall, channel: str) -> int | None:
    args = call.args
    if call.method != "chat.postMessage" or args.get("thread_ts") or args.get("channel") != channel:
        return None
    found = CARD_TEXT.match(str(args.get("text") or ""))
    return int(found.group(1)) if found else None


def card_figures(
    slack: Sequence[SlackCall], channel: str, incident_ids: Sequence[int]
) -> CardFigures:
    out = CardFigures()
    per_incident: Counter[int] = Counter()
    for call in slack:
        incident = card_incident(call, channel)
        if incident is None:
            continue
        out.cards += 1
        per_incident[incident] += 1
        ts = (call.reply or {}).get("ts")
        if ts:
            out.ts_of[str(ts)] = incident
    superseded: set[str] = set()
    for call in slack:
        ts = str(call.args.get("ts") or "")
        if ts not in out.ts_of:
            continue
        if call.method == "chat.delete" or (
            call.method == "chat.update" and "superseded" in str(call.args.get("text", "")).lower()
        ):
            superseded.add(ts)
    gone: Counter[int] = Counter(out.ts_of[ts] for ts in superseded)
    out.superseded = len(superseded)
    out.duplicates = sum(max(0, n - 1 - gone[i]) for i, n in per_incident.items())
    out.lost = sum(1 for i in incident_ids if per_incident[i] == 0)
    return out


def expected_thread(
    events: Sequence[Event], verbosity: Verbosity
) -> dict[int, list[tuple[str, float]]]:
    """Per incident, the thread texts its timeline should produce, in order, with when
    each event was recorded."""
    out: dict[int, list[tuple[str, float]]] = defaultdict(list)
    opened: set[int] = set()
    for event in sorted(events, key=lambda e: e.id):
        if event.kind == EventKind.INCIDENT_OPENED:
            opened.add(event.incident_id)
            continue
        if event.incident_id not in opened:
            continue
        message = thread_message(event.kind, event.text, dict(event.data), verbosity)
        if message is not None:
            out[event.incident_id].append((message_text(message), epoch(event.recorded_at)))
    return out


ALERT_ICON = ":rotating_light:"
ANY_ALERT = "\x00an alert counted in a bundle"  # matches any expected alert message
BUNDLE = re.compile(rf"^{ALERT_ICON} (\d+) alerts (?:fired|resolved)$")
MORE = re.compile(r"^… and (\d+) more$")


def bundle_lines(call: SlackCall) -> list[str] | None:
    """A storm's alerts message ("47 alerts fired", one line per alert in its detail and
    "… and N more") as the alert messages it stands for; None for any other message."""
    if not BUNDLE.match(str(call.args.get("text") or "")):
        return None
    blocks = call.args.get("blocks") or []
    detail = str(blocks[1]["text"]["text"]).strip("`") if len(blocks) > 1 else ""
    out: list[str] = []
    for line in detail.splitlines():
        more = MORE.match(line)
        if more:
            out += [ANY_ALERT] * int(more.group(1))
        elif line:
            out.append(f"{ALERT_ICON} {line}")
    return out


def received_thread(
    slack: Sequence[SlackCall], ts_of: dict[str, int]
) -> dict[int, list[tuple[str, float | None]]]:
    out: dict[int, list[tuple[str, float | None]]] = defaultdict(list)
    for call in slack:
        if call.method != "chat.postMessage":
            continue
        incident = ts_of.get(str(call.args.get("thread_ts") or ""))
        if incident is None:
            continue
        lines = bundle_lines(call)
        texts = lines if lines is not None else [str(call.args.get("text") or "")]
        out[incident] += [(text, call.at) for text in texts]
    return out


def longest_increasing(values: Sequence[int]) -> int:
    tails: list[int] = []
    for value in values:
        at = bisect.bisect_left(tails, value)
        if at == len(tails):
            tails.append(value)
        else:
            tails[at] = value
    return len(tails)


@dataclass
class ThreadFigures:
    expected: int = 0
    received: int = 0
    lost: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (expected, received) index
    delays: list[float] = field(default_factory=list)  # recorded -> arrived, matched ones


def compare_thread(expected: Sequence[str], received: Sequence[str]) -> ThreadFigures:
    """Match received texts to expected ones, the k-th copy to the k-th; an alert counted
    in a bundle's "… and N more" takes the earliest alert message not yet matched."""
    positions: dict[str, list[int]] = defaultdict(list)
    for index, text in enumerate(expected):
        positions[text].append(index)
    alerts = [i for i, text in enumerate(expected) if text.startswith(ALERT_ICON)]
    used: set[int] = set()
    matched: list[int] = []
    pairs: list[tuple[int, int]] = []
    duplicates = 0
    for at, text in enumerate(received):
        slots = alerts if text == ANY_ALERT else positions.get(text, [])
        slot = next((i for i in slots if i not in used), None)
        if slot is not None:
            used.add(slot)
            matched.append(slot)
            pairs.append((slot, at))
        else:
            duplicates += 1
    return ThreadFigures(
        expected=len(expected),
        received=len(received),
        lost=len(expected) - len(matched),
        duplicates=duplicates,
        out_of_order=len(matched) - longest_increasing(matched),
        pairs=pairs,
    )


def thread_figures(
    events: Sequence[Event], slack: Sequence[SlackCall], ts_of: dict[str, int], verbosity: Verbosity
) -> ThreadFigures:
    expected = expected_thread(events, verbosity)
    received = received_thread(slack, ts_of)
    total = ThreadFigures()
    for incident in set(expected) | set(received):
        wanted, got = expected.get(incident, []), received.get(incident, [])
        part = compare_thread([t for t, _ in wanted], [t for t, _ in got])
        for want, came in part.pairs:
            arrived = got[came][1]
            if arrived is not None:
                total.delays.append(max(0.0, arrived - wanted[want][1]))
        total.expected += part.expected
        total.received += part.received
        total.lost += part.lost
        total.duplicates += part.duplicates
        total.out_of_order += part.out_of_order
    return total


DM_TEXT = re.compile(r"You are paged \(level (\d+)\) for incident #(\d+)")


def duplicate_dms(slack: Sequence[SlackCall]) -> int:
    seen: Counter[tuple[str, str, str]] = Counter()
    for call in slack:
        if call.method != "chat.postMessage" or call.args.get("thread_ts"):
            continue
        found = DM_TEXT.search(str(call.args.get("text") or ""))
        if found:
            seen[(str(call.args.get("channel")), found.group(1), found.group(2))] += 1
    return sum(n - 1 for n in seen.values() if n > 1)


# --- the whole report ----------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def analyse(obs: Observations) -> ChaosReport:
    incident_ids = sorted({e.incident_id for e in obs.events})
    pages = page_figures(obs.pages, obs.events, incident_ids, obs.level_delay, obs.down)
    cards = card_figures(obs.slack, obs.channel, incident_ids)
    thread = thread_figures(obs.events, obs.slack, cards.ts_of, obs.verbosity)
    delays = sorted(pages.delays)
    report = ChaosReport(
        alerts_acknowledged=obs.alerts_acknowledged,
        alerts_stored=obs.alerts_stored,
        groups=obs.groups,
        incidents=obs.incidents,
        step_executions=len(obs.steps),
        duplicate_steps=duplicate_steps(obs.steps),
        pages=pages.arrivals,
        pages_decided=pages.decided,
        duplicate_pages=pages.duplicates,
        redelivered_pages=pages.redelivered,
        lost_pages=pages.lost,
        cards=cards.cards,
        duplicate_cards=cards.duplicates,
        superseded_cards=cards.superseded,
        lost_cards=cards.lost,
        thread_expected=thread.expected,
        thread_received=thread.received,
        lost_thread=thread.lost,
        duplicate_thread=thread.duplicates,
        out_of_order_thread=thread.out_of_order,
        duplicate_dms=duplicate_dms(obs.slack),
        worst_page_delay=delays[-1] if delays else None,
        median_page_delay=delays[len(delays) // 2] if delays else None,
        worst_thread_delay=max(thread.delays, default=None),
        median_thread_delay=sorted(thread.delays)[len(thread.delays) // 2]
        if thread.delays
        else None,
        late_pages=sum(1 for d in delays if d >= PAGE_DELAY_TARGET),
        pages_due_while_down=len(pages.across_crash),
        worst_delay_due_while_down=max(pages.across_crash, default=None),
        settled=obs.settled,
    )
    restarts = obs.restarts[1:]
    report.header = (
        f"Fireline chaos run: {obs.alerts} alerts in {obs.groups} groups, {obs.kills} kills, "
        f"Slack down {obs.slack_outage:.0f} s, seed {obs.seed}\n"
        f"{obs.posts} webhook posts ({obs.post_attempts} attempts); {len(restarts)} restarts, "
        f"ready in {max(restarts, default=0):.1f} s at worst; Slack refused "
        f"{obs.slack_refused} calls while down; elapsed {obs.elapsed:.0f} s, "
        + (
            f"settled in {obs.settle_seconds:.0f} s"
            if obs.settled
            else f"NOT settled after {obs.settle_seconds:.0f} s"
        )
    )
    r = report
    worst = r.worst_page_delay
    r.figures = [
        Figure("settled (nothing pending)", "yes" if r.settled else "no", "yes", r.settled),
        Figure(
            "alerts acknowledged / stored",
            f"{r.alerts_acknowledged} / {r.alerts_stored}",
            "equal",
            r.alerts_acknowledged == r.alerts_stored,
        ),
        Figure(
            "incidents / groups", f"{r.incidents} / {r.groups}", "equal", r.incidents == r.groups
        ),
        Figure("lost", str(r.lost), "0", r.lost == 0),
        Figure("  lost cards (incident without one)", str(r.lost_cards), "", None),
        Figure("  lost pages", str(r.lost_pages), "", None),
        Figure(
            "  lost thread messages",
            f"{r.lost_thread} of {r.thread_expected}",
            "",
            None,
        ),
        Figure("duplicate step executions", str(r.duplicate_steps), "0", r.duplicate_steps == 0),
        Figure("  step executions seen", str(r.step_executions), "", None),
        Figure("duplicate pages", str(r.duplicate_pages), "0", r.duplicate_pages == 0),
        Figure("  pages arrived / decided", f"{r.pages} / {r.pages_decided}", "", None),
        Figure("  redelivered (same Idempotency-Key)", str(r.redelivered_pages), "", None),
        Figure("duplicate cards", str(r.duplicate_cards), "0", r.duplicate_cards == 0),
        Figure("  cards posted / superseded", f"{r.cards} / {r.superseded_cards}", "", None),
        Figure(
            "out-of-order thread messages",
            str(r.out_of_order_thread),
            "0",
            r.out_of_order_thread == 0,
        ),
        Figure("  duplicate thread messages", str(r.duplicate_thread), "", None),
        Figure("  duplicate paging DMs", str(r.duplicate_dms), "", None),
        Figure(
            "  thread message delay, median / worst",
            f"{_seconds(r.median_thread_delay)} / {_seconds(r.worst_thread_delay)}",
            "",
            None,
        ),
        Figure(
            "worst page delay (due -> pager)",
            _seconds(worst),
            f"< {PAGE_DELAY_TARGET:.0f} s",
            worst is not None and worst < PAGE_DELAY_TARGET,
        ),
        Figure("  median page delay", _seconds(r.median_page_delay), "", None),
        Figure(
            f"  worst of {r.pages_due_while_down} due while the server was down",
            _seconds(r.worst_delay_due_while_down),
            "",
            None,
        ),
        Figure(f"  pages {PAGE_DELAY_TARGET:.0f} s late or more", str(r.late_pages), "", None),
    ]
    return r
