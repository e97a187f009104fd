"""Pure delivery rules: when to try again, when to give up, and how fast to send."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MAX_BACKOFF = 30.0


def retry_delay(attempts: int, *, retry_after: float | None, jitter: random.Random) -> float:
    """Seconds before the next attempt: what the peer asked for, else an exponential
    backoff with jitter, capped so a backlog is retried soon after an outage ends."""
    if retry_after is not None:
        return max(0.0, retry_after)
    ceiling = min(MAX_BACKOFF, 0.5 * 2.0 ** max(0, attempts - 1))
    return ceiling * jitter.uniform(0.5, 1.0)


def gives_up(*, attempts: int, max_attempts: int | None, permanent: bool) -> bool:
    return permanent or (max_attempts is not None and attempts >= max_attempts)


@dataclass
class Pacer:
    """A rate per key (a Slack channel): ``rate`` sends a second on average, up to
    ``burst`` at once (the generic cell rate algorithm). ``hold`` stops a key until a time
    the peer named (``Retry-After``). Times are floats of one monotonic clock, passed in.
    """

    rate: float
    burst: int = 1
    _tat: dict[str, float] = field(default_factory=dict)  # theoretical arrival times
    _held: dict[str, float] = field(default_factory=dict)

    def _next(self, key: str, now: float) -> tuple[float, float]:
        """How long the key is held, and when its next slot starts."""
        held = max(0.0, self._held.get(key, now) - now)
        return held, max(self._tat.get(key, now), now + held)

    def wait(self, key: str, now: float) -> float:
        """How long a send would wait for the key's next slot, without taking it."""
        held, start = self._next(key, now)
        if self.rate <= 0:
            return held
        return max(held, start - now - (max(1, self.burst) - 1) / self.rate)

    def reserve(self, key: str, now: float) -> float:
        """Take the key's next slot; returns how long to wait for it (0 for now)."""
        wait = self.wait(key, now)
        if self.rate > 0:
            _, start = self._next(key, now)
            self._tat[key] = start + 1.0 / self.rate
        return wait

    def take(self, key: str, now: float, *, within: float) -> tuple[bool, float]:
        """Reserve the key's next slot if it starts within ``within`` seconds. Returns
        whether it was taken and how long to wait: for the slot when taken, else until
        one is that near."""
        wait = self.wait(key, now)
        if wait > within:
            return False, wait - within
        return True, self.reserve(key, now)

    def hold(self, key: str, until: float) -> None:
        self._held[key] = max(self._held.get(key, until), until)

    def state(self, key: str) -> tuple[float, float]:
        """The key's next slot and held-until times (0 for none), to store and share."""
        return self._tat.get(key, 0.0), self._held.get(key, 0.0)

    def load(self, key: str, *, tat: float, held_until: float) -> None:
        """Go on from a stored :meth:`state`."""
        self._tat[key], self._held[key] = tat, held_until
