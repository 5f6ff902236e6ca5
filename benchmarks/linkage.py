"""Linkage quality and cost against the synthetic generator's ground truth, through the real pipeline.

Run from the repository root::

    python -m benchmarks.linkage [--sizes 10000,100000] [--fault-rates 0,0.05,0.2] [--repeat 3]
                                 [--database-url URL] [--delta] [--budget-minutes 15]

Each case (size, fault rate, repeat) runs in a fresh interpreter against a fresh PostgreSQL database
``cp_bench_<size>_<fault>_<seed>_<pid>`` created on the server of ``--database-url`` (trust auth) and
dropped afterwards:

1. ``contactpoint.synthetic.generate`` writes the five feeds (seed = ``--seed`` + repeat, the same seeds
   for every fault rate), ``warehouse.migrate.upgrade`` creates the schema and every file goes through
   ``pipeline.receive`` / ``pipeline.load``;
2. the first night is timed: ``link_unlinked`` on an empty directory (``pipeline.link``), with the peak
   RSS of the process while it runs (``VmHWM`` reset through ``/proc/self/clear_refs``, cross-checked
   by a thread sampling ``VmRSS``; DuckDB runs in-process, PostgreSQL's own memory is not counted);
3. every staged record is traced back to its true child (``source_record.file_id`` → ``intake.file``
   file name + row number → ``ground_truth.csv``) and the ContactPoint children are scored: pairwise
   precision, recall and F1, twin false merges (records of two children who are twins per
   ``children.csv`` ``twin_of`` in one ContactPoint child), pairs sent to review;
4. diagnosis: every true pair and every predicted pair is scored with the production model (same
   frame, same term frequencies as the linker) and decided with ``matching.decide``; the missed true
   pairs are grouped by the ground truth's fault kinds, by why the linker did not join them (never
   blocked, weight below review, a rule, refused by the clustering) and by which comparisons disagreed.

``--delta`` adds one case at the largest size measured (at 5% faults): after the first link, 1% of the
records lose their ``identity.link`` row (as a nightly delta of new records presents them) and, each in
a transaction that is rolled back, ``link_unlinked`` (the delta) and ``relink_all`` (the full re-link)
link that same state; their medians, the ratio and the delta's stability (unlinked records rejoining
their child) are reported, with where the time goes.

Sizes whose estimated run time (extrapolated from the smaller sizes measured) exceeds
``--budget-minutes`` are shrunk (only 5% faults, then one repeat) or not run: their time and memory are
then extrapolated and labelled as such. Medians over repeats are reported; a plain table goes to
stdout and everything to ``benchmarks/results/linkage.json``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import functools
import hashlib
import json
import logging
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from types import ModuleType
from typing import Any

from benchmarks.memory import reset_peak_rss, status_kib

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "linkage.json"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
AS_OF = "2026-11-25"
TARGET_FAULT_RATE = 0.05
TARGETS = {"precision": 0.999, "recall": 0.99, "twin_merges": 0, "delta_over_full": 0.05}
DELTA_SHARE = 0.01
MIB = 1024 * 1024
# Phases of matching.link timed by wrapping its module-level names (outermost call only).
PHASES = ("_keep_features", "_kept_features", "current_model", "steward_constraints", "link_frames",
          "_new_children", "_write_links", "_retire_children", "queue_reviews", "hold_possible_shielded")
TOP = 15

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


# --- Diagnosis -------------------------------------------------------------------------------------

_EQUALITY = re.compile(r'l\."(\w+)"\s*=\s*r\."\1"')


def blocking_columns(rules: Sequence[str]) -> list[list[str]]:
    """The columns each blocking rule equates (every production rule is such a conjunction)."""
    out = []
    for rule in rules:
        columns = _EQUALITY.findall(rule)
        rest = re.sub(r"[()\s]|AND", "", _EQUALITY.sub("", rule))
        if not columns or rest:
            raise ValueError(f"blocking rule not understood by the benchmark: {rule}")
        out.append(columns)
    return out


def production_settings(model: dict[str, Any]) -> dict[str, Any]:
    """The Splink settings the linker scores with: ``matching.model._splink_settings`` where it exists
    (structure from ``matching.settings``, parameters from the model), else the model itself."""
    import matching.model

    build = getattr(matching.model, "_splink_settings", None)
    if build is None:
        return {k: v for k, v in model.items() if k != getattr(matching.model, "TF_KEY", "")}
    try:
        settings: dict[str, Any] = build(model, "duckdb")
    except TypeError:  # an older signature: (model)
        settings = build(model)
    return settings


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Comparison → gamma value → level label (Splink numbers non-null levels from the bottom, null is -1)."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        names = {len(levels) - 1 - i: str(lv["label_for_charts"]) for i, lv in enumerate(levels)}
        names[-1] = "null"
        labels[comparison["output_column_name"]] = names
    return labels


def untrained_levels(model: dict[str, Any]) -> list[str]:
    """Levels whose m or u probability the model leaves unset (Splink then falls back to a default)."""
    out = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            for key in ("m_probability", "u_probability"):
                if level.get(key) is None:
                    out.append(f"{comparison['output_column_name']} / {level['label_for_charts']}: {key} unset")
    return out


def score_pairs_of_interest(frame: Any, model: dict[str, Any]) -> Any:
    """Every pair of records with the same true child or the same ContactPoint child, scored by the model.

    Same settings and term-frequency lookups as the linker's own scoring (``matching.model``); only the
    blocking differs: ``true_child`` and ``cp_id`` columns instead of the production rules, and no threshold.
    """
    from splink import Linker

    import matching.model

    settings = copy.deepcopy(production_settings(model))
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": 'l."true_child" = r."true_child"', "sql_dialect": "duckdb"},
        {"blocking_rule": 'l."cp_id" = r."cp_id"', "sql_dialect": "duckdb"},
    ]
    api = matching.model.db_api("duckdb")
    linker = Linker(api.register(frame, dataset_display_name="diagnosis"), settings, log_level=logging.ERROR)
    register = getattr(matching.model, "_register_term_frequencies", None)
    if register is not None and getattr(matching.model, "TF_KEY", None) in model:
        register(linker, model, api)
    return linker.inference.predict().as_pandas_dataframe()


def _pair_kind(a: str, b: str) -> str:
    return "+".join(sorted((a or "clean", b or "clean")))


def diagnose(records: list[dict[str, Any]], truth: dict[str, Truth], cp_of: dict[str, str],
             household: dict[str, str], twin_of: dict[str, str], model: dict[str, Any],
             review: set[tuple[str, str]]) -> dict[str, Any]:
    """Why true pairs were missed and false pairs made: fault kinds, the linker's reason, the comparisons."""
    import pandas as pd

    from matching.decide import LINK, REVIEW, decide_pairs
    from matching.features import features_frame

    frame = features_frame(records)
    frame["true_child"] = [truth[u].child_id for u in frame["unique_id"]]
    frame["cp_id"] = [cp_of.get(u) for u in frame["unique_id"]]
    scored = score_pairs_of_interest(frame, model)
    decided = decide_pairs(scored).reset_index(drop=True)
    left: list[str] = decided["unique_id_l"].astype(str).tolist()
    right: list[str] = decided["unique_id_r"].astype(str).tolist()
    labels = level_labels(production_settings(model))
    comparisons = [c for c in labels if f"gamma_{c}" in decided.columns]
    gammas: dict[str, list[int]] = {c: [int(g) for g in decided[f"gamma_{c}"].tolist()] for c in comparisons}
    decision: list[str] = decided["decision"].astype(str).tolist()
    rule: list[str] = decided["rule"].astype(str).tolist()
    weight: list[float] = [float(w) for w in decided["match_weight"].tolist()]
    indexed = frame.set_index("unique_id")
    blocked = pd.Series(False, index=decided.index)
    rules = [r["blocking_rule"] if isinstance(r, dict) else str(r)
             for r in production_settings(model)["blocking_rules_to_generate_predictions"]]
    for columns in blocking_columns(rules):
        agree = pd.Series(True, index=decided.index)
        for column in columns:
            lv = decided["unique_id_l"].astype(str).map(indexed[column])
            rv = decided["unique_id_r"].astype(str).map(indexed[column])
            agree &= lv.notna() & rv.notna() & (lv.astype(str) == rv.astype(str))
        blocked |= agree
    is_blocked: list[bool] = [bool(b) for b in blocked.tolist()]
    pairs = range(len(decided))
    same_child = [truth[left[i]].child_id == truth[right[i]].child_id for i in pairs]
    same_cp = [left[i] in cp_of and cp_of.get(left[i]) == cp_of.get(right[i]) for i in pairs]

    def outcome(i: int) -> str:
        if not is_blocked[i]:
            return "never blocked (no candidate pair)"
        if decision[i] == LINK:
            return "decided link, refused or overruled by the clustering"
        if decision[i] == REVIEW:
            queued = (left[i], right[i]) in review or (right[i], left[i]) in review
            return f"review: {rule[i]}" + ("" if queued else " (not queued)")
        if rule[i] == "match weight":
            return "apart: weight below review threshold"
        return f"apart: {rule[i]}"

    def disagreement(i: int) -> str:
        parts = [f"{c}={labels[c][gammas[c][i]]}" for c in comparisons if gammas[c][i] not in (-1, max(labels[c]))]
        return "; ".join(parts) or "(all agree or null)"

    def kinds(i: int) -> str:
        return _pair_kind(truth[left[i]].fault, truth[right[i]].fault)

    missed = [i for i in pairs if same_child[i] and not same_cp[i]]
    false = [i for i in pairs if same_cp[i] and not same_child[i]]
    per_comparison: dict[str, Counter[str]] = {c: Counter() for c in comparisons}
    for i in missed:
        for c in comparisons:
            per_comparison[c][labels[c][gammas[c][i]]] += 1
    faults_missed = Counter(kinds(i) for i in missed)
    faults_all = Counter(kinds(i) for i in pairs if same_child[i])
    outcomes = Counter(outcome(i) for i in missed)
    cross = Counter(f"{kinds(i)} | {outcome(i)}" for i in missed)
    signatures = Counter(disagreement(i) for i in missed)
    missed_weights = sorted(weight[i] for i in missed)

    def relation(i: int) -> str:
        a, b = truth[left[i]].child_id, truth[right[i]].child_id
        if twin_of.get(a) == b:
            return "twins"
        if household.get(a) == household.get(b):
            return "same household (siblings)"
        return "unrelated"

    example_columns = ["forename", "surname", "dob", "postcode", "house_number", "gender", "nhs_number", "upn"]

    def example(i: int) -> dict[str, Any]:
        a, b = left[i], right[i]
        return {"records": [a, b], "faults": [truth[a].fault or "clean", truth[b].fault or "clean"],
                "match_weight": round(weight[i], 2), "outcome": outcome(i), "disagree": disagreement(i),
                "left": {c: _plain(indexed.at[a, c]) for c in example_columns},
                "right": {c: _plain(indexed.at[b, c]) for c in example_columns}}

    rng = Random(0)
    return {
        "pairs_scored_for_diagnosis": len(decided),
        "true_pairs_seen": sum(same_child),
        "missed_pairs": len(missed),
        "missed_by_fault_kinds": dict(faults_missed.most_common()),
        "true_pairs_by_fault_kinds": dict(faults_all.most_common()),
        "missed_share_by_fault_kinds": {k: round(faults_missed[k] / n, 4) for k, n in faults_all.most_common()
                                        if faults_missed[k]},
        "missed_by_outcome": dict(outcomes.most_common()),
        "missed_by_fault_and_outcome": dict(cross.most_common(TOP * 2)),
        "missed_by_disagreeing_comparisons": dict(signatures.most_common(TOP * 2)),
        "missed_levels_per_comparison": {c: dict(v.most_common()) for c, v in per_comparison.items()},
        "missed_weight_quantiles": ({str(q): round(missed_weights[int(q * (len(missed_weights) - 1))], 2)
                                     for q in (0.1, 0.5, 0.9)} if missed_weights else {}),
        "missed_examples": [example(i) for i in rng.sample(missed, min(8, len(missed)))],
        "false_pairs": len(false),
        "false_by_relation": dict(Counter(relation(i) for i in false).most_common()),
        "false_by_fault_kinds": dict(Counter(kinds(i) for i in false).most_common()),
        "false_by_direct_decision": dict(Counter(f"{decision[i]} ({rule[i]})" for i in false).most_common()),
        "false_examples": [example(i) for i in rng.sample(false, min(8, len(false)))],
    }


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return str(value)


