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
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchmarks.memory import peak_rss_mib, reset_peak_rss, rss_mib
from connectors.feeds import FEEDS, parse_file_name
from connectors.parsers import FileRejected, ParsedRow
from schemas.child import RowOutcome
from schemas.expectations import ProfileCollector, check_file
from schemas.expectations.runner import ENGINES
from tools.synthetic import generate

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "parse_feeds.json"
TODAY = date(2026, 11, 25)
MIB = 1024 * 1024
WARM_UP_ROWS = 1_000

Validator = Callable[[ParsedRow], RowOutcome]


# --- Driving a feed as its loader does, without the database ---------------------------------------

def open_feed_file(feed: str, stream: Any, sender: str, extracted: date | None = None
                   ) -> tuple[Iterable[ParsedRow], Validator]:
    """The rows of one open file and the row contract its loader applies to each (the feed's registry entry,
    as ``connectors/loading.py`` ``load_feed_file`` reads it)."""
    entry = FEEDS[feed]
    parsed = entry.read()(stream, sender, entry.header())
    contract = entry.contract()
    return parsed.rows, lambda row: contract(row.values, parsed.context, TODAY, extracted)


@dataclass
class Tally:
    """What one pass over a feed's files made of them."""

    files: int = 0
    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    withheld: int = 0
    rejected_files: int = 0
    crashed_rows: int = 0  # a validator raised something other than FileRejected: a bug, counted not hidden
    crashes: list[str] = field(default_factory=list)

    def add(self, outcome: RowOutcome) -> None:
        """Count one row's outcome."""
        if outcome.withheld:
            self.withheld += 1
        elif outcome.record is not None:
            self.loaded += 1
        else:
            self.quarantined += 1


def process_file(feed: str, path: Path, tally: Tally, limit: int | None = None,
                 profile: ProfileCollector | None = None) -> None:
    """Parse and validate one file (its first ``limit`` rows when given), counting into ``tally``.

    With ``profile``, each row is also profiled as the loader profiles it for the batch checks.
    """
    name = parse_file_name(path.name)
    tally.files += 1
    with path.open("rb") as stream:
        rows: Iterator[ParsedRow] = iter(())
        try:
            parsed, validate = open_feed_file(feed, stream, name.sender, name.extract_time.date())
            rows = iter(parsed)
            for row in rows:
                tally.rows += 1
                try:
                    outcome = validate(row)
                    tally.add(outcome)
                    if profile is not None:
                        _profile(profile, row.row_number, outcome)
                except Exception as exc:  # a benchmark reports a crash and goes on
                    tally.crashed_rows += 1
                    if len(tally.crashes) < 5:
                        tally.crashes.append(f"{path.name} row {row.row_number}: {type(exc).__name__}: {exc}")
                if limit is not None and tally.rows >= limit:
                    break
        except FileRejected:
            tally.rejected_files += 1
        finally:
            # A reader left part-way must finish while its stream is open (read_csv detaches it at the end).
            close = getattr(rows, "close", None)
            if close is not None:
                close()


def _profile(profile: ProfileCollector, row_number: int, outcome: RowOutcome) -> None:
    if outcome.withheld:
        profile.add(row_number, "withheld")
    elif outcome.record is None:
        profile.add(row_number, "quarantined")
    else:
        profile.add(row_number, "warned" if outcome.warnings else "loaded", outcome.record, outcome.warnings)


def feed_files(root: Path, feed: str) -> list[Path]:
    """The complete files of ``feed`` in a drop zone (no ``.part`` or ``.sha256``), in name order."""
    extension = FEEDS[feed].extension
    return sorted(path for path in (root / "inbound" / feed).glob(f"*.{extension}") if path.is_file())


# --- 1. Throughput per feed --------------------------------------------------------------------------

@dataclass
class FeedResult:
    """Timings of one feed: every repeat, and the median."""

    feed: str
    files: int
    rows: int
    megabytes: float
    seconds: list[float]
    rows_per_s: list[float]
    median_rows_per_s: float
    # CPU time of this process: on a shared machine the wall clock also counts other processes' turns.
    cpu_seconds: list[float]
    median_rows_per_cpu_s: float
    median_mb_per_s: float
    baseline_rss_mib: float | None
    peak_rss_mib: float | None
    peak_rss_reset: bool
    outcomes: dict[str, int]
    crashes: list[str]
    batch_checks: dict[str, Any] | None = None  # engine -> CPU ms per file


