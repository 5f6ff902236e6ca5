#!/usr/bin/env bash
# Usage: scripts/demo.sh [contactpoint demo options] — set up, then run the demo on the embedded store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/contactpoint demo "$@"
