#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, lint, format, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff check";          ruff check src tests
echo "== ruff format --check"; ruff format --check src tests
echo "== mypy --strict src";   mypy --strict src
echo "== pytest";              python -m pytest "$@"
