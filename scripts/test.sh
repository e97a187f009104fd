#!/usr/bin/env bash
# Set up, then run the test suite. PostgreSQL tests use 127.0.0.1:5432 (user postgres,
# database test) and skip with a reason when it is not there, except under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/pytest "$@"
