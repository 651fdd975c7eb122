#!/usr/bin/env bash
# Set-up, then `passgate dev`: a throwaway OpenLDAP with demo users and the
# service on http://127.0.0.1:8080. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PASSGATE_SETUP_MINIMAL=1 bash scripts/setup.sh
exec .venv/bin/passgate dev "$@"
