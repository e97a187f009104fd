"""Chat's outbox transport: delivers Slack rows of the one outbox, one row at a time.

Rows of an incident's lane arrive in order; a transient failure (an outage, a 429 with
``Retry-After``) is retried by the outbox and holds only that lane. Writes to a channel are
paced (about one a second, as Slack asks) and a ``Retry-After`` holds the whole channel.

A send cut short (a crash after Slack took the message, before the outbox heard so) is
looked up before it is sent again: every message carries its outbox id in Slack message
metadata, so a card or message Slack already has is adopted, not posted twice. A card
that still ends up posted twice is rewritten to point at the live one, without buttons.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.chat import service
from bot.chat.client import ChatClient, ChatError
from bot.chat.render import (
    ICONS,
    Button,
    ChatMessage,
    IncidentView,
    channel_name,
    digest_message,
    major_notice,
)
from bot.chat.service import ChatWrite
from bot.chat.silence import Silencer
from bot.clock import Clock, utcnow
from bot.graphs import service as graphs
from bot.outbox import service as outbox
from bot.outbox.decide import Pacer
from bot.outbox.model import Cancelled, NotYet, Outgoing
from storage.db import Database
from storage.tables_chat import ChatCard

log = logging.getLogger(__name__)

# The longest a send waits for its channel's pace while it holds one of the outbox's
# places; a later slot puts the row back until then.
PACE_HOLD = 1.0
# The longest the channel's first row in line waits in place for its slot. It stays, so
# that a row put off cannot lose the slot it came back for to a row claimed meanwhile.
HEAD_WAIT = 2.0
GATHER = 0.01  # seconds rows in flight for one channel are given to line up for its pace
PACED_FIRST = frozenset({ChatWrite.CARD_POST, ChatWrite.DIGEST, ChatWrite.NOTICE})
LOOKBACK = timedelta(minutes=2)  # how far before a row was queued to look for its message
PAGES_SHOWN = 10  # incidents listed (with a button each) in one bundled page

StillWanted = Callable[[int, bool], str | None]


Place = tuple[bool, int]  # (not first, outbox id): the smallest goes first


@dataclass
class _Line:
    """A channel's rows in flight, waiting for their turn at its pace."""

    places: list[Place] = field(default_factory=list)  # a heap
    turn: asyncio.Condition = field(default_factory=asyncio.Condition)
    waiting: Place | None = None  # the first row, waiting in place for its slot
    slot_at: float = 0.0  # when that slot comes (monotonic seconds)
    ranks: dict[Place, int] = field(default_factory=dict)  # places in line as it began

    def wait_in_place(self, place: Place, slot_at: float) -> None:
        self.waiting, self.slot_at = place, slot_at
        self.ranks = {p: n for n, p in enumerate(sorted(self.places))}

    def rank(self, place: Place) -> int:
        """How many rows were ahead of ``place`` when the first row began to wait; a
        row that came later is behind them all."""
        if place not in self.ranks:
            self.ranks[place] = len(self.ranks)
        return self.ranks[place]