def time_feed(root: Path, feed: str, repeat: int) -> FeedResult:
    """Parse and validate every file of ``feed`` ``repeat`` times (after one untimed warm-up row batch)."""
    paths = feed_files(root, feed)
    size = sum(path.stat().st_size for path in paths) / MIB
    if paths:
        process_file(feed, paths[0], Tally(), limit=WARM_UP_ROWS)  # imports, pydantic and lxml caches
    baseline = rss_mib()
    reset = reset_peak_rss()
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    tally = Tally()
    for _ in range(repeat):
        tally = Tally()
        started, cpu_started = time.perf_counter(), time.process_time()
        for path in paths:
            process_file(feed, path, tally)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
    rates = [tally.rows / s if s > 0 else 0.0 for s in seconds]
    cpu_rates = [tally.rows / s if s > 0 else 0.0 for s in cpu_seconds]
    median_s = statistics.median(seconds)
    return FeedResult(
        feed=feed, files=len(paths), rows=tally.rows, megabytes=round(size, 3),
        seconds=[round(s, 4) for s in seconds], rows_per_s=[round(r, 1) for r in rates],
        median_rows_per_s=round(statistics.median(rates), 1),
        cpu_seconds=[round(s, 4) for s in cpu_seconds], median_rows_per_cpu_s=round(statistics.median(cpu_rates), 1),
        median_mb_per_s=round(size / median_s, 3) if median_s > 0 else 0.0,
        baseline_rss_mib=_round(baseline), peak_rss_mib=_round(peak_rss_mib()), peak_rss_reset=reset,
        outcomes={"loaded": tally.loaded, "quarantined": tally.quarantined, "withheld": tally.withheld,
                  "rejected_files": tally.rejected_files, "crashed_rows": tally.crashed_rows},
        crashes=tally.crashes,
    )


def time_batch_checks(root: Path, feed: str, docs_dir: Path) -> dict[str, Any]:
    """CPU milliseconds per file of the batch checks (data docs page included), for each engine."""
    profiles = []
    for path in feed_files(root, feed):
        tally, collector = Tally(), ProfileCollector(TODAY)
        process_file(feed, path, tally, profile=collector)
        if not tally.rejected_files:
            profiles.append((path.name, collector.frame()))
    figures: dict[str, Any] = {}
    for engine in ENGINES:
        if not profiles:
            break
        started = time.process_time()
        check_file(feed, profiles[0][1], previous_rows=None, engine=engine, docs_dir=docs_dir, file_label="warm-up")
        first = time.process_time() - started  # imports, and for GX its context and suite
        cpu: list[float] = []
        for label, frame in profiles:
            started = time.process_time()
            check_file(feed, frame, previous_rows=None, engine=engine, docs_dir=docs_dir, file_label=label)
            cpu.append(time.process_time() - started)
        figures[engine] = {"files": len(cpu), "median_cpu_ms": round(1000 * statistics.median(cpu), 2),
                           "max_cpu_ms": round(1000 * max(cpu), 2), "total_cpu_s": round(sum(cpu), 3),
                           "first_call_cpu_s": round(first, 3)}
    return figures


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- 2. Memory flatness of the GP CSV reader ------------------------------------------------------

def write_big_gp_file(template: Path, rows: int, out: Path) -> int:
    """A GP file of ``rows`` data rows: the template's header, then its data rows over and over (streamed)."""
    lines = template.read_bytes().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    if not body:
        raise ValueError(f"{template} has no data rows")
    block = b"".join(body)
    written = 0
    with out.open("wb") as handle:
        handle.write(header)
        while written + len(body) <= rows:
            handle.write(block)
            written += len(body)
        handle.writelines(body[: rows - written])
    return rows


def probe(path: Path, sender: str, mode: str) -> dict[str, Any]:
    """Run in a fresh interpreter: parse and validate one GP file; peak RSS or tracemalloc peak."""
    process_file("gp", path, Tally(), limit=WARM_UP_ROWS)
    baseline = rss_mib()
    reset = reset_peak_rss()
    if mode == "tracemalloc":
        tracemalloc.start()
    tally = Tally()
    started = time.perf_counter()
    with path.open("rb") as stream:
        rows, validate = open_feed_file("gp", stream, sender)
        for row in rows:
            tally.rows += 1
            tally.add(validate(row))
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"rows": tally.rows, "seconds": round(elapsed, 3),
                              "rows_per_s": round(tally.rows / elapsed, 1), "baseline_rss_mib": _round(baseline),
                              "peak_rss_mib": _round(peak_rss_mib()), "peak_rss_reset": reset}
    if mode == "tracemalloc":
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["tracemalloc_peak_mib"] = round(peak / MIB, 3)
    return result