# --- One case, in a fresh interpreter -------------------------------------------------------------

def _server_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _admin_engine(server: str) -> Any:
    from sqlalchemy import create_engine

    from warehouse.db import as_psycopg_url

    return create_engine(as_psycopg_url(_server_url(server, "postgres")), isolation_level="AUTOCOMMIT")


@contextmanager
def scratch_database(server: str, name: str) -> Iterator[str]:
    """A new, empty database on ``server`` for the block; dropped afterwards (even after a failure)."""
    from sqlalchemy import text

    if not re.fullmatch(r"cp_bench_[a-z0-9_]+", name):
        raise ValueError(f"refusing to manage database {name!r}")
    admin = _admin_engine(server)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _server_url(server, name)
    finally:
        from warehouse.db import get_engine

        get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def configure(database_url: str, data_dir: Path, dropzone: Path, as_of: str = AS_OF) -> None:
    """Point the hub at this case's database and folders and forget any cached configuration."""
    os.environ["CONTACTPOINT_DATABASE_URL"] = database_url
    os.environ["CONTACTPOINT_DATA_DIR"] = str(data_dir)
    os.environ["CONTACTPOINT_DROPZONE_DIR"] = str(dropzone)
    os.environ["CONTACTPOINT_AS_OF"] = as_of
    os.environ.pop("CONTACTPOINT_SFTP_CONN_ID", None)
    from contactpoint.settings import get_settings
    from warehouse.db import database_url as cached_url
    from warehouse.db import get_engine

    get_settings.cache_clear()
    cached_url.cache_clear()
    get_engine.cache_clear()


