"""Installs are reproducible: every dependency is pinned in constraints.txt, and this
environment runs exactly the pinned versions (scripts/setup.sh installs within them)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt: {line!r} is not pinned with =="
            found[canonical(name)] = pinned
    return found


def requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [canonical(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in wanted]


def test_every_dependency_is_pinned() -> None:
    pinned = pins()
    missing = [name for name in requirements() if name not in pinned]
    assert missing == [], f"not in constraints.txt (run scripts/lock.sh): {missing}"


def test_this_environment_runs_the_pinned_versions() -> None:
    drift = {}
    for name, pinned in pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue  # a platform-only package (pinned where it installs)
        if installed != pinned:
            drift[name] = (installed, pinned)
    assert drift == {}, f"installed != pinned (run scripts/setup.sh): {drift}"
