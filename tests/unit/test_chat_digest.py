"""When a channel is too far behind: bot.chat.decide and the digest's text."""

from __future__ import annotations

from bot.chat.decide import channel_behind, joins_digest, refresh_budget, too_far_behind
from bot.chat.render import (
    DIGEST_BUTTONS,
    DIGEST_LINES,
    DigestLine,
    digest_message,
    major_notice,
)


def test_a_channel_is_behind_by_what_waits_past_its_burst_at_its_rate() -> None:
    assert channel_behind(0, rate=1.0, burst=5) == 0
    assert channel_behind(5, rate=1.0, burst=5) == 1.0  # the sixth goes a second later
    assert channel_behind(40, rate=2.0, burst=1) == 20.0
    assert channel_behind(1000, rate=0.0, burst=1) == 0  # unpaced: never behind


def test_a_new_incident_joins_the_digest_only_past_the_limit_and_never_when_major() -> None:
    assert not joins_digest(30, rate=1.0, burst=1, digest_after=30.0, major=False)
    assert joins_digest(31, rate=1.0, burst=1, digest_after=30.0, major=False)
    assert not joins_digest(10_000, rate=1.0, burst=1, digest_after=30.0, major=True)
    assert not joins_digest(10_000, rate=1.0, burst=1, digest_after=0.0, major=False)


def test_the_digest_names_the_most_severe_first_and_counts_the_rest() -> None:
    lines = [
        DigestLine(n, "SEV1" if n == 30 else "SEV3", f"Disk <@U123> {n}", "open")
        for n in range(1, DIGEST_LINES + 11)
    ]
    lines[1] = DigestLine(2, "SEV3", "Disk 2", "acknowledged")
    message = digest_message(lines)
    assert message.text.startswith(":cloud_with_lightning: Storm: 35 more incidents")
    assert message.detail is not None
    shown = message.detail.splitlines()
    assert shown[0] == "#30 [SEV1] Disk <@U123> 30 (open)"
    assert shown[-1] == "… and 10 more"
    assert len(shown) == DIGEST_LINES + 1
    # Acknowledge buttons for the most severe that are still open (#2 is acknowledged).
    assert [b.value for b in message.buttons] == ["30", "1", "3", "4", "5"][:DIGEST_BUTTONS]
    assert message.mentions == ()  # alert text names nobody: the adapter escapes it


def test_a_channel_is_too_far_behind_past_the_limit_and_never_unpaced() -> None:
    assert not too_far_behind(30, rate=1.0, burst=1, digest_after=30.0)
    assert too_far_behind(31, rate=1.0, burst=1, digest_after=30.0)
    assert too_far_behind(35, rate=1.0, burst=5, digest_after=30.0)
    assert not too_far_behind(34, rate=1.0, burst=5, digest_after=30.0)
    assert not too_far_behind(10_000, rate=0.0, burst=1, digest_after=30.0)
    assert not too_far_behind(10_000, rate=1.0, burst=1, digest_after=0.0)


def test_a_channel_is_too_far_behind_once_its_oldest_row_has_waited_the_limit() -> None:
    assert too_far_behind(2, rate=1.0, burst=1, digest_after=30.0, oldest_wait=31.0)
    assert not too_far_behind(2, rate=1.0, burst=1, digest_after=30.0, oldest_wait=29.0)
    assert not too_far_behind(2, rate=1.0, burst=1, digest_after=0.0, oldest_wait=999.0)
    assert joins_digest(2, rate=1.0, burst=1, digest_after=30.0, major=False, oldest_wait=31.0)
    assert refresh_budget(0, rate=1.0, burst=1, digest_after=15.0, oldest_wait=16.0) == 0


def test_held_cards_are_redrawn_only_into_the_room_a_channel_has() -> None:
    assert refresh_budget(0, rate=1.0, burst=1, digest_after=15.0) == 15
    assert refresh_budget(10, rate=1.0, burst=5, digest_after=15.0) == 9
    assert refresh_budget(40, rate=1.0, burst=1, digest_after=15.0) == 0
    assert refresh_budget(40, rate=0.0, burst=1, digest_after=15.0) == -1  # unpaced: all


def test_the_digest_tells_opened_and_held_incidents_apart() -> None:
    opened = [DigestLine(7, "SEV1", "Payments down", "open", own_channel="CINC7")]
    held = [
        DigestLine(3, "SEV3", "Disk <!channel> full", "resolved"),
        DigestLine(2, "SEV2", "Latency", "open"),
    ]
    message = digest_message(opened, held)
    said = message.text.splitlines()
    assert said[0].startswith(":cloud_with_lightning: Storm: 1 more incident opened")
    assert said[1].startswith(":hourglass: 2 incidents changed while this channel was behind")
    assert message.detail is not None
    assert message.detail.splitlines() == [
        "#7 [SEV1] Payments down (open) in its own channel",
        "#2 [SEV2] Latency (open)",
        "#3 [SEV3] Disk <!channel> full (resolved)",
    ]
    # The major incident's channel is linked by a mention Fireline chose, never from text.
    assert message.mentions == ("channel:CINC7",)
    assert [b.value for b in message.buttons] == ["7", "2"]
    only_held = digest_message([], held)
    assert only_held.text.startswith(":hourglass: 2 incidents")
    assert only_held.mentions == ()


def test_the_major_notice_links_the_new_channel() -> None:
    notice = major_notice(4, "SEV1", "Payments <@U1> down", "CINC4")
    assert notice.text.startswith(":fire: Major incident #4 [SEV1] Payments <@U1> down")
    assert notice.mentions == ("channel:CINC4",)
