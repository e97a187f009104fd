"""Coverage of Prometheus alert rules by runbooks."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.runbooks.coverage import CoverageReport, coverage, read_rules
from bot.runbooks.lint import lint_paths
from bot.runbooks.selection import RunbookIndex
from tests.runbooks.catalog import lint_registry

FIXTURES = Path(__file__).parent / "fixtures"
RULES = FIXTURES / "rules" / "rules.yml"


def report() -> CoverageReport:
    library = lint_paths([FIXTURES / "coverage"], registry=lint_registry())
    assert library.problems == []
    rules, problems = read_rules([RULES])
    assert problems == []
    return coverage(RunbookIndex.build(library.runbooks), rules)


def test_each_rule_gets_a_verdict_with_its_line() -> None:
    found = {
        (r.rule.alert, r.rule.line): (r.status, r.runbooks, r.depends_on) for r in report().rules
    }
    assert found == {
        ("KubePodCrashLooping", 4): ("covered", ("crash",), ()),
        ("KubeHpaMaxedOut", 11): ("uncovered", (), ()),
        # job="demo" is pinned by the expression's selector.
        ("DemoServiceDown", 20): ("covered", ("demo",), ()),
        ("DemoLatency", 27): ("uncovered", (), ()),
        ("PagedByName", 31): ("annotation", ("crash",), ()),
        ("TeamAlert", 35): ("conditional", ("team",), ('team="web"',)),
    }


def test_runbooks_matching_no_rule_are_listed() -> None:
    assert [r.id for r in report().unused] == ["orphan"]


def test_prometheus_rule_resources_are_read(tmp_path: Path) -> None:
    crd = tmp_path / "rule.yaml"
    crd.write_text(
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\n"
        "spec:\n  groups:\n    - name: g\n      rules:\n"
        "        - alert: A\n          expr: up == 0\n"
    )
    rules, problems = read_rules([crd])
    assert problems == []
    assert [(r.alert, r.line) for r in rules] == [("A", 8)]


def test_cli_coverage_json_and_strict() -> None:
    from bot.app.cli import app

    args = ["runbooks", "coverage", str(RULES), "--dir", str(FIXTURES / "coverage")]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["alert"] for r in data["rules"] if r["status"] == "uncovered"] == [
        "KubeHpaMaxedOut",
        "DemoLatency",
    ]
    assert data["unused_runbooks"] == [
        {"id": "orphan", "file": str(FIXTURES / "coverage" / "orphan.md")}
    ]
    strict = CliRunner().invoke(app, [*args, "--strict"])
    assert strict.exit_code == 1
    assert f"{RULES}:11: KubeHpaMaxedOut (group kubernetes-apps)" in strict.stdout
    assert "3 of 6 alert rules have a runbook (50%)" in strict.stdout
