"""Parse + validate throughput per feed, and memory flatness of the CSV reader (no database).

Run from the repository root::

    python -m benchmarks.parse_feeds [--children N] [--repeat R] [--dir DIR]

1. Throughput. Spec-conforming files for all five feeds are generated with
   ``tools.synthetic.generate`` (into a temporary folder, or into / from ``--dir``). For each
   feed every file is parsed and every row validated exactly as the feed's loader does
   (``connectors/<feed>.py``, without the database), ``--repeat`` times; the median rows/second is
   reported, with the process's peak RSS while that feed ran.
   The batch checks (``schemas.expectations.check_file``) are timed apart, once per file of the
   feed, on the profile the loader would collect, with each engine: the vectorised pandas measures
   the loader uses, and Great Expectations running the suite (the reference); CPU milliseconds a file.
2. Memory flatness. A GP CSV of ``--large-rows`` rows (default 1,000,000) and one of ``--small-rows``
   rows (default 100,000) are written by repeating the data rows of a generated GP file; each is
   parsed and validated in a fresh interpreter, once for peak RSS and once under ``tracemalloc``.
   A streaming reader's figures do not grow with the file: the large/small ratios stay near 1.

A plain table goes to stdout and the figures to ``benchmarks/results/parse_feeds.json``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.parse_feeds_memory import memory_flatness, probe
from benchmarks.parse_feeds_report import _load_average, machine, print_table
from benchmarks.parse_feeds_timing import TODAY, feed_files, time_batch_checks, time_feed
from connectors.feeds import FEEDS
from tools.synthetic import generate

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "parse_feeds.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parse_feeds", description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=20_000, help="children to generate (default 20000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per feed (default 5); the median counts")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--dir", type=Path, help="reuse the drop zone generated here (generated first if empty)")
    parser.add_argument("--feeds", nargs="+", choices=list(FEEDS), default=list(FEEDS), help="feeds to time")
    parser.add_argument("--small-rows", type=int, default=100_000, help="rows of the small GP file (100000)")
    parser.add_argument("--large-rows", type=int, default=1_000_000, help="rows of the large GP file (1000000)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the memory-flatness comparison")
    parser.add_argument("--skip-batch-checks", action="store_true", help="skip timing the batch checks")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON result (default {RESULTS})")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-sender", help=argparse.SUPPRESS)
    parser.add_argument("--probe-mode", choices=("rss", "tracemalloc"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _drop_zone(folder: Path, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """``folder`` holding generated files: reused when it has some, generated into otherwise."""
    if (folder / "inbound").exists() and any((folder / "inbound").rglob("*.*")):
        return folder, {"reused": str(folder)}
    started = time.perf_counter()
    summary = generate(folder, children=args.children, seed=args.seed, population_file=False)
    return folder, {"children": summary.children, "seed": args.seed, "rows": summary.rows, "files": summary.files,
                    "seconds": round(time.perf_counter() - started, 2)}


def _gp_template(root: Path) -> Path:
    paths = feed_files(root, "gp")
    if not paths:
        raise SystemExit("no GP file to build the memory-flatness files from (generate with the gp feed)")
    return max(paths, key=lambda path: path.stat().st_size)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both benchmarks; the JSON-ready result."""
    started = time.perf_counter()
    load_before = _load_average()
    with tempfile.TemporaryDirectory(prefix="cp-bench-") as scratch:
        folder = args.dir or Path(scratch) / "dropzone"
        folder.mkdir(parents=True, exist_ok=True)
        root, generation = _drop_zone(folder, args)
        print(f"drop zone: {root} {generation}", flush=True)
        results = []
        for feed in args.feeds:
            results.append(time_feed(root, feed, args.repeat))
            print(f"  {feed}: median {results[-1].median_rows_per_s:,.0f} rows/s "
                  f"({results[-1].median_rows_per_cpu_s:,.0f} rows per CPU second)", flush=True)
        # After every feed's timing: pandas and GX loaded here would count in the later feeds' peak RSS.
        for result in results if not args.skip_batch_checks else []:
            result.batch_checks = time_batch_checks(root, result.feed, Path(scratch) / "data_docs" / result.feed)
        flatness = None
        if not args.skip_memory:
            print(f"memory flatness: GP files of {args.small_rows:,} and {args.large_rows:,} rows ...", flush=True)
            flatness = memory_flatness(_gp_template(root), args.small_rows, args.large_rows, Path(scratch))
    print()
    print_table(results, flatness)
    return {
        "benchmark": "parse_feeds", "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average_at_start": load_before}, "repeat": args.repeat,
        "total_seconds": round(time.perf_counter() - started, 1), "today": TODAY.isoformat(), "generation": generation,
        "feeds": {r.feed: asdict(r) for r in results}, "memory_flatness": flatness,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, print the table, write the JSON result."""
    args = parse_args(argv)
    if args.probe is not None:
        print(json.dumps(probe(args.probe, args.probe_sender or "", args.probe_mode or "rss")))
        return 0
    if args.repeat < 1 or args.children < 1:
        raise SystemExit("--repeat and --children must be at least 1")
    result = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