def run_probe(path: Path, sender: str, mode: str) -> dict[str, Any]:
    """``probe`` in a child interpreter, so no earlier allocation or peak leaks into the figure."""
    command = [sys.executable, "-m", "benchmarks.parse_feeds", "--probe", str(path), "--probe-sender", sender,
               "--probe-mode", mode]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def memory_flatness(template: Path, small_rows: int, large_rows: int, work: Path) -> dict[str, Any]:
    """Peak RSS and tracemalloc peak for a small and a large GP file, and their large/small ratios."""
    sender = parse_file_name(template.name).sender
    figures: dict[str, Any] = {}
    for label, rows in (("small", small_rows), ("large", large_rows)):
        path = work / f"gp_{sender}_20261101T000000_{rows}.csv"
        write_big_gp_file(template, rows, path)
        rss = run_probe(path, sender, "rss")
        traced = run_probe(path, sender, "tracemalloc")
        figures[label] = {
            "rows": rows, "file_mib": round(path.stat().st_size / MIB, 1), "seconds": rss["seconds"],
            "rows_per_s": rss["rows_per_s"], "baseline_rss_mib": rss["baseline_rss_mib"],
            "peak_rss_mib": rss["peak_rss_mib"], "peak_rss_reset": rss["peak_rss_reset"],
            "rss_above_baseline_mib": _round((rss["peak_rss_mib"] or 0) - (rss["baseline_rss_mib"] or 0)),
            "tracemalloc_peak_mib": traced["tracemalloc_peak_mib"],
        }
        path.unlink()
    small, large = figures["small"], figures["large"]
    figures["ratio_peak_rss"] = _ratio(large["peak_rss_mib"], small["peak_rss_mib"])
    figures["ratio_rss_above_baseline"] = _ratio(large["rss_above_baseline_mib"], small["rss_above_baseline_mib"])
    figures["ratio_tracemalloc_peak"] = _ratio(large["tracemalloc_peak_mib"], small["tracemalloc_peak_mib"])
    return figures


def _ratio(large: float | None, small: float | None) -> float | None:
    return round(large / small, 3) if large is not None and small else None


# --- Report ----------------------------------------------------------------------------------------

def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict[str, Any]:
    """Where the figures were measured, and how busy the machine was (other processes skew timings)."""
    return {"cpus": os.cpu_count(), "cpu_model": _cpu_model(), "platform": platform.platform(),
            "python": platform.python_version(), "load_average_1_5_15": _load_average()}


def _load_average() -> list[float] | None:
    try:
        return [round(load, 2) for load in os.getloadavg()]
    except OSError:
        return None


def print_table(results: list[FeedResult], flatness: dict[str, Any] | None) -> None:
    """The figures as a plain table."""
    print(f"{'feed':<11}{'files':>6}{'rows':>9}{'MiB':>8}{'median rows/s':>15}{'min':>10}{'max':>10}"
          f"{'rows/CPU s':>12}{'MiB/s':>8}{'peak RSS MiB':>14}"
          "  outcomes (loaded/quarantined/withheld, rejected files, crashes)")
    for r in results:
        o = r.outcomes
        print(f"{r.feed:<11}{r.files:>6}{r.rows:>9}{r.megabytes:>8.1f}{r.median_rows_per_s:>15,.0f}"
              f"{min(r.rows_per_s):>10,.0f}{max(r.rows_per_s):>10,.0f}{r.median_rows_per_cpu_s:>12,.0f}"
              f"{r.median_mb_per_s:>8.2f}"
              f"{r.peak_rss_mib or 0:>14.1f}  {o['loaded']}/{o['quarantined']}/{o['withheld']}, "
              f"{o['rejected_files']}, {o['crashed_rows']}")
        for crash in r.crashes:
            print(f"{'':<11}crash: {crash}")
    checked = [r for r in results if r.batch_checks]
    if checked:
        print()
        print(f"{'feed':<11}{'batch checks, CPU ms a file (median / max; first call s)':<58}")
        for r in checked:
            line = "   ".join(f"{engine}: {f['median_cpu_ms']:.1f} / {f['max_cpu_ms']:.1f}; {f['first_call_cpu_s']:.2f}"
                               for engine, f in (r.batch_checks or {}).items())
            print(f"{r.feed:<11}{line}")
    if flatness:
        print()
        print(f"{'GP file':<9}{'rows':>10}{'MiB':>8}{'seconds':>9}{'rows/s':>10}{'baseline RSS':>14}"
              f"{'peak RSS':>10}{'RSS above base':>16}{'tracemalloc peak':>18}")
        for label in ("small", "large"):
            f = flatness[label]
            print(f"{label:<9}{f['rows']:>10,}{f['file_mib']:>8.1f}{f['seconds']:>9.1f}{f['rows_per_s']:>10,.0f}"
                  f"{f['baseline_rss_mib']:>14.1f}{f['peak_rss_mib']:>10.1f}{f['rss_above_baseline_mib']:>16.1f}"
                  f"{f['tracemalloc_peak_mib']:>18.3f}")
        print(f"{'ratio':<9}{'large/small':>18}{'':>33}{flatness['ratio_peak_rss'] or 0:>10.3f}"
              f"{flatness['ratio_rss_above_baseline'] or 0:>16.3f}{flatness['ratio_tracemalloc_peak'] or 0:>18.3f}")


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
