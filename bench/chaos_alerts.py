"""Alertmanager's side of the chaos run: the webhooks it would send, and the senders that
post them on schedule, each until it is answered 200."""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from tests.support import alert, payload

TOKEN = "chaos-webhook-token"  # noqa: S105  (a throwaway token for a local run)
SENDERS = 4  # Alertmanager sends groups concurrently


@dataclass(frozen=True)
class Send:
    at: float  # when in the chaos phase, as a fraction of it
    group: int
    body: bytes
    fingerprints: tuple[str, ...]


def group_sizes(alerts: int, groups: int, rng: random.Random) -> list[int]:
    """``alerts`` split over ``groups``, unevenly, each group at least one."""
    if groups < 1 or alerts < groups:
        raise ValueError("need at least one alert per group")
    sizes = [alerts // groups + (1 if g < alerts % groups else 0) for g in range(groups)]
    for _ in range(groups):
        give, take = rng.randrange(groups), rng.randrange(groups)
        moved = rng.randint(0, (sizes[give] - 1) // 2)
        sizes[give] -= moved
        sizes[take] += moved
    return sizes


def plan_sends(alerts: int, groups: int, rng: random.Random, starts_at: datetime) -> list[Send]:
    """Each group posted two to four times, as Alertmanager re-sends on group_interval:
    half the groups grow between posts, the others repeat themselves."""
    sends: list[Send] = []
    for group, size in enumerate(group_sizes(alerts, groups, rng)):
        service = f"svc-{group:04d}"
        firing = [
            alert(
                "ChaosAlert",
                fingerprint=f"{group:06x}{index:010x}",
                starts_at=starts_at,
                labels={"service": service, "instance": f"host-{index}", "severity": "warning"},
                annotations={"summary": f"Chaos service {service} is down"},
            )
            for index in range(size)
        ]
        count = rng.randint(2, 4)
        if rng.random() < 0.5:
            prefixes = [*sorted(rng.randint(1, size) for _ in range(count - 1)), size]
        else:
            prefixes = [size] * count
        moments = sorted(rng.random() for _ in range(count))
        for moment, taken in zip(moments, prefixes, strict=True):
            body = payload(
                firing[:taken], group_labels={"alertname": "ChaosAlert", "service": service}
            )
            sends.append(
                Send(
                    moment,
                    group,
                    json.dumps(body).encode(),
                    tuple(a["fingerprint"] for a in firing[:taken]),
                )
            )
    return sorted(sends, key=lambda s: s.at)


@dataclass
class Sender:
    """Posts the planned webhooks on schedule from a few threads, each until a 200."""

    url: str
    sends: list[Send]
    phase: float
    began: float = field(default_factory=time.monotonic)
    acknowledged: set[str] = field(default_factory=set)
    attempts: int = 0
    refused: list[str] = field(default_factory=list)
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    _queue: queue.Queue[Send] = field(default_factory=queue.Queue)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for send in self.sends:
            self._queue.put(send)
        for n in range(SENDERS):
            thread = threading.Thread(target=self._run, name=f"chaos-sender-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def finished(self) -> bool:
        with self.lock:
            return self.done == len(self.sends)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(10)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        with httpx.Client(timeout=10, trust_env=False) as client:
            while not self.stopping.is_set():
                try:
                    send = self._queue.get_nowait()
                except queue.Empty:
                    return
                wait = self.began + send.at * self.phase - time.monotonic()
                if wait > 0 and self.stopping.wait(wait):
                    return
                self._post(client, send, headers)

    def _post(self, client: httpx.Client, send: Send, headers: dict[str, str]) -> None:
        while not self.stopping.is_set():
            with self.lock:
                self.attempts += 1
            try:
                status = client.post(self.url, content=send.body, headers=headers).status_code
            except httpx.HTTPError:
                status = 0  # refused or reset while the server is down: try again
            if status == 200:
                with self.lock:
                    self.acknowledged.update(send.fingerprints)
                    self.done += 1
                return
            if 400 <= status < 500:  # Alertmanager does not retry a 4xx either
                with self.lock:
                    self.refused.append(f"group {send.group}: {status}")
                    self.done += 1
                return
            self.stopping.wait(0.2)
