"""Children and their records as the store keeps them (``identity``): links, children's status, review pairs
and steward decisions, written the way the linker and the stewards' wrappers need.

``matching.link`` decides who is who (pure clustering and carry-over) and calls these to read its inputs and
write its answer; ``matching.stewardship`` checks a decision and records it here. The steward actions
themselves are definer functions (``warehouse.steward_actions``), the kept features
``warehouse.record_features``, the model versions ``warehouse.model_versions``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from warehouse.changes import ID_SPLIT, IDS_MERGED, record_change
from warehouse.db import copy_cursor
from warehouse.publish import unpublish_merged
from warehouse.staging import QUEUE

LINK_LOCK = 7_204_312  # one linking run at a time, or two runs could each make a child for one record


def lock_linking(conn: Connection) -> None:
    """Wait for any other linking run, then hold the linking lock until this transaction ends."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LINK_LOCK})


def nothing_linked(conn: Connection) -> bool:
    """True before the first link: no record has a child yet."""
    return bool(conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM identity.link)")).scalar_one())


def new_cp_ids(conn: Connection, count: int) -> list[str]:
    """Mint ``count`` new children with random ContactPoint IDs (``identity.new_children``); returns their IDs."""
    if count <= 0:
        return []
    return [str(c) for c in conn.execute(text("SELECT identity.new_children(:n)"), {"n": count}).scalars()]


def steward_constraints(conn: Connection) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Must-link and cannot-link pairs: each pair's newest decision that was not undone."""
    rows = conn.execute(text("""
        SELECT DISTINCT ON (record_a, record_b) record_a, record_b, decision FROM identity.steward_decision
        WHERE undone_at IS NULL ORDER BY record_a, record_b, decided_at DESC, decision_id DESC""")).fetchall()
    must = [(str(r.record_a), str(r.record_b)) for r in rows if r.decision == "must_link"]
    cannot = [(str(r.record_a), str(r.record_b)) for r in rows if r.decision == "cannot_link"]
    return must, cannot


# --- links: a run's changes go through the temporary link_change table, a few set-based statements -------

