#!/usr/bin/env bash
# Set-up, then `passgate dev`: a throwaway OpenLDAP with demo users and the
# service on http://127.0.0.1:8080. Ctrl-C stops everything.
# --keycloak: also a real Keycloak issuing the tokens (set-up fetches it).
set -euo pipefail
cd "$(dirname "$0")/.."
setup_options=()
for arg in "$@"; do
    [ "$arg" = --keycloak ] && setup_options+=(--keycloak)
done
PASSGATE_SETUP_MINIMAL=1 bash scripts/setup.sh "${setup_options[@]}"
exec .venv/bin/passgate dev "$@"
