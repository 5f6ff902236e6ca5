"""The planner's statistics, refreshed after a bulk step: a load faster than autovacuum (or a server
without it) would otherwise leave plans chosen for empty tables."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text

from warehouse.db import get_engine

LINKED_TABLES = ("identity.link", "identity.child", "identity.link_history", "identity.record_features")
PUBLISHED_TABLES = ("directory.child", "directory.carer", "directory.involvement", "directory.history")
STAGED_TABLES = ("staging.source_record", "intake.file", "intake.quarantined_row", "intake.row_issue")


def analyze(tables: Iterable[str]) -> None:
    """ANALYZE the tables a step has just filled (outside a transaction, as ANALYZE of many tables needs)."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ANALYZE {', '.join(tables)}"))
