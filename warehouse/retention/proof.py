"""Proof of destruction: search every column that can hold text for a destroyed child's details, and find
the destruction log's entry for an ID an auditor holds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from warehouse.key_vault import KeyVault

SEARCHED_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea")


@dataclass(frozen=True)
class Hit:
    """A detail found in a column."""

    table: str
    column: str
    detail: str
    rows: int


def prove_destroyed(conn: Connection, details: Sequence[str]) -> list[Hit]:
    """Search every text, varchar, char, json, jsonb and bytea column of every table in the hub's schemas,
    and the planner's statistics samples, for each detail (case-insensitive substring); every hit found."""
    wanted = [d.strip() for d in details if d and d.strip()]
    if not wanted:
        raise ValueError("give at least one detail to look for (a name, a date of birth, a postcode, an identifier)")
    columns = conn.execute(text("""
        SELECT c.table_schema, c.table_name, c.column_name, c.data_type FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE t.table_type = 'BASE TABLE' AND c.data_type = ANY(:types)
          AND c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg_%'
        ORDER BY 1, 2, 3"""), {"types": list(SEARCHED_TYPES)}).all()
    hits = []
    # One scan per column for all details (a regular expression of them), then one query per detail only
    # where the column holds any: proving hundreds of destroyed children stays a few hundred scans.
    pattern = "|".join(re.escape(d.upper()) for d in wanted)
    for schema, table, column, data_type in columns:
        target = f'"{schema}"."{table}"'
        if data_type == "bytea":  # raw bytes: look for the detail as written, in capitals and in lower case
            match = " OR ".join(f'position(convert_to({case}(:d), \'UTF8\') IN "{column}") > 0'
                                for case in ("", "upper", "lower"))
            candidates = wanted
        else:
            match = f'strpos(upper("{column}"::text), upper(:d)) > 0'
            any_hit = conn.execute(text(f'SELECT 1 FROM {target} WHERE upper("{column}"::text) ~ :p LIMIT 1'),
                                   {"p": pattern}).first()
            candidates = wanted if any_hit else []
        for detail in candidates:
            found = conn.execute(text(f"SELECT count(*) FROM {target} WHERE {match}"), {"d": detail}).scalar_one()
            if found:
                hits.append(Hit(f"{schema}.{table}", column, detail, found))
    for detail in wanted:
        stats = conn.execute(text("""
            SELECT schemaname || '.' || tablename AS t, attname FROM pg_stats
            WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
              AND (strpos(upper(most_common_vals::text), upper(:d)) > 0
                   OR strpos(upper(histogram_bounds::text), upper(:d)) > 0)"""), {"d": detail}).all()
        hits.extend(Hit(f"{t} (statistics)", a, detail, 1) for t, a in stats)
    return hits


def destruction_logged(conn: Connection, cp_id: str, vault: KeyVault | None = None) -> dict[str, Any] | None:
    """The destruction log's entry for a ContactPoint ID an auditor holds, or None."""
    row = conn.execute(text("SELECT destroyed_on, rows_removed FROM archive.destruction_log WHERE cp_id_hash = :h"),
                       {"h": (vault or KeyVault()).id_hash(cp_id)}).one_or_none()
    return None if row is None else {"destroyed_on": row.destroyed_on, "rows_removed": row.rows_removed}

