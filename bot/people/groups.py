"""Slack user group members, fetched with ``usergroups.users.list`` and cached."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from bot.clock import Clock

log = logging.getLogger(__name__)

Fetch = Callable[[str], Awaitable[frozenset[str]]]


def is_group_id(name: str) -> bool:
    """Slack user group ids start with S (``S0123CHECKOUTLEADS``)."""
    return len(name) > 1 and name[0] == "S" and name[1:].isalnum() and name.isupper()


class GroupMembers:
    """Members per group, kept for ``ttl``; a failed fetch keeps the last known members
    (none if never fetched), so a Slack outage grants nobody a new role."""

    def __init__(self, fetch: Fetch, *, clock: Clock, ttl: timedelta = timedelta(minutes=5)):
        self._fetch = fetch
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._lock = asyncio.Lock()

    async def members(self, group: str) -> frozenset[str]:
        async with self._lock:
            now = self._clock()
            cached = self._cache.get(group)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
            try:
                members = await self._fetch(group)
            except Exception:
                log.warning("could not list the members of user group %s", group, exc_info=True)
                return cached[1] if cached else frozenset()
            self._cache[group] = (now, members)
            return members

    async def groups_of(self, user: str, candidates: Iterable[str]) -> frozenset[str]:
        """Which of ``candidates`` (group ids; other names are skipped) ``user`` is in."""
        found = set()
        for group in sorted({c for c in candidates if is_group_id(c)}):
            if user in await self.members(group):
                found.add(group)
        return frozenset(found)
