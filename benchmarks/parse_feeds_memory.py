"""Memory flatness of the GP CSV reader: a small and a large GP file, each parsed and validated in a
fresh interpreter, for peak RSS and for the tracemalloc peak."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.memory import peak_rss_mib, reset_peak_rss, rss_mib
from benchmarks.parse_feeds_timing import MIB, WARM_UP_ROWS, Tally, _round, open_feed_file, process_file
from connectors.feeds import parse_file_name

REPO = Path(__file__).resolve().parents[1]


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
