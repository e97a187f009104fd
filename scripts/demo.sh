#!/usr/bin/env bash
# Set up, then watch an alert become a remediated, resolved incident (SQLite, no Slack).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/fireline demo "$@"
