"""The ``graph`` outbox transport: asks Prometheus for the expression over the span, draws
the picture in a worker thread, and records it, or why there is none: a refused query, no
data or an unreachable Prometheus is said in the thread, never drawn as an empty graph."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.clock import Clock, utcnow
from bot.graphs import service
from bot.graphs.decide import series_label
from bot.graphs.draw import Marker, Series, draw
from bot.outbox.model import DeliveryError, Outgoing
from storage.db import Database

TIMEOUT = 10.0
ATTEMPTS = 3  # an unreachable Prometheus is tried again, then the thread says so


class NoData(Exception):
    """Prometheus answered, but with nothing that can be drawn."""


class GraphTransport:
    def __init__(
        self, db: Database, client: httpx.AsyncClient, prometheus_url: str, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._client = client
        self._url = prometheus_url.rstrip("/")
        self._clock = clock

    def max_attempts(self, message: Outgoing) -> int | None:
        return ATTEMPTS

    async def gave_up(self, message: Outgoing, error: str) -> None:
        await self._record(message, png=None, series=0, error=error)

    async def deliver(self, message: Outgoing) -> None:
        request = message.payload
        try:
            series = await self._query(request)
        except NoData as exc:
            await self._record(message, png=None, series=0, error=str(exc))
            return
        png = await asyncio.to_thread(
            draw,
            str(request["title"]),
            series,
            threshold=request.get("threshold"),
            alert_started=datetime.fromisoformat(str(request["alert_started"])),
            changes=[
                Marker(datetime.fromisoformat(str(c["at"])), str(c["label"]))
                for c in request.get("changes") or ()
            ],
        )
        await self._record(message, png=png, series=len(series), error=None)

    async def _query(self, request: Any) -> list[Series]:
        params: dict[str, str | float] = {
            "query": str(request["expression"]),
            "start": datetime.fromisoformat(str(request["start"])).timestamp(),
            "end": datetime.fromisoformat(str(request["end"])).timestamp(),
            "step": f"{float(request['step']):g}s",
        }
        try:
            response = await self._client.get(
                f"{self._url}/api/v1/query_range", params=params, timeout=TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Prometheus did not answer: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(f"Prometheus answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise NoData(f"Prometheus answered {response.status_code} with no JSON") from None
        if response.status_code != 200 or body.get("status") != "success":
            reason = str(body.get("error") or f"status {response.status_code}")[:200]
            raise NoData(f"Prometheus refused the query: {reason}")
        series = _series(body.get("data", {}).get("result") or [])
        if not series:
            raise NoData("Prometheus has no data for it over the span")
        return series

    async def _record(
        self, message: Outgoing, *, png: bytes | None, series: int, error: str | None
    ) -> None:
        await asyncio.to_thread(
            service.record,
            self._db,
            message.payload,
            request_key=f"outbox:{message.id}",
            png=png,
            series=series,
            error=error,
            now=self._clock(),
        )


def _series(result: list[Any]) -> list[Series]:
    """Prometheus's matrix as series; values that are not numbers (NaN, Inf) are dropped."""
    out = []
    for item in result:
        points = []
        for stamp, value in item.get("values") or ():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if number == number and abs(number) != float("inf"):
                points.append((datetime.fromtimestamp(float(stamp), tz=UTC), number))
        if points:
            out.append(Series(series_label(dict(item.get("metric") or {})), points))
    return out
