"""Child-record reads through the directory API at a fixed request rate, with auditing on.

Run from the repository root::

    python -m benchmarks.directory_api [--children 100000] [--rate 200] [--seconds 20] [--repeat 1]
                                       [--server URL] [--workers 1] [--client raw|httpx] [--rebuild] [--drop]

1. A benchmark database ``cp_bench_directory_api`` on the server of ``--server`` (trust auth; the embedded
   PostgreSQL when none answers) is migrated and filled with ``--children`` children by set-based SQL
   (``generate_series``): identity and directory rows, a source record each, a school, a GP and for one
   child in 20 a sensitive service, a parent; one in 100 shielded. A directory of the right size is
   reused (``--rebuild`` forces a new one). A user ``bench`` (reader) is created afresh.
2. ``uvicorn directory_api.main:app`` starts in a subprocess on 127.0.0.1 (a free port, access log off),
   the benchmark signs in (password, PIN, one-time code) and warms up with sequential reads.
3. Open loop: request *i* is sent at ``start + i / rate`` whatever the earlier ones are doing (asyncio with
   a lean keep-alive HTTP/1.1 client, as httpx.AsyncClient costs five times the CPU on the machine being
   measured; ``--client httpx`` uses it), for ``--seconds``; each reads a random active child
   (``GET /children/{cp_id}?purpose=...``), which the database masks and audits in the request's
   transaction. Latency is measured from the scheduled send time (so a stalled server is not hidden by a
   client that waits: no coordinated omission) and, for comparison, from the actual send.
4. Reported: reads/s achieved, p50/p95/p99/max latency, errors, audit entries appended (must equal the
   successful reads), the API's CPU per read and the load average, against the target p99 < 50 ms at
   200 reads/s on 100k children. ``--repeat`` runs several times against the same server; the run with
   the median p99 decides. A control run sends the same audited reads straight to PostgreSQL with
   ``pgbench`` at the same rate (skipped without pgbench or with ``--no-control``): what the database
   and the machine's current load allow without the API. Loopback only; the client shares the machine's
   cores with the server and PostgreSQL. Results go to ``benchmarks/results/directory_api.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The load generator shares the two cores with what it measures: on uvloop its CPU per read is a quarter less.
from uvloop import run as run_loop

from benchmarks.directory_api_load import (
    PURPOSE,
    WARM_UP_READS,
    drive,
    drive_closed,
    free_port,
    start_api,
    stop_api,
    summary,
)
from benchmarks.directory_api_store import (
    DATABASE,
    DEFAULT_SERVER,
    PASSWORD,
    PIN,
    REPO,
    USERNAME,
    api_backends,
    build_directory,
    cpu_seconds,
    database_url,
    fresh_user,
)

RESULTS = REPO / "benchmarks" / "results" / "directory_api.json"
TARGET = {"rate": 1000, "children": 100_000, "p99_ms": 25.0}
MAX_SECONDS, MAX_RATE = 600, 5_000

PGBENCH_SCRIPT = """\\set n random(1, {children})
SELECT * FROM directory.api_child_record('{token}', '{purpose}', NULL,
                                         'CP' || lpad(:n::text, 9, '0') || chr(65 + :n % 26));
"""


def db_only_control(url: str, token: str, *, children: int, rate: float | None, seconds: float,
                    clients: int = 8) -> dict[str, Any] | None:
    """The API's own statement straight into PostgreSQL as ``cp_api`` with pgbench (autocommit, one statement
    per read), at ``rate`` or, with None, as fast as ``clients`` connections go: what the database and the
    machine allow without the API (None when pgbench is not installed)."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        return None
    parsed = make_url(url)
    host = parsed.host or str(parsed.query.get("host", "")) or "127.0.0.1"
    with tempfile.TemporaryDirectory(prefix="cp-bench-pgbench-") as folder:
        script = Path(folder) / "read.sql"
        script.write_text(PGBENCH_SCRIPT.format(children=children, token=token, purpose=PURPOSE), encoding="utf-8")
        command = [pgbench, "-n", "-h", host, "-p", str(parsed.port or 5432), "-U", "cp_api", "-M", "prepared",
                   "-f", str(script), *(["-R", str(rate)] if rate else []), "-T", str(max(1, round(seconds))),
                   "-c", str(clients), "-j", "2", "-l", "--log-prefix", str(Path(folder) / "log"),
                   parsed.database or DATABASE]
        subprocess.run(command, check=True, capture_output=True, timeout=seconds + 60)
        latencies = []
        for log in Path(folder).glob("log*"):
            for line in log.read_text(encoding="ascii").splitlines():
                fields = line.split()
                if len(fields) >= 6 and fields[2].isdigit():  # time_us, then schedule lag at the end with -R
                    latencies.append((int(fields[2]) + (int(fields[6]) if rate and len(fields) >= 7 else 0)) / 1e6)
    return {"tool": "pgbench", "clients": clients, "rate": rate, "reads": len(latencies),
            "reads_per_second": round(len(latencies) / max(1, round(seconds)), 1),
            "latency_from_schedule": summary(latencies)}


