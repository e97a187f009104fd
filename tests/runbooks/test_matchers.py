"""Runbook matchers behave as Alertmanager's: fully anchored regexes, absent label == ""."""

from __future__ import annotations

import pytest

from bot.runbooks.model import Runbook
from bot.runbooks.parser import parse_runbook
from bot.runbooks.selection import select_runbook


def runbook(match: str, rid: str = "r") -> Runbook:
    text = f"---\nid: {rid}\ntitle: T\nmatch:\n{match}\n---\n# T\n"
    result = parse_runbook(text.encode(), file=f"{rid}.md")
    assert result.problems == [], result.problems
    assert result.runbook is not None
    return result.runbook


@pytest.mark.parametrize(
    ("match", "labels", "expected"),
    [
        # Regexes are anchored at both ends, as Alertmanager anchors them.
        ('  alertname: A\n  job: =~"api"', {"alertname": "A", "job": "api-canary"}, False),
        ('  alertname: A\n  job: =~"api.*"', {"alertname": "A", "job": "api-canary"}, True),
        ('  alertname: A\n  job: =~"pi"', {"alertname": "A", "job": "api"}, False),
        ("  alertname: A\n  job: '!~\"api|web\"'", {"alertname": "A", "job": "api2"}, True),
        ("  alertname: A\n  job: '!~\"api|web\"'", {"alertname": "A", "job": "web"}, False),
        # An absent label has the value "": label="" matches its absence.
        ('  alertname: A\n  team: ""', {"alertname": "A"}, True),
        ("  alertname: A\n  team: '=\"\"'", {"alertname": "A", "team": "x"}, False),
        ("  alertname: A\n  team: '!=\"\"'", {"alertname": "A"}, False),
        ("  alertname: A\n  team: '!=\"\"'", {"alertname": "A", "team": "x"}, True),
        ('  alertname: A\n  team: =~".*"', {"alertname": "A"}, True),
        ('  alertname: A\n  team: =~".+"', {"alertname": "A"}, False),
        ("  alertname: A\n  env: '!=\"prod\"'", {"alertname": "A"}, True),
        # Equality is exact, case-sensitive.
        ("  alertname: A", {"alertname": "a"}, False),
        ('  alertname: =~"A|B"', {"alertname": "B"}, True),
        ('  alertname: =~"A|B"', {"alertname": "AB"}, False),
    ],
)
def test_alertmanager_semantics(match: str, labels: dict[str, str], expected: bool) -> None:
    selection = select_runbook([runbook(match)], labels, {})
    assert (selection.chosen is not None) is expected
