"""The ``alertmanager`` outbox transport: creates and lifts an incident's silences through
Alertmanager's API v2, looking first at what is there, so a retry (after a crash, a lost
answer) never silences twice and an expiry finds every silence of the incident."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from bot.clock import Clock, utcnow
from bot.outbox.model import DeliveryError, Outgoing
from bot.silences import service
from bot.silences.decide import SilenceWork, is_ours, labels_of, marker, matchers_of
from storage.db import Database

TIMEOUT = 10.0


class SilenceTransport:
    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        alertmanager_url: str,
        *,
        duration: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._client = client
        self._url = alertmanager_url.rstrip("/")
        self._duration = duration
        self._clock = clock

    def max_attempts(self, message: Outgoing) -> int | None:
        return 8

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(
                method, f"{self._url}{path}", timeout=TIMEOUT, **kwargs
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Alertmanager: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return response
        transient = response.status_code == 429 or response.status_code >= 500
        raise DeliveryError(
            f"Alertmanager answered {response.status_code}: {response.text[:200]}",
            permanent=not transient,
        )

    async def _ours(self, incident_id: int) -> list[dict[str, Any]]:
        """The incident's active silences in Alertmanager."""
        silences = (await self._call("GET", "/api/v2/silences")).json()
        return [
            s
            for s in silences
            if s.get("status", {}).get("state") in ("active", "pending")
            and is_ours(str(s.get("comment", "")), incident_id)
        ]

    async def deliver(self, message: Outgoing) -> None:
        incident_id = int(message.payload["incident_id"])
        by = str(message.payload.get("by") or "someone")
        existing = await self._ours(incident_id)
        if message.kind == SilenceWork.EXPIRE:
            for silence in existing:
                await self._call("DELETE", f"/api/v2/silence/{silence['id']}")
            expired = [str(s["id"]) for s in existing]
            await self._record(incident_id, created=[], expired=expired, by=by)
            return
        status, firing = await asyncio.to_thread(service.firing_labels, self._db, incident_id)
        if status != "acknowledged":
            return  # un-acknowledged or resolved since: nothing to silence
        covered = [labels_of(s.get("matchers", [])) for s in existing]
        created = []
        for labels in firing:
            if labels in covered:
                continue
            created.append(await self._create(incident_id, labels, by))
        await self._record(incident_id, created=created, expired=[], by=by)

    async def _create(self, incident_id: int, labels: dict[str, str], by: str) -> str:
        now = self._clock()
        body = {
            "matchers": matchers_of(labels),
            "startsAt": now.isoformat(),
            "endsAt": (now + self._duration).isoformat(),
            "createdBy": "fireline",
            "comment": f"{marker(incident_id)}: acknowledged by {by}",
        }
        answer = await self._call("POST", "/api/v2/silences", json=body)
        return str(answer.json()["silenceID"])

    async def _record(
        self, incident_id: int, *, created: list[str], expired: list[str], by: str
    ) -> None:
        if created or expired:
            await asyncio.to_thread(
                service.record,
                self._db,
                incident_id,
                created=created,
                expired=expired,
                by=by,
                duration=self._duration,
                now=self._clock(),
            )

    async def gave_up(self, message: Outgoing, error: str) -> None:
        return None
