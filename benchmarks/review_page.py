"""Time of the steward console's review queue page with 10,000 pending pairs.

Run from the repository root::

    python -m benchmarks.review_page [--pairs 10000] [--runs 5] [--requests 40] [--server URL] [--rebuild]

1. A benchmark database ``cp_bench_review_page`` on ``--server`` (trust auth) is migrated and filled by
   set-based SQL: two source records per pair (school and GP, local authorities 372 and 373 by turns),
   each its own child, one record in 100 restricted (so some pairs touch a shielded child), and
   ``--pairs`` open review pairs with weights spread between the review and link thresholds. A database
   of the right size is reused (``--rebuild`` forces a new one). A steward ``bench_steward`` is created
   afresh and given a session directly (sign-in is not what is measured).
2. The hub's app runs under uvicorn in a thread on 127.0.0.1; after a warm-up, ``--runs`` runs of
   ``--requests`` sequential GETs per page variant: the queue's first page, a page deep in it (page 100),
   filtered by feed, and filtered by local authority. Each request is timed end to end (whole HTML body
   read) by an httpx client on the same machine.
3. Reported per variant: p50 and p95 of each run, and the median over runs of each (the figure to quote),
   against the target p95 < 300 ms. Results go to ``benchmarks/results/review_page.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "review_page.json"
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE = "cp_bench_review_page"
STEWARD = "bench_steward"
TARGET_P95_MS = 300.0

BUILD = [
    "SET LOCAL session_replication_role = replica",
    """INSERT INTO intake.file (feed, sender, file_name, sha256, size_bytes)
       VALUES ('school', '3722001', 'benchmark', repeat('b', 64), 0)""",
    """INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time, given_name,
                                          family_name, date_of_birth, gender, postcode, upn, restricted,
                                          content_hash)
       SELECT CASE WHEN n % 2 = 1 THEN 'school' ELSE 'gp' END,
              CASE WHEN n % 2 = 1 THEN '3722001' ELSE '13R' END,
              'k' || n, (SELECT min(file_id) FROM intake.file), n, now(),
              (ARRAY['Alfie','Ava','Leo','Ivy','Noah','Mia','Oscar','Isla'])[1 + n % 8],
              (ARRAY['Smith','Jones','Taylor','Brown','Williams','Wilson','Evans','Thomas'])[1 + (n / 8) % 8],
              date '2010-01-01' + (n / 2) % 5000, CASE WHEN n % 3 = 0 THEN 'F' ELSE 'M' END, 'S60 1AA',
              CASE WHEN n % 2 = 1 THEN 'A' || CASE WHEN n % 4 = 1 THEN '372' ELSE '373' END
                   || lpad(n::text, 9, '0') END,
              n % 100 = 0, md5(n::text)
       FROM generate_series(1, :records) n""",
    """INSERT INTO identity.child (cp_id) SELECT 'CP' || lpad(n::text, 9, '0') || 'A'
       FROM generate_series(1, :records) n""",
    """INSERT INTO identity.link (record_id, cp_id, method, run_id)
       SELECT n, 'CP' || lpad(n::text, 9, '0') || 'A', 'bench', 'bench' FROM generate_series(1, :records) n""",
    """INSERT INTO identity.review_pair (record_a, record_b, match_weight, reason, explanation, run_id)
       SELECT 2 * i - 1, 2 * i, 2 + ((i * 7919) % 4000) / 1000.0, 'match weight',
              '{"forename": {"gamma": 3, "weight": 0}, "surname": {"gamma": 4, "weight": 0},
                "dob": {"gamma": 5, "weight": 0}, "household": {"gamma": 2, "weight": 0},
                "gender": {"gamma": 1, "weight": 0}, "nhs_number": {"gamma": -1, "weight": 0},
                "upn": {"gamma": -1, "weight": 0}}', 'bench'
       FROM generate_series(1, :pairs) i""",
]


def _database(server: str, pairs: int, rebuild: bool) -> str:
    from warehouse.migrate import upgrade

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    url = make_url(server).set(database=DATABASE).render_as_string(hide_password=False)
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}).first()
        if exists and rebuild:
            conn.execute(text(f'DROP DATABASE "{DATABASE}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM identity.review_pair WHERE status = 'open'")).scalar_one()
        if have != pairs:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("""TRUNCATE identity.review_pair, identity.link, identity.child,
                                 staging.source_record, intake.file RESTART IDENTITY CASCADE"""))
            for statement in BUILD:
                conn.execute(text(statement), {"records": 2 * pairs, "pairs": pairs})
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return url


def _steward_cookie() -> str:
    from directory_api import auth
    from warehouse import users
    from warehouse.db import transaction

    token = secrets.token_urlsafe(32)
    with transaction() as conn:
        conn.execute(text("DELETE FROM access.session WHERE username = :u"), {"u": STEWARD})
        conn.execute(text("DELETE FROM access.app_user WHERE username = :u"), {"u": STEWARD})
        users.add_user(conn, username=STEWARD, display_name="Bench Steward", role="steward",
                       password="bench-password", pin="2468", may_see_shielded=True)
        users.create_session(conn, STEWARD, auth.token_hash(token), 60)
    return token


def _serve() -> tuple[Any, str]:
    import uvicorn

    from directory_api.main import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    url = _database(args.server, args.pairs, args.rebuild)
    os.environ["CONTACTPOINT_DATABASE_URL"] = url
    os.environ["CONTACTPOINT_CONSOLE_SECURE_COOKIE"] = "false"
    token = _steward_cookie()
    server, base = _serve()
    variants = {"first page": "/console/review", "page 100": "/console/review?page=100",
                "feed gp": "/console/review?feed=gp", "local authority 373": "/console/review?la=373"}
    results: dict[str, Any] = {}
    with httpx.Client(base_url=base, cookies={"cp_console": token}, timeout=30) as client:
        first = client.get("/console/review")
        assert first.status_code == 200 and f"{args.pairs:,}".replace(",", "") in first.text.replace(",", ""), \
            first.text[:500]
        for path in variants.values():
            for _ in range(5):
                client.get(path).raise_for_status()
        for name, path in variants.items():
            runs = []
            for _ in range(args.runs):
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = client.get(path)
                    response.raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
                runs.append({"p50_ms": round(statistics.median(times), 1),
                             "p95_ms": round(_percentile(times, 0.95), 1), "max_ms": round(max(times), 1)})
            results[name] = {"path": path, "runs": runs,
                             "median_p50_ms": statistics.median(r["p50_ms"] for r in runs),
                             "median_p95_ms": statistics.median(r["p95_ms"] for r in runs)}
            figures = results[name]
            print(f"{name:22} p50 {figures['median_p50_ms']:7.1f} ms   p95 {figures['median_p95_ms']:7.1f} ms"
                  f"   (medians over {args.runs} runs of {args.requests})")
    server.should_exit = True
    worst = max(r["median_p95_ms"] for r in results.values())
    verdict = "met" if worst < TARGET_P95_MS else "MISSED"
    print(f"worst p95 {worst:.1f} ms; target p95 < {TARGET_P95_MS:.0f} ms: {verdict}")
    report = {"benchmark": "review_page", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "pairs": args.pairs, "runs": args.runs, "requests_per_run": args.requests,
              "target_p95_ms": TARGET_P95_MS, "worst_median_p95_ms": worst, "variants": results,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "load_average": os.getloadavg()}}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
