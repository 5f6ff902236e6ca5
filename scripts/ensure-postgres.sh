#!/usr/bin/env bash
# Usage: scripts/ensure-postgres.sh — make sure the machine's PostgreSQL answers on 127.0.0.1:5432.
# Starts an installed cluster that is down; prints a note (and succeeds) when none is installed, since
# the tests then fall back to the embedded server.
set -uo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    for version in $(ls /etc/postgresql); do
        pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
        sleep 1
    done
fi
echo "no PostgreSQL on 127.0.0.1:5432: tests will use the embedded server" >&2
exit 0
