"""Runbook review: the pure verdict on fixed dates, the lint warnings and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.runbooks.freshness import Review, review_age, review_state, review_text
from bot.runbooks.lint import lint_paths
from tests.runbooks.catalog import lint_registry

TODAY = date(2026, 12, 6)
NINETY = timedelta(days=90)


@pytest.mark.parametrize(
    ("reviewed", "status", "overdue"),
    [
        (date(2026, 12, 6), Review.CURRENT, False),
        (date(2026, 9, 7), Review.CURRENT, False),  # exactly 90 days ago
        (date(2026, 9, 6), Review.OVERDUE, True),  # 91 days ago
        (date(2025, 1, 1), Review.OVERDUE, True),
        (date(2026, 12, 7), Review.FUTURE, False),
        (None, Review.MISSING, True),
    ],
)
def test_review_state_on_fixed_dates(reviewed: date | None, status: Review, overdue: bool) -> None:
    state = review_state(reviewed, today=TODAY, max_age=NINETY)
    assert (state.status, state.overdue) == (status, overdue)


def test_review_state_counts_whole_days() -> None:
    state = review_state(date(2026, 9, 6), today=TODAY, max_age=NINETY)
    assert (state.due, state.age_days) == (date(2026, 12, 5), 91)
    a_day_and_a_half = timedelta(hours=36)  # counts as one day
    assert not review_state(date(2026, 12, 5), today=TODAY, max_age=a_day_and_a_half).overdue
    assert review_state(date(2026, 12, 4), today=TODAY, max_age=a_day_and_a_half).overdue
    assert review_state(None, today=TODAY, max_age=NINETY).due is None


def test_review_text() -> None:
    def text(reviewed: date | None) -> str:
        return review_text(review_state(reviewed, today=TODAY, max_age=NINETY))

    assert text(date(2026, 11, 1)) == "last reviewed 2026-11-01"
    assert text(date(2026, 1, 1)) == "last reviewed 2026-01-01 (overdue)"
    assert text(date(2027, 1, 1)) == "last reviewed 2027-01-01 (in the future)"
    assert text(None) == "never reviewed (overdue)"


def test_a_review_age_is_at_least_a_day() -> None:
    assert review_age("13w") == timedelta(weeks=13)
    with pytest.raises(ValueError, match="at least a day"):
        review_age("12h")
    with pytest.raises(ValueError, match="not a duration"):
        review_age("soon")


def runbook_file(root: Path, name: str, reviewed: date | None) -> Path:
    line = "" if reviewed is None else f"last_reviewed: {reviewed.isoformat()}\n"
    path = root / f"{name}.md"
    path.write_text(f"---\nid: {name}\ntitle: {name}\nmatch: {{alertname: {name}}}\n{line}---\n")
    return path


def test_lint_warns_on_an_overdue_or_missing_review(tmp_path: Path) -> None:
    runbook_file(tmp_path, "fresh", date(2026, 11, 1))
    runbook_file(tmp_path, "stale", date(2026, 6, 1))
    runbook_file(tmp_path, "never", None)
    runbook_file(tmp_path, "ahead", date(2027, 6, 1))
    report = lint_paths([tmp_path], registry=lint_registry(), today=TODAY, review_age=NINETY)
    assert report.ok
    assert report.problems == []
    assert [(w.file, w.line, w.rule) for w in report.warnings] == [
        (str(tmp_path / "ahead.md"), 5, "review-future"),
        (str(tmp_path / "never.md"), 2, "review-missing"),
        (str(tmp_path / "stale.md"), 5, "review-overdue"),
    ]
    stale = report.warnings[2].message
    assert stale == (
        "runbook 'stale' was last reviewed 188 days ago (2026-06-01), longer than 90d: "
        "review it and update last_reviewed"
    )
    wider = lint_paths(
        [tmp_path], registry=lint_registry(), today=TODAY, review_age=timedelta(days=200)
    )
    assert [w.rule for w in wider.warnings] == ["review-future", "review-missing"]
    assert lint_paths([tmp_path], registry=lint_registry()).warnings == []


def test_cli_lint_prints_review_warnings_and_passes(tmp_path: Path) -> None:
    from bot.app.cli import app

    today = datetime.now(UTC).date()
    runbook_file(tmp_path, "stale", today - timedelta(days=200))
    runbook_file(tmp_path, "fresh", today - timedelta(days=10))
    runbook_file(tmp_path, "never", None)
    runner = CliRunner()
    default = runner.invoke(app, ["runbooks", "lint", str(tmp_path)])
    assert default.exit_code == 0, default.output
    assert f"{tmp_path / 'stale.md'}:5: warning: runbook 'stale' was last reviewed 200 days" in (
        default.stdout
    )
    assert f"{tmp_path / 'never.md'}:2: warning: runbook 'never' has no last_reviewed" in (
        default.stdout
    )
    assert "fresh" not in default.stdout
    assert "3 file(s), 0 problem(s), 2 warning(s)" in default.stderr

    narrow = runner.invoke(app, ["runbooks", "lint", "--review-age", "1w", str(tmp_path)])
    assert narrow.exit_code == 0
    assert "'fresh' was last reviewed 10 days ago" in narrow.stdout
    assert "longer than 7d" in narrow.stdout

    as_json = runner.invoke(app, ["runbooks", "lint", "--format", "json", str(tmp_path)])
    body = json.loads(as_json.stdout)
    assert (body["problems"], sorted(w["rule"] for w in body["warnings"])) == (
        [],
        ["review-missing", "review-overdue"],
    )


def test_cli_lint_review_age_from_the_setting_and_refused_when_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app.cli import app

    runbook_file(tmp_path, "fresh", datetime.now(UTC).date() - timedelta(days=10))
    runner = CliRunner()
    monkeypatch.setenv("FIRELINE_RUNBOOK_REVIEW_AGE", "5d")
    short = runner.invoke(app, ["runbooks", "lint", str(tmp_path)])
    assert short.exit_code == 0
    assert "longer than 5d" in short.stdout
    bad = runner.invoke(app, ["runbooks", "lint", "--review-age", "soon", str(tmp_path)])
    assert bad.exit_code == 2
    assert "--review-age: 'soon' is not a duration" in bad.stderr
