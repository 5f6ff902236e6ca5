"""Link staged records to children in the store: a nightly delta, or a full re-link on demand.

Delta: records without a child are scored against the existing records they could match (found by
their blocking keys) and among themselves; they join an existing child, or become new children.
Full: every record is linked afresh and ContactPoint IDs carry over by maximum overlap, so a re-run on
unchanged data changes no ID. Steward decisions win in both. Every change of a record's child is
logged; a record that only possibly matches a shielded child is held out of the directory.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from matching.features import FEATURE_COLUMNS, LIST_FEATURES, features_from_copy, record_features
from matching.ids import new_cp_ids
from matching.linkage import link_frames
from matching.model import load_model
from matching.settings import BLOCKING_KEYS
from warehouse.changes import ID_SPLIT, IDS_MERGED, record_change
from warehouse.db import copy_cursor
from warehouse.spark_records import copy_link_changes
from warehouse.staging import QUEUE

LINK_LOCK = 7_204_312  # one linking run at a time, or two runs could each make a child for one record
CANONICAL = """
    SELECT s.record_id, s.given_name, s.middle_names, s.family_name, s.preferred_given_name,
           s.preferred_family_name, s.former_family_name, s.date_of_birth, s.gender, s.postcode,
           s.address_line_1, s.nhs_number, s.upn, l.cp_id
    FROM staging.source_record s LEFT JOIN identity.link l ON l.record_id = s.record_id
"""


@dataclass
class LinkSummary:
    """What a linking run did (small: it travels through XCom)."""

    run_id: str
    mode: str
    records: int = 0
    pairs_scored: int = 0
    joined_existing: int = 0
    new_children: int = 0
    records_moved: int = 0
    children_merged: int = 0
    held_children: int = 0
    review_pairs: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


def current_model(conn: Connection) -> dict[str, Any]:
    """The promoted model in the store, else the bundled one."""
    stored = conn.execute(text("""SELECT model FROM identity.model WHERE promoted_at IS NOT NULL
                                  ORDER BY promoted_at DESC LIMIT 1""")).scalar()
    return dict(stored) if stored else load_model()


def steward_constraints(conn: Connection) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Must-link and cannot-link pairs: each pair's newest decision that was not undone."""
    rows = conn.execute(text("""
        SELECT DISTINCT ON (record_a, record_b) record_a, record_b, decision FROM identity.steward_decision
        WHERE undone_at IS NULL ORDER BY record_a, record_b, decided_at DESC, decision_id DESC""")).fetchall()
    must = [(str(r.record_a), str(r.record_b)) for r in rows if r.decision == "must_link"]
    cannot = [(str(r.record_a), str(r.record_b)) for r in rows if r.decision == "cannot_link"]
    return must, cannot


KEPT_COLUMNS = ["record_id", *(c for c in FEATURE_COLUMNS if c != "unique_id")]
FEATURE_CHUNK = 20_000  # records standardised at a time: memory stays flat however many there are
# A record without a child is always waiting to be published (publish takes only linked records off the
# queue): found through the narrow queue, so a night reads its own records, not the whole store.
AWAITING_PUBLISH = "SELECT q.record_id FROM staging.publish_queue q"
MISSING_FEATURES = ("NOT EXISTS (SELECT 1 FROM identity.record_features f WHERE f.record_id = s.record_id)")


