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
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.linkage_diagnosis import diagnose, production_settings, untrained_levels
from benchmarks.linkage_measure import read_children, read_truth, review_pairs, score_clusters, store_state
from benchmarks.linkage_report import (
    TARGET_FAULT_RATE,
    TARGETS,
    aggregate,
    check_targets,
    estimate_case_s,
    extrapolate,
    print_table,
)
from benchmarks.linkage_setup import AS_OF, DEFAULT_SERVER, configure, load_all, scratch_database
from benchmarks.linkage_timed import delta_vs_full, timed_link

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "linkage.json"

log = logging.getLogger("benchmarks.linkage")


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