def _print_run(number: int, run: dict[str, Any]) -> None:
    sched, sent = run["latency_from_schedule"], run["latency_from_send"]
    mode = f"closed loop, {run['clients']} clients" if run.get("mode") == "closed" else "open loop"
    print(f"run {number} ({mode}): {run['ok']}/{run['requests']} reads ok in {run['elapsed_seconds']} s, "
          f"{run['reads_per_second']} reads/s, statuses {run['statuses']}; load {run['load_average_1m']}")
    print(f"  latency from schedule: p50 {sched['p50_ms']} ms, p95 {sched['p95_ms']} ms, p99 {sched['p99_ms']} ms, "
          f"max {sched['max_ms']} ms (from send: p50 {sent['p50_ms']}, p99 {sent['p99_ms']} ms)")
    print(f"  CPU per read: API {run['api_cpu_ms_per_read']} ms, PostgreSQL {run['db_cpu_ms_per_read']} ms, "
          f"client {run['client_cpu_ms_per_read']} ms")


def median_of(runs: list[dict[str, Any]], by: str = "p99") -> dict[str, Any] | None:
    """The run with the median p99 (``by="rate"``: the median reads/s), None without runs."""
    if not runs:
        return None
    if by == "rate":
        return sorted(runs, key=lambda r: r["reads_per_second"])[(len(runs) - 1) // 2]
    return sorted(runs, key=lambda r: r["latency_from_schedule"]["p99_ms"] or float("inf"))[(len(runs) - 1) // 2]


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the directory, start the API, drive reads, write and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--children", type=int, default=TARGET["children"])
    parser.add_argument("--rate", type=float, default=TARGET["rate"], help="reads per second (open loop; 0: none)")
    parser.add_argument("--clients", type=int, default=0, help="closed-loop clients (0: no closed-loop run)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each loop; the median p99 counts")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server to create the database on")
    parser.add_argument("--database", default=DATABASE, help="benchmark database name on that server")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load generator: a lean HTTP/1.1 client (default) or httpx.AsyncClient")
    parser.add_argument("--no-control", action="store_true", help="skip the database-only control run (pgbench)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the directory even if its size fits")
    parser.add_argument("--drop", action="store_true", help="drop the benchmark database afterwards")
    args = parser.parse_args(argv)
    if not (0 < args.seconds <= MAX_SECONDS and 0 <= args.rate <= MAX_RATE and args.children > 0
            and 1 <= args.repeat <= 10 and 0 <= args.clients <= 256 and (args.rate or args.clients)):
        parser.error(f"need 0 < seconds <= {MAX_SECONDS}, 0 <= rate <= {MAX_RATE}, children > 0, "
                     "1 <= repeat <= 10, 0 <= clients <= 256, and a rate or clients")

    from warehouse.migrate import upgrade

    url = database_url(args.server, args.database)
    upgrade(url)
    engine = create_engine(url)
    build = build_directory(engine, args.children, args.rebuild)
    print(f"directory of {args.children} children {'reused' if build['reused'] else 'built'} "
          f"({build['build_seconds']} s)")
    secret = fresh_user(engine)
    read_entries = text("SELECT count(*) FROM audit.entry WHERE action = 'read_child'")
    with engine.connect() as conn:
        audit_before = conn.execute(read_entries).scalar_one()

    port = free_port()
    api = start_api(url, port, args.workers)
    runs: list[dict[str, Any]] = []
    warm_up_reads = 0
    try:
        base_url = f"http://127.0.0.1:{port}"
        signed_in = httpx.post(f"{base_url}/session", timeout=30, json={
            "username": USERNAME, "password": PASSWORD, "pin": PIN, "one_time_code": pyotp.TOTP(secret).now()})
        signed_in.raise_for_status()
        token = signed_in.json()["token"]
        # Open every pooled connection first, so the database's CPU is read from the same backends throughout.
        filled = run_loop(drive_closed(base_url, token, children=args.children, clients=16, seconds=1, seed=0))
        warm_up_reads = filled["ok"] + WARM_UP_READS
        backends = api_backends(engine, args.database)
        for number in range(1, args.repeat + 1):
            for mode in ("open", "closed"):
                if (mode == "open" and not args.rate) or (mode == "closed" and not args.clients):
                    continue
                cpu_before = cpu_seconds(api.pid)
                db_before = sum(cpu_seconds(pid) for pid in backends)
                if mode == "open":
                    run = run_loop(drive(base_url, token, children=args.children, rate=args.rate,
                                            seconds=args.seconds, seed=args.seed + number, client_kind=args.client))
                    run["mode"] = "open"
                else:
                    run = run_loop(drive_closed(base_url, token, children=args.children, clients=args.clients,
                                                   seconds=args.seconds, seed=args.seed + number))
                # Only the uvicorn process itself: with --workers > 1 the work happens in its children.
                run["api_cpu_ms_per_read"] = (round((cpu_seconds(api.pid) - cpu_before) * 1000
                                                    / max(1, run["ok"] + WARM_UP_READS), 2)
                                              if args.workers == 1 else None)
                # PostgreSQL's CPU per read (the API's backends only; WAL writer and checkpointer left out).
                run["db_cpu_ms_per_read"] = round((sum(cpu_seconds(pid) for pid in backends) - db_before) * 1000
                                                  / max(1, run["ok"] + WARM_UP_READS), 2)
                # Other work on the machine competes with the API, PostgreSQL and the client for the cores.
                run["load_average_1m"] = round(os.getloadavg()[0], 2)
                runs.append(run)
                _print_run(number, run)
    finally:
        stop_api(api)
    with engine.connect() as conn:
        audited = conn.execute(read_entries).scalar_one() - audit_before
    control = None if args.no_control else db_only_control(url, token, children=args.children,
                                                           rate=args.rate or None, seconds=args.seconds)
    if control is not None:
        print(f"database only (pgbench as cp_api, same statement): {control['reads_per_second']} reads/s, "
              f"latency {control['latency_from_schedule']}")
    with engine.connect() as conn:
        server_version = conn.execute(text("SHOW server_version")).scalar_one()
    engine.dispose()

    reads = warm_up_reads + sum(run["ok"] + WARM_UP_READS for run in runs)
    open_runs = [r for r in runs if r["mode"] == "open"]
    closed_runs = [r for r in runs if r["mode"] == "closed"]
    median, closed = median_of(open_runs), median_of(closed_runs, by="rate")
    p99 = median["latency_from_schedule"]["p99_ms"] if median else None
    result = {
        "benchmark": "directory_api", "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {"children": args.children, "rate": args.rate, "clients": args.clients, "seconds": args.seconds,
                   "repeat": args.repeat, "workers": args.workers, "seed": args.seed,
                   "warm_up_reads": WARM_UP_READS, "client": args.client},
        "build": build,
        "median_run": median,
        "median_closed_run": closed,
        "closed_reads_per_second_each_run": [r["reads_per_second"] for r in closed_runs],
        "p99_ms_each_run": [r["latency_from_schedule"]["p99_ms"] for r in open_runs],
        "runs": runs,
        "db_only_control": control,
        "audit_entries_appended": audited,
        "audit_matches_reads": audited == reads,
        "target": TARGET,
        "target_met": bool(median and p99 is not None and p99 < TARGET["p99_ms"] and median["ok"] == median["requests"]
                           and args.rate >= TARGET["rate"] and args.children >= TARGET["children"]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "postgres": server_version,
                    "platform": platform.platform()},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if median:
        print(f"open loop: median run p99 {p99} ms (each run: {result['p99_ms_each_run']}); target p99 < "
              f"{TARGET['p99_ms']} ms at {TARGET['rate']} reads/s on {TARGET['children']} children met: "
              f"{result['target_met']}")
    if closed:
        print(f"closed loop, {args.clients} clients: median {closed['reads_per_second']} reads/s "
              f"(each run: {result['closed_reads_per_second_each_run']}), "
              f"p99 {closed['latency_from_send']['p99_ms']} ms")
    print(f"audit entries appended: {audited} for {reads} reads (warm-up included); written to "
          f"{RESULTS.relative_to(REPO)}")
    if args.drop:
        from warehouse.db import as_psycopg_url

        admin = create_engine(as_psycopg_url(args.server), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'))
        admin.dispose()
    return 0 if result["target_met"] or not median else 1


if __name__ == "__main__":
    sys.exit(main())