def load_all() -> dict[str, Any]:
    """Receive and load every feed's files; counts per feed."""
    from contactpoint import pipeline
    from contactpoint.synthetic import FEEDS

    counts: dict[str, Any] = {}
    for feed in FEEDS:
        outcomes = [o for o in (pipeline.load(i) for i in pipeline.receive(feed)) if o is not None]
        counts[feed] = {"files": len(outcomes), "read": sum(o.read for o in outcomes),
                        "loaded": sum(o.loaded for o in outcomes),
                        "quarantined": sum(o.quarantined for o in outcomes),
                        "rejected_files": sum(o.status == "rejected" for o in outcomes)}
    return counts


def store_state(truth: dict[tuple[str, int], Truth]) -> tuple[list[dict[str, Any]], dict[str, Truth],
                                                             dict[str, str]]:
    """Canonical records (as the linker reads them), each record's truth, and each record's child."""
    from sqlalchemy import text

    from matching.link import CANONICAL
    from warehouse.db import transaction

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


def timed_link(run_id: str) -> dict[str, Any]:
    """The first night: ``pipeline.link`` (``link_unlinked``) with its time, peak RSS and phases."""
    import gc

    import matching.link
    from contactpoint import pipeline

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
    from matching.link import _candidate_sql, link_unlinked, relink_all
    from warehouse.db import get_engine
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
                    candidates = _existing_records_read(conn, _candidate_sql()) if mode == "delta" \
                        else len(records) - len(sample)
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


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Generate, load, link and score one (size, fault rate, seed); optionally diagnose and time the delta."""
    from contactpoint.synthetic import generate
    from matching.model import load_model

    size, fault_rate, seed = int(case["size"]), float(case["fault_rate"]), int(case["seed"])
    name = f"cp_bench_{size}_{round(fault_rate * 1000)}_{seed}_{os.getpid()}"
    result: dict[str, Any] = {"size": size, "fault_rate": fault_rate, "seed": seed, "database": name,
                              "code": code_fingerprint()}
    with tempfile.TemporaryDirectory(prefix="cp-bench-linkage-") as scratch, \
            scratch_database(case["server"], name) as url:
        out = Path(scratch) / "dropzone"
        configure(url, Path(scratch) / "data", out)
        from warehouse.migrate import upgrade

        upgrade()
        started = time.perf_counter()
        generated = generate(out, children=size, seed=seed, fault_rate=fault_rate)
        result["generate_s"] = round(time.perf_counter() - started, 3)
        result["generated_rows"] = sum(generated.rows.values())
        result["generated_faulty_rows"] = sum(generated.faulty_rows.values())
        started = time.perf_counter()
        result["load"] = load_all()
        result["load_s"] = round(time.perf_counter() - started, 3)
        log.warning("%s: generated %ss, loaded %ss", name, result["generate_s"], result["load_s"])
        result["link"] = timed_link(f"bench-{seed}")
        log.warning("%s: linked in %ss, peak %s MiB", name, result["link"]["seconds"], result["link"]["peak_rss_mib"])
        truth = read_truth(out)
        twin_of, household = read_children(out)
        records, record_truth, cp_of = store_state(truth)
        result["metrics"] = score_clusters({r: t.child_id for r, t in record_truth.items()}, cp_of, twin_of)
        review, review_figures = review_pairs(record_truth, cp_of)
        result["metrics"].update(review_figures)
        result["records_by_fault"] = dict(Counter(t.fault or "clean" for t in record_truth.values()).most_common())
        model = load_model()
        result["model_untrained_levels"] = untrained_levels(production_settings(model))
        if case.get("diagnose"):
            started = time.perf_counter()
            result["diagnosis"] = diagnose(records, record_truth, cp_of, household, twin_of, model, review)
            result["diagnose_s"] = round(time.perf_counter() - started, 3)
        del records
        if case.get("delta"):
            result["delta"] = delta_vs_full(int(case["delta_repeat"]), seed)
    return result


def run_case_subprocess(case: dict[str, Any], work: Path) -> dict[str, Any]:
    """``run_case`` in a fresh interpreter (clean peak RSS, no cached configuration); its result."""
    tag = f"{case['size']}_{case['fault_rate']}_{case['seed']}_{'delta' if case.get('delta') else 'main'}"
    spec, out, err = work / f"{tag}.case.json", work / f"{tag}.result.json", work / f"{tag}.stderr"
    spec.write_text(json.dumps(case), encoding="utf-8")
    command = [sys.executable, "-m", "benchmarks.linkage", "--case", str(spec), "--case-out", str(out)]
    started = time.perf_counter()
    with err.open("w", encoding="utf-8") as stderr:
        done = subprocess.run(command, cwd=REPO, stdout=stderr, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0 or not out.exists():
        tail = err.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        raise RuntimeError(f"case {tag} failed ({done.returncode}):\n" + "\n".join(tail))
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["wall_s"] = round(time.perf_counter() - started, 3)
    return result


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


def code_fingerprint() -> dict[str, str]:
    """sha256 (12 hex digits) of the linker's code and bundled model: which version the figures describe."""
    paths = sorted((REPO / "matching").rglob("*.py")) + sorted((REPO / "matching" / "models").glob("*.json"))
    paths += [REPO / "contactpoint" / "pipeline.py"]
    return {str(p.relative_to(REPO)): hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in paths if p.exists()}


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)}


