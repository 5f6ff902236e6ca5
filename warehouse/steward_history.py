"""What stewards read about children and pairs: shielding, source records, a pair's detail, a child's history.

Held means shielded (issue 13): ``SHIELDED_CHILD_SQL`` is the one definition the pages use, the same as
the database's ``identity.shielded_child`` (migration 0011), which the steward actions check.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

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


def source_records(conn: Connection, record_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Source records with feed, sender, child, shielding and standardised values (``record_features``).

    ``shielded``: the record is restricted, or its child is shielded or held (``SHIELDED_CHILD_SQL``)."""
    rows = conn.execute(text(f"""
        SELECT s.record_id, s.feed, s.sender, s.restricted, s.extract_time, l.cp_id,
               {", ".join(f"s.{c}" for c in RECORD_FIELDS)}, to_jsonb(f) - 'record_id' AS features,
               (s.restricted OR coalesce({SHIELDED_CHILD_SQL.format(c="c")}, false)) AS shielded
        FROM staging.source_record s LEFT JOIN identity.link l ON l.record_id = s.record_id
        LEFT JOIN identity.child c ON c.cp_id = l.cp_id
        LEFT JOIN identity.record_features f ON f.record_id = s.record_id
        WHERE s.record_id = ANY(:ids)"""), {"ids": record_ids}).mappings()
    return {int(r["record_id"]): dict(r) for r in rows}


def pair_detail(conn: Connection, pair_id: int) -> dict[str, Any] | None:
    """A review pair with its two records, the model's explanation, and each child's other records."""
    pair = conn.execute(text("""SELECT pair_id, record_a, record_b, match_weight, reason, explanation, status,
                                       run_id, created_at
                                FROM identity.review_pair WHERE pair_id = :p"""), {"p": pair_id}).mappings().first()
    if pair is None:
        return None
    records = source_records(conn, [int(pair["record_a"]), int(pair["record_b"])])
    siblings: dict[int, list[dict[str, Any]]] = {}
    for record_id in (int(pair["record_a"]), int(pair["record_b"])):
        cp_id = records[record_id]["cp_id"]
        others = [r for r in records_of(conn, cp_id) if r != record_id] if cp_id else []
        siblings[record_id] = list(source_records(conn, others).values())
    actions = conn.execute(text("""SELECT action_id, kind, steward, decided_at, undone_at FROM identity.steward_action
                                   WHERE pair_id = :p ORDER BY action_id"""), {"p": pair_id}).mappings().all()
    return {**dict(pair), "records": records, "siblings": siblings, "actions": [dict(a) for a in actions]}



MASKED_ID = "a shielded child"
"""What a steward not entitled to shielded children sees in place of a shielded or held child's ID."""


def identity_history(conn: Connection, cp_id: str, *, may_see_shielded: bool = True) -> dict[str, Any] | None:
    """One child: status, its records by feed, and every change of its records and who made it.

    ``shielded``: the child is shielded or held (``SHIELDED_CHILD_SQL``). For a steward not entitled to
    shielded children (``may_see_shielded=False``) every other shielded or held child's ID in the history
    reads ``MASKED_ID``, and an action touching one keeps no reason (free text may say where she is).
    """
    child = conn.execute(text("SELECT cp_id, status, superseded_by, created_at FROM identity.child "
                              "WHERE cp_id = :c"), {"c": cp_id}).mappings().first()
    if child is None:
        return None
    records = source_records(conn, records_of(conn, cp_id))
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records.values(), key=lambda r: (r["feed"], r["record_id"])):
        by_feed.setdefault(record["feed"], []).append(record)
    history = [dict(r) for r in conn.execute(text("""
        SELECT h.change_id, h.changed_at, h.record_id, h.old_cp_id, h.new_cp_id, h.method, h.run_id,
               a.action_id, a.kind, a.steward, a.undone_at
        FROM identity.link_history h
        LEFT JOIN identity.steward_action a ON h.run_id = 'steward:' || a.action_id
        WHERE h.old_cp_id = :c OR h.new_cp_id = :c ORDER BY h.change_id"""), {"c": cp_id}).mappings()]
    actions = [dict(r) for r in conn.execute(text("""
        SELECT action_id, kind, steward, reason, decided_at, undone_at, undoes, pair_id, cp_ids
        FROM identity.steward_action WHERE :c = ANY(cp_ids) ORDER BY action_id"""), {"c": cp_id}).mappings()]
    merged_in = [str(c) for c in conn.execute(text(
        "SELECT cp_id FROM identity.child WHERE superseded_by = :c ORDER BY cp_id"), {"c": cp_id}).scalars()]
    named = {cp_id, *merged_in, *(c for h in history for c in (h["old_cp_id"], h["new_cp_id"]) if c),
             *(c for a in actions for c in a["cp_ids"] or [])}
    if child["superseded_by"]:
        named.add(str(child["superseded_by"]))
    hidden = shielded_ids(conn, sorted(named))
    shielded = cp_id in hidden or any(r["restricted"] for r in records.values())
    if not may_see_shielded:
        def mask(value: str | None) -> str | None:
            return MASKED_ID if value in hidden else value
        history = [{**h, "old_cp_id": mask(h["old_cp_id"]), "new_cp_id": mask(h["new_cp_id"])} for h in history]
        actions = [{**a, "cp_ids": [mask(c) for c in a["cp_ids"] or []],
                    "reason": None if hidden & set(a["cp_ids"] or []) else a["reason"]} for a in actions]
        merged_in = [m for m in merged_in if m not in hidden]
    return {**dict(child), "by_feed": by_feed, "history": history, "actions": actions, "merged_in": merged_in,
            "shielded": shielded}


def action_cp_ids(conn: Connection, action_id: int) -> list[str]:
    """The ContactPoint IDs an action named (empty for an unknown action)."""
    ids = conn.execute(text("SELECT cp_ids FROM identity.steward_action WHERE action_id = :a"),
                       {"a": action_id}).scalar()
    return [str(c) for c in ids or []]
