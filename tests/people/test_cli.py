"""``fireline people``: a new token's hash is one the directory accepts; list shows roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app.cli import app
from bot.people.config import PeopleConfig
from bot.people.directory import Directory
from bot.people.model import Role


def test_a_new_token_and_its_hash_authenticate(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["people", "token"])
    assert result.exit_code == 0, result.output
    token = result.output.split("token:")[1].split()[0]
    digest = result.output.split("sha256:")[1].split()[0]
    config = PeopleConfig.model_validate(
        {"tokens": [{"name": "ci", "sha256": digest, "service": "ci", "role": "responder"}]}
    )
    identity = Directory(config).identity_from_headers({"authorization": f"Bearer {token}"})
    assert identity is not None
    assert (identity.actor, identity.role) == ("ci", Role.RESPONDER)


def test_list_shows_people_groups_and_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "fireline.yaml"
    config.write_text(
        "people:\n"
        "  directory:\n"
        "    - {id: alice, name: Alice, slack: UALICE, role: commander}\n"
        "  groups:\n"
        "    - {slack_group: SONCALL, role: responder}\n"
    )
    monkeypatch.setenv("FIRELINE_CONFIG", str(config))
    monkeypatch.setenv("FIRELINE_DATABASE_URL", f"sqlite:///{tmp_path / 'f.db'}")
    result = CliRunner().invoke(app, ["people", "list"])
    assert result.exit_code == 0, result.output
    assert "alice" in result.output
    assert "commander" in result.output
    assert "SONCALL" in result.output
    roles = CliRunner().invoke(app, ["people", "roles"])
    assert "promote_runbook" in roles.output


PEOPLE = (
    "people:\n"
    "  directory:\n"
    "    - {id: alice, name: Alice, slack: UALICE, role: commander}\n"
    "    - {id: vic, name: Vic, role: viewer}\n"
)


def test_commands_are_checked_against_the_same_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's writes go through the API's decision table: a viewer, or a name the
    directory does not know, is refused; a commander is allowed and recorded."""
    config = tmp_path / "fireline.yml"
    config.write_text(PEOPLE)
    url = f"sqlite:///{tmp_path / 'f.db'}"
    monkeypatch.setenv("FIRELINE_CONFIG", str(config))
    monkeypatch.setenv("FIRELINE_DATABASE_URL", url)
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    pause = ["automation", "pause", "--reason", "maintenance"]
    for who in ("vic", "mallory"):
        refused = CliRunner().invoke(app, [*pause, "--by", who])
        assert refused.exit_code == 1, refused.output
        assert "refused" in refused.output
    allowed = CliRunner().invoke(app, [*pause, "--by", "alice"])
    assert allowed.exit_code == 0, allowed.output
    status = CliRunner().invoke(app, ["automation", "status"])
    assert "alice" in status.output
    assert "vic" not in status.output


def test_without_people_the_command_line_is_the_local_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIRELINE_CONFIG", raising=False)
    monkeypatch.setenv("FIRELINE_DATABASE_URL", f"sqlite:///{tmp_path / 'f.db'}")
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    done = CliRunner().invoke(app, ["automation", "pause", "--reason", "x", "--by", "anyone"])
    assert done.exit_code == 0, done.output
