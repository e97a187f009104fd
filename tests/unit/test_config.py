"""Settings: one clear message naming the variable, or file:line in the YAML file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.settings import load_settings
from bot.durations import format_duration, parse_duration
from bot.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./fireline.db"
    assert settings.flap_window == timedelta(minutes=10)
    assert settings.max_body_bytes == 1024 * 1024


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRELINE_FLAP_WINDOW", "ten minutes")
    with pytest.raises(ConfigError, match="FIRELINE_FLAP_WINDOW"):
        load_settings()


def test_triage_rules_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "fireline.yml"
    path.write_text(
        "triage:\n  rules:\n    - match: {env: prod}\n      raise: 1\n      signal: errors\n"
    )
    rules = load_settings(config=path).triage.compiled()
    assert rules[0].raise_by == 1
    assert rules[0].matchers[0].matches({"env": "prod"})


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("triage:\n  rules:\n    - match: {env: prod}\n      severity: SEV9\n", 4, "severity"),
        ("triage:\n  rules:\n    - match: {env: '=~\"(\"'}\n", 3, "invalid regex"),
        ("triage:\n  rulez: []\n", 2, "rulez"),
        ("triage:\n  rules: [\n", 3, "invalid YAML"),
        ("triage:\n  rules:\n    - match: {}\n", 3, "match"),
    ],
)
def test_yaml_problems_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = tmp_path / "fireline.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(config=path)
    assert f"{path}:{line}:" in str(info.value)
    assert fragment in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FIRELINE_CONFIG"):
        load_settings(config=tmp_path / "nope.yml")


def test_listening_beyond_loopback_needs_tokens() -> None:
    with pytest.raises(ConfigError, match="FIRELINE_WEBHOOK_TOKEN"):
        load_settings(host="0.0.0.0")  # noqa: S104
    assert load_settings(host="0.0.0.0", webhook_token="a", api_token="b").host == "0.0.0.0"  # noqa: S104


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h30m", 5400), ("2d", 172800), (90, 90)]
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "m5", "1h 2m", "-5s", "5x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
