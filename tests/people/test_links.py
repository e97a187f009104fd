"""Action links: signed, expiring, bound to one person, incident and action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.people.links import ActionLinks, LinkAction, LinkRefusedError


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


KEY = "a-test-key"


def links(clock: Clock, secret: str = KEY) -> ActionLinks:
    return ActionLinks(
        secret, base_url="https://fireline.example/", lifetime=timedelta(hours=12), clock=clock
    )


def test_a_link_names_its_incident_person_and_action() -> None:
    clock = Clock()
    minted = links(clock).link(42, "alice", LinkAction.ACKNOWLEDGE)
    assert minted.startswith("https://fireline.example/a/")
    claim = links(clock).read(minted.rsplit("/", 1)[1])
    assert (claim.incident_id, claim.person, claim.action) == (42, "alice", LinkAction.ACKNOWLEDGE)
    assert claim.issued_at == clock.now
    assert claim.action.permission == "acknowledge"


def test_every_link_has_its_own_nonce() -> None:
    clock = Clock()
    first, second = (links(clock).token(1, "alice", LinkAction.RESOLVE) for _ in range(2))
    assert first != second
    assert links(clock).read(first).nonce != links(clock).read(second).nonce


def test_an_expired_link_is_refused_as_expired() -> None:
    clock = Clock()
    token = links(clock).token(1, "alice", LinkAction.ACKNOWLEDGE)
    clock.now += timedelta(hours=12, seconds=1)
    with pytest.raises(LinkRefusedError, match="expired"):
        links(clock).read(token)


@pytest.mark.parametrize("tamper", ["other-secret", "altered"])
def test_an_altered_or_foreign_link_is_refused(tamper: str) -> None:
    clock = Clock()
    token = links(clock).token(1, "alice", LinkAction.ACKNOWLEDGE)
    reader = links(clock, secret="other") if tamper == "other-secret" else links(clock)
    if tamper == "altered":
        token = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    with pytest.raises(LinkRefusedError, match="not a valid Fireline link"):
        reader.read(token)
