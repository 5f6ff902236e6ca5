#!/usr/bin/env bash
# Usage: [EXTRAS=dev,spark] scripts/setup.sh — create .venv (Python 3.11) and install the hub with its
# dev tools (and the extras named). Idempotent: reinstalls only when pyproject.toml or EXTRAS changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "Python 3.11 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
EXTRAS="${EXTRAS:-dev}"
stamp=.venv/.installed-$( (cat pyproject.toml; echo "$EXTRAS") | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$EXTRAS]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