def copy_link_changes(conn: Connection, rows: Iterable[tuple[int, str, str | None]]) -> int:
    """Copy (record, new child, old child) rows into the temporary ``link_change`` table; returns how many."""
    conn.execute(text("""CREATE TEMP TABLE link_change (record_id bigint, cp_id text, old_cp_id text)
                         ON COMMIT DROP"""))
    count = 0
    with copy_cursor(conn).copy("COPY link_change (record_id, cp_id, old_cp_id) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    conn.execute(text("ANALYZE link_change"))
    return count


def apply_link_changes(conn: Connection, method: str, run_id: str) -> int:
    """Apply the rows of the temporary ``link_change`` table; returns how many records moved child."""
    params = {"m": method, "run": run_id}
    conn.execute(text("""
        INSERT INTO identity.link (record_id, cp_id, method, run_id)
        SELECT record_id, cp_id, :m, :run FROM link_change
        ON CONFLICT (record_id) DO UPDATE SET cp_id = excluded.cp_id, method = excluded.method,
            run_id = excluded.run_id, linked_at = now()"""), params)
    conn.execute(text("""INSERT INTO identity.link_history (record_id, old_cp_id, new_cp_id, method, run_id)
                         SELECT record_id, old_cp_id, cp_id, :m, :run FROM link_change ORDER BY record_id"""),
                 params)
    # The directory recomputes every child whose records moved, the old owner as well as the new.
    conn.execute(text(QUEUE.format("""
        SELECT l.record_id FROM identity.link l WHERE l.cp_id IN (
            SELECT cp_id FROM link_change UNION SELECT old_cp_id FROM link_change WHERE old_cp_id IS NOT NULL)""")))
    moved = conn.execute(text("SELECT count(*) FROM link_change WHERE old_cp_id IS NOT NULL")).scalar_one()
    conn.execute(text("DROP TABLE link_change"))
    return int(moved)


def retire(conn: Connection, retired: list[tuple[str, str]]) -> int:
    """Mark each (old, new) old ID merged into new; the directory drops the old; one change event each."""
    if retired:
        conn.execute(text("UPDATE identity.child SET status = 'merged', superseded_by = :new WHERE cp_id = :old"),
                     [{"old": old, "new": new} for old, new in retired])
        unpublish_merged(conn, [o for o, _ in retired])
        for old, new in sorted(retired):
            record_change(conn, IDS_MERGED, new, old)
    return len(retired)


def signal_splits(conn: Connection, splits: set[tuple[str, str]]) -> None:
    """One change event per (old child, new child split off it)."""
    for old, new in sorted(splits):
        record_change(conn, ID_SPLIT, old, new)


# --- what the linker leaves for stewards -----------------------------------------------------------------

def queue_reviews(conn: Connection, review: list[dict[str, Any]], run_id: str) -> int:
    """Open (or refresh) a review pair for each pair the linker could not decide; returns how many."""
    # A pair whose records now belong to one child is no longer a question for a steward.
    conn.execute(text("""
        DELETE FROM identity.review_pair p USING identity.link a, identity.link b
        WHERE p.status = 'open' AND a.record_id = p.record_a AND b.record_id = p.record_b AND a.cp_id = b.cp_id"""))
    rows = [{"a": min(int(p["record_a"]), int(p["record_b"])), "b": max(int(p["record_a"]), int(p["record_b"])),
             "w": p["match_weight"], "reason": p["reason"], "x": json.dumps(p["explanation"]), "run": run_id}
            for p in review]
    if rows:
        conn.execute(text("""
            INSERT INTO identity.review_pair (record_a, record_b, match_weight, reason, explanation, run_id)
            VALUES (:a, :b, :w, :reason, CAST(:x AS jsonb), :run)
            ON CONFLICT (record_a, record_b) DO UPDATE SET match_weight = excluded.match_weight,
                reason = excluded.reason, explanation = excluded.explanation
            WHERE identity.review_pair.status = 'open'"""), rows)
    return len(rows)


def hold_possible_shielded(conn: Connection, review: list[dict[str, Any]]) -> int:
    """A child that might be a shielded child (an open review pair between them) stays out of the
    directory until a steward decides: no unshielded duplicate of a shielded child is ever published."""
    pairs = [(int(p["record_a"]), int(p["record_b"])) for p in review]
    if not pairs:
        return 0
    records = sorted({r for pair in pairs for r in pair})
    rows = conn.execute(text("""
        SELECT l.record_id, l.cp_id, EXISTS (
            SELECT 1 FROM identity.link k JOIN staging.source_record r ON r.record_id = k.record_id
            WHERE k.cp_id = l.cp_id AND r.restricted) AS shielded
        FROM identity.link l WHERE l.record_id = ANY(:records)"""), {"records": records}).fetchall()
    child = {r.record_id: r.cp_id for r in rows}
    shielded = {r.record_id for r in rows if r.shielded}
    held = sorted({child[other] for a, b in pairs for one, other in ((a, b), (b, a))
                   if one in shielded and other in child and other not in shielded})
    if not held:
        return 0
    return conn.execute(text("UPDATE identity.child SET status = 'held' WHERE status = 'active' AND cp_id = ANY(:c)"),
                        {"c": held}).rowcount


# --- steward decisions (the wrappers in matching.stewardship check them first) ----------------------------

def record_decision(conn: Connection, record_a: int, record_b: int, decision: str, *, steward: str, reason: str,
                    action_id: int | None = None) -> int:
    """Store a decision about two records (``record_a`` < ``record_b``) and close the review pair it answers,
    if any; returns the decision's id."""
    decision_id = int(conn.execute(text("""
        INSERT INTO identity.steward_decision (record_a, record_b, decision, steward, reason, action_id)
        VALUES (:a, :b, :d, :s, :r, :action) RETURNING decision_id"""),
        {"a": record_a, "b": record_b, "d": decision, "s": steward, "r": reason, "action": action_id}).scalar_one())
    conn.execute(text("UPDATE identity.review_pair SET status = 'decided' WHERE record_a = :a AND record_b = :b"),
                 {"a": record_a, "b": record_b})
    return decision_id


def undo_decision(conn: Connection, decision_id: int) -> None:
    """Withdraw one decision; the linker decides that pair again on its next run."""
    conn.execute(text("UPDATE identity.steward_decision SET undone_at = now() WHERE decision_id = :d"),
                 {"d": decision_id})


def child_ages(conn: Connection, cp_ids: Iterable[str]) -> dict[str, int]:
    """Each existing child's ``seq`` (smaller: made earlier); IDs carry no sequence (``matching.ids``)."""
    return {str(r.cp_id): int(r.seq) for r in conn.execute(
        text("SELECT cp_id, seq FROM identity.child WHERE cp_id = ANY(:ids)"), {"ids": list(cp_ids)})}
