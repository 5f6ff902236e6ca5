"""The daily retention pass on a directory of a million children: age-out days, and destruction days.

    .venv/bin/python -m benchmarks.retention                       # 1,000,000 children, 3 age-out days
    .venv/bin/python -m benchmarks.retention --children 100000 --days 3

1. A benchmark database ``cp_bench_retention`` on ``--server`` (the embedded server when it is down),
   migrated, filled set-based with the directory API benchmark's build (one school record, two or three
   involvements and a carer per child; dates of birth spread evenly over 18 years, so a normal day's 1/365
   of a cohort turns 18), plus Connexions consent to 19 for 2 % and an ICS extension to 25 for 0.5 %.
2. A first pass on the day before the first measured day (the first cohort turns 18 that day).
3. ``--days`` consecutive normal days: the age-out pass (find candidates, apply the rules, archive) timed.
4. Destruction six years on: the first day's children, then the measured days' children,
   each with its table rewrite, timed separately (the rewrite is most of a destruction day's cost).

Target (issue 7): the daily pass under one minute at 1,000,000 children on a normal day.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from benchmarks import directory_api_store
from benchmarks.directory_api_store import BUILD, HUB_TABLES

DATABASE = "cp_bench_retention"
FIRST_DAY = date(2026, 1, 2)  # the first cohort (born 2008-01-01) turned 18 the day before: no backlog
EXTENSIONS = [
    # 2 %: a Connexions record with consent to 19; 0.5 %: an ICS record with an extension to 25.
    """INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time, given_name,
                                          family_name, date_of_birth, gender, content_hash,
                                          consent_extend_to_19, extend_to_25)
       SELECT CASE WHEN c.n % 200 = 0 THEN 'ics' ELSE 'connexions' END, '372', 'x-' || c.cp_id,
              (SELECT max(file_id) FROM intake.file), 1, now(), d.given_name, d.family_name, d.date_of_birth,
              d.gender, md5('x' || c.cp_id),
              CASE WHEN c.n % 200 = 0 THEN NULL ELSE true END, CASE WHEN c.n % 200 = 0 THEN true END
       FROM (SELECT cp_id, substr(cp_id, 3, 9)::int AS n FROM identity.child) c
       JOIN directory.child d ON d.cp_id = c.cp_id WHERE c.n % 50 = 0 OR c.n % 200 = 0""",
    """INSERT INTO identity.link (record_id, cp_id, method, run_id)
       SELECT s.record_id, substr(s.source_key, 3), 'benchmark', 'benchmark'
       FROM staging.source_record s WHERE s.source_key LIKE 'x-%'""",
    # What the linker and the publish would have written too: a link history row per record, a history row
    # per directory child (the build turns triggers off).
    """INSERT INTO identity.link_history (record_id, old_cp_id, new_cp_id, method, run_id)
       SELECT record_id, NULL, cp_id, 'benchmark', 'benchmark' FROM identity.link""",
    """INSERT INTO directory.history (table_name, cp_id, operation, old_row, new_row)
       SELECT 'child', cp_id, 'INSERT', NULL, to_jsonb(c) FROM directory.child c""",
]


def database_url(server: str) -> str:
    """The benchmark database's URL, created anew and migrated."""
    from warehouse.migrate import upgrade

    url = directory_api_store.database_url(server, DATABASE, fresh=True)
    upgrade(url)
    return url


def build(engine: Engine, children: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        tables = conn.execute(text(HUB_TABLES)).scalars().all()
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        for statement in [*BUILD, *EXTENSIONS]:
            conn.execute(text(statement), {"n": children})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/retention.json"))
    args = parser.parse_args(argv)

    import os

    url = database_url(args.server)
    vault = Path(tempfile.mkdtemp(prefix="cp-bench-vault-"))
    os.environ["CONTACTPOINT_DATABASE_URL"] = url
    os.environ["CONTACTPOINT_KEY_VAULT_DIR"] = str(vault)
    from warehouse.db import get_engine
    from warehouse.key_vault import KeyVault
    from warehouse.retention.archive import age_out
    from warehouse.retention.destroy import ARCHIVED_FROM, destroy_due
    from warehouse.retention.rewrite import rewrite_tables
    from warehouse.retention.rules import add_years

    engine = get_engine()
    build_seconds = build(engine, args.children)
    print(f"built {args.children:,} children in {build_seconds:.0f} s", flush=True)
    keys = KeyVault(vault)

    def timed_age_out(day: date) -> dict[str, Any]:
        started = time.perf_counter()
        summary = age_out(engine, day, vault=keys)
        seconds = time.perf_counter() - started
        print(f"age-out {day}: {len(summary.archived):,} children {summary.by_reason()} in {seconds:.2f} s",
              flush=True)
        return {"day": day.isoformat(), "archived": len(summary.archived), "by_rule": summary.by_reason(),
                "seconds": round(seconds, 3)}

    def timed_destroy(day: date) -> dict[str, Any]:
        started = time.perf_counter()
        summary = destroy_due(engine, day, vault=keys, rewrite=False)
        deleted = time.perf_counter() - started
        started = time.perf_counter()
        rewrite_tables(engine, sorted({t for t, n in summary.rows_removed.items() if n} | set(ARCHIVED_FROM)))
        rewrite = time.perf_counter() - started
        print(f"destroy {day}: {summary.destroyed:,} children, {sum(summary.rows_removed.values()):,} rows in "
              f"{deleted:.2f} s, table rewrite {rewrite:.1f} s", flush=True)
        return {"day": day.isoformat(), "destroyed": summary.destroyed, "delete_seconds": round(deleted, 3),
                "rewrite_seconds": round(rewrite, 2)}

    first = timed_age_out(FIRST_DAY - timedelta(days=1))
    days = [timed_age_out(FIRST_DAY + timedelta(days=i)) for i in range(args.days)]
    destroy_first = timed_destroy(add_years(FIRST_DAY - timedelta(days=1), 6))
    destroy_days = [timed_destroy(add_years(FIRST_DAY + timedelta(days=i), 6)) for i in range(min(args.days, 2))]

    result = {
        "children": args.children, "build_seconds": round(build_seconds, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "first_day": first, "normal_days": days,
        "age_out_median_seconds": statistics.median(d["seconds"] for d in days),
        "destroy_first_day": destroy_first, "destroy_normal_days": destroy_days,
        "destroy_median_delete_seconds": statistics.median(d["delete_seconds"] for d in destroy_days),
        "destroy_median_rewrite_seconds": statistics.median(d["rewrite_seconds"] for d in destroy_days),
        "target_seconds": 60,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if "median" in k}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
