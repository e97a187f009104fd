"""A small HTTP/1.1 keep-alive load generator on loopback, for the benchmarks.

Bounded in requests and time; it talks only to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _worker(
    port: int,
    path: str,
    bodies: list[bytes],
    start: int,
    stop_at: float,
    limit: int,
    result: LoadResult,
    headers: str,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = start
    try:
        while time.perf_counter() < stop_at and result.requests < limit:
            body = bodies[i % len(bodies)]
            i += 1
            request = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"{headers}Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            sent = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - sent)
            status = int(status_line.split()[1])
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.requests += 1
            if status != 200:
                result.errors += 1
    finally:
        writer.close()


async def run_load(
    port: int,
    bodies: list[bytes],
    *,
    connections: int = 32,
    seconds: float = 5.0,
    limit: int = 1_000_000,
    path: str = "/webhooks/alertmanager",
    token: str | None = None,
) -> LoadResult:
    result = LoadResult()
    headers = f"Authorization: Bearer {token}\r\n" if token else ""
    began = time.perf_counter()
    stop_at = began + seconds
    await asyncio.gather(
        *(
            _worker(port, path, bodies, n * 7919, stop_at, limit, result, headers)
            for n in range(connections)
        )
    )
    result.elapsed = time.perf_counter() - began
    return result
