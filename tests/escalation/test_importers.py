"""Importers on recorded exports shaped as PagerDuty's and Grafana OnCall's APIs document
them: the YAML loads with Fireline's own validation, and who is on call at a given time is
who the export says; what cannot be imported is warned about."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml
from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.settings import load_settings
from bot.escalation.config import compile_schedules
from bot.escalation.schedules import Schedule, on_call

FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"
runner = CliRunner()


def imported(tmp_path: Path, product: str, fixture: str) -> tuple[Path, str]:
    out = tmp_path / "fireline.yaml"
    result = runner.invoke(app, ["import", product, str(FIXTURES / fixture), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_a_pagerduty_export_becomes_a_config_that_loads(tmp_path: Path) -> None:
    path, output = imported(tmp_path, "pagerduty", "pagerduty.json")
    settings = load_settings(config=path, database_url="sqlite://")
    assert [p.id for p in settings.people.directory] == ["earline", "kennith"]
    (schedule,) = settings.schedules
    assert schedule.name == "checkout-primary"
    # PagerDuty lists the highest layer first; Fireline's later layer wins.
    assert [layer.members for layer in schedule.layers] == [["earline", "kennith"], ["kennith"]]
    weekly = compile_schedules([schedule])["checkout-primary"]
    monday = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)  # the second week of the rotation
    assert on_call(Schedule(weekly.name, weekly.layers[:1]), monday).user == "kennith"
    (policy,) = settings.escalation.compiled()
    assert policy.repeat == 2
    assert [str(t) for t in policy.levels[0].targets] == ["schedule:checkout-primary"]
    assert policy.levels[0].delay.total_seconds() == 600
    assert "restrictions not imported" in output
    assert "team_reference PTEAM01 skipped" in output


def test_a_grafana_oncall_export_becomes_a_config_that_loads(tmp_path: Path) -> None:
    path, output = imported(tmp_path, "grafana-oncall", "grafana_oncall.json")
    settings = load_settings(config=path, database_url="sqlite://")
    assert [p.id for p in settings.people.directory] == ["alex", "sam"]
    schedules = compile_schedules(settings.schedules)
    payments = schedules["payments-on-call"]
    assert on_call(payments, datetime(2026, 1, 5, 12, 0, tzinfo=UTC)).user == "alex"
    assert on_call(payments, datetime(2026, 1, 6, 12, 0, tzinfo=UTC)).user == "sam"
    (policy,) = settings.escalation.compiled()
    assert [str(t) for level in policy.levels for t in level.targets] == [
        "schedule:payments-on-call",
        "person:alex",
    ]
    assert policy.levels[0].delay.total_seconds() == 900  # the wait step
    assert "a single_event shift is not imported" in output
    assert "step notify_if_time_from_to not imported" in output


def test_a_bad_export_is_refused_with_its_name(tmp_path: Path) -> None:
    broken = tmp_path / "export.json"
    broken.write_text("{not json")
    result = runner.invoke(app, ["import", "pagerduty", str(broken)])
    assert result.exit_code == 2
    assert "export.json" in result.output
    printed = runner.invoke(app, ["import", "pagerduty", str(FIXTURES / "pagerduty.json")])
    assert yaml.safe_load(printed.stdout)["escalation"]["policies"][0]["name"] == "checkout"
