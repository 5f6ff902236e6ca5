"""The pipeline linkage benchmark's medians, extrapolations, table and target checks."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from benchmarks.linkage_measure import _round

TARGET_FAULT_RATE = 0.05
TARGETS = {"precision": 0.999, "recall": 0.99, "twin_merges": 0, "delta_over_full": 0.05}


# --- Aggregation, extrapolation, report ------------------------------------------------------------

MEDIAN_KEYS = ("records", "true_pairs", "predicted_pairs", "missed_pairs", "false_pairs", "precision", "recall",
               "f1", "twin_merges", "twin_merge_record_pairs", "twin_pairs_present", "review_pairs",
               "review_child_pairs", "review_same_child", "review_different_children")


def aggregate(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the repeats of one (size, fault rate)."""
    med: dict[str, Any] = {k: statistics.median(c["metrics"][k] for c in cases) for k in MEDIAN_KEYS}
    med["link_s"] = round(statistics.median(c["link"]["seconds"] for c in cases), 3)
    med["link_peak_rss_mib"] = round(statistics.median(c["link"]["peak_rss_mib"] for c in cases), 1)
    med["link_baseline_rss_mib"] = _round(statistics.median(c["link"]["baseline_rss_mib"] or 0 for c in cases))
    med["link_rss_above_baseline_mib"] = _round(statistics.median(
        c["link"]["peak_rss_mib"] - (c["link"]["baseline_rss_mib"] or 0) for c in cases))
    med["load_s"] = round(statistics.median(c["load_s"] for c in cases), 3)
    med["generate_s"] = round(statistics.median(c["generate_s"] for c in cases), 3)
    med["wall_s"] = round(statistics.median(c["wall_s"] for c in cases), 3)
    med["pairs_scored"] = statistics.median(c["link"]["summary"]["pairs_scored"] for c in cases)
    med["twin_merges_max"] = max(c["metrics"]["twin_merges"] for c in cases)
    med["runs"] = len(cases)
    med["seeds"] = [c["seed"] for c in cases]
    return med


def fit(points: Sequence[tuple[float, float]], target: float) -> tuple[float, float]:
    """Extrapolate ``y`` at ``target`` from (size, y) points: power law through the two largest sizes
    (exponent clipped to [1, 2]); one point scales linearly. Returns (estimate, exponent)."""
    points = sorted(points)
    (x2, y2) = points[-1]
    exponent = 1.0
    if len(points) > 1:
        (x1, y1) = points[-2]
        if y1 > 0 and y2 > 0 and x2 > x1:
            exponent = min(2.0, max(1.0, math.log(y2 / y1) / math.log(x2 / x1)))
    return y2 * (target / x2) ** exponent, exponent


def estimate_case_s(history: dict[int, list[dict[str, Any]]], size: int, delta_repeat: int = 0) -> float | None:
    """Estimated wall seconds of one case at ``size`` from the cases already run (None without any)."""
    if not history:
        return None
    points = [(float(s), statistics.median(c["wall_s"] for c in cases)) for s, cases in history.items()]
    estimate, _ = fit(points, size)
    if delta_repeat:
        link = [(float(s), statistics.median(c["link"]["seconds"] for c in cases)) for s, cases in history.items()]
        estimate += 1.2 * delta_repeat * fit(link, size)[0]  # each repeat: a full re-link and a (smaller) delta
    return estimate


def extrapolate(history: dict[int, list[dict[str, Any]]], size: int) -> dict[str, Any]:
    """Time, memory and records at an unmeasured ``size`` (clearly labelled as estimates)."""
    out: dict[str, Any] = {"size": size, "extrapolated": True,
                           "from_sizes": sorted(history), "method": "power law through the two largest measured "
                           "sizes, exponent clipped to [1, 2] (linear if one size)"}
    for key, get in (("records", lambda c: c["metrics"]["records"]), ("generate_s", lambda c: c["generate_s"]),
                     ("load_s", lambda c: c["load_s"]), ("link_s", lambda c: c["link"]["seconds"]),
                     ("link_peak_rss_mib", lambda c: c["link"]["peak_rss_mib"]),
                     ("link_rss_above_baseline_mib",
                      lambda c: c["link"]["peak_rss_mib"] - (c["link"]["baseline_rss_mib"] or 0)),
                     ("case_wall_s", lambda c: c["wall_s"])):
        points = [(float(s), float(statistics.median(get(c) for c in cases))) for s, cases in history.items()]
        value, exponent = fit(points, size)
        out[key] = round(value, 1)
        out[f"{key}_exponent"] = round(exponent, 3)
    # Peak RSS: the largest size's baseline (imports, loaded data) plus the linking's own growth, fitted.
    baseline = statistics.median(c["link"]["baseline_rss_mib"] or 0 for c in history[max(history)])
    out["link_peak_rss_mib"] = round(baseline + out["link_rss_above_baseline_mib"], 1)
    out["link_peak_rss_mib_exponent"] = None
    per_record = {s: statistics.median(c["link"]["seconds"] / c["metrics"]["records"] for c in cases)
                  for s, cases in history.items()}
    out["link_ms_per_record_measured"] = {s: round(v * 1000, 4) for s, v in sorted(per_record.items())}
    return out


