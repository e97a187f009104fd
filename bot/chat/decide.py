"""Chat's decisions that need no database and no chat tool."""

from __future__ import annotations


def channel_behind(waiting: int, *, rate: float, burst: int) -> float:
    """How long, in seconds, a message queued into a channel now would wait for the
    ``waiting`` ones ahead of it, sent at ``rate`` a second after a first ``burst``."""
    if rate <= 0:
        return 0.0
    return max(0, waiting - max(1, burst) + 1) / rate


def too_far_behind(
    waiting: int, *, rate: float, burst: int, digest_after: float, oldest_wait: float = 0.0
) -> bool:
    """Whether a message queued into the channel now would reach it more than
    ``digest_after`` seconds late (0: never), or its oldest message waiting has already
    waited that long: the channel's storm digest takes over.

    The count alone assumes the channel is served in order, but new cards go first: a
    channel kept at the count's limit by new cards left its oldest rows waiting twice the
    limit."""
    if digest_after <= 0 or rate <= 0:
        return False
    behind = max(oldest_wait, channel_behind(waiting, rate=rate, burst=burst))
    return behind > digest_after


def joins_digest(
    waiting: int,
    *,
    rate: float,
    burst: int,
    digest_after: float,
    major: bool,
    oldest_wait: float = 0.0,
) -> bool:
    """Whether a new incident is listed in its channel's storm digest rather than given a
    card: when its channel is too far behind. A major incident always gets its card (and
    its channel)."""
    return not major and too_far_behind(
        waiting, rate=rate, burst=burst, digest_after=digest_after, oldest_wait=oldest_wait
    )


def refresh_budget(
    waiting: int, *, rate: float, burst: int, digest_after: float, oldest_wait: float = 0.0
) -> int:
    """How many held cards may be redrawn now without putting the channel too far behind
    again (unbounded, as -1, when the channel has no pace); none while its oldest message
    waiting has waited ``digest_after``."""
    if digest_after <= 0 or rate <= 0:
        return -1
    if oldest_wait > digest_after:
        return 0
    room = int(digest_after * rate) + max(1, burst) - 1 - waiting
    return max(0, room)
