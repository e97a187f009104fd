"""The outbox worker: projects the timeline into outbox rows and delivers them.

Rows of one incident go out one at a time in id order; a transient failure (an outage, a
429 with ``Retry-After``) leaves the row pending with a later attempt time, so it and
everything after it wait and nothing is lost or reordered. A permanent refusal marks the
row failed (logged) and lets the incident's later messages through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import timedelta

from bot.chat import service
from bot.chat.client import ChatClient, ChatError
from bot.chat.render import ChatMessage, channel_name
from bot.chat.service import ChatRules
from bot.chat.silence import Silencer
from bot.clock import Clock, utcnow
from bot.escalation.timers import owner_name
from bot.worker import Worker
from storage.db import Database
from storage.tables_chat import OutboxMessage

log = logging.getLogger(__name__)
MAX_BACKOFF = 60.0


def backoff(attempts: int) -> float:
    ceiling: float = min(MAX_BACKOFF, 0.5 * 2.0**attempts)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security


class ChatOutbox:
    def __init__(
        self,
        db: Database,
        client: ChatClient,
        rules: ChatRules,
        *,
        clock: Clock = utcnow,
        tick: float = 0.5,
        lease: timedelta = timedelta(seconds=60),
        silencer: Silencer | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.rules = rules
        self.owner = owner_name()
        self._clock = clock
        self._lease = lease
        self._silencer = silencer
        self._worker = Worker("chat-outbox", tick, self._deliver_all)

    def start(self) -> None:
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    def poke(self) -> None:
        self._worker.poke()

    async def _deliver_all(self) -> None:
        while await self.run_once() and not self._worker.stopping:
            pass

    async def run_once(self) -> int:
        """Project new events, then deliver one due row per incident; returns how many
        rows were delivered or failed for good."""
        await asyncio.to_thread(service.project, self.db, self.rules, now=self._clock())
        rows = await asyncio.to_thread(
            service.claim_next, self.db, owner=self.owner, now=self._clock(), lease=self._lease
        )
        results = await asyncio.gather(*(self._deliver(row) for row in rows))
        return sum(results)

    async def _deliver(self, row: OutboxMessage) -> int:
        assert row.id is not None
        try:
            await self._send(row)
        except ChatError as exc:
            now = self._clock()
            delay = exc.retry_after if exc.retry_after is not None else backoff(row.attempts)
            await asyncio.to_thread(
                service.mark_retry,
                self.db,
                row.id,
                error=str(exc),
                retry_at=now + timedelta(seconds=delay),
                give_up=exc.permanent,
            )
            if exc.permanent:
                log.error("chat message %s (%s) dropped: %s", row.id, row.kind, exc)
                return 1
            log.warning("chat message %s (%s) retried in %.1fs: %s", row.id, row.kind, delay, exc)
            return 0
        await asyncio.to_thread(service.mark_sent, self.db, row.id, now=self._clock())
        return 1

    async def _send(self, row: OutboxMessage) -> None:
        incident_id = row.incident_id
        if incident_id is None:
            raise ChatError(f"outbox row {row.id} names no incident", permanent=True)
        card = await asyncio.to_thread(service.card_of, self.db, incident_id)
        if card is None:
            raise ChatError(f"incident {incident_id} has no card", permanent=True)
        now = self._clock()
        if row.kind == "silence.expire":
            if self._silencer is not None:
                await self._silencer.expire(list(row.payload.get("silence_ids", [])))
            return
        if row.kind == "thread":
            message = ChatMessage.from_json(row.payload["message"])
            await self.client.post(card.channel, message, thread=card.ts)
            return
        if row.kind == "file":
            await self.client.upload(
                card.channel,
                filename=str(row.payload["filename"]),
                title=str(row.payload["title"]),
                content=str(row.payload["content"]),
                thread=None if card.own_channel else card.ts,
            )
            return
        if row.kind == "invite":
            if card.own_channel:
                await self.client.invite(card.channel, [str(u) for u in row.payload["users"]])
            return
        if row.kind == "dm":
            message = ChatMessage.from_json(row.payload["message"])
            await self.client.direct(str(row.payload["user"]), message)
            return
        view = await asyncio.to_thread(service.view_of, self.db, incident_id, now=now)
        if view is None:
            raise ChatError(f"incident {incident_id} is gone", permanent=True)
        if row.kind == "channel.create":
            invite = [p for p in [*view.responders, view.commander] if p]
            channel = await self.client.create_channel(
                channel_name(view.id, view.title), invite=invite
            )
            await asyncio.to_thread(
                service.save_card, self.db, incident_id, now=now, channel=channel, own_channel=True
            )
            notice = ChatMessage(
                f":fire: Major incident #{view.id} [{view.severity}] {view.title}: "
                f"it has a channel of its own, <#{channel}>"
            )
            with contextlib.suppress(ChatError):
                await self.client.post(str(row.payload.get("notify") or card.channel), notice)
        elif row.kind == "card.post":
            ts = await self.client.post_card(card.channel, view, suppressed=0)
            await asyncio.to_thread(service.save_card, self.db, incident_id, now=now, ts=ts)
            if card.own_channel:
                with contextlib.suppress(ChatError):
                    await self.client.pin(card.channel, ts)
        elif row.kind == "card.update":
            if card.ts is None:
                raise ChatError(f"incident {incident_id}'s card was never posted", permanent=True)
            await self.client.update_card(card.channel, card.ts, view, suppressed=row.suppressed)
        else:
            raise ChatError(f"unknown outbox kind {row.kind!r}", permanent=True)

    async def drain(self, within: float = 30.0) -> None:
        """Deliver until nothing is pending (tests and the CLI)."""
        deadline = asyncio.get_running_loop().time() + within
        while await asyncio.to_thread(service.pending_count, self.db) or await asyncio.to_thread(
            service.project, self.db, self.rules, now=self._clock()
        ):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the chat outbox did not drain")
            if not await self.run_once():
                await asyncio.sleep(0.05)