class ChatTransport:
    def __init__(
        self,
        db: Database,
        client: ChatClient,
        *,
        still_wanted: StillWanted,
        clock: Clock = utcnow,
        pacer: Pacer | None = None,
        silencer: Silencer | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        shared_pace: bool = False,
    ) -> None:
        """With ``shared_pace`` (replicas on PostgreSQL), a channel's pace is the one in
        the database that every replica takes slots from; else this process's own."""
        self.db = db
        self.client = client
        self._still_wanted = still_wanted
        self._clock = clock
        self._pacer = pacer or Pacer(rate=1.0, burst=5)
        self._silencer = silencer
        self._monotonic = monotonic
        self._shared_pace = shared_pace
        self._lines: dict[str, _Line] = {}  # channel -> its rows in flight, in order

    def max_attempts(self, message: Outgoing) -> int | None:
        return None  # chat waits out any outage; only a refusal fails a message

    async def gave_up(self, message: Outgoing, error: str) -> None:
        return None

    async def _paced(self, channel: str, message: Outgoing) -> None:
        """Wait for the channel's next slot when it is near; put the row off when it is
        not, so that sends waiting for one busy channel never fill the outbox's places.

        Rows in flight for one channel take its slots in order: a new card or the
        channel's digest first, then the oldest row. Without that, whichever send reached
        the pacer first won (the order threads finish their reads in), and a row of a
        busy channel could lose for minutes. The first row in line waits in place for a
        slot up to ``HEAD_WAIT`` away, and the rows behind it are put off until their own
        slots are near, each by its place in line: a row put off and claimed again came
        back a moment after rows claimed meanwhile had taken the slot it was due for, and
        a digest lost that race for minutes. A row that comes first (a card, an older
        row) takes the waiting row's place."""
        place = (not self._comes_first(message), message.id)
        line = self._lines.setdefault(channel, _Line())
        heapq.heappush(line.places, place)
        try:
            await asyncio.sleep(GATHER)  # the rows claimed with this one reach here too
            async with line.turn:
                wait = await self._turn(channel, line, place)
        finally:
            line.places.remove(place)
            heapq.heapify(line.places)
            async with line.turn:
                if line.waiting == place:
                    line.waiting = None
                line.turn.notify_all()
            if not line.places and self._lines.get(channel) is line:
                del self._lines[channel]
        if wait > 0:
            await asyncio.sleep(wait)

    def _comes_first(self, message: Outgoing) -> bool:
        """A new card, a digest or a notice; or any row that has waited as long as the
        outbox's ``URGENT_AFTER``, as the outbox claims it. Cards alone first kept a
        storm channel's thread posts waiting behind a minute of new cards."""
        if message.kind in PACED_FIRST:
            return True
        return self._clock() - message.created_at >= outbox.URGENT_AFTER

    async def _turn(self, channel: str, line: _Line, place: Place) -> float:
        """With the line's lock held: wait for this row's turn, then take a slot (its wait
        is returned) or raise :class:`NotYet`. The first row waits in place once."""
        waited = False
        while True:
            await line.turn.wait_for(
                lambda: line.places[0] == place or line.waiting not in (None, place)
            )
            if line.places[0] != place:
                raise NotYet(self._behind(line, place))
            taken, wait = await self._take_slot(channel)
            if taken:
                return wait
            slot_in = wait + PACE_HOLD
            if waited or slot_in > HEAD_WAIT:
                raise NotYet(wait)
            waited = True
            line.wait_in_place(place, self._monotonic() + slot_in)
            line.turn.notify_all()  # the rows behind are put off now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    line.turn.wait_for(lambda: line.places[0] != place), timeout=wait
                )
            if line.waiting == place:  # else a row that comes first waits now
                line.waiting = None

    def _behind(self, line: _Line, place: Place) -> float:
        """How long a row behind the waiting one is put off: until its own slot, counted
        by its place in line, is near enough to wait for."""
        rate = self._pacer.rate
        gap = line.rank(place) / rate if rate > 0 else 0.0
        left = max(0.0, line.slot_at - self._monotonic())
        return max(0.0, left + gap - PACE_HOLD)

    async def _take_slot(self, channel: str) -> tuple[bool, float]:
        if not self._shared_pace:
            return self._pacer.take(channel, self._monotonic(), within=PACE_HOLD)
        now = self._clock().timestamp()
        return await asyncio.to_thread(
            outbox.take_shared_slot, self.db, self._pacer, channel, now=now, within=PACE_HOLD
        )

    async def _held(self, channel: str, exc: ChatError) -> ChatError:
        """``exc``, after stopping the channel for as long as Slack asked (a 429)."""
        if exc.retry_after is None:
            return exc
        if self._shared_pace:
            until = self._clock().timestamp() + exc.retry_after
            await asyncio.to_thread(outbox.hold_shared, self.db, channel, until=until)
        else:
            self._pacer.hold(channel, self._monotonic() + exc.retry_after)
        return exc

    async def deliver(self, message: Outgoing) -> None:
        if message.kind == ChatWrite.DM:
            await self._page(message)
            return
        if message.kind == ChatWrite.REMINDER:
            await self._remind(message)
            return
        if message.kind == ChatWrite.DIGEST:
            await self._digest(message)
            return
        if message.kind == ChatWrite.NOTICE:
            await self._notice(message)
            return
        incident_id = message.incident_id
        if incident_id is None:
            raise ChatError(f"outbox row {message.id} names no incident", permanent=True)
        card = await asyncio.to_thread(service.card_of, self.db, incident_id)
        if card is None:
            raise ChatError(f"incident {incident_id} has no card", permanent=True)
        try:
            await self._deliver_to(card, message)
        except ChatError as exc:
            raise await self._held(card.channel, exc) from None

    async def _deliver_to(self, card: ChatCard, message: Outgoing) -> None:
        kind = message.kind
        if kind == ChatWrite.SILENCE_EXPIRE:
            if self._silencer is not None:
                await self._silencer.expire(list(message.payload.get("silence_ids", [])))
        elif kind == ChatWrite.THREAD:
            chat = ChatMessage.from_json(message.payload["message"])
            await self._post_once(card.channel, chat, message, thread=card.ts)
        elif kind in (ChatWrite.ALERTS_FIRED, ChatWrite.ALERTS_RESOLVED):
            await self._post_once(card.channel, alerts_message(message), message, thread=card.ts)
        elif kind == ChatWrite.FILE:
            await self._file(card, message)
        elif kind == ChatWrite.INVITE:
            if card.own_channel:
                await self.client.invite(card.channel, [str(u) for u in message.payload["users"]])
        elif kind in (ChatWrite.CHANNEL_CREATE, ChatWrite.CARD_POST, ChatWrite.CARD_UPDATE):
            await self._card(card, message)
        else:
            raise ChatError(f"unknown outbox kind {kind!r}", permanent=True)

    async def _file(self, card: ChatCard, message: Outgoing) -> None:
        """A text file from the payload, or a graph's PNG read from the database."""
        payload = message.payload
        content: str | bytes = str(payload.get("content", ""))
        if "graph_id" in payload:
            png = await asyncio.to_thread(
                graphs.png_of, self.db, int(card.incident_id), int(payload["graph_id"])
            )
            if png is None:
                raise ChatError(f"graph {payload['graph_id']} has no picture", permanent=True)
            content = png
        await self._paced(card.channel, message)
        await self.client.upload(
            card.channel,
            filename=str(payload["filename"]),
            title=str(payload["title"]),
            content=content,
            thread=None if card.own_channel else card.ts,
        )

    async def _post_once(
        self,
        channel: str,
        chat: ChatMessage | Callable[[], Awaitable[ChatMessage]],
        message: Outgoing,
        *,
        thread: str | None,
    ) -> str:
        """Post, unless an interrupted earlier attempt already did. ``chat`` may be read
        once the slot is taken, so that a row put off reads nothing."""
        if message.interrupted:
            found = await self._find(channel, message, thread=thread)
            if found is not None:
                return found
        await self._paced(channel, message)
        if not isinstance(chat, ChatMessage):
            chat = await chat()
        return await self.client.post(channel, chat, thread=thread, outbox_id=message.id)

    async def _find(self, channel: str, message: Outgoing, *, thread: str | None) -> str | None:
        since = (message.created_at - LOOKBACK).timestamp()
        try:
            posted = await self.client.find_posted(channel, since=since, thread=thread)
        except ChatError as exc:
            if not exc.permanent:
                raise  # an outage: look again on the next attempt
            # No history scope (or no such conversation to read): sending again may
            # duplicate the message, which is better than never sending it.
            log.warning("outbox %s: cannot look for it in Slack (%s); sending", message.id, exc)
            return None
        for p in posted:
            if p.outbox_id == message.id:
                log.info("outbox %s was already in Slack (%s); not posted again", message.id, p.ts)
                return p.ts
        return None

    async def _card(self, card: ChatCard, message: Outgoing) -> None:
        """Create the incident's channel, post its card or redraw it. The card is drawn
        once its slot is taken: drawn before, a row put off was drawn for nothing, and
        what went out was as old as the wait."""
        if message.kind == ChatWrite.CHANNEL_CREATE:
            await self._create_channel(card, message)
        elif message.kind == ChatWrite.CARD_POST:
            await self._post_card(card, message)
        else:
            if card.ts is None:
                raise ChatError(
                    f"incident {card.incident_id}'s card was never posted", permanent=True
                )
            await self._paced(card.channel, message)
            view = await self._view(card.incident_id)
            await self.client.update_card(
                card.channel, card.ts, view, suppressed=message.suppressed
            )

    async def _view(self, incident_id: int) -> IncidentView:
        view = await asyncio.to_thread(service.view_of, self.db, incident_id, now=self._clock())
        if view is None:
            raise ChatError(f"incident {incident_id} is gone", permanent=True)
        return view

    async def _create_channel(self, card: ChatCard, message: Outgoing) -> None:
        view = await self._view(card.incident_id)
        invite = [p for p in [*view.responders, view.commander] if p]
        channel = await self.client.create_channel(channel_name(view.id, view.title), invite=invite)
        await asyncio.to_thread(
            service.save_card,
            self.db,
            card.incident_id,
            now=self._clock(),
            channel=channel,
            own_channel=True,
        )
        if "notify" in message.payload:  # queued before the notice had a row of its own
            notice = major_notice(view.id, view.severity, view.title, channel)
            with contextlib.suppress(ChatError):
                await self.client.post(str(message.payload["notify"]), notice)

    async def _post_card(self, card: ChatCard, message: Outgoing) -> None:
        incident_id = card.incident_id
        ts = await self._find(card.channel, message, thread=None) if message.interrupted else None
        if ts is None:
            await self._paced(card.channel, message)
            view = await self._view(incident_id)
            ts = await self.client.post_card(card.channel, view, suppressed=0, outbox_id=message.id)
        await asyncio.to_thread(service.save_card, self.db, incident_id, now=self._clock(), ts=ts)
        if message.interrupted:
            await self._retire_copies(card.channel, incident_id, ts, message)
        if card.own_channel:
            with contextlib.suppress(ChatError):
                await self.client.pin(card.channel, ts)

    async def _retire_copies(
        self, channel: str, incident_id: int, live: str, message: Outgoing
    ) -> None:
        since = (message.created_at - LOOKBACK).timestamp()
        try:
            posted = await self.client.find_posted(channel, since=since)
        except ChatError as exc:
            log.warning(
                "incident %s: cannot look for second copies of its card: %s", incident_id, exc
            )
            return
        for p in posted:
            if p.card and p.incident_id == incident_id and p.ts != live:
                log.warning(
                    "incident %s: retiring a second copy of its card (%s)", incident_id, p.ts
                )
                await self.client.retire_card(channel, p.ts, incident_id=incident_id, current=live)

    async def _digest(self, message: Outgoing) -> None:
        """What a channel too far behind was not told one by one, in one message, as the
        incidents stand when its slot comes."""
        channel = str(message.payload["channel"])
        opened = [int(i) for i in message.payload.get("incidents") or ()]
        updated = [int(i) for i in message.payload.get("updated") or () if i not in opened]

        async def compose() -> ChatMessage:
            lines = await asyncio.to_thread(service.digest_lines, self.db, [*opened, *updated])
            if not lines:
                raise Cancelled("the incidents of the digest are gone")
            first = [line for line in lines if line.incident_id in opened]
            held = [line for line in lines if line.incident_id not in opened]
            return digest_message(first, held)

        try:
            await self._post_once(channel, compose, message, thread=None)
        except ChatError as exc:
            raise await self._held(channel, exc) from None

    async def _notice(self, message: Outgoing) -> None:
        """A major incident's channel, told in the channel its card would have gone to."""
        channel = str(message.payload["channel"])
        incident_id = message.incident_id
        card = (
            None
            if incident_id is None
            else await asyncio.to_thread(service.card_of, self.db, incident_id)
        )
        if card is None or incident_id is None:
            raise Cancelled("the incident is gone")
        if not card.own_channel:  # its channel.create is still on its way
            raise ChatError("the incident's channel is not created yet", retry_after=1.0)
        lines = await asyncio.to_thread(service.digest_lines, self.db, [incident_id])
        if not lines:
            raise Cancelled("the incident is gone")
        line = lines[0]
        notice = major_notice(line.incident_id, line.severity, line.title, card.channel)
        try:
            await self._post_once(channel, notice, message, thread=None)
        except ChatError as exc:
            raise await self._held(channel, exc) from None

    async def _remind(self, message: Outgoing) -> None:
        """A follow-up's reminder to its owner, unless it was done since it was queued."""
        followup_id = int(message.payload["followup_id"])
        still_open = await asyncio.to_thread(service.followup_open, self.db, followup_id)
        if not still_open:
            raise Cancelled(f"follow-up {followup_id} was done")
        channel = await self.client.open_direct(str(message.payload["user"]))
        chat = ChatMessage.from_json(message.payload["message"])
        try:
            await self._post_once(channel, chat, message, thread=None)
        except ChatError as exc:
            raise await self._held(channel, exc) from None

    async def _page(self, message: Outgoing) -> None:
        """A direct message to one person: this page and any bundled with it, less those
        acknowledged or resolved since they were queued."""
        pages = latest_per_incident([message.payload, *message.payload.get("bundled", [])])
        wanted = []
        for page in pages:
            info = page.get("page") or {}
            why_not = await asyncio.to_thread(
                self._still_wanted, int(info.get("incident_id", 0)), bool(info.get("once"))
            )
            if why_not is None:
                wanted.append(page)
        if not wanted:
            raise Cancelled("every incident in this page was acknowledged or resolved")
        user = str(message.payload["user"])
        chat = (
            ChatMessage.from_json(wanted[0]["message"])
            if len(wanted) == 1
            else bundled_page(wanted)
        )
        channel = await self.client.open_direct(user)
        try:
            await self._post_once(channel, chat, message, thread=None)
        except ChatError as exc:
            raise await self._held(channel, exc) from None


