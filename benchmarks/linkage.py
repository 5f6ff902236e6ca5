"""Linkage quality and cost against the synthetic generator's ground truth, through the real pipeline.

Run from the repository root::

    python -m benchmarks.linkage [--sizes 10000,100000] [--fault-rates 0,0.05,0.2] [--repeat 3]
                                 [--database-url URL] [--delta] [--budget-minutes 15]

Each case (size, fault rate, repeat) runs in a fresh interpreter against a fresh PostgreSQL database
``cp_bench_<size>_<fault>_<seed>_<pid>`` created on the server of ``--database-url`` (trust auth) and
dropped afterwards:

1. ``tools.synthetic.generate`` writes the five feeds (seed = ``--seed`` + repeat, the same seeds
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
import hashlib
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

from benchmarks.linkage_diagnosis import diagnose, production_settings, untrained_levels
from benchmarks.linkage_measure import PeakRss, PhaseTimer, Truth, read_children, read_truth, score_clusters
from benchmarks.linkage_report import (
    TARGET_FAULT_RATE,
    TARGETS,
    aggregate,
    check_targets,
    estimate_case_s,
    extrapolate,
    print_table,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "linkage.json"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
AS_OF = "2026-11-25"
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
    from pipeline import steps as pipeline
    from tools.synthetic import FEEDS

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
    from warehouse.record_features import sharing_a_blocking_key
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
                    candidates = (_existing_records_read(conn, sharing_a_blocking_key(BLOCKING_KEYS))
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


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Generate, load, link and score one (size, fault rate, seed); optionally diagnose and time the delta."""
    from matching.model import load_model
    from tools.synthetic import generate

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


def code_fingerprint() -> dict[str, str]:
    """sha256 (12 hex digits) of the linker's code and bundled model: which version the figures describe."""
    paths = sorted((REPO / "matching").rglob("*.py")) + sorted((REPO / "matching" / "models").glob("*.json"))
    paths += [REPO / "pipeline" / "steps.py"]
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
