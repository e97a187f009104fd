"""Selection: matchers, priority, ties reported, annotation wins, near misses."""

from __future__ import annotations

import itertools
import random

from bot.matchers import all_match
from bot.runbooks.model import Runbook
from bot.runbooks.parser import parse_runbook
from bot.runbooks.selection import RunbookIndex, select_runbook


def make(rid: str, match: dict[str, str], priority: int = 0, file: str | None = None) -> Runbook:
    lines = "\n".join(f"  {k}: '{v}'" for k, v in match.items())
    text = f"---\nid: {rid}\ntitle: {rid} title\nmatch:\n{lines}\npriority: {priority}\n---\n# T\n"
    result = parse_runbook(text.encode(), file=f"runbooks/{file or rid + '.md'}")
    assert result.problems == [], result.problems
    assert result.runbook is not None
    return result.runbook


CRASH = {"alertname": "KubePodCrashLooping", "namespace": "checkout", "pod": "api-1"}


def test_highest_priority_wins_and_the_reason_says_so() -> None:
    generic = make("generic", {"alertname": "KubePodCrashLooping"})
    specific = make("checkout", {"alertname": "KubePodCrashLooping", "namespace": "checkout"}, 10)
    selection = select_runbook([generic, specific], CRASH, {})
    assert selection.chosen is specific
    assert "priority 10 is above the 1 other matching runbook(s)" in selection.reason
    assert [r.id for r in selection.candidates] == ["checkout", "generic"]


def test_a_remaining_tie_chooses_nothing_and_is_reported() -> None:
    a = make("a", {"alertname": "KubePodCrashLooping"}, 5)
    b = make("b", {"alertname": "KubePodCrashLooping", "namespace": '=~"check.*"'}, 5)
    low = make("low", {"alertname": "KubePodCrashLooping"}, 1)
    selection = select_runbook([a, b, low], CRASH, {})
    assert selection.chosen is None
    assert selection.tie == ("a", "b")
    assert "same priority 5" in selection.reason


def test_annotation_naming_a_runbook_wins_over_matchers() -> None:
    matching = make("checkout", {"alertname": "KubePodCrashLooping"}, 100)
    named = make("pod-crash", {"alertname": "SomethingElse"}, file="pod-crash-looping.md")
    runbooks = RunbookIndex.build([matching, named])
    for named_by in (
        {"runbook": "pod-crash"},
        {"runbook": "pod-crash-looping.md"},
        {"runbook_url": "https://git.example.com/ops/runbooks/blob/main/pod-crash-looping.md"},
        {"runbook_url": "https://wiki.example.com/runbooks/pod-crash?ref=alert#steps"},
        {"runbook_url": "https://wiki.example.com/runbooks/POD-CRASH/"},
    ):
        selection = select_runbook(runbooks, CRASH, named_by)
        assert selection.chosen is named, named_by
        assert selection.by_annotation in ("runbook", "runbook_url")


def test_an_annotation_naming_nothing_loaded_falls_back_to_matchers() -> None:
    matching = make("checkout", {"alertname": "KubePodCrashLooping"})
    url = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"
    selection = select_runbook([matching], CRASH, {"runbook_url": url})
    assert selection.chosen is matching
    assert "runbook_url annotation names no loaded runbook" in selection.reason


def test_near_misses_name_the_failing_matcher() -> None:
    other_ns = make("payments", {"alertname": "KubePodCrashLooping", "namespace": "payments"})
    unrelated = make("disk", {"alertname": "NodeFilesystemSpaceFillingUp"})
    selection = select_runbook([other_ns, unrelated], CRASH, {})
    assert selection.chosen is None
    assert selection.tie == ()
    assert [(m.runbook_id, m.failed) for m in selection.near_misses] == [
        ("payments", ('namespace="payments"',))
    ]


def test_runbooks_are_indexed_by_another_label_without_an_alertname() -> None:
    by_team = make("team-web", {"team": "web", "severity": '=~"critical|page"'})
    index = RunbookIndex.build([by_team])
    assert set(index.buckets) == {("team", "web")}


