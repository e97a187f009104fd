#!/usr/bin/env bash
# Set up, then run Fireline on the embedded default: SQLite in ./fireline.db, no Slack.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/fireline serve "$@"
