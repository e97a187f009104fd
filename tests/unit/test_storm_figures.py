"""The storm bench reads Fireline's webhook histogram from its /metrics page."""

from __future__ import annotations

import math

from bench.storm import buckets, gauge, samples, within

PAGE = """\
# TYPE fireline_webhook_request_duration_seconds histogram
fireline_webhook_request_duration_seconds_bucket{le="0.01"} 50.0
fireline_webhook_request_duration_seconds_bucket{le="0.05"} 98.0
fireline_webhook_request_duration_seconds_bucket{le="0.1"} 99.0
fireline_webhook_request_duration_seconds_bucket{le="+Inf"} 100.0
fireline_webhook_request_duration_seconds_count 100.0
fireline_triage_backlog 3.0
"""


def test_the_histogram_s_buckets_are_read_by_their_upper_bound() -> None:
    found = buckets(samples(PAGE), "fireline_webhook_request_duration_seconds")
    assert found == {0.01: 50.0, 0.05: 98.0, 0.1: 99.0, math.inf: 100.0}


def test_the_share_is_bounded_by_the_first_bucket_that_holds_it() -> None:
    found = buckets(samples(PAGE), "fireline_webhook_request_duration_seconds")
    assert within(found, 0.5) == 0.01
    assert within(found, 0.99) == 0.1
    assert within(found, 1.0) == math.inf
    assert math.isnan(within({}, 0.99))


def test_a_gauge_sums_its_samples_across_labels_and_is_zero_when_absent() -> None:
    page = """\
# TYPE fireline_outbox_backlog gauge
fireline_outbox_backlog{destination="slack"} 4.0
fireline_outbox_backlog{destination="pager"} 2.0
# TYPE fireline_outbox_backlog_limit gauge
fireline_outbox_backlog_limit 100.0
"""
    found = samples(page)
    assert gauge(found, "fireline_outbox_backlog") == 6.0
    assert gauge(found, "fireline_triage_backlog") == 0.0
