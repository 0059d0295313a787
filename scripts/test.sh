#!/usr/bin/env bash
# The whole test suite: lint, types, then unit, integration (SQLite and a real PostgreSQL that
# the suite starts itself) and end-to-end tests. Installs missing system services first.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

scripts/ensure-services.sh

echo "== ruff"
$BIN/ruff check src tests bench
$BIN/ruff format --check src tests bench
echo "== lint-imports (the layer contract in .importlinter)"
$BIN/lint-imports
echo "== mypy --strict (all of src/suanli)"
$BIN/mypy
echo "== pytest: unit, integration on sqlite + postgresql, e2e"
# The services installed above must be used, not skipped.
export SUANLI_REQUIRE_REAL_SERVICES=1
$BIN/python -m pytest -p no:cacheprovider "$@"
