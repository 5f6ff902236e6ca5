"""``contactpoint status`` and the demo's summary read the store through ``warehouse.status``: after a
backfill, their counts agree with the ingest command's own table and with the store's tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from cli.main import main
from tests.integration.test_ingest_dir import FEEDS, ingest
from warehouse.db import transaction
from warehouse.runs import Watermarks, feeds_since
from warehouse.status import HOLDINGS, archived_by_reason, directory_counts

pytestmark = pytest.mark.postgres


def test_status_and_the_demo_summary_count_what_a_backfill_added(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = store.parent / "backfill"
    assert main(["generate", "--children", "150", "--seed", "3", "--out", str(folder)]) == 0
    capsys.readouterr()
    ingested = ingest(folder, capsys)

    with transaction() as conn:
        since = {f.feed: f for f in feeds_since(conn, Watermarks(0, 0))}
        directory = directory_counts(conn)
        archived = archived_by_reason(conn)
        tables = {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() for name in HOLDINGS}
        children, shielded = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE shielded) FROM directory.child")).one()
        files = dict(conn.execute(text("SELECT feed, count(*) FROM intake.file GROUP BY feed")).all())
        by_reason = conn.execute(text("SELECT reason, count(*) FROM archive.child GROUP BY reason ORDER BY 1")).all()
        newest = conn.execute(text("""SELECT (SELECT max(file_id) FROM intake.file),
                                             (SELECT coalesce(max(delivery_id), 0) FROM intake.duplicate_delivery)""")
                              ).one()
    assert set(since) == set(FEEDS)
    for feed in FEEDS:  # the summary since the empty store's watermarks is the whole backfill
        counts, summary = ingested[feed], since[feed]
        assert (summary.files, summary.rejected, summary.duplicates, summary.read, summary.loaded,
                summary.quarantined, summary.withheld, summary.out_of_scope, summary.warned) == (
            counts["files"], counts["rejected"], counts["duplicate"], counts["read"], counts["loaded"],
            counts["quarantined"], counts["withheld"], counts["out_of_scope"], counts["warnings"])
    assert (directory.children, directory.shielded) == (children, shielded) and children > 0
    assert archived == [(reason, n) for reason, n in by_reason]
    with transaction() as conn:  # since the newest file and delivery: nothing new
        assert all(f.files == f.read == f.duplicates == 0 for f in feeds_since(conn, Watermarks(*newest)))

    assert main(["status"]) == 0
    out = capsys.readouterr().out.splitlines()
    listed: dict[str, int] = {}
    for line in out:
        words = line.split()
        if len(words) >= 4 and words[0] in FEEDS and words[3] == "files":
            listed[words[0]] = listed.get(words[0], 0) + int(words[2].replace(",", ""))
    assert listed == files
    printed = {words[0]: int(words[1].replace(",", "")) for words in map(str.split, out)
               if words and words[0] in HOLDINGS}
    assert printed == tables and printed["directory.child"] == children
