"""When a channel is too far behind for a new card: bot.chat.decide and the digest's text."""

from __future__ import annotations

from bot.chat.decide import channel_behind, joins_digest
from bot.chat.render import DIGEST_BUTTONS, DIGEST_LINES, DigestLine, digest_message


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
