"""Matchers follow Alertmanager: anchored regexes, absent labels equal ""."""

from __future__ import annotations

import pytest

from bot.matchers import MatcherError, matcher_from_item, parse_matcher


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('severity="critical"', {"severity": "critical"}, True),
        ('severity="critical"', {"severity": "critical2"}, False),
        ('severity!="critical"', {}, True),
        ('team=""', {}, True),
        ('team=""', {"team": "x"}, False),
        ('team!=""', {}, False),
        ('namespace=~"checkout"', {"namespace": "checkout-canary"}, False),  # anchored
        ('namespace=~"checkout(-canary)?"', {"namespace": "checkout-canary"}, True),
        ('namespace=~"check"', {"namespace": "xcheckx"}, False),
        ('namespace!~"kube-.*"', {"namespace": "kube-system"}, False),
        ('namespace!~"kube-.*"', {}, True),
        ('team=~".*"', {}, True),
        ('team=~".+"', {}, False),
        ('path="a\\"b"', {"path": 'a"b'}, True),
    ],
)
def test_semantics(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


def test_mapping_form_takes_operator_prefixes() -> None:
    assert matcher_from_item("env", "prod").matches({"env": "prod"})
    assert matcher_from_item("env", '!="dev"').matches({"env": "prod"})
    assert matcher_from_item("ns", '=~"a|b"').matches({"ns": "b"})
    assert not matcher_from_item("ns", "=~a|b").matches({"ns": "c"})


@pytest.mark.parametrize("text", ['severity=~"("', "no operator", '1abc="x"'])
def test_bad_matchers_are_refused(text: str) -> None:
    with pytest.raises(MatcherError):
        parse_matcher(text)


def test_a_matchers_value_test_agrees_with_matching_labels() -> None:
    matchers = [
        parse_matcher(text)
        for text in ('team="a"', 'team!="a"', 'team=~"a|b.*"', 'team!~"a|b.*"', 'team=""')
    ]
    for value in ("a", "b", "bc", "ab", ""):
        for matcher in matchers:
            labels = {"team": value} if value else {}
            assert matcher.value_test()(value) is matcher.matches(labels), (matcher, value)