def keep_features(conn: Connection) -> int:
    """Keep the features of every record that has none (new, or changed since), under the linking lock.
    Committed before a Spark link step: its executors read them from the store, not from this transaction."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LINK_LOCK})
    return _keep_features(conn)


def _keep_features(conn: Connection, where: str = MISSING_FEATURES) -> int:
    """Compute and keep the features of the selected records (by default those with none kept: new, or
    changed since), a chunk at a time, copied in. Returns how many were computed."""
    ids = conn.execute(text(f"SELECT s.record_id FROM staging.source_record s WHERE {where} ORDER BY 1")
                       ).scalars().all()
    cursor = copy_cursor(conn)
    for start in range(0, len(ids), FEATURE_CHUNK):
        chunk = ids[start:start + FEATURE_CHUNK]
        records = conn.execute(text(f"{CANONICAL} WHERE s.record_id = ANY(:ids)"), {"ids": chunk})
        conn.execute(text("DELETE FROM identity.record_features WHERE record_id = ANY(:ids)"), {"ids": chunk})
        with cursor.copy(f"COPY identity.record_features ({', '.join(KEPT_COLUMNS)}) FROM STDIN") as copy:
            for record in records:
                features = record_features(dict(record._mapping))
                copy.write_row([int(features["unique_id"]), *(features[c] for c in KEPT_COLUMNS[1:])])
    if ids:
        conn.execute(text("ANALYZE identity.record_features"))
    return len(ids)


def _kept_features(conn: Connection, where: str) -> tuple[Any, dict[str, str]]:
    """Kept features of the selected records (``f``: features, ``l``: link) as an Arrow table, and their
    current children. The rows are copied out as CSV and parsed by Arrow a block at a time: no Python
    object per record, and nothing written to disk."""
    columns = [f"array_to_string(f.{c}, '|')" if c in LIST_FEATURES else f"f.{c}" for c in FEATURE_COLUMNS[1:]]
    query = f"""COPY (SELECT f.record_id, {", ".join(columns)}, l.cp_id FROM identity.record_features f
                      LEFT JOIN identity.link l ON l.record_id = f.record_id WHERE {where})
                TO STDOUT (FORMAT csv)"""
    with copy_cursor(conn).copy(query) as copy:
        frame = features_from_copy(copy)
    ids, cp_ids = frame.column("unique_id").to_pylist(), frame.column("cp_id").to_pylist()
    return frame.drop_columns(["cp_id"]), {r: c for r, c in zip(ids, cp_ids, strict=True) if c is not None}


# An archived child is frozen: a full re-link leaves its records and ID alone. They stay in staging only to
# recognise a late record (the delta still scores against them); re-clustering them could merge the child
# back into the directory, or move a listed child's records under an archived ID.
NOT_ARCHIVED = ("NOT EXISTS (SELECT 1 FROM identity.child c WHERE c.cp_id = l.cp_id AND c.status = 'archived')")


def _candidate_sql() -> str:
    """Linked records sharing a blocking key with a new one: the blocking rules, as index lookups."""
    unions = " UNION ".join(
        "SELECT o.record_id FROM identity.record_features o JOIN new_features n ON "
        + " AND ".join(f"o.{k} = n.{k}" for k in keys)
        for keys in BLOCKING_KEYS)
    return f"f.record_id IN ({unions}) AND l.cp_id IS NOT NULL"


def link_unlinked(conn: Connection, run_id: str, *, backend: str = "duckdb") -> LinkSummary:
    """The nightly delta: link every record that has no child yet.

    Only existing records sharing a blocking key with a new one are read (their features kept in
    ``identity.record_features``), so a night's cost follows the delta, not the directory.
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LINK_LOCK})
    summary = LinkSummary(run_id, "delta")
    _keep_features(conn)
    if backend == "spark" and conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM identity.link)")).scalar_one():
        # A first load: nothing to link against, so the delta is a full link of what arrived, all of it on Spark.
        from matching.link_spark import link_on_spark

        return link_on_spark(conn, summary, f"f.record_id IN ({AWAITING_PUBLISH})", "delta")
    new_frame, _ = _kept_features(conn, f"l.cp_id IS NULL AND f.record_id IN ({AWAITING_PUBLISH})")
    if new_frame.num_rows == 0:
        return summary
    conn.execute(text(f"""CREATE TEMP TABLE new_features ON COMMIT DROP AS
                          SELECT f.* FROM identity.record_features f WHERE f.record_id IN ({AWAITING_PUBLISH})
                            AND NOT EXISTS (SELECT 1 FROM identity.link l WHERE l.record_id = f.record_id)"""))
    conn.execute(text("ANALYZE new_features"))
    existing, children = _kept_features(conn, _candidate_sql())
    must, cannot = steward_constraints(conn)
    linkage = link_frames(new_frame, current_model(conn), existing=existing if existing.num_rows else None,
                          children=children, must_link=must, cannot_link=cannot, backend=backend)
    summary.records, summary.pairs_scored = len(new_frame), linkage.pairs_scored
    new_ids = set(new_frame.column("unique_id").to_pylist())
    assignments: dict[str, str] = {}
    fresh_groups: list[list[str]] = []
    for members in linkage.clustering.groups().values():
        owners = {children[m] for m in members if m in children}
        joining = [m for m in members if m in new_ids]
        if not joining:
            continue
        if owners:
            owner = owners.pop()  # the clustering never lets a delta group hold two children
            assignments.update({m: owner for m in joining})
            summary.joined_existing += len(joining)
        else:
            fresh_groups.append(joining)
    for cp_id, members in zip(_new_children(conn, len(fresh_groups)), fresh_groups, strict=True):
        assignments.update({m: cp_id for m in members})
    summary.new_children = len(fresh_groups)
    _write_links(conn, assignments, {}, "delta", run_id)
    summary.review_pairs = queue_reviews(conn, linkage.review, run_id)
    summary.held_children = hold_possible_shielded(conn, linkage.review)
    return summary


