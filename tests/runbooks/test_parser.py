"""The parser keeps every field's and step's file and line, and never runs anything."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.runbooks.model import Runbook, StepKind
from bot.runbooks.parser import content_hash, parse_runbook

GOOD = Path(__file__).parent / "fixtures" / "lint" / "good.md"


def parse_good() -> Runbook:
    result = parse_runbook(GOOD.read_bytes(), file=str(GOOD))
    assert result.problems == []
    assert result.runbook is not None
    return result.runbook


def test_front_matter_fields_keep_their_lines() -> None:
    runbook = parse_good()
    assert runbook.id == "good"
    assert runbook.line_of("id") == 2
    assert runbook.line_of("match", "namespace") == 7
    assert runbook.line_of("params", "deployment") == 11
    assert runbook.params["deployment"].line == 11
    assert runbook.line_of("policy", "limits", "cooldown") == 14
    assert runbook.line_of("verify", "on_fail") == 15
    assert runbook.line_of("escalation") == 16
    assert runbook.policy.mode == "auto"
    assert runbook.policy.limits.cooldown == timedelta(minutes=30)
    assert runbook.policy.limits.rate == (3, timedelta(hours=1))
    assert [str(m) for m in runbook.matchers] == [
        'alertname="KubePodCrashLooping"',
        'namespace=~"web(-canary)?"',
    ]


def test_steps_keep_file_line_description_and_section() -> None:
    runbook = parse_good()
    assert [s.id for s in runbook.steps] == ["history", "restart", "undo"]
    history, restart, undo = runbook.steps
    assert (history.file, history.line, history.body_line) == (str(GOOD), 23, 24)
    assert history.kind is StepKind.DIAGNOSE
    assert history.timeout == timedelta(seconds=20)
    assert history.description == "Show the rollout history."
    assert history.section == "Initial Assessment"
    assert restart.line == 31
    assert restart.arg_lines == {"namespace": 34, "deployment": 35}
    assert restart.section == "Resolution Steps"
    assert restart.safe
    assert restart.rollback == "undo"
    assert [str(c) for c in restart.when] == ["history.succeeded"]
    assert undo.retries == 2
    assert undo.idempotent
    assert undo.description == "Undo the rollout if the restart made things worse."


def test_plain_code_fences_are_prose_not_steps() -> None:
    runbook = parse_good()
    assert all(s.uses != "bash" for s in runbook.steps)
    assert "kubectl -n web get pods" in runbook.sections[-1].text


def test_sections_and_hash() -> None:
    runbook = parse_good()
    assert [(s.title, s.level, s.line) for s in runbook.sections] == [
        ("Web crash loop", 1, 18),
        ("Initial Assessment", 2, 20),
        ("Resolution Steps", 2, 28),
    ]
    assert runbook.hash == content_hash(GOOD.read_bytes())
    assert len(runbook.hash) == 64


def test_params_resolve_into_step_arguments() -> None:
    runbook = parse_good()
    args = runbook.steps[1].resolved_args({"namespace": "web", "deployment": "api"})
    assert args == {"namespace": "web", "deployment": "api"}
    assert list(runbook.steps[1].param_refs()) == [("namespace", 34), ("deployment", 35)]


def test_parsing_never_runs_a_shell_step(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = (
        "---\nid: s\ntitle: S\nmatch: {alertname: X}\n---\n# S\n\nTouch a file.\n\n"
        f'```shell {{"id": "touch", "kind": "diagnose"}}\ntouch {marker}\n```\n'
    )
    result = parse_runbook(text.encode(), file="s.md")
    assert result.runbook is not None
    step = result.runbook.steps[0]
    assert step.shell == f"touch {marker}\n"
    assert step.args == {"argv": ["bash", "-euo", "pipefail", "-c", f"touch {marker}\n"]}
    assert not marker.exists()


def test_matchers_may_be_a_list_of_alertmanager_matchers() -> None:
    text = (
        '---\nid: l\ntitle: L\nmatch:\n  - alertname="X"\n  - namespace!="kube-system"\n'
        '  - namespace=~"prod-.*"\n---\n# L\n'
    )
    result = parse_runbook(text.encode(), file="l.md")
    assert result.problems == []
    assert result.runbook is not None
    assert [str(m) for m in result.runbook.matchers] == [
        'alertname="X"',
        'namespace!="kube-system"',
        'namespace=~"prod-.*"',
    ]


def _reviewed(value: str) -> str:
    return f"---\nid: r\ntitle: R\nmatch: {{alertname: X}}\nlast_reviewed: {value}\n---\n# R\n"


@pytest.mark.parametrize("value", ["2026-09-14", "'2026-09-14'", '"2026-09-14"'])
def test_last_reviewed_is_an_iso_date(value: str) -> None:
    result = parse_runbook(_reviewed(value).encode(), file="r.md")
    assert result.problems == []
    assert result.runbook is not None
    assert result.runbook.last_reviewed == date(2026, 9, 14)
    assert result.runbook.line_of("last_reviewed") == 5
    assert result.runbook.summary()["last_reviewed"] == "2026-09-14"


def test_last_reviewed_is_optional() -> None:
    runbook = parse_good()
    assert runbook.last_reviewed is None
    assert runbook.summary()["last_reviewed"] is None


@pytest.mark.parametrize(
    ("value", "rule", "message"),
    [
        (
            "last week",
            "invalid-field",
            "last_reviewed: 'last week' is not a date; write it as YYYY-MM-DD, such as 2026-09-14",
        ),
        ("20260914", "invalid-field", "last_reviewed: 20260914 is not a date"),
        ("14/09/2026", "invalid-field", "last_reviewed: '14/09/2026' is not a date"),
        (
            "2026-09-14 10:00:00",
            "invalid-field",
            "last_reviewed: write a date without a time, such as 2026-09-14",
        ),
        ("'2026-02-30'", "invalid-field", "last_reviewed: '2026-02-30' is not a date (day is"),
        ("2026-02-30", "yaml", "last_reviewed: '2026-02-30' is not a date (day is"),
        ("[2026-09-14]", "invalid-field", "last_reviewed: a list is not a date"),
    ],
)
def test_a_bad_last_reviewed_names_the_file_line_and_field(
    value: str, rule: str, message: str
) -> None:
    result = parse_runbook(_reviewed(value).encode(), file="runbooks/r.md")
    assert [p.rule for p in result.problems] == [rule]
    assert str(result.problems[0]).startswith(f"runbooks/r.md:5: {message}")