def test_runbooks_without_an_alertname_matcher_are_considered_for_every_alert() -> None:
    by_team = make("team-web", {"team": "web", "severity": '=~"critical|page"'})
    absent = make("no-team", {"team": "", "severity": '!="info"'})
    selection = select_runbook(
        [by_team], {"alertname": "Anything", "team": "web", "severity": "page"}
    )
    assert selection.chosen is by_team
    miss = select_runbook([by_team], {"alertname": "Anything", "team": "web", "severity": "info"})
    assert miss.chosen is None
    assert miss.near_misses[0].failed == ('severity=~"critical|page"',)
    # An equality with "" matches the label's absence, so it cannot be a bucket key.
    assert RunbookIndex.build([absent]).unindexed[0].runbook is absent
    assert select_runbook([absent], {"alertname": "X", "severity": "page"}).chosen is absent
    near = select_runbook([absent], {"alertname": "X", "severity": "info"})
    assert [m.failed for m in near.near_misses] == [('severity!="info"',)]


def test_regex_alternation_of_alertnames_is_indexed_under_each_name() -> None:
    both = make("both", {"alertname": '=~"TargetDown|InstanceDown"'})
    index = RunbookIndex.build([both])
    assert set(index.buckets) == {("alertname", "TargetDown"), ("alertname", "InstanceDown")}
    assert index.unindexed == ()
    assert select_runbook(index, {"alertname": "InstanceDown"}).chosen is both
    assert select_runbook(index, {"alertname": "Other"}).chosen is None


def test_no_match_is_an_answer_not_an_error() -> None:
    selection = select_runbook([], {"alertname": "X"}, {})
    assert selection.chosen is None
    assert selection.reason.startswith("no runbook")
    assert selection.as_dict()["chosen"] is None


def test_runbooks_matched_only_by_regex_are_chosen_as_checking_each_would() -> None:
    """The bitmask path for unindexable runbooks gives what checking every matcher of
    every runbook gives: the same candidates, and near misses failing one matcher."""
    rng = random.Random(7)  # noqa: S311 - a reproducible mix, not a secret
    specs = [
        {"alertname": '=~"Kube.*"'},
        {"alertname": '=~"Kube.*"', "severity": '!="info"'},
        {"namespace": '=~"team-[12]"', "alertname": '!~"Watchdog|Info.*"'},
        {"cluster": '=~"eu-.*"', "job": '=~".*-metrics"'},
        {"namespace": '!~"team-3"', "cluster": '!="us-east-1"'},
        {"severity": '=~"crit.*"'},
        {"pod": '=~""'},  # matches alerts without a pod label
    ]
    runbooks = [make(f"rx-{n}", spec, priority=rng.randrange(3)) for n, spec in enumerate(specs)]
    index = RunbookIndex.build(runbooks)
    assert len(index.unindexed) == len(runbooks)
    values = {
        "alertname": ["KubePodCrashLooping", "Watchdog", "InfoInhibitor", "NodeDown"],
        "severity": ["info", "critical", "warning"],
        "namespace": ["team-1", "team-3", "other"],
        "cluster": ["eu-west-1", "us-east-1"],
        "job": ["kube-state-metrics", "node"],
    }
    for combo in itertools.product(*values.values()):
        labels = dict(zip(values, combo, strict=True))
        if rng.random() < 0.5:
            labels["pod"] = "api-1"
        for _ in range(2):  # the second time from the remembered masks
            selection = select_runbook(index, labels, {})
            expected = {r.id for r in runbooks if all_match(r.matchers, labels)}
            assert {r.id for r in selection.candidates} == expected
            for miss in selection.near_misses:
                runbook = next(r for r in runbooks if r.id == miss.runbook_id)
                failing = [m for m in runbook.matchers if not m.matches(labels)]
                assert len(failing) == 1
                assert len(runbook.matchers) > 1