def plan_size(history: dict[int, list[dict[str, Any]]], size: int, fault_rates: list[float], repeat: int,
              budget_s: float) -> tuple[list[tuple[float, int]], float | None]:
    """The cases to run at ``size`` within the budget: the full grid, else 5% faults only, else one run."""
    grid = [(fr, r) for fr in fault_rates for r in range(repeat)]
    estimate = estimate_case_s(history, size)
    if estimate is None:
        return grid, None
    target = TARGET_FAULT_RATE if TARGET_FAULT_RATE in fault_rates else fault_rates[len(fault_rates) // 2]
    for plan in (grid, [(target, r) for r in range(repeat)], [(target, 0)]):
        if estimate * len(plan) <= budget_s:
            return plan, estimate
    return [], estimate


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every size and fault rate within the budget, the delta comparison, extrapolations; the JSON result."""
    started_all = time.perf_counter()
    history: dict[int, list[dict[str, Any]]] = {}
    summary: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    budget_s = args.budget_minutes * 60
    with tempfile.TemporaryDirectory(prefix="cp-bench-linkage-runs-") as work:
        for size in sorted(args.sizes):
            plan, estimate = plan_size(history, size, args.fault_rates, args.repeat, budget_s)
            if estimate is not None:
                print(f"{size:,} children: about {estimate / 60:.1f} min per case (estimated); "
                      f"running {len(plan)} case(s)", flush=True)
            if not plan:
                skipped.append({"size": size, "estimated_case_s": round(estimate or 0, 1)})
                continue
            cases: dict[float, list[dict[str, Any]]] = defaultdict(list)
            for fault_rate, r in plan:
                case = {"size": size, "fault_rate": fault_rate, "seed": args.seed + r, "server": args.database_url,
                        "diagnose": args.diagnose}
                result = run_case_subprocess(case, Path(work))
                cases[fault_rate].append(result)
                m = result["metrics"]
                print(f"  {size:,} children, {fault_rate:.0%} faults, seed {case['seed']}: "
                      f"P {m['precision']:.5f} R {m['recall']:.5f} twins {m['twin_merges']} "
                      f"review {m['review_pairs']} link {result['link']['seconds']:.1f}s "
                      f"peak {result['link']['peak_rss_mib']:.0f} MiB (case {result['wall_s']:.0f}s)", flush=True)
            for fault_rate, results in sorted(cases.items()):
                history.setdefault(size, []).extend(results)
                summary.append({"size": size, "fault_rate": fault_rate, "median": aggregate(results),
                                "diagnosis_first_run": results[0].get("diagnosis"), "cases": results})
        delta = None
        if args.delta and history:
            size = max(history)
            fault_rate = TARGET_FAULT_RATE if TARGET_FAULT_RATE in args.fault_rates else args.fault_rates[0]
            print(f"delta vs full at {size:,} children ...", flush=True)
            case = {"size": size, "fault_rate": fault_rate, "seed": args.seed, "server": args.database_url,
                    "diagnose": False, "delta": True, "delta_repeat": args.repeat}
            result = run_case_subprocess(case, Path(work))
            delta = {"size": size, "fault_rate": fault_rate, **result["delta"],
                     "first_link_s": result["link"]["seconds"], "case_wall_s": result["wall_s"]}
    extrapolated = [extrapolate(history, s["size"]) | {"estimated_case_s": s["estimated_case_s"]}
                    for s in skipped] if history else []
    print()
    print_table(summary, extrapolated, delta)
    checks = check_targets(summary, delta)
    for name, check in checks.items():
        verdict = {True: "met", False: "NOT met", None: "not measured"}[check["met"]]
        print(f"target {name}: {check['value']} -> {verdict}")
    untrained = summary[0]["cases"][0].get("model_untrained_levels") if summary else None
    versions = {json.dumps(c.get("code"), sort_keys=True) for row in summary for c in row["cases"]}
    if len(versions) > 1:
        print(f"WARNING: the linker's code or model changed during the run ({len(versions)} versions; "
              "see each case's 'code' in the JSON): figures of different cases are not comparable")
    return {
        "benchmark": "linkage", "created": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
        "arguments": {"sizes": args.sizes, "fault_rates": args.fault_rates, "repeat": args.repeat,
                      "seed": args.seed, "delta": args.delta, "budget_minutes": args.budget_minutes},
        "code": code_fingerprint(), "as_of": AS_OF, "targets": TARGETS, "checks": checks,
        "model_untrained_levels": untrained, "code_versions_seen": len(versions),
        "results": summary, "extrapolated": extrapolated, "delta_vs_full": delta,
        "total_s": round(time.perf_counter() - started_all, 1),
    }


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.linkage", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_ints, default=[10_000, 100_000],
                        help="children per generated population, comma-separated (default 10000,100000)")
    parser.add_argument("--fault-rates", type=_floats, default=[0.0, 0.05, 0.2],
                        help="share of rows with a fault, comma-separated (default 0,0.05,0.2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size and fault rate, seeds --seed+r "
                        "(default 3); medians are reported")
    parser.add_argument("--seed", type=int, default=1, help="first generator seed (default 1)")
    parser.add_argument("--database-url", default=DEFAULT_SERVER,
                        help=f"PostgreSQL server to create scratch databases on (default {DEFAULT_SERVER})")
    parser.add_argument("--delta", action="store_true",
                        help="also time a 1%% nightly delta against a full re-link at the largest size run")
    parser.add_argument("--budget-minutes", type=float, default=15.0,
                        help="largest estimated run time per size; beyond it a size is shrunk or extrapolated")
    parser.add_argument("--no-diagnose", dest="diagnose", action="store_false",
                        help="skip scoring the missed and false pairs (saves time at large sizes)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON result (default {RESULTS})")
    parser.add_argument("--case", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--case-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the cases, print the table, write the JSON result."""
    args = parse_args(argv)
    if args.case is not None:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        result = run_case(json.loads(args.case.read_text(encoding="utf-8")))
        (args.case_out or Path("case-result.json")).write_text(json.dumps(result, default=str), encoding="utf-8")
        return 0
    if args.repeat < 1 or not args.sizes or not args.fault_rates or min(args.sizes) < 1:
        raise SystemExit("--repeat, --sizes and --fault-rates need at least one positive value")
    if any(not 0 <= f <= 1 for f in args.fault_rates):
        raise SystemExit("--fault-rates must be between 0 and 1")
    result = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
