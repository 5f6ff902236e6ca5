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
import asyncio
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pyotp
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

# The load generator shares the two cores with what it measures: on uvloop its CPU per read is a quarter less.
from uvloop import run as run_loop

from warehouse.db import server_answers

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "directory_api.json"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "cp_bench_directory_api"
USERNAME, PASSWORD, PIN = "bench", "bench-password-not-secret", "2468"
PURPOSE = "safeguarding"
TARGET = {"rate": 1000, "children": 100_000, "p99_ms": 25.0}
MAX_SECONDS, MAX_RATE = 600, 5_000
WARM_UP_READS = 200

# Set-based build of a directory of :n children (ids CP000000001B...); triggers off for the bulk load.
BUILD = [
    "SET LOCAL session_replication_role = replica",
    """INSERT INTO intake.file (feed, sender, file_name, sha256, size_bytes)
       VALUES ('school', '372', 'benchmark', repeat('b', 64), 0)""",
    """CREATE TEMP TABLE bench ON COMMIT DROP AS
       SELECT n, 'CP' || lpad(n::text, 9, '0') || chr(65 + n % 26) AS cp_id,
              (ARRAY['Alfie','Ava','Leo','Ivy','Noah','Mia','Oscar','Isla','Jack','Grace','Harry','Lily'])[1 + n % 12]
                  AS given_name,
              (ARRAY['Smith','Jones','Taylor','Brown','Williams','Wilson','Evans','Thomas','Roberts','Walker',
                     'Wright','Hughes','Green','Hall','Wood','Clarke','Patel','Khan','Lewis','Young'])
                  [1 + (n / 12) % 20]
                  || CASE WHEN n % 7 = 0 THEN '-' || (n % 997) ELSE '' END AS family_name,
              date '2008-01-01' + ((n::bigint * 7919) % 6570)::int AS date_of_birth,
              CASE WHEN n % 2 = 0 THEN 'F' ELSE 'M' END AS gender,
              'S' || (10 + n % 90) || ' ' || (n % 10) || chr(65 + n % 26) || chr(65 + (n / 26) % 26) AS postcode
       FROM generate_series(1, :n) AS n""",
    """INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time, given_name,
                                          family_name, date_of_birth, gender, postcode, content_hash)
       SELECT 'school', '372', cp_id, (SELECT max(file_id) FROM intake.file), n, now(), given_name, family_name,
              date_of_birth, gender, postcode, md5(cp_id) FROM bench""",
    "INSERT INTO identity.child (cp_id) SELECT cp_id FROM bench",
    """INSERT INTO identity.link (record_id, cp_id, method, run_id)
       SELECT s.record_id, b.cp_id, 'benchmark', 'benchmark'
       FROM bench b JOIN staging.source_record s ON s.feed = 'school' AND s.source_key = b.cp_id""",
    """INSERT INTO directory.child (cp_id, given_name, family_name, date_of_birth, gender, address_line_1,
                                   address_line_2, postcode, shielded)
       SELECT cp_id, given_name, family_name, date_of_birth, gender, (n % 200) || ' Oak Road', 'Rotherham',
              postcode, n % 100 = 0 FROM bench""",
    """INSERT INTO directory.involvement (cp_id, source_record_id, kind, organisation_code, organisation_name,
                                         practitioner_name, phone, started_on, lead_professional, service_type,
                                         sensitive)
       SELECT b.cp_id, l.record_id, v.kind, v.code, v.name, v.practitioner,
              '01709 ' || lpad((b.n % 999999)::text, 6, '0'), b.date_of_birth + 1500,
              v.lead, v.service_type, v.sensitive
       FROM bench b JOIN identity.link l ON l.cp_id = b.cp_id
       CROSS JOIN LATERAL (VALUES
           ('education', '372' || lpad((b.n % 500)::text, 4, '0'), 'School ' || b.n % 500, 'Head of year',
            b.n % 3 = 0, NULL, false),
           ('primary_care', 'C' || lpad((b.n % 800)::text, 5, '0'), 'Surgery ' || b.n % 800, 'Dr ' || b.n % 800,
            false, NULL, false)) AS v(kind, code, name, practitioner, lead, service_type, sensitive)
       UNION ALL
       SELECT b.cp_id, l.record_id, 'other', 'MH' || b.n % 50, 'Wellbeing service ' || b.n % 50, 'Counsellor',
              '01709 999999', b.date_of_birth + 4000, false, 'mental_health', true
       FROM bench b JOIN identity.link l ON l.cp_id = b.cp_id WHERE b.n % 20 = 0""",
    """INSERT INTO directory.carer (cp_id, source_record_id, contact_order, title, given_name, family_name,
                                   relationship, parental_responsibility, phone)
       SELECT b.cp_id, l.record_id, 1, 'Ms', 'Jane', b.family_name, 'PAR', true,
              '07700 900' || lpad((b.n % 999)::text, 3, '0')
       FROM bench b JOIN identity.link l ON l.cp_id = b.cp_id""",
]
HUB_TABLES = """SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
                WHERE schemaname IN ('intake', 'staging', 'identity', 'directory', 'archive', 'access', 'audit')"""


