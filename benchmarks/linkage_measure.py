"""Measuring a linkage run: peak RSS, time per phase, pairwise quality against a ground truth, and the
linked store (each record's truth and child, the review pairs) read back for scoring."""

from __future__ import annotations

import csv
import functools
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.memory import reset_peak_rss, status_kib

# --- Memory ----------------------------------------------------------------------------------------

class PeakRss:
    """Peak resident set size of this process over a block: ``VmHWM`` after a reset, and a sampling thread.

    The sampler (every ``interval`` seconds) is the fallback where ``clear_refs`` is not allowed, and a
    cross-check where it is; the reported peak is the larger of the two.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.baseline_mib: float | None = None
        self.sampled_mib = 0.0
        self.hwm_mib: float | None = None
        self.reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            kib = status_kib("VmRSS")
            if kib is not None:
                self.sampled_mib = max(self.sampled_mib, kib / 1024)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        kib = status_kib("VmRSS")
        self.baseline_mib = None if kib is None else kib / 1024
        self.reset = reset_peak_rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        hwm = status_kib("VmHWM")
        self.hwm_mib = hwm / 1024 if hwm is not None and self.reset else None

    @property
    def peak_mib(self) -> float:
        """The peak RSS over the block, MiB."""
        return round(max(self.hwm_mib or 0.0, self.sampled_mib), 1)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {"peak_rss_mib": self.peak_mib, "baseline_rss_mib": _round(self.baseline_mib),
                "hwm_mib": _round(self.hwm_mib), "sampled_mib": _round(self.sampled_mib), "hwm_reset": self.reset}


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- Where the linker's time goes ------------------------------------------------------------------

class PhaseTimer:
    """Wall time per named function of a module, counting only the outermost timed call (no double counts)."""

    def __init__(self, module: ModuleType, names: Sequence[str]) -> None:
        self.module = module
        self.names = [n for n in names if hasattr(module, n)]
        self.seconds: dict[str, float] = defaultdict(float)
        self._depth = 0
        self._saved: dict[str, Any] = {}

    def _wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds[name] += time.perf_counter() - started
        return timed

    def __enter__(self) -> PhaseTimer:
        for name in self.names:
            self._saved[name] = getattr(self.module, name)
            setattr(self.module, name, self._wrap(name, self._saved[name]))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, func in self._saved.items():
            setattr(self.module, name, func)

    def as_dict(self, total: float) -> dict[str, float]:
        """Seconds per phase, plus ``other`` (the rest of ``total``)."""
        out = {name.lstrip("_"): round(s, 3) for name, s in sorted(self.seconds.items(), key=lambda kv: -kv[1])}
        out["other"] = round(max(0.0, total - sum(self.seconds.values())), 3)
        return out


# --- Ground truth ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Truth:
    """The true child behind one feed row and the fault injected into it ("" for none)."""

    child_id: str
    fault: str


def read_truth(out_dir: Path) -> dict[tuple[str, int], Truth]:
    """``(file name, row number)`` → true child and fault, from ``ground_truth.csv``."""
    truth: dict[tuple[str, int], Truth] = {}
    with (out_dir / "ground_truth.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth[(row["file_name"], int(row["row_number"]))] = Truth(row["child_id"], row["fault"])
    return truth


def read_children(out_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Twin of each twin (both directions) and household of each child, from ``children.csv``."""
    twin_of: dict[str, str] = {}
    household: dict[str, str] = {}
    with (out_dir / "children.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            household[row["child_id"]] = row["household_id"]
            if row["twin_of"]:
                twin_of[row["child_id"]] = row["twin_of"]
                twin_of[row["twin_of"]] = row["child_id"]
    return twin_of, household


def pairs_of(n: int) -> int:
    """Unordered pairs among ``n`` items."""
    return n * (n - 1) // 2


def score_clusters(true_of: dict[str, str], cp_of: dict[str, str], twin_of: dict[str, str]) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of ``cp_of`` against ``true_of``, and twin false merges.

    Both map record id → cluster; a record without a ContactPoint child counts as a child of its own.
    """
    by_cp: dict[str, Counter[str]] = defaultdict(Counter)
    by_child: Counter[str] = Counter()
    for record, child in true_of.items():
        by_cp[cp_of.get(record) or f"unlinked:{record}"][child] += 1
        by_child[child] += 1
    true_pairs = sum(pairs_of(n) for n in by_child.values())
    predicted = sum(pairs_of(sum(c.values())) for c in by_cp.values())
    hits = sum(pairs_of(n) for c in by_cp.values() for n in c.values())
    twin_children = twin_records = mixed = 0
    for counts in by_cp.values():
        if len(counts) < 2:
            continue
        mixed += 1
        members = sorted(counts)
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                if twin_of.get(a) == b:
                    twin_children += 1
                    twin_records += counts[a] * counts[b]
    present = {frozenset((a, b)) for a, b in twin_of.items() if a in by_child and b in by_child}
    precision = hits / predicted if predicted else 1.0
    recall = hits / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": len(true_of), "true_children": len(by_child), "cp_children": len(by_cp),
        "true_pairs": true_pairs, "predicted_pairs": predicted, "correct_pairs": hits,
        "missed_pairs": true_pairs - hits, "false_pairs": predicted - hits,
        "precision": round(precision, 6), "recall": round(recall, 6), "f1": round(f1, 6),
        "children_with_two_true_children": mixed, "twin_pairs_present": len(present),
        "twin_merges": twin_children, "twin_merge_record_pairs": twin_records,
    }


def twin_merges_by_what_the_records_show(true_of: dict[str, str], cp_of: dict[str, str], twin_of: dict[str, str],
                                         forename_of: dict[str, str | None], faults: dict[str, str]) -> dict[str, int]:
    """Each twin pair merged into a group, by what the two twins' records in that group show: "named alike" (a
    record of each gives one formal forename: both "Isla" after a clerk took one's middle name for her forename,
    Amelia and Millie), else "a copied identifier" (a record of either carries the other's NHS number or UPN: the
    generator's ``sibling_identifier`` fault), else "other" (forenames that differ, no number copied)."""
    members: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for record, child in true_of.items():
        group = cp_of.get(record)
        if group is not None:
            members[group][child].append(record)
    kinds: Counter[str] = Counter()
    for by_child in members.values():
        children = sorted(by_child)
        for i, a in enumerate(children):
            for b in children[i + 1:]:
                if twin_of.get(a) != b:
                    continue
                names_a = {forename_of.get(r) for r in by_child[a]} - {None}
                names_b = {forename_of.get(r) for r in by_child[b]} - {None}
                copied = any("sibling_identifier" in faults.get(r, "") for r in by_child[a] + by_child[b])
                kinds["named alike" if names_a & names_b else "a copied identifier" if copied else "other"] += 1
    return dict(kinds)


# --- The linked store against the truth ------------------------------------------------------------

def store_state(truth: dict[tuple[str, int], Truth]) -> tuple[list[dict[str, Any]], dict[str, Truth],
                                                             dict[str, str]]:
    """Canonical records (as the linker reads them), each record's truth, and each record's child."""
    from sqlalchemy import text

    from warehouse.db import transaction
    from warehouse.record_features import CANONICAL

    with transaction() as conn:
        records = [dict(r._mapping) for r in conn.execute(text(CANONICAL))]
        where = {str(r.record_id): (r.file_name, int(r.row_number)) for r in conn.execute(text(
            "SELECT s.record_id, f.file_name, s.row_number FROM staging.source_record s JOIN intake.file f "
            "USING (file_id)"))}
    record_truth = {record: truth[key] for record, key in where.items()}
    cp_of = {str(r["record_id"]): str(r["cp_id"]) for r in records if r["cp_id"]}
    return records, record_truth, cp_of


REVIEW_BANDS = (5.0, 4.0, 3.0, 2.0)


def _band(weight: float) -> str:
    for low in REVIEW_BANDS:
        if weight >= low:
            return f">= {low:g}"
    return f"< {REVIEW_BANDS[-1]:g}"


def review_pairs(record_truth: dict[str, Truth], cp_of: dict[str, str]) -> tuple[set[tuple[str, str]], dict[str, Any]]:
    """The open review pairs, how many join one true child (what a steward could recover), and, for pairs
    sent by weight alone, same-child / different-children counts per weight band (what a lower link
    threshold would gain and cost)."""
    from sqlalchemy import text

    from warehouse.db import transaction

    with transaction() as conn:
        rows = conn.execute(text("SELECT record_a, record_b, reason, match_weight FROM identity.review_pair "
                                 "WHERE status = 'open'")).fetchall()
    pairs = {(str(r.record_a), str(r.record_b)) for r in rows}
    same = sum(record_truth[a].child_id == record_truth[b].child_id for a, b in pairs)
    reasons = Counter(re.sub(r"^would link, but .*", "would link, but refused by a constraint", r.reason)
                      for r in rows)
    bands: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if r.reason == "match weight":
            truth_a, truth_b = record_truth[str(r.record_a)], record_truth[str(r.record_b)]
            verdict = "same child" if truth_a.child_id == truth_b.child_id else "different children"
            bands[_band(float(r.match_weight))][verdict] += 1
    child_pairs = {tuple(sorted((cp_of.get(a, a), cp_of.get(b, b)))) for a, b in pairs}
    return pairs, {"review_pairs": len(pairs), "review_child_pairs": len(child_pairs), "review_same_child": same,
                   "review_different_children": len(pairs) - same, "review_by_reason": dict(reasons.most_common()),
                   "review_by_weight_band": {band: dict(bands[band]) for band in sorted(bands, reverse=True)}}
