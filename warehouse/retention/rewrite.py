"""Rewriting the tables a destruction touched, so the pages (and statistics samples) that held a destroyed
child's bytes are gone, once no older snapshot can still see them."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

log = logging.getLogger(__name__)

REWRITE_LOCK_TIMEOUT = "10s"


def rewrite_tables(engine: Engine, tables: Sequence[str], *, after_xid: int | None = None,
                   wait_seconds: float = 300.0) -> bool:
    """Rewrite tables (and their TOAST and indexes) so the pages that held deleted rows are gone; refresh
    the planner's statistics, which sample column values, and rewrite the statistics catalog too when the
    hub's role may (a superuser; otherwise a DBA's job, logged).

    With ``after_xid`` (the destroying transaction), first wait until no session's snapshot is older than
    it, then mark the destruction log's entries up to it rewritten. Returns False, having rewritten
    nothing or not everything, when an older snapshot outlasts the wait or a table stays locked.
    (Sessions of other roles are visible here only to a superuser or ``pg_read_all_stats``.)"""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # The statistics sample column values (the loader's ANALYZE after each bulk step, autovacuum): drop
        # the deleted rows from them now, without waiting (ANALYZE skips deleted rows, takes no blocking lock).
        conn.execute(text(f"SET lock_timeout = '{REWRITE_LOCK_TIMEOUT}'"))
        try:
            conn.execute(text(f"ANALYZE {', '.join(tables)}"))
        except OperationalError as exc:
            log.warning("statistics refresh postponed to the rewrite: %s", exc.orig)
        if after_xid is not None and not _wait_for_older_snapshots(conn, after_xid, wait_seconds):
            # The old transaction would keep the bytes anyway, and may hold a lock the rewrite would queue
            # behind, stalling every reader of the table: leave it to the next pass.
            return False
        # A rewrite locks its table: give up rather than queue behind a long reader (and block the others).
        conn.execute(text(f"SET lock_timeout = '{REWRITE_LOCK_TIMEOUT}'"))
        try:
            for table in tables:
                conn.execute(text(f"VACUUM (FULL, ANALYZE) {table}"))
        except OperationalError as exc:
            log.warning("rewrite postponed to the next pass: %s", exc.orig)
            return False
        try:
            conn.execute(text("VACUUM FULL pg_catalog.pg_statistic"))
        except (OperationalError, ProgrammingError) as exc:  # not a superuser: the data tables are done
            log.warning("could not rewrite pg_statistic (%s): old statistics samples may keep values", exc.orig)
        if after_xid is not None:
            conn.execute(text("""UPDATE archive.destruction_log SET rewritten_at = now()
                                 WHERE rewritten_at IS NULL AND destroyed_xid <= :x"""), {"x": after_xid})
    return True


def _wait_for_older_snapshots(conn: Connection, txid: int, wait_seconds: float) -> bool:
    """Wait until no other session holds a snapshot or transaction from before ``txid``; False on timeout."""
    deadline = time.monotonic() + wait_seconds
    while True:
        older = conn.execute(text("""
            SELECT count(*) FROM pg_stat_activity
            WHERE pid <> pg_backend_pid()
              AND (age(backend_xmin) >= age(CAST(CAST(:x AS text) AS xid))
                   OR age(backend_xid) >= age(CAST(CAST(:x AS text) AS xid)))"""),
            {"x": txid % 2**32}).scalar_one()
        if not older:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)