def cp_id(n: int) -> str:
    """The ID the build gives child ``n`` (same formula as the SQL)."""
    return f"CP{n:09d}{chr(65 + n % 26)}"


def database_url(server: str, database: str = DATABASE, *, fresh: bool = False) -> str:
    """A benchmark database's URL, created if missing (``fresh``: dropped and created anew), on the embedded
    server when ``server`` is down."""
    from warehouse.db import as_psycopg_url, start_embedded_server

    admin_url = as_psycopg_url(server)
    if not server_answers(admin_url):
        print(f"no PostgreSQL at {server}: using the embedded server", file=sys.stderr)
        admin_url = start_embedded_server(Path(tempfile.gettempdir()) / "cp-bench-directory-api-pgdata")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if fresh:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first():
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    base, _, query = admin_url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{database}" + (f"?{query}" if query else "")


def build_directory(engine: Engine, children: int, rebuild: bool) -> dict[str, Any]:
    """Fill the store with ``children`` children unless it already holds exactly that many."""
    with engine.connect() as conn:
        present = conn.execute(text("SELECT count(*) FROM directory.child")).scalar_one()
    if present == children and not rebuild:
        return {"reused": True, "build_seconds": 0.0}
    started = time.perf_counter()
    with engine.begin() as conn:
        tables = conn.execute(text(HUB_TABLES)).scalars().all()
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        for statement in BUILD:
            conn.execute(text(statement), {"n": children})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return {"reused": False, "build_seconds": round(time.perf_counter() - started, 1)}


def fresh_user(engine: Engine) -> str:
    """A new reader ``bench`` (its sessions and any lock gone); returns its TOTP secret."""
    from warehouse.users import add_user

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM access.session WHERE username = :u"), {"u": USERNAME})
        conn.execute(text("DELETE FROM access.app_user WHERE username = :u"), {"u": USERNAME})
        secret = add_user(conn, username=USERNAME, display_name="Benchmark", role="reader", password=PASSWORD,
                          pin=PIN)
        # A load test reads far past a person's hourly budget (migration 0011): the bench user has none.
        conn.execute(text("UPDATE access.app_user SET reads_per_hour = NULL WHERE username = :u"),
                     {"u": USERNAME})
        return secret


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn in a subprocess on loopback, access log off (it would log search terms)."""
    env = {**os.environ, "CONTACTPOINT_DATABASE_URL": url}
    command = [sys.executable, "-m", "uvicorn", "directory_api.main:app", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_api(process)
    raise RuntimeError("uvicorn did not answer within 60 s")


def stop_api(process: subprocess.Popen[bytes]) -> None:
    """Stop the uvicorn we started (its own process group: workers included)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api_backends(engine: Engine, database: str) -> list[int]:
    """Process ids of the PostgreSQL backends the API holds open as ``cp_api`` in the benchmark database."""
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND usename = 'cp_api'"),
                                 {"d": database}).scalars())


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))  # round() rounds halves to even
    return ordered[rank - 1]


