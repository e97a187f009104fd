#!/usr/bin/env bash
# Lint, format, types and the import contracts (actions/ and storage/ never import bot/).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy bot storage actions tests bench
.venv/bin/lint-imports
