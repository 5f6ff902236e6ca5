"""Response times of the operations and model pages of the console on a synthetic population.

Run from the repository root::

    python -m benchmarks.operations_pages [--children 3000] [--labels 200] [--repeat 5] [--server URL] [--rebuild]

1. A benchmark database ``cp_bench_operations`` on ``--server`` (trust auth) is migrated and filled the way
   the hub fills it: ``tools.synthetic.generate`` writes every feed's files for ``--children``
   children (5 % faults), each feed is received, loaded and acknowledged, then linked and published. A
   store of the right size is reused (``--rebuild`` starts again). Stewards' decisions are added as labels
   (``--labels``: half review pairs decided by the ground truth, half sure matches), and a model is
   trained on the staged records and kept unpromoted: the candidate the comparison page compares.
2. A steward signs in to the console (``TestClient``, in process: the figures are the server's work, no
   network) and each page is requested ``--repeat`` times after one warm-up: feeds, quarantine, one
   file, model overview (every version's confusion matrix), compare, and weights (every blocked pair of
   the store scored on the first request, then kept until the records or the model change). Reported:
   the first request, p50/p95/max of the repeats per page, and the sizes that drive them. Results go to
   ``benchmarks/results/operations_pages.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.feeds import FEEDS as REGISTRY

DATABASE = "cp_bench_operations"
FEEDS = tuple(REGISTRY)
RESULTS = Path(__file__).resolve().parent / "results" / "operations_pages.json"


def prepare_database(server: str, rebuild: bool) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(server.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}).first()
        if exists and rebuild:
            conn.execute(text(f'DROP DATABASE "{DATABASE}" WITH (FORCE)'))
        if not exists or rebuild:
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{DATABASE}"


def fill(children: int, labels: int, work: Path) -> dict[str, Any]:
    from sqlalchemy import text

    from matching.stewardship import record_decision
    from pipeline.steps import link, run_feed, train_model
    from tools.synthetic import generate
    from warehouse.db import transaction

    with transaction() as conn:
        staged = conn.execute(text("SELECT count(*) FROM staging.source_record")).scalar_one()
        models = conn.execute(text("SELECT count(*) FROM identity.model")).scalar_one()
    if staged and models:
        return {"reused": True}
    started = time.perf_counter()
    generated = work / "generated"
    dropzone = Path(os.environ["CONTACTPOINT_DROPZONE_DIR"])
    for stale in (generated, dropzone):  # a rebuilt store starts from fresh files
        shutil.rmtree(stale, ignore_errors=True)
    generate(generated, children=children, seed=7, fault_rate=0.05)
    for feed in FEEDS:
        inbound = dropzone / "inbound" / feed
        inbound.mkdir(parents=True, exist_ok=True)
        for path in sorted((generated / "inbound" / feed).iterdir()):
            (inbound / path.name).write_bytes(path.read_bytes())
        run_feed(feed, f"bench-{feed}")
    link("bench-link")
    loaded = time.perf_counter() - started
    with (generated / "ground_truth.csv").open() as handle:
        truth = {(r["file_name"], int(r["row_number"])): r["child_id"] for r in csv.DictReader(handle)}
    with transaction() as conn:
        child = {int(r.record_id): truth.get((r.file_name, int(r.row_number))) for r in conn.execute(text(
            "SELECT s.record_id, f.file_name, s.row_number FROM staging.source_record s JOIN intake.file f "
            "USING (file_id)"))}
        reviewed = conn.execute(text("SELECT record_a, record_b FROM identity.review_pair WHERE status = 'open' "
                                     "ORDER BY pair_id LIMIT :n"), {"n": labels // 2}).fetchall()
        sure = conn.execute(text("""
            SELECT a.record_id AS record_a, b.record_id AS record_b FROM staging.source_record a
            JOIN staging.source_record b ON a.nhs_number = b.nhs_number AND a.record_id < b.record_id
            ORDER BY a.record_id LIMIT :n"""), {"n": labels - len(reviewed)}).fetchall()
        for r in [*reviewed, *sure]:
            same = child[int(r.record_a)] == child[int(r.record_b)]
            record_decision(conn, int(r.record_a), int(r.record_b), "must_link" if same else "cannot_link",
                            steward="bench", reason="benchmark label")
    train_started = time.perf_counter()
    version = train_model()
    return {"reused": False, "load_and_link_seconds": round(loaded, 1), "candidate": version,
            "train_seconds": round(time.perf_counter() - train_started, 1)}


def sizes() -> dict[str, int]:
    from sqlalchemy import text

    from warehouse.db import transaction

    with transaction() as conn:
        return {name: int(conn.execute(text(sql)).scalar_one()) for name, sql in {
            "files": "SELECT count(*) FROM intake.file",
            "staged_records": "SELECT count(*) FROM staging.source_record",
            "children": "SELECT count(DISTINCT cp_id) FROM identity.link",
            "quarantine_reasons": "SELECT count(*) FROM intake.row_issue WHERE kind = 'quarantined'",
            "review_pairs": "SELECT count(*) FROM identity.review_pair",
            "labels": "SELECT count(*) FROM identity.steward_decision WHERE undone_at IS NULL",
            "model_versions": "SELECT count(*) + 1 FROM identity.model",
        }.items()}


def sign_in(client: Any) -> None:
    import pyotp
    from sqlalchemy import text

    from warehouse import users
    from warehouse.db import transaction

    with transaction() as conn:  # a fresh steward each run: a one-time code is accepted once
        conn.execute(text("DELETE FROM access.session WHERE username = 'bench'"))
        conn.execute(text("DELETE FROM access.app_user WHERE username = 'bench'"))
        secret = users.add_user(conn, username="bench", display_name="Bench", role="steward", password="pw",
                                pin="1234", may_see_shielded=True)
    form = client.get("/console/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post("/console/sign-in", follow_redirects=False, data={
        "username": "bench", "password": "pw", "pin": "1234", "one_time_code": pyotp.TOTP(secret).now(),
        "csrf_token": token.group(1)})
    assert response.status_code == 303, response.text


def time_pages(repeat: int) -> dict[str, dict[str, float]]:
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from directory_api.main import create_app
    from warehouse.db import transaction

    with transaction() as conn:
        busiest = conn.execute(text("SELECT file_id FROM intake.file ORDER BY rows_quarantined DESC, file_id "
                                    "LIMIT 1")).scalar_one()
        candidate = conn.execute(text("SELECT version FROM identity.model WHERE promoted_at IS NULL "
                                      "ORDER BY trained_at DESC LIMIT 1")).scalar_one()
    pages = {"feeds": "/console/ops/feeds", "quarantine": "/console/ops/quarantine",
             "quarantine_page_3": "/console/ops/quarantine?page=3", "file": f"/console/ops/files/{busiest}",
             "model_overview": "/console/model/", "compare": f"/console/model/compare?candidate={candidate}",
             "weights": "/console/model/weights"}
    out: dict[str, dict[str, float]] = {}
    with TestClient(create_app()) as client:
        sign_in(client)
        for name, path in pages.items():
            started = time.perf_counter()
            assert client.get(path).status_code == 200, path  # warm-up (fills the weights page's cache)
            first = 1000 * (time.perf_counter() - started)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path)
                times.append(1000 * (time.perf_counter() - started))
                assert response.status_code == 200, path
            times.sort()
            out[name] = {"first_ms": round(first, 1), "p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
                         "max_ms": round(times[-1], 1)}
            print(f"{name:18} first {first:9.1f} ms   p50 {out[name]['p50_ms']:9.1f} ms   "
                  f"p95 {out[name]['p95_ms']:9.1f} ms", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=3000)
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.gettempdir()) / "cp-bench-operations"  # kept: a reused store keeps its data docs
    os.environ["CONTACTPOINT_DATABASE_URL"] = prepare_database(args.server, args.rebuild)
    os.environ.setdefault("CONTACTPOINT_DATA_DIR", str(work / "data"))
    os.environ["CONTACTPOINT_DROPZONE_DIR"] = str(work / "dropzone")
    os.environ["CONTACTPOINT_CONSOLE_SECURE_COOKIE"] = "false"
    from warehouse.migrate import upgrade

    upgrade(os.environ["CONTACTPOINT_DATABASE_URL"])
    filled = fill(args.children, args.labels, work)
    measured = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.machine(),
                "cpus": os.cpu_count(), "load_average": os.getloadavg(), "children": args.children,
                "repeat": args.repeat, "fill": filled, "sizes": sizes()}
    print(json.dumps(measured["sizes"]))
    measured["pages"] = time_pages(args.repeat)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(measured, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
