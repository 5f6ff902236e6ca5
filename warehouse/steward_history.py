"""What stewards read about children and pairs: shielding, source records, a pair's detail, a child's history.

Held means shielded (issue 13): ``SHIELDED_CHILD_SQL`` is the one definition the pages use, the same as
the database's ``identity.shielded_child`` (migration 0011), which the steward actions check.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from warehouse.console_reads import value as _read

SHIELDED_ONLY = "this concerns a shielded child: it needs a steward entitled to see shielded children"

SHIELDED_CHILD_SQL = """(
    {c}.status = 'held'
    OR EXISTS (SELECT 1 FROM identity.link sl JOIN staging.source_record sr ON sr.record_id = sl.record_id
               WHERE sl.cp_id = {c}.cp_id AND sr.restricted)
    OR EXISTS (SELECT 1 FROM identity.child sk
               WHERE sk.cp_id = {c}.superseded_by AND (sk.status = 'held' OR EXISTS (
                   SELECT 1 FROM identity.link sl JOIN staging.source_record sr ON sr.record_id = sl.record_id
                   WHERE sl.cp_id = sk.cp_id AND sr.restricted))))"""
"""Whether the child ``{c}`` (an ``identity.child`` alias) is shielded for stewards: any of its records is
restricted, or it is *held* (it might be a shielded child: the linker holds it until a steward answers,
so a held child is treated exactly as a shielded one), or it was merged into such a child."""


def shielded_ids(conn: Connection, cp_ids: list[str]) -> set[str]:
    """Those of ``cp_ids`` that are shielded or held (``SHIELDED_CHILD_SQL``)."""
    if not cp_ids:
        return set()
    return {str(c) for c in conn.execute(text(f"""
        SELECT c.cp_id FROM identity.child c WHERE c.cp_id = ANY(:c) AND {SHIELDED_CHILD_SQL.format(c="c")}"""),
        {"c": sorted(set(cp_ids))}).scalars()}



def records_of(conn: Connection, cp_id: str) -> list[int]:
    """The records linked to a child, in record order."""
    return [int(r) for r in conn.execute(text(
        "SELECT record_id FROM identity.link WHERE cp_id = :c ORDER BY record_id"), {"c": cp_id}).scalars()]



RECORD_FIELDS = ("given_name", "middle_names", "family_name", "preferred_given_name", "preferred_family_name",
                 "former_family_name", "date_of_birth", "gender", "address_line_1", "address_line_2",
                 "address_line_3", "address_line_4", "address_line_5", "postcode", "nhs_number", "upn", "uln")
MASKED_ID = "a shielded child"
"""What a steward not entitled to shielded children sees in place of a shielded or held child's ID."""

# The reads below are the database's (``warehouse/sql/functions/12_console_children.sql``, migration 0017):
# with ``session`` (the console) the session's steward and entitlement are checked there; without it (the
# hub's own tools, as the store's owner) the statement is called directly with the entitlement given.


def _dated(value: dict[str, Any], *keys: str) -> dict[str, Any]:
    """JSON's ISO strings back to the dates and times the pages format."""
    out = dict(value)
    for key in keys:
        if isinstance(out.get(key), str):
            out[key] = (date.fromisoformat(out[key]) if key == "date_of_birth"
                        else datetime.fromisoformat(out[key]))
    return out


def _records(value: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    return {int(k): _dated(v, "date_of_birth", "extract_time") for k, v in (value or {}).items()}


def source_records(conn: Connection, record_ids: list[int], *, session: str | None = None,
                   may_see_shielded: bool = True) -> dict[int, dict[str, Any]]:
    """Source records with feed, sender, child, shielding and standardised values (``record_features``).

    ``shielded``: the record is restricted, or its child is shielded or held. A shielded record, for a
    steward not entitled to shielded children, is its id and ``shielded`` only."""
    return _records(_read(conn, session, "source_records(:session, :ids)", "source_records_of(:ids, :all)",
                          {"ids": record_ids, "all": may_see_shielded}))


def pair_detail(conn: Connection, pair_id: int, *, session: str | None = None,
                may_see_shielded: bool = True) -> dict[str, Any] | None:
    """A review pair with its two records, the model's explanation, and each child's other records.

    A pair touching a shielded or held child, for a steward not entitled to it: its number, its records'
    ids and ``shielded`` only."""
    pair = _read(conn, session, "pair_detail(:session, :p)", "pair_detail_of(:p, :all)",
                 {"p": pair_id, "all": may_see_shielded})
    if pair is None:
        return None
    return {**_dated(pair, "created_at"), "records": _records(pair["records"]),
            "siblings": {int(k): [_dated(r, "date_of_birth", "extract_time") for r in v]
                         for k, v in (pair.get("siblings") or {}).items()},
            "actions": [_dated(a, "decided_at", "undone_at") for a in pair.get("actions") or []]}


def identity_history(conn: Connection, cp_id: str, *, may_see_shielded: bool = True,
                     session: str | None = None) -> dict[str, Any] | None:
    """One child: status, its records by feed, and every change of its records and who made it.

    ``shielded``: the child is shielded or held, or one of its records is restricted. For a steward not
    entitled to shielded children (``may_see_shielded=False``, or the session's steward) a shielded child
    is its ID and ``shielded`` only, and in another child's history every shielded or held child's ID reads
    ``MASKED_ID`` and an action touching one keeps no reason (free text may say where she is).
    """
    child = _read(conn, session, "identity_history(:session, :c)", "identity_history_of(:c, :all)",
                  {"c": cp_id, "all": may_see_shielded})
    if child is None:
        return None
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(_records(child.pop("records", None)).values(), key=lambda r: (r["feed"], r["record_id"])):
        by_feed.setdefault(record["feed"], []).append(record)
    return {**_dated(child, "created_at"), "by_feed": by_feed,
            "history": [_dated(h, "changed_at", "undone_at") for h in child.get("history") or []],
            "actions": [_dated(a, "decided_at", "undone_at") for a in child.get("actions") or []],
            "merged_in": list(child.get("merged_in") or [])}


def action_cp_ids(conn: Connection, action_id: int, *, session: str | None = None) -> list[str]:
    """The ContactPoint IDs an action named (empty for an unknown action)."""
    return [str(c) for c in _read(conn, session, "action_cp_ids(:session, :a)", "action_cp_ids_of(:a)",
                                  {"a": action_id}) or []]
