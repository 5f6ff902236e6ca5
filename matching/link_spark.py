"""The whole link step on Spark (``CONTACTPOINT_LINK_BACKEND=spark``): read, score, cluster, carry IDs over, write.

The executors read the records from the store in record-id ranges over JDBC (``warehouse.spark_records``);
``matching.spark_linkage`` links them; ContactPoint IDs carry over in Spark where only one old ID and one new
group meet (nearly every child), and the driver settles only the contested ones with the same greedy rule as
``matching.assign.carry_over``; the records whose child changed stream back with COPY. What it writes is
``warehouse.identity``'s, as for the DuckDB link step.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection

from matching.assign import LinkSummary, carry_over_overlaps, successor
from matching.model import current_model, db_api
from matching.spark_linkage import link_records
from warehouse.identity import (
    apply_link_changes,
    copy_link_changes,
    hold_possible_shielded,
    new_cp_ids,
    queue_reviews,
    retire,
    signal_splits,
    steward_constraints,
)
from warehouse.spark_records import read_records


def link_on_spark(conn: Connection, summary: LinkSummary, where: str, method: str) -> LinkSummary:
    """Link the records selected by ``where`` (a ``warehouse.record_features`` selector) afresh on Spark; fills
    and returns ``summary``. The features must be committed: executors read them."""
    from pyspark.sql import functions as F

    api = db_api("spark")
    spark = api.spark
    records = read_records(conn, spark, where).localCheckpoint()
    summary.records = records.count()
    if summary.records == 0:
        return summary
    must, cannot = steward_constraints(conn)
    linkage = link_records(api, records.drop("cp_id"), current_model(conn), must_link=must, cannot_link=cannot)
    summary.pairs_scored = linkage.pairs_scored
    before = records.where(F.col("cp_id").isNotNull()).select(F.col("record_id").cast("long"), "cp_id")
    overlaps = (linkage.groups.join(before, "record_id").groupBy("group_id", "cp_id").agg(F.count("*").alias("n")))
    sizes = linkage.groups.groupBy("group_id").agg(F.count("*").alias("size"))
    overlaps = (overlaps.join(overlaps.groupBy("group_id").agg(F.count("*").alias("olds")), "group_id")
                .join(overlaps.groupBy("cp_id").agg(F.count("*").alias("groups")), "cp_id")
                .join(sizes, "group_id")).localCheckpoint()
    # One old ID wholly inside one new group keeps it, whatever order the greedy rule would take them in.
    plain = overlaps.where((F.col("olds") == 1) & (F.col("groups") == 1)).select("group_id", "cp_id")
    contested = [(int(r.group_id), r.cp_id, int(r.n), int(r.size)) for r in overlaps.where(
        (F.col("olds") > 1) | (F.col("groups") > 1)).select("group_id", "cp_id", "n", "size").toLocalIterator()]
    settled = carry_over_overlaps(contested)
    carried = plain.union(spark.createDataFrame(list(settled.items()), "group_id long, cp_id string"))
    fresh_groups = [int(r.group_id) for r in sizes.join(carried, "group_id", "left_anti").select("group_id")
                    .orderBy("group_id").toLocalIterator()]
    fresh_ids = new_cp_ids(conn, len(fresh_groups))
    summary.new_children = len(fresh_groups)
    fresh = spark.createDataFrame(list(zip(fresh_groups, fresh_ids, strict=True)), "group_id long, cp_id string")
    after = linkage.groups.join(carried.union(fresh), "group_id")
    changed = (after.join(before.withColumnRenamed("cp_id", "old_cp_id"), "record_id", "left")
               .where(F.col("old_cp_id").isNull() | (F.col("old_cp_id") != F.col("cp_id")))
               .select("record_id", "cp_id", "old_cp_id"))
    if copy_link_changes(conn, ((int(r.record_id), r.cp_id, r.old_cp_id) for r in changed.toLocalIterator())):
        summary.records_moved = apply_link_changes(conn, method, summary.run_id)
    # Only contested old IDs can lose all their records, or lose some to a new child.
    final = {**settled, **dict(zip(fresh_groups, fresh_ids, strict=True))}
    successors: dict[str, Counter[str]] = {}
    splits = set()
    for group, old, n, _ in contested:
        successors.setdefault(old, Counter())[final[group]] = n
        if group not in settled:
            splits.add((old, final[group]))
    kept = set(settled.values())
    summary.children_merged = retire(conn, [(old, successor(counts))
                                            for old, counts in successors.items() if old not in kept])
    signal_splits(conn, splits)
    summary.review_pairs = queue_reviews(conn, linkage.review, summary.run_id)
    summary.held_children = hold_possible_shielded(conn, linkage.review)
    return summary
