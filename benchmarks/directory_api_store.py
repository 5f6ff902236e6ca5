"""The directory API benchmark's store: a set-based directory of N children, its reader, and the CPU
the API's PostgreSQL backends spent (``python -m benchmarks.directory_api``)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

# The load generator shares the two cores with what it measures: on uvloop its CPU per read is a quarter less.
from warehouse.db import server_answers

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "cp_bench_directory_api"
USERNAME, PASSWORD, PIN = "bench", "bench-password-not-secret", "2468"

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