def summary(latencies: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds."""
    ms = [v * 1000 for v in latencies]
    return {f"p{q}_ms": (round(v, 2) if (v := percentile(ms, q)) is not None else None) for q in (50, 95, 99)} | {
        "max_ms": round(max(ms), 2) if ms else None}


class RawClient:
    """A minimal HTTP/1.1 keep-alive GET client for our own server on loopback.

    httpx.AsyncClient spends about 1.4 ms of CPU per request here; on a 2-core machine that CPU is taken
    from the server being measured. This client spends a fraction of it. It handles exactly what uvicorn
    answers a GET with (status line, headers, ``Content-Length`` body); a kept-alive connection the
    server has closed is reopened once.
    """

    def __init__(self, host: str, port: int, headers: dict[str, str], max_connections: int = 512) -> None:
        self.host, self.port = host, port
        self.header_bytes = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(max_connections)

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes) -> int | None:
        reader, writer = conn
        writer.write(request)
        status_line = await reader.readline()
        if not status_line:
            return None  # closed by the server while idle
        length, keep = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                keep = False
        await reader.readexactly(length)
        if keep:
            self.idle.append(conn)
        else:
            writer.close()
        return int(status_line.split()[1])

    async def get(self, target: str) -> int:
        """GET ``target`` (path and query); returns the status code."""
        request = f"GET {target} HTTP/1.1\r\n{self.header_bytes}\r\n".encode()
        async with self.slots:
            for reused in (True, False):
                conn = self.idle.pop() if reused and self.idle else await asyncio.open_connection(self.host, self.port)
                try:
                    status = await self._exchange(conn, request)
                except BaseException:
                    conn[1].close()
                    raise
                if status is not None:
                    return status
                conn[1].close()
            raise ConnectionError("server closed a new connection without answering")

    def close(self) -> None:
        """Close every idle connection."""
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def drive(base_url: str, token: str, *, children: int, rate: float, seconds: float, seed: int,
                client_kind: str = "raw") -> dict[str, Any]:
    """Open-loop reads at ``rate`` per second for ``seconds``; bounded in count and in time."""
    rng = random.Random(seed)
    total = int(rate * seconds)
    targets = [f"/children/{cp_id(rng.randint(1, children))}?{urlencode({'purpose': PURPOSE})}" for _ in range(total)]
    headers = {"Authorization": f"Bearer {token}"}
    scheduled_latency: list[float] = []
    service_latency: list[float] = []
    statuses: dict[str, int] = {}
    url = httpx.URL(base_url)
    raw = RawClient(url.host, url.port or 80, headers)
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=10.0) as client:

        async def get(target: str) -> int:
            if client_kind == "raw":
                return await asyncio.wait_for(raw.get(target), timeout=10.0)
            return (await client.get(target)).status_code

        for i in range(WARM_UP_READS):  # fills the server's connection pool and PostgreSQL's caches
            await get(targets[i % total])

        async def one(at: float, target: str) -> None:
            sent = time.perf_counter()
            try:
                key = str(await get(target))
            except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as error:  # OSError: timeouts too
                key = type(error).__name__
            done = time.perf_counter()
            statuses[key] = statuses.get(key, 0) + 1
            if key == "200":
                scheduled_latency.append(done - at)
                service_latency.append(done - sent)

        start, client_cpu = time.perf_counter() + 0.1, time.process_time()
        tasks = []
        lag = 0.0
        for i, target in enumerate(targets):
            at = start + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag = max(lag, -delay)
            tasks.append(asyncio.create_task(one(at, target)))
        _, pending = await asyncio.wait(tasks, timeout=seconds + 15)
        for task in pending:
            task.cancel()
        elapsed = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu
        raw.close()
    ok = statuses.get("200", 0)
    return {"requests": total, "ok": ok, "statuses": statuses, "unfinished": len(pending),
            "elapsed_seconds": round(elapsed, 2), "reads_per_second": round(ok / elapsed, 1),
            "max_send_lag_ms": round(lag * 1000, 2), "client_cpu_ms_per_read": round(client_cpu * 1000 / total, 2),
            "latency_from_schedule": summary(scheduled_latency), "latency_from_send": summary(service_latency)}


async def drive_closed(base_url: str, token: str, *, children: int, clients: int, seconds: float,
                       seed: int) -> dict[str, Any]:
    """Closed loop: ``clients`` connections each send the next read as soon as the last one answers, for
    ``seconds``: the most reads a second the server gives, and their latency at that rate."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    url = httpx.URL(base_url)
    raw = RawClient(url.host, url.port or 80, headers, max_connections=clients)
    query = urlencode({"purpose": PURPOSE})
    for _ in range(WARM_UP_READS):
        await raw.get(f"/children/{cp_id(rng.randint(1, children))}?{query}")
    latency: list[float] = []
    statuses: dict[str, int] = {}
    stop = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            try:
                key = str(await asyncio.wait_for(raw.get(f"/children/{cp_id(rng.randint(1, children))}?{query}"),
                                                 timeout=10.0))
            except (OSError, asyncio.IncompleteReadError) as error:
                key = type(error).__name__
            statuses[key] = statuses.get(key, 0) + 1
            if key == "200":
                latency.append(time.perf_counter() - sent)

    start, client_cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    client_cpu = time.process_time() - client_cpu
    raw.close()
    ok = statuses.get("200", 0)
    return {"mode": "closed", "clients": clients, "requests": sum(statuses.values()), "ok": ok,
            "statuses": statuses, "elapsed_seconds": round(elapsed, 2), "reads_per_second": round(ok / elapsed, 1),
            "client_cpu_ms_per_read": round(client_cpu * 1000 / max(1, ok), 2),
            "latency_from_schedule": summary(latency), "latency_from_send": summary(latency)}


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
