"""The chaos run, shortened: the real server SIGKILLed ten times and Slack down for a few
seconds while 300 alerts in 30 groups arrive, then the world's records are checked
against Fireline's (``bench/chaos.py``; its report defines each figure)."""

from __future__ import annotations

import pytest

from bench.chaos import ChaosOptions, run_chaos
from bench.chaos_report import PAGE_DELAY_TARGET


@pytest.mark.slow
def test_nothing_is_lost_or_sent_twice_across_kills_and_a_slack_outage() -> None:
    report = run_chaos(ChaosOptions(alerts=300, groups=30, kills=10, slack_outage=8, seed=14))
    print(report.render())
    if report.worst_page_delay is not None and report.worst_page_delay >= PAGE_DELAY_TARGET:
        print(f"(worst page delay {report.worst_page_delay:.1f} s: printed, not asserted)")
    assert report.settled
    assert report.alerts_acknowledged == report.alerts_stored == 300
    assert report.incidents == report.groups == 30
    assert report.lost == 0, "lost cards, pages or thread messages"
    assert report.out_of_order_thread == 0
    assert report.duplicate_steps == 0
    assert report.duplicate_pages == 0
    assert report.duplicate_cards == 0