def print_table(summary: list[dict[str, Any]], extrapolated: list[dict[str, Any]],
                delta: dict[str, Any] | None) -> None:
    """The medians as a plain table, the targets, the delta and the extrapolations."""
    header = (f"{'children':>9} {'fault':>6} {'runs':>4} {'records':>9} {'true pairs':>10} {'pred pairs':>10} "
              f"{'precision':>9} {'recall':>8} {'F1':>8} {'twin merges':>11} {'review':>7} {'link s':>8} "
              f"{'peak MiB':>9} {'(+link)':>8} {'load s':>8}")
    print(header)
    print("-" * len(header))
    for row in summary:
        m = row["median"]
        print(f"{row['size']:>9,} {row['fault_rate']:>6.0%} {m['runs']:>4} {m['records']:>9,.0f} "
              f"{m['true_pairs']:>10,.0f} {m['predicted_pairs']:>10,.0f} {m['precision']:>9.5f} {m['recall']:>8.5f} "
              f"{m['f1']:>8.5f} {m['twin_merges']:>11.0f} {m['review_pairs']:>7,.0f} {m['link_s']:>8.1f} "
              f"{m['link_peak_rss_mib']:>9.0f} {m['link_rss_above_baseline_mib']:>8.0f} {m['load_s']:>8.1f}")
    for e in extrapolated:
        print(f"{e['size']:>9,} {'(extrapolated, not run)':>29} {e['records']:>9,.0f} {'':>58} {e['link_s']:>8.0f} "
              f"{e['link_peak_rss_mib']:>9.0f} {e['link_rss_above_baseline_mib']:>8.0f} {e['load_s']:>8.0f}")
    print()
    for row in summary:
        d = row.get("diagnosis_first_run")
        if not d or not d["missed_pairs"]:
            continue
        print(f"where recall is lost, {row['size']:,} children at {row['fault_rate']:.0%} faults "
              f"(seed {row['cases'][0]['seed']}, {d['missed_pairs']} missed true pairs):")
        for title, key in (("  by outcome", "missed_by_outcome"), ("  by fault kinds", "missed_by_fault_kinds"),
                           ("  by disagreeing comparisons", "missed_by_disagreeing_comparisons")):
            print(title)
            for label, count in list(d[key].items())[:8]:
                print(f"    {count:>6}  {label}")
        if d["false_pairs"]:
            print(f"  false pairs: {d['false_pairs']} by relation {d['false_by_relation']}")
        print()
    if delta:
        print(f"delta vs full at {delta['size']:,} children ({delta['fault_rate']:.0%} faults, "
              f"{delta['directory_records']:,} records, {delta['share_unlinked']:.0%} unlinked, "
              f"{delta['repeat']} repeats):")
        print(f"  delta {delta['delta_median_s']:.1f}s (peak {delta['delta_median_peak_rss_mib']:.0f} MiB, "
              f"read {delta['delta_median_existing_records_read']:,.0f} existing records)  "
              f"full {delta['full_median_s']:.1f}s (peak {delta['full_median_peak_rss_mib']:.0f} MiB)  "
              f"ratio {delta['delta_over_full']:.3f}")
        print(f"  rejoined their child: delta {delta['delta_median_rejoined_share']}, "
              f"full {delta['full_median_rejoined_share']}")
        print()


def check_targets(summary: list[dict[str, Any]], delta: dict[str, Any] | None) -> dict[str, Any]:
    """The issue's targets against the medians measured (None where not measured)."""
    at_target = [r for r in summary if abs(r["fault_rate"] - TARGET_FAULT_RATE) < 1e-9]
    checks: dict[str, Any] = {}
    for row in at_target:
        m = row["median"]
        checks[f"precision >= {TARGETS['precision']} at 5% faults, {row['size']:,} children"] = {
            "value": m["precision"], "met": m["precision"] >= TARGETS["precision"]}
        checks[f"recall >= {TARGETS['recall']} at 5% faults, {row['size']:,} children"] = {
            "value": m["recall"], "met": m["recall"] >= TARGETS["recall"]}
    worst = max((r["median"]["twin_merges_max"] for r in summary), default=None)
    checks["zero twin merges (every run)"] = {"value": worst, "met": worst == 0 if worst is not None else None}
    if delta:
        ratio = delta["delta_over_full"]
        checks["1% delta < 5% of a full re-link"] = {"value": ratio,
                                                      "met": ratio is not None and ratio < TARGETS["delta_over_full"]}
    return checks