def relink_all(conn: Connection, run_id: str, *, backend: str = "duckdb") -> LinkSummary:
    """Link every record afresh; IDs carry over by maximum overlap, retired IDs point to their successor."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LINK_LOCK})
    summary = LinkSummary(run_id, "full")
    _keep_features(conn)
    if backend == "spark":
        from matching.link_spark import link_on_spark

        return link_on_spark(conn, summary, NOT_ARCHIVED, "full")
    frame, before = _kept_features(conn, NOT_ARCHIVED)
    if frame.num_rows == 0:
        return summary
    must, cannot = steward_constraints(conn)
    linkage = link_frames(frame, current_model(conn), must_link=must, cannot_link=cannot, backend=backend)
    summary.records, summary.pairs_scored = len(frame), linkage.pairs_scored
    groups = list(linkage.clustering.groups().values())
    carried = carry_over(groups, before)
    fresh = [i for i, cp_id in enumerate(carried) if cp_id is None]
    for i, cp_id in zip(fresh, _new_children(conn, len(fresh)), strict=True):
        carried[i] = cp_id
    assignments = {m: str(carried[i]) for i, members in enumerate(groups) for m in members}
    summary.new_children = len(fresh)
    summary.records_moved = _write_links(conn, assignments, before, "full", run_id)
    summary.children_merged = _retire_children(conn, before, assignments)
    _signal_splits(conn, [groups[i] for i in fresh], [str(carried[i]) for i in fresh], before)
    summary.review_pairs = queue_reviews(conn, linkage.review, run_id)
    summary.held_children = hold_possible_shielded(conn, linkage.review)
    return summary


def carry_over(groups: list[list[str]], before: dict[str, str]) -> list[str | None]:
    """Each group's ContactPoint ID: the old ID holding most of its records, each old ID used once."""
    overlaps = [(min(int(m) for m in members), cp_id, count, len(members))
                for members in groups for cp_id, count in Counter(before[m] for m in members if m in before).items()]
    chosen = carry_over_overlaps(overlaps)
    return [chosen.get(min(int(m) for m in members)) if members else None for members in groups]


def carry_over_overlaps(overlaps: Iterable[tuple[int, str, int, int]]) -> dict[int, str]:
    """(group, old ID, records of the group it holds, group size) → the old ID each group keeps.

    Greedy, most shared records first; ties go to the larger group, then the group with the smaller
    record id, then the smaller ID: the same answer on every run and on either backend.
    """
    chosen: dict[int, str] = {}
    taken: set[str] = set()
    for _, _, group, cp_id in sorted((-count, -size, group, cp_id) for group, cp_id, count, size in overlaps):
        if group not in chosen and cp_id not in taken:
            chosen[group] = cp_id
            taken.add(cp_id)
    return chosen


def _new_children(conn: Connection, count: int) -> list[str]:
    return new_cp_ids(conn, count)


def _write_links(conn: Connection, assignments: dict[str, str], before: dict[str, str], method: str,
                 run_id: str) -> int:
    """Record each changed assignment (link and its history) in a few set-based statements: a first load
    writes every record, and one statement per record would cost more than the linking itself."""
    changed = [(int(r), cp_id, before.get(r)) for r, cp_id in assignments.items() if before.get(r) != cp_id]
    if not changed:
        return 0
    copy_link_changes(conn, changed)
    return apply_link_changes(conn, method, run_id)


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


def _retire_children(conn: Connection, before: dict[str, str], after: dict[str, str]) -> int:
    """Old IDs left without records are merged into the ID that took most of them, never reused."""
    successors: dict[str, Counter[str]] = {}
    for record, old in before.items():
        successors.setdefault(old, Counter())[after[record]] += 1
    kept = set(after.values())
    return retire(conn, [(old, successor(counts)) for old, counts in successors.items() if old not in kept])


def successor(counts: Counter[str]) -> str:
    """The ID that took most of a retired ID's records (ties: the smaller ID, the same on every run)."""
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def retire(conn: Connection, retired: list[tuple[str, str]]) -> int:
    """Mark each (old, new) old ID merged into new; the directory drops the old; one change event each."""
    if retired:
        conn.execute(text("UPDATE identity.child SET status = 'merged', superseded_by = :new WHERE cp_id = :old"),
                     [{"old": old, "new": new} for old, new in retired])
        conn.execute(text("DELETE FROM directory.child WHERE cp_id = ANY(:old)"), {"old": [o for o, _ in retired]})
        for old, new in sorted(retired):
            record_change(conn, IDS_MERGED, new, old)
    return len(retired)


def _signal_splits(conn: Connection, groups: list[list[str]], cp_ids: list[str], before: dict[str, str]) -> None:
    """A new ID given to records that had a child before was split off that child: one event per pair."""
    signal_splits(conn, {(before[m], cp_id) for members, cp_id in zip(groups, cp_ids, strict=True)
                         for m in members if m in before})


def signal_splits(conn: Connection, splits: set[tuple[str, str]]) -> None:
    """One change event per (old child, new child split off it)."""
    for old, new in sorted(splits):
        record_change(conn, ID_SPLIT, old, new)


def queue_reviews(conn: Connection, review: list[dict[str, Any]], run_id: str) -> int:
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