def alerts_message(message: Outgoing) -> ChatMessage:
    """One alert's own line, or a storm's alerts in one message."""
    lines = [str(line) for line in message.payload.get("lines", [])]
    count = int(message.payload.get("count", len(lines)))
    icon = ICONS["alert"]
    if count <= 1 and lines:
        return ChatMessage(f"{icon} {lines[0]}")
    verb = "fired" if message.kind == ChatWrite.ALERTS_FIRED else "resolved"
    more = count - len(lines)
    detail = "\n".join(lines) + (f"\n… and {more} more" if more > 0 else "")
    return ChatMessage(f"{icon} {count} alerts {verb}", detail=detail)


def latest_per_incident(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One page per incident, the latest, in the order the incidents were first paged.

    An incident escalated again before its first page went out (a runbook refusing its
    parameters, a commander's escalate) must not read as two incidents in one message."""
    latest: dict[int, dict[str, Any]] = {}
    for page in pages:
        latest[int((page.get("page") or {}).get("incident_id", 0))] = page
    return list(latest.values())


def bundled_page(pages: list[dict[str, Any]]) -> ChatMessage:
    """Several pages waiting for one person from one service, as one message."""
    infos: list[dict[str, Any]] = [dict(p.get("page") or {}) for p in pages]
    service_name = pages[0].get("service") or "no service"
    lines = [
        f"#{i.get('incident_id')} [{i.get('severity')}] {i.get('title')} (level {i.get('level')})"
        for i in infos
    ]
    return ChatMessage(
        f"{ICONS['escalation']} You are paged for {len(pages)} incidents of {service_name}",
        detail="\n".join(lines),
        buttons=tuple(
            Button("acknowledge", f"Acknowledge #{i.get('incident_id')}", str(i.get("incident_id")))
            for i in infos[:PAGES_SHOWN]
        ),
    )
