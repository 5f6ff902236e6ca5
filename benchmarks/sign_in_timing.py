"""How long a refused sign-in takes, by why it was refused: the answer must not tell them apart (issue 13).

Run from the repository root::

    python -m benchmarks.sign_in_timing [--repeat 15] [--server URL]

A database ``cp_bench_sign_in`` on ``--server`` (trust auth) is migrated afresh with two readers, one of
them locked. ``access.sign_in`` (the database's sign-in) is called ``--repeat`` times for each of: an
unknown name, a wrong password, a wrong PIN, a locked account, interleaved so load drifts hit all alike.
Reported: median, minimum and maximum wall time per case, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from warehouse import users
from warehouse.migrate import upgrade

CASES = {"unknown": ("nobody", "pw", "4711"), "wrong_password": ("wendy", "nope", "4711"),
         "wrong_pin": ("wendy", "pw", "0000"), "locked": ("lockie", "pw", "4711")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    admin = create_engine(f"{args.server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "cp_bench_sign_in" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "cp_bench_sign_in"'))
    url = f"{args.server}/cp_bench_sign_in"
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        for name in ("wendy", "lockie"):
            users.add_user(conn, username=name, display_name=name, role="reader", password="pw", pin="4711")
        conn.execute(text("UPDATE access.app_user SET locked_until = now() + interval '1 day' "
                          "WHERE username = 'lockie'"))
    print(f"load average before: {os.getloadavg()}")
    times: dict[str, list[float]] = {case: [] for case in CASES}
    for _ in range(args.repeat):
        for case, (username, password, pin) in CASES.items():
            with engine.begin() as conn:  # wendy never locks: her failures are reset between tries
                conn.execute(text("UPDATE access.app_user SET failed_attempts = 0, locked_until = NULL "
                                  "WHERE username = 'wendy'"))
            with engine.begin() as conn:
                started = time.perf_counter()
                answer = conn.execute(text("SELECT access.sign_in(:u, :p, :pin, '000000', :now)"), {
                    "u": username, "p": password, "pin": pin, "now": datetime.now(UTC)}).scalar_one()
                times[case].append(time.perf_counter() - started)
            assert answer == {"refused": True}, answer
    for case, spent in times.items():
        print(f"{case:15s} median {1000 * statistics.median(spent):6.1f} ms  (min {1000 * min(spent):6.1f}, "
              f"max {1000 * max(spent):6.1f}, n={len(spent)})")
    print(f"load average after: {os.getloadavg()}")
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "cp_bench_sign_in" WITH (FORCE)'))


if __name__ == "__main__":
    main()
