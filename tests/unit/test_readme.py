"""The README stays complete: every `fireline` command, every route and every setting is
in its tables (or, for the configuration file's sections, in its YAML example)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typer.main import get_command

from bot.app.cli import app
from bot.app.main import create_app
from bot.app.settings import ENV_PREFIX, FileConfig, Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
LINES = README.splitlines()


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every leaf command's path (typer's click groups have ``commands``)."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield path
        return
    for name, sub in subcommands.items():
        yield from commands(sub, (*path, name))


def test_every_command_is_in_the_commands_table() -> None:
    missing = []
    for path in commands(get_command(app)):
        rows = [line for line in LINES if line.startswith(f"| `fireline {path[0]}")]
        if not any(all(part in row for part in path[1:]) for row in rows):
            missing.append("fireline " + " ".join(path))
    assert missing == []


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_route_is_in_the_api_table(tmp_path: Path) -> None:
    """A row names the route as `METHOD /path`, or after a comma as `/last-segment`.
    The routes are the OpenAPI document's: every route Fireline serves is in it."""
    schema = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'f.db'}")).openapi()
    rows = [_shape(line) for line in LINES if line.startswith("| `")]
    missing = []
    for path, operations in schema["paths"].items():
        shape = _shape(path)
        tail = "/" + shape.rsplit("/", 1)[-1]
        for method in (m.upper() for m in operations):
            listed = (
                f"{method} {shape}" in row or (method in row and f"`{tail}`" in row) for row in rows
            )
            if not any(listed):
                missing.append(f"{method} {path}")
    assert len(schema["paths"]) > 20  # the whole API, not an empty document
    assert missing == []


def test_every_page_is_in_a_table() -> None:
    """The console's pages and static files stay out of the OpenAPI document; they are
    listed all the same."""
    from bot.web.app import PAGES

    hidden = [("GET", "/static/{}")]
    for router in PAGES:
        for route in router.routes:
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    hidden.append((method, _shape(getattr(route, "path", ""))))
    assert ("GET", "/me") in hidden
    rows = [_shape(line) for line in LINES if line.startswith("| `")]
    missing = []
    for method, shape in hidden:
        tail = "/" + shape.rsplit("/", 1)[-1]
        if not any(
            f"{method} {shape}" in row or (method in row and f"`{tail}`" in row) for row in rows
        ):
            missing.append(f"{method} {shape}")
    assert missing == []


def test_every_setting_is_in_the_settings_table() -> None:
    sections = set(FileConfig.model_fields)
    missing = []
    for name in Settings.model_fields:
        if name in sections:
            if not re.search(rf"^{name}:", README, re.MULTILINE):
                missing.append(f"{name}: (the YAML example)")
        elif not re.search(rf"`{ENV_PREFIX}{name.upper()}`", README):
            missing.append(f"{ENV_PREFIX}{name.upper()}")
    assert missing == []
