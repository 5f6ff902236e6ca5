"""The door: rows about children already gone (archived, or past every leave date) do not come back in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from warehouse.retention.rules import OUT_OF_SCOPE_AGE, add_years, own_age_limit

# The identifiers are compared in the columns' own fixed-width types: compared as text, the column would
# be cast and its (nhs_number, date_of_birth) and (upn, date_of_birth) indexes never used, so each row
# would scan every record born the same day (a cost that grows with the store).
DOOR_SQL = text("""
    SELECT k.key, bool_or(c.status = 'archived') AS archived, bool_or(c.status <> 'archived') AS held
    FROM unnest(CAST(:keys AS text[]), CAST(:nhs AS char(10)[]), CAST(:upn AS char(13)[]), CAST(:dob AS date[]))
         AS k(key, nhs, upn, dob)
    JOIN LATERAL (
        SELECT s.record_id FROM staging.source_record s WHERE s.feed = :feed AND s.source_key = k.key
        UNION SELECT s.record_id FROM staging.source_record s WHERE s.nhs_number = k.nhs AND s.date_of_birth = k.dob
        UNION SELECT s.record_id FROM staging.source_record s WHERE s.upn = k.upn AND s.date_of_birth = k.dob
    ) same ON true
    JOIN identity.link l ON l.record_id = same.record_id JOIN identity.child c ON c.cp_id = l.cp_id
    GROUP BY k.key""")


ANY_ARCHIVED = text("SELECT EXISTS (SELECT 1 FROM identity.child WHERE status = 'archived')")


def door_params(feed: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The door query's parameters for ``rows`` (dicts with source_key, nhs_number, upn, date_of_birth)."""
    return {"feed": feed, "keys": [r["source_key"] for r in rows], "nhs": [r["nhs_number"] for r in rows],
            "upn": [r["upn"] for r in rows], "dob": [r["date_of_birth"] for r in rows]}


def out_of_scope_keys(conn: Connection, feed: str, rows: Sequence[dict[str, Any]], as_of: date) -> set[str]:
    """Source keys of ``rows`` (dicts with source_key, date_of_birth, nhs_number, upn and the consent flags)
    that must not come back: a record of an archived child (the same source record, or the same NHS number
    or UPN with the same date of birth), or a person past every leave date: 25 or over, or past the age
    limit the row's own consent allows unless it is a record of a child the directory still holds (an
    18-year-old's school row while Connexions consent keeps the child to 19)."""
    too_old = add_years(as_of, -OUT_OF_SCOPE_AGE)
    out = {r["source_key"] for r in rows if r["date_of_birth"] is not None and r["date_of_birth"] <= too_old}
    rest = [r for r in rows if r["source_key"] not in out]
    if not rest:
        return out
    past_own_limit = {r["source_key"] for r in rest if r["date_of_birth"] is not None
                      and r["date_of_birth"] <= add_years(as_of, -own_age_limit(r))}
    if not conn.execute(ANY_ARCHIVED).scalar():
        # Nothing archived: only a row past its own limit needs the store (is its child still held?).
        rest = [r for r in rest if r["source_key"] in past_own_limit]
        if not rest:
            return out
    matches = conn.execute(DOOR_SQL, door_params(feed, rest)).all()
    archived = {m.key for m in matches if m.archived}
    held = {m.key for m in matches if m.held}
    return out | archived | (past_own_limit - held)

