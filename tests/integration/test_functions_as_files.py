"""The store's functions are the ones ``warehouse/sql/`` states (issue 16, migration 0022).

Every function of the hub's schemas is defined in a file there, and applying every file to a store at head
changes no function's definition or grants: a migration that changed a function without its file, or a file
no migration applied, fails here. The migration 0022 steps down and back up without changing a function.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, text

from warehouse.db import database_url, get_engine, transaction
from warehouse.migrate import alembic_config

pytestmark = pytest.mark.postgres

SQL = Path(__file__).resolve().parents[2] / "warehouse" / "sql"
HUB_SCHEMAS = ("intake", "staging", "identity", "directory", "archive", "audit", "access", "console")
FUNCTIONS = text("""
    SELECT p.oid::regprocedure::text, pg_get_userbyid(p.proowner), p.proacl::text, pg_get_functiondef(p.oid)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY (:schemas)
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    ORDER BY 1""")


def functions(conn: Connection) -> dict[str, tuple[str, str, str]]:
    """Each hub function (no extension's): its owner, grants and definition."""
    rows = conn.execute(FUNCTIONS, {"schemas": list(HUB_SCHEMAS)}).tuples().all()
    return {signature: (owner, acl, definition) for signature, owner, acl, definition in rows}


def test_every_function_of_the_store_is_defined_in_a_file(store: Path) -> None:
    stated = {match.lower() for path in SQL.rglob("*.sql")
              for match in re.findall(r"CREATE OR REPLACE FUNCTION ([a-z_]+\.[a-z_0-9]+)\(", path.read_text())}
    with transaction() as conn:
        names = {signature.split("(")[0] for signature in functions(conn)}
    assert len(names) > 100
    assert names - stated == set()


def test_applying_every_file_changes_no_function(store: Path) -> None:
    with get_engine().connect() as conn:  # rolled back: the files are applied only to compare
        before = functions(conn)
        for path in sorted(SQL.rglob("*.sql")):
            conn.execute(text(path.read_text()))
        after = functions(conn)
        conn.rollback()
    changed = {f for f in before.keys() | after.keys() if before.get(f) != after.get(f)}
    assert changed == set()


def test_the_migration_steps_down_and_up_without_changing_a_function(store: Path) -> None:
    config = alembic_config(database_url())
    with transaction() as conn:
        at_head = functions(conn)
    command.downgrade(config, "0021")
    try:
        with transaction() as conn:
            at_0021 = functions(conn)
    finally:
        command.upgrade(config, "head")
    with transaction() as conn:
        assert functions(conn) == at_0021 == at_head
