#!/usr/bin/env bash
# Usage: scripts/test.sh [pytest args] — set up, lint, type-check, then run the whole test suite
# against a real PostgreSQL (the machine's, or the embedded one when none answers).
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also run the linker on Spark (Splink's other backend), so they need pyspark.
EXTRAS=dev,spark scripts/setup.sh
scripts/ensure-postgres.sh
# axe-core for the browser tests' accessibility checks (never `playwright install`: Debian's chromium is used).
[ -f .cache/axe/node_modules/axe-core/axe.min.js ] || npm install --silent --prefix .cache/axe axe-core
.venv/bin/ruff check .
.venv/bin/mypy .
exec .venv/bin/pytest -n 2 "$@"
