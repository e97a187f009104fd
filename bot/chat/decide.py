"""Chat's decisions that need no database and no chat tool."""

from __future__ import annotations


def channel_behind(waiting: int, *, rate: float, burst: int) -> float:
    """How long, in seconds, a message queued into a channel now would wait for the
    ``waiting`` ones ahead of it, sent at ``rate`` a second after a first ``burst``."""
    if rate <= 0:
        return 0.0
    return max(0, waiting - max(1, burst) + 1) / rate


def joins_digest(
    waiting: int, *, rate: float, burst: int, digest_after: float, major: bool
) -> bool:
    """Whether a new incident is listed in its channel's storm digest rather than given a
    card: when a card queued now would reach the channel more than ``digest_after``
    seconds late (0: never). A major incident always gets its card (and its channel)."""
    if major or digest_after <= 0:
        return False
    return channel_behind(waiting, rate=rate, burst=burst) > digest_after
