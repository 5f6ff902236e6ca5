"""Side by side: ``link-files`` (the pipeline's own linkage, no options) on our generator, the independent one
and FEBRL3/4, scored pairwise against each set's truth.

    python -m benchmarks.linkage_files [--independent-sizes 10000,100000] [--seeds 12,13,14] [--ours-size 10000]
                                       [--no-ours] [--model PATH] [--output benchmarks/results/linkage_sets.json]

Each set is linked in a fresh interpreter (``matching.files.link_files``, timed; peak RSS is that process's
``ru_maxrss``). Reported: precision, recall, F1, twin merges (and what each merged pair's records show: named
alike, a copied identifier, or other), review pairs per 1,000 children (entities),
link seconds (wall and CPU), peak RSS, and the load average when the run started.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.linkage import DEFAULT_SERVER, REPO
from benchmarks.linkage_measure import score_clusters, twin_merges_by_what_the_records_show
from benchmarks.linkage_sets import DataSet, febrl3, febrl4, independent, ours

RESULTS = REPO / "benchmarks" / "results" / "linkage_sets.json"
BUNDLED_MODEL = REPO / "matching" / "models" / "child_linkage_v1.json"


def link_in_child(files: list[Path], out: Path, model: Path | None) -> None:
    """In the child interpreter: link, then write clusters, review pairs, time and peak RSS as JSON."""
    from matching.files import link_files

    started, cpu = time.perf_counter(), time.process_time()
    linkage = link_files(files, model)
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    out.write_text(json.dumps({
        "seconds": round(seconds, 3), "cpu_s": round(cpu_s, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "group_of": linkage.clustering.group_of, "review": [[p["record_a"], p["record_b"]] for p in linkage.review],
        "estimated": getattr(linkage, "estimated", None),
    }), encoding="utf-8")


def run_set(data: DataSet, work: Path, model: Path | None) -> dict[str, Any]:
    """Link one set in a fresh interpreter and score it."""
    out = work / f"{abs(hash(data.name))}.json"
    command = [sys.executable, "-m", "benchmarks.linkage_files", "--child", str(out),
               *(["--model", str(model)] if model else []), "--", *map(str, data.files)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{data.name}: link-files failed\n{done.stderr[-3000:]}")
    linked = json.loads(out.read_text(encoding="utf-8"))
    cp_of = {str(k): str(v) for k, v in linked["group_of"].items()}
    metrics = score_clusters(data.truth, cp_of, data.twin_of)
    if data.twin_of:
        from matching.files import read_canonical
        from matching.standardise import forename_key

        forename_of = {str(r["record_id"]): forename_key(r["given_name"]) for r in read_canonical(data.files)}
        metrics["twin_merges_by_kind"] = twin_merges_by_what_the_records_show(data.truth, cp_of, data.twin_of,
                                                                              forename_of, data.faults)
    review = [tuple(p) for p in linked["review"]]
    same = sum(data.truth.get(a) == data.truth.get(b) for a, b in review)
    # The console asks one question per pair of groups (a twin pair's school and GP pairs are one question).
    questions = {tuple(sorted((cp_of.get(a, a), cp_of.get(b, b)))) for a, b in review}
    missed_by_fault: Counter[str] = Counter()
    by_entity: dict[str, list[str]] = {}
    for record, entity in data.truth.items():
        by_entity.setdefault(entity, []).append(record)
    for records in by_entity.values():
        for i, a in enumerate(records):
            for b in records[i + 1:]:
                if cp_of.get(a) != cp_of.get(b):
                    for fault in {*data.faults.get(a, "").split(";"), *data.faults.get(b, "").split(";")} - {""}:
                        missed_by_fault[fault] += 1
    return {"set": data.name, "records": len(data.truth), "entities": data.entities, **metrics,
            "review_pairs": len(review), "review_same_entity": same,
            "review_per_1000": round(1000 * len(review) / data.entities, 2), "review_questions": len(questions),
            "review_questions_per_1000": round(1000 * len(questions) / data.entities, 2),
            "link_s": linked["seconds"], "link_cpu_s": linked["cpu_s"], "peak_rss_mib": linked["peak_rss_mib"],
            "missed_pairs_by_fault": dict(missed_by_fault.most_common()), "estimated": linked.get("estimated")}


def print_table(rows: list[dict[str, Any]]) -> None:
    """The side-by-side table."""
    header = (f"{'set':<38} {'records':>8} {'P':>8} {'R':>8} {'F1':>8} {'twin merges':>11} {'review/1k':>9} "
              f"{'groups/1k':>9} "
              f"{'link s':>7} {'cpu s':>7} {'peak MiB':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['set']:<38} {r['records']:>8,} {r['precision']:>8.4f} {r['recall']:>8.4f} {r['f1']:>8.4f} "
              f"{r['twin_merges']:>11} {r['review_per_1000']:>9.1f} {r['review_questions_per_1000']:>9.1f} "
              f"{r['link_s']:>7.1f} {r['link_cpu_s']:>7.1f} "
              f"{r['peak_rss_mib']:>8.0f}")


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.linkage_files", description=__doc__.splitlines()[0])
    parser.add_argument("--independent-sizes", type=_ints, default=[10_000, 100_000])
    parser.add_argument("--seeds", type=_ints, default=[12, 13, 14],
                        help="independent seeds (the decision rules were tuned on 12; 13 and 14 are reported on)")
    parser.add_argument("--ours-size", type=int, default=10_000)
    parser.add_argument("--ours-seed", type=int, default=2)
    parser.add_argument("--no-ours", dest="ours", action="store_false", help="skip our generator (needs PostgreSQL)")
    parser.add_argument("--no-febrl", dest="febrl", action="store_false")
    parser.add_argument("--database-url", default=DEFAULT_SERVER)
    parser.add_argument("--model", type=Path, default=None, help="link with this model (default: as link-files)")
    parser.add_argument("--compare-bundled", action="store_true",
                        help="also link every set with the bundled model (the pipeline's), as link-files --model")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", type=Path, nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        link_in_child(args.files, args.child, args.model)
        return 0
    load = os.getloadavg()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cp-bench-sets-") as scratch:
        work = Path(scratch)
        sets: list[Callable[[], DataSet]] = []
        if args.ours:
            sets.append(partial(ours, args.ours_size, args.ours_seed, work, args.database_url))
        for size in args.independent_sizes:
            for seed in args.seeds:
                sets.append(partial(independent, size, seed, work))
        if args.febrl:
            sets += [partial(febrl3, work), partial(febrl4, work)]
        for make in sets:
            data = make()
            models: list[Path | None] = [args.model]
            if args.compare_bundled and args.model is None:
                models.append(BUNDLED_MODEL)
            for model in models:
                row = run_set(data, work, model)
                if model is not None and model == BUNDLED_MODEL:
                    row["set"] += " [bundled]"
                row["load_average"] = [round(x, 2) for x in os.getloadavg()]
                rows.append(row)
                print(f"{row['set']}: P {row['precision']:.4f} R {row['recall']:.4f} F1 {row['f1']:.4f} "
                      f"twins {row['twin_merges']} {row.get('twin_merges_by_kind') or ''} "
                      f"review/1k {row['review_per_1000']} {row['link_s']}s "
                      f"cpu {row['link_cpu_s']}s (load {row['load_average'][0]})", flush=True)
            del data
    print()
    print_table(rows)
    result = {"benchmark": "linkage_sets", "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "load_average_at_start": [round(x, 2) for x in load], "model": str(args.model or "link-files default"),
              "median_link_s": statistics.median(r["link_s"] for r in rows) if rows else None, "results": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
