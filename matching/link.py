"""Link staged records to children in the store: a nightly delta, or a full re-link on demand.

Delta: records without a child are scored against the existing records they could match (found by
their blocking keys) and among themselves; they join an existing child, or become new children.
Full: every record is linked afresh and ContactPoint IDs carry over by maximum overlap, so a re-run on
unchanged data changes no ID. Steward decisions win in both. Every change of a record's child is
logged; a record that only possibly matches a shielded child is held out of the directory.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from matching.assign import LinkSummary, carry_over, retired_ids, splits
from matching.features import features_from_copy, record_features
from matching.linkage import link_frames
from matching.model import current_model
from matching.settings import BLOCKING_KEYS
from warehouse.identity import (
    apply_link_changes,
    copy_link_changes,
    hold_possible_shielded,
    lock_linking,
    new_cp_ids,
    nothing_linked,
    queue_reviews,
    retire,
    signal_splits,
    steward_constraints,
)
from warehouse.record_features import (
    ARRIVED,
    NOT_ARCHIVED,
    UNLINKED,
    analyse_features,
    canonical_records,
    for_a_delta,
    kept_features_csv,
    records_without_features,
    replace_features,
    stage_new_features,
)

__all__ = ["LinkSummary", "keep_features", "link_unlinked", "relink_all"]

FEATURE_CHUNK = 20_000  # records standardised at a time: memory stays flat however many there are


def keep_features(conn: Connection) -> int:
    """Keep the features of every record that has none (new, or changed since), under the linking lock.
    Committed before a Spark link step: its executors read them from the store, not from this transaction."""
    lock_linking(conn)
    return _keep_features(conn)


def _keep_features(conn: Connection) -> int:
    """Compute and keep the features of the records with none kept (new, or changed since), a chunk at a
    time, copied in. Returns how many were computed."""
    ids = records_without_features(conn)
    for start in range(0, len(ids), FEATURE_CHUNK):
        chunk = ids[start:start + FEATURE_CHUNK]
        replace_features(conn, chunk, (record_features(r) for r in canonical_records(conn, chunk)))
    if ids:
        analyse_features(conn)
    return len(ids)


def _kept_features(conn: Connection, selector: str) -> tuple[Any, dict[str, str]]:
    """Kept features of the selected records (``warehouse.record_features``' selectors) as an Arrow table,
    and their current children. The rows are copied out as CSV and parsed by Arrow a block at a time: no
    Python object per record, and nothing written to disk."""
    with kept_features_csv(conn, selector) as chunks:
        frame = features_from_copy(chunks)
    ids, cp_ids = frame.column("unique_id").to_pylist(), frame.column("cp_id").to_pylist()
    return frame.drop_columns(["cp_id"]), {r: c for r, c in zip(ids, cp_ids, strict=True) if c is not None}


def link_unlinked(conn: Connection, run_id: str, *, backend: str = "duckdb") -> LinkSummary:
    """The nightly delta: link every record that has no child yet.

    Only existing records sharing a blocking key with a new one, and the records of the children at a new
    one's home (a sibling's move, ``warehouse.record_features.for_a_delta``), are read (their features kept in
    ``identity.record_features``), so a night's cost follows the delta, not the directory.
    """
    lock_linking(conn)
    summary = LinkSummary(run_id, "delta")
    _keep_features(conn)
    if backend == "spark" and nothing_linked(conn):
        # A first load: nothing to link against, so the delta is a full link of what arrived, all of it on Spark.
        from matching.link_spark import link_on_spark

        return link_on_spark(conn, summary, ARRIVED, "delta")
    new_frame, _ = _kept_features(conn, UNLINKED)
    if new_frame.num_rows == 0:
        return summary
    stage_new_features(conn)
    existing, children = _kept_features(conn, for_a_delta(BLOCKING_KEYS))
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
    lock_linking(conn)
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
    signal_splits(conn, splits([groups[i] for i in fresh], [str(carried[i]) for i in fresh], before))
    summary.review_pairs = queue_reviews(conn, linkage.review, run_id)
    summary.held_children = hold_possible_shielded(conn, linkage.review)
    return summary


# The steps below are named apart so a benchmark can time them (benchmarks/linkage_timed.py, PHASES).

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


def _retire_children(conn: Connection, before: dict[str, str], after: dict[str, str]) -> int:
    """Old IDs left without records are merged into the ID that took most of them, never reused."""
    return retire(conn, retired_ids(before, after))
