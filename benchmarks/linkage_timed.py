"""Timed links: the first night (``link_unlinked`` on an empty directory) and a nightly delta against a
full re-link, each with its peak RSS and where the time goes."""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from random import Random
from typing import Any

from benchmarks.linkage_measure import PeakRss, PhaseTimer

DELTA_SHARE = 0.01
# Phases of matching.link timed by wrapping its module-level names (outermost call only).
PHASES = ("_keep_features", "_kept_features", "current_model", "steward_constraints", "link_frames",
          "_new_children", "_write_links", "_retire_children", "queue_reviews", "hold_possible_shielded")

log = logging.getLogger("benchmarks.linkage")


def _existing_records_read(conn: Any, candidate_sql: str) -> int:
    """How many existing records a delta reads: the linker's own candidate query, counted."""
    from sqlalchemy import text

    conn.execute(text("""CREATE TEMP TABLE new_features AS SELECT f.* FROM identity.record_features f
                         WHERE NOT EXISTS (SELECT 1 FROM identity.link l WHERE l.record_id = f.record_id)"""))
    count = int(conn.execute(text(f"""SELECT count(*) FROM identity.record_features f
                                       LEFT JOIN identity.link l ON l.record_id = f.record_id
                                       WHERE {candidate_sql}""")).scalar_one())
    conn.execute(text("DROP TABLE new_features"))
    return count


def timed_link(run_id: str) -> dict[str, Any]:
    """The first night: ``pipeline.link`` (``link_unlinked``) with its time, peak RSS and phases."""
    import gc

    import matching.link
    from pipeline import steps as pipeline

    gc.collect()
    with PhaseTimer(matching.link, PHASES) as phases, PeakRss() as memory:
        started = time.perf_counter()
        summary = pipeline.link(run_id)
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), **memory.as_dict(), "phases": phases.as_dict(seconds),
            "summary": _summary(summary)}


def _summary(summary: Any) -> dict[str, Any]:
    keep = ("records", "pairs_scored", "joined_existing", "new_children", "records_moved", "children_merged",
            "held_children", "review_pairs")
    return {k: getattr(summary, k) for k in keep}


def delta_vs_full(repeat: int, seed: int, share: float = DELTA_SHARE) -> dict[str, Any]:
    """Unlink ``share`` of the records; link that state by delta and by full re-link, each rolled back."""
    import gc

    from sqlalchemy import text

    import matching.link
    from matching.link import link_unlinked, relink_all
    from matching.settings import BLOCKING_KEYS
    from warehouse.db import get_engine
    from warehouse.record_features import for_a_delta
    from warehouse.staging import QUEUE

    engine = get_engine()
    with engine.connect() as conn:
        before = {str(r.record_id): str(r.cp_id) for r in conn.execute(text(
            "SELECT record_id, cp_id FROM identity.link"))}
    records = sorted(before, key=int)
    size = Counter(before.values())
    runs: dict[str, list[dict[str, Any]]] = {"delta": [], "full": []}
    for r in range(repeat):
        sample = Random(f"{seed}/delta/{r}").sample(records, max(1, round(len(records) * share)))
        removed, unlinked = Counter(before[s] for s in sample), set(sample)
        for mode, func in (("delta", link_unlinked), ("full", relink_all)):
            with engine.connect() as conn:
                transaction = conn.begin()
                try:
                    conn.execute(text("DELETE FROM identity.link WHERE record_id = ANY(:ids)"),
                                 {"ids": [int(s) for s in sample]})
                    # As when they arrived: a record without a child is waiting to be published.
                    conn.execute(text(QUEUE.format("SELECT unnest(CAST(:ids AS bigint[]))")),
                                 {"ids": [int(s) for s in sample]})
                    candidates = (_existing_records_read(conn, for_a_delta(BLOCKING_KEYS))
                                  if mode == "delta" else len(records) - len(sample))
                    gc.collect()
                    with PhaseTimer(matching.link, PHASES) as phases, PeakRss() as memory:
                        started = time.perf_counter()
                        summary = func(conn, f"bench-{mode}-{r}")
                        seconds = time.perf_counter() - started
                    after = {str(x.record_id): str(x.cp_id) for x in conn.execute(text(
                        "SELECT record_id, cp_id FROM identity.link"))}
                finally:
                    transaction.rollback()
            could_rejoin = [s for s in sample if size[before[s]] > removed[before[s]]]
            rejoined = sum(after.get(s) == before[s] for s in could_rejoin)
            into_other_existing = sum(after.get(s) in size and after.get(s) != before[s] for s in sample)
            moved_others = sum(after.get(x) != cp for x, cp in before.items() if x not in unlinked)
            runs[mode].append({
                "seconds": round(seconds, 3), **memory.as_dict(), "phases": phases.as_dict(seconds),
                "summary": _summary(summary), "unlinked_records": len(sample),
                "existing_records_read": candidates, "could_rejoin": len(could_rejoin), "rejoined": rejoined,
                "rejoined_share": round(rejoined / len(could_rejoin), 6) if could_rejoin else None,
                "joined_another_existing_child": into_other_existing, "other_records_moved": moved_others,
            })
            log.warning("delta %s repeat %d: %.1fs", mode, r, seconds)
    delta_s = statistics.median(x["seconds"] for x in runs["delta"])
    full_s = statistics.median(x["seconds"] for x in runs["full"])
    return {
        "share_unlinked": share, "repeat": repeat, "directory_records": len(records),
        "delta_median_s": round(delta_s, 3), "full_median_s": round(full_s, 3),
        "delta_over_full": round(delta_s / full_s, 4) if full_s else None,
        "delta_median_peak_rss_mib": statistics.median(x["peak_rss_mib"] for x in runs["delta"]),
        "full_median_peak_rss_mib": statistics.median(x["peak_rss_mib"] for x in runs["full"]),
        "delta_median_existing_records_read": statistics.median(x["existing_records_read"] for x in runs["delta"]),
        "delta_median_rejoined_share": _median_or_none([x["rejoined_share"] for x in runs["delta"]]),
        "full_median_rejoined_share": _median_or_none([x["rejoined_share"] for x in runs["full"]]),
        "runs": runs,
    }


def _median_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 6) if present else None
