#!/usr/bin/env bash
# Usage: scripts/test.sh [pytest args] — set up everything the tests need on a fresh machine (system packages
# when missing, the venv, PostgreSQL, axe-core), lint, type-check, then run the whole test suite against a
# real PostgreSQL (the machine's, or the embedded one when none answers).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# System packages: Python 3.11, sshd for the SFTP tests, the PostgreSQL client, Debian's chromium for the
# browser tests, npm for axe-core, and PostgreSQL's JDBC driver for the Spark link step's tests. Installed only when missing (apt as root, or through sudo).
need=()
command -v python3.11 >/dev/null || need+=(python3.11 python3.11-venv)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v pg_isready >/dev/null || need+=(postgresql-client)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v npm >/dev/null || need+=(npm)
[ -f /usr/share/java/postgresql.jar ] || need+=(libpostgresql-jdbc-java)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); elif command -v sudo >/dev/null; then apt=(sudo -E apt-get); else
        echo "scripts/test.sh: missing ${need[*]}; install them (apt-get install ${need[*]}) and run again" >&2
        exit 2
    fi
    "${apt[@]}" update -qq
    "${apt[@]}" install -y -qq "${need[@]}" >/dev/null
fi

# The tests also run the linker on Spark (Splink's other backend), so they need pyspark.
EXTRAS=dev,spark scripts/setup.sh
scripts/ensure-postgres.sh
# axe-core for the browser tests' accessibility checks (never `playwright install`: Debian's chromium is used).
[ -f .cache/axe/node_modules/axe-core/axe.min.js ] || npm install --silent --prefix .cache/axe axe-core
.venv/bin/ruff check .
.venv/bin/mypy .
exec .venv/bin/pytest -n 2 "$@"
