#!/usr/bin/env bash
# Refresh constraints.txt: resolve pyproject.toml's ranges (with the dev tools) in a
# throwaway virtualenv and pin exactly what got installed. scripts/setup.sh installs
# within these pins, so two installs a month apart run the same code; pyproject.toml keeps
# its ranges for people who install Fireline as a library.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
work=$(mktemp -d)
trap 'rm -rf "$work" build' EXIT  # build/: what pip left of building the project
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet '.[dev]'
{
  echo "# Pinned by scripts/lock.sh from pyproject.toml (Python $("$work/venv/bin/python" -c 'import sys; print(".".join(map(str, sys.version_info[:2])))')); do not edit by hand."
  "$work/venv/bin/python" -m pip freeze --exclude-editable | grep -v -i '^fireline[= @]' | LC_ALL=C sort -f
} > constraints.txt
echo "constraints.txt: $(grep -c '==' constraints.txt) pins"
