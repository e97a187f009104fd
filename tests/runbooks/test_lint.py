"""Every lint rule has a fixture that fails it, at the expected file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.runbooks.lint import lint_paths, lint_runbook
from bot.runbooks.parser import parse_runbook
from tests.runbooks.catalog import lint_registry

LINT = Path(__file__).parent / "fixtures" / "lint"

CASES = [
    ("yaml-error.md", 6, "yaml", "invalid YAML"),
    ("step-yaml-error.md", 12, "yaml", "invalid YAML"),
    ("unknown-field.md", 7, "unknown-field", "unknown field 'cooldown' in policy"),
    ("unknown-step-attr.md", 10, "unknown-field", "unknown step attribute 'retry'"),
    ("bad-matcher.md", 6, "matcher", "invalid regex"),
    ("duplicate-step.md", 17, "duplicate-id", "duplicate step id 'pause' (first at line 10)"),
    ("unknown-action.md", 11, "unknown-action", "unknown action 'kubernetes.explode'"),
    ("missing-arg.md", 11, "action-args", "needs argument 'query'"),
    ("unknown-arg.md", 14, "action-args", "has no argument 'conditon'"),
    ("bad-arg-value.md", 13, "action-args", "'soon' is not a duration"),
    ("untyped-param.md", 6, "param-type", "needs a type or a pattern"),
    ("template.md", 13, "template", "template syntax '{{'"),
    ("shell-template.md", 12, "template", "template syntax '${labels'"),
    ("unsafe-auto.md", 14, "unsafe-auto", 'must be marked "safe": true'),
    ("retries.md", 13, "retries", 'not marked "idempotent"'),
    ("when-missing.md", 10, "step-ref", "names 'check', which is no step"),
    ("rollback-missing.md", 13, "step-ref", "names 'undo', which is no step"),
    ("shell-untrusted.md", 10, "untrusted-shell", "trusted directory"),
    ("param-ref.md", 16, "param-ref", "params.deployment"),
    ("no-description.md", 10, "description", "has no description"),
    ("no-front-matter.md", 1, "front-matter", "YAML front matter"),
]


@pytest.mark.parametrize(("name", "line", "rule", "text"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_reports_file_and_line(name: str, line: int, rule: str, text: str) -> None:
    path = LINT / name
    report = lint_paths([path], registry=lint_registry(), trusted_dirs=[])
    rendered = [str(p) for p in report.problems if p.rule == rule]
    assert len(rendered) == 1, [str(p) for p in report.problems]
    assert rendered[0].startswith(f"{path}:{line}: "), rendered
    assert text in rendered[0]


def test_the_good_runbook_has_no_problem() -> None:
    report = lint_paths([LINT / "good.md"], registry=lint_registry(), trusted_dirs=[])
    assert report.problems == []
    assert [r.id for r in report.runbooks] == ["good"]


def test_duplicate_runbook_ids_across_files() -> None:
    report = lint_paths([LINT / "duplicate"], registry=lint_registry())
    assert [str(p) for p in report.problems] == [
        f"{LINT}/duplicate/second.md:3: duplicate runbook id 'same-id' "
        f"(also in {LINT}/duplicate/first.md:2)"
    ]


def test_shell_steps_pass_in_a_trusted_directory() -> None:
    report = lint_paths(
        [LINT / "shell-untrusted.md"], registry=lint_registry(), trusted_dirs=[LINT]
    )
    assert report.problems == []
    step = report.runbooks[0].steps[0]
    assert step.uses == "command"
    assert step.args["argv"][:4] == ["bash", "-euo", "pipefail", "-c"]


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.md"
    path.write_text(
        "---\n"
        "id: many\n"
        "title: Many problems\n"
        'match: {alertname: X, job: =~"("}\n'
        "colour: red\n"
        "---\n"
        "# Many\n\n"
        "Restart.\n\n"
        '```action {"id": "a", "kind": "remediate", "retries": 1, "when": "b.failed"}\n'
        "uses: nope\n"
        "```\n"
    )
    result = parse_runbook(path.read_bytes(), file=str(path))
    problems = lint_runbook(result, registry=lint_registry())
    assert sorted((p.line, p.rule) for p in problems) == [
        (4, "matcher"),
        (5, "unknown-field"),
        (11, "retries"),
        (11, "step-ref"),
        (12, "unknown-action"),
    ]


def test_cli_lint_exits_1_and_prints_file_line(tmp_path: Path) -> None:
    from bot.app.cli import app

    result = CliRunner().invoke(app, ["runbooks", "lint", str(LINT / "unsafe-auto.md")])
    assert result.exit_code == 1
    assert f"{LINT / 'unsafe-auto.md'}:14: remediate step 'restart'" in result.output


def test_cli_lint_json(tmp_path: Path) -> None:
    from bot.app.cli import app

    result = CliRunner().invoke(
        app, ["runbooks", "lint", "--format", "json", str(LINT / "retries.md")]
    )
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [p for p in data["problems"] if p["rule"] == "retries"] == [
        {
            "file": str(LINT / "retries.md"),
            "line": 13,
            "rule": "retries",
            "message": "step 'restart' has retries but is not marked \"idempotent\": true",
        }
    ]
