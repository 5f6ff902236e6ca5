"""Parse + validate throughput per feed: every file driven as its loader drives it, without the database,
and the batch checks timed per engine."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.memory import peak_rss_mib, reset_peak_rss, rss_mib
from connectors.feeds import FEEDS, parse_file_name
from connectors.parsers import FileRejected, ParsedRow
from schemas.child import RowOutcome
from schemas.expectations import ProfileCollector, check_file
from schemas.expectations.runner import ENGINES

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
