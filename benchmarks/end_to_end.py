"""End to end at national scale: N generated children through the pipeline's own steps, phase by phase.

    .venv/bin/python -m benchmarks.end_to_end --children 100000
    .venv/bin/python -m benchmarks.end_to_end --children 1000000 --dir /tmp/e2e-1m --next-night --relink

The drop zone is generated once into ``--dir`` (``contactpoint generate``; reused when it is there), copied
into a fresh database's own drop zone, then taken through exactly the steps the DAGs and
``contactpoint ingest`` call (``pipeline.receive``, ``pipeline.load``, ``pipeline.acknowledge``,
``pipeline.link``, ``pipeline.publish``). The load is split into parse + validate, the door (out-of-scope
check), staging writes and batch checks by timing the functions the loader calls, without changing them.

Optionally, a realistic next night for the same population (``--next-night``: the generator's
``next_night``: new children, moves, new schools, GP changes, name changes, leavers) is taken through the
same steps, and a full re-link of every record (``--relink``) is timed against it. After the re-link the
benchmark checks that no record changed child (IDs stable on a second run).

Each phase reports wall time, rows/s and the process's peak RSS (reset before the phase; worker processes'
peaks are reported apart). Figures go to ``benchmarks/results/end_to_end_<N>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.memory import peak_rss_mib, reset_peak_rss, rss_mib

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
AS_OF = "2026-11-02"
NEXT_DAY = "2026-11-03"
RESULTS = Path(__file__).parent / "results"


class Phases:
    """Wall time, peak RSS and counts per phase, plus time spent inside named functions."""

    def __init__(self) -> None:
        self.figures: dict[str, dict[str, Any]] = {}
        self.inside: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str, rows: int | None = None) -> Iterator[dict[str, Any]]:
        reset_peak_rss()
        started = time.perf_counter()
        entry: dict[str, Any] = {}
        yield entry
        seconds = time.perf_counter() - started
        entry.update({"seconds": round(seconds, 2), "peak_rss_mib": round(peak_rss_mib() or 0, 1)})
        rows = entry.get("rows", rows)
        if rows:
            entry["rows"] = rows
            entry["rows_per_second"] = round(rows / seconds) if seconds else None
        self.figures[name] = entry
        print(f"  {name:<28} {seconds:8.1f} s  peak {entry['peak_rss_mib']:7.0f} MiB"
              + (f"  {entry['rows_per_second']:>9,} rows/s" if rows and seconds else ""), flush=True)

    def timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.inside[name] = self.inside.get(name, 0.0) + time.perf_counter() - started
        return wrapper


def instrument(phases: Phases) -> None:
    """Time what the loader calls, in place (the benchmark's process only)."""
    from connectors import loading

    for name in ("stage_records", "out_of_scope_keys", "check_file", "quarantine_row", "record_issues"):
        setattr(loading, name, phases.timed(name, getattr(loading, name)))


def copy_inbound(source: Path, zone: Path) -> None:
    for path in sorted((source / "inbound").rglob("*")):
        if path.is_file():
            target = zone / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def night(phases: Phases, label: str, source: Path, zone: Path, run_id: str) -> dict[str, Any]:
    """One night's files through receive → load → acknowledge → link → publish, timed phase by phase."""
    from connectors.feeds import FEEDS
    from pipeline import steps as pipeline

    copy_inbound(source, zone)
    phases.inside.clear()
    print(f"{label}:", flush=True)
    with phases.phase(f"{label}.receive") as entry:
        waiting = {feed: pipeline.receive(feed) for feed in FEEDS}
        entry["files"] = sum(len(v) for v in waiting.values())
    with phases.phase(f"{label}.load") as entry:
        started = time.perf_counter()
        outcomes = pipeline.load_files([i for ids in waiting.values() for i in ids])
        entry["rows"] = sum(int(str(o["read"])) for o in outcomes)
        entry["loaded"] = sum(int(str(o["loaded"])) for o in outcomes)
        entry["rejected_files"] = sum(o["status"] == "rejected" for o in outcomes)
        entry["inside_seconds"] = {k: round(v, 2) for k, v in sorted(phases.inside.items())}
        # Parse + validate is what the load spent outside the store's writes and the batch checks.
        entry["parse_validate_seconds"] = round(time.perf_counter() - started - sum(phases.inside.values()), 2)
        door = phases.inside.get("out_of_scope_keys", 0.0)
        stage = phases.inside.get("stage_records", 0.0)
        checks = phases.inside.get("check_file", 0.0)
        entry["split"] = {"door": round(door, 2), "stage": round(stage, 2), "batch_checks": round(checks, 2)}
    with phases.phase(f"{label}.acknowledge"):
        for feed in FEEDS:
            pipeline.acknowledge(feed)
    with phases.phase(f"{label}.link") as entry:
        summary = pipeline.link(run_id)
        entry.update(records=summary.records, new_children=summary.new_children,
                     joined_existing=summary.joined_existing, pairs_scored=summary.pairs_scored)
    with phases.phase(f"{label}.publish") as entry:
        published = pipeline.publish()
        entry.update(children_considered=published.children_considered,
                     children_written=published.children_written)
    return {k: v for k, v in phases.figures.items() if k.startswith(label + ".")}


def record_children() -> dict[int, str]:
    from sqlalchemy import text

    from warehouse.db import transaction

    with transaction() as conn:
        return {int(r): str(c) for r, c in conn.execute(text("SELECT record_id, cp_id FROM identity.link"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.end_to_end", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--dir", type=Path, help="generated drop zone (reused when present)")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL (the embedded one when down)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cp-bench-e2e"), help="scratch data folder")
    parser.add_argument("--next-night", action="store_true", help="then a realistic next night")
    parser.add_argument("--relink", action="store_true", help="then a full re-link, IDs checked stable")
    parser.add_argument("--backend", choices=("duckdb", "spark"), default="duckdb",
                        help="where the link steps run (spark: the whole link step, read over JDBC)")
    parser.add_argument("--relink-backends", nargs="+", choices=("duckdb", "spark"),
                        help="re-link on each of these in turn (default: --backend), IDs checked stable each time")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    from benchmarks.directory_api_store import database_url
    from benchmarks.linkage_setup import configure
    from tools.synthetic import generate

    source = args.dir or Path(f"/tmp/e2e-{args.children}")
    result: dict[str, Any] = {"children": args.children, "seed": args.seed, "fault_rate": args.fault_rate,
                              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "load_average_start": os.getloadavg()}}
    if not (source / "ground_truth.csv").exists():
        started = time.perf_counter()
        generate(source, children=args.children, seed=args.seed, fault_rate=args.fault_rate)
        result["generate_seconds"] = round(time.perf_counter() - started, 1)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    url = database_url(args.server, f"cp_bench_e2e_{args.children}", fresh=True)
    os.environ["CONTACTPOINT_LINK_BACKEND"] = args.backend  # read by configure's fresh settings
    configure(url, args.work, args.work / "dropzone", as_of=AS_OF)
    result["backend"] = args.backend
    from warehouse.migrate import upgrade

    upgrade()
    phases = Phases()
    instrument(phases)
    zone = args.work / "dropzone"
    print(f"{args.children:,} children, database {url.rsplit('/', 1)[-1]}, RSS after imports {rss_mib():.0f} MiB")
    started = time.perf_counter()
    night(phases, "first", source, zone, "bench-first")
    result["first_night_seconds"] = round(time.perf_counter() - started, 1)
    print(f"first night end to end: {result['first_night_seconds']} s")
    if args.next_night:
        from contactpoint.settings import get_settings
        from tools.synthetic import next_night

        os.environ["CONTACTPOINT_AS_OF"] = NEXT_DAY  # the night after: its files are a day newer
        get_settings.cache_clear()

        second = source.parent / (source.name + "-night2")
        if not (second / "inbound").exists():
            next_night(source, second, seed=args.seed)
        before = record_children()
        started = time.perf_counter()
        night(phases, "next", second, zone, "bench-next")
        result["next_night_seconds"] = round(time.perf_counter() - started, 1)
        after = record_children()
        result["next_night_ids_changed"] = sum(1 for r, c in before.items() if after.get(r) != c)
        print(f"next night end to end: {result['next_night_seconds']} s")
    if args.relink:
        from pipeline import steps as pipeline

        # Each re-link must give every record the child it has (on unchanged data, whatever the backend).
        for backend in args.relink_backends or [args.backend]:
            name = "relink" if backend == args.backend else f"relink_{backend}"
            before = record_children()
            with phases.phase(name) as entry:
                summary = pipeline.relink(f"bench-{name}", backend=backend)
                entry.update(records=summary.records, records_moved=summary.records_moved,
                             children_merged=summary.children_merged, new_children=summary.new_children)
            with phases.phase(f"{name}.publish"):
                pipeline.publish()
            after = record_children()
            result[f"{name}_ids_changed"] = sum(1 for r, c in before.items() if after.get(r) != c)
        if args.next_night and "relink" in phases.figures:
            result["delta_over_relink"] = round(
                phases.figures["next.link"]["seconds"] / phases.figures["relink"]["seconds"], 3)
    result["phases"] = phases.figures
    result["worker_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    result["machine"]["load_average_end"] = os.getloadavg()
    suffix = "" if args.backend == "duckdb" else f"_{args.backend}"
    output = args.output or RESULTS / f"end_to_end_{args.children}{suffix}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
