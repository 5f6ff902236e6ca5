"""``contactpoint ingest DIR``: a data team backfills a drop-zone folder the generator wrote.

Every feed is received, loaded and answered (a receipt per file in ``DIR/outbound/<feed>/``), then the
records are linked and published once. Run again, nothing new is loaded; the same files dropped again
are acknowledged as duplicates and loaded nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from cli.main import main
from connectors.feeds import FEEDS as REGISTRY
from warehouse.db import transaction

pytestmark = pytest.mark.postgres
FEEDS = tuple(REGISTRY)
COLUMNS = ("files", "rejected", "duplicate", "read", "loaded", "quarantined", "withheld", "out_of_scope", "warnings",
           "receipts")


def ingest(folder: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, int]]:
    """Run the command and read its per-feed table back."""
    assert main(["ingest", str(folder)]) == 0
    out = capsys.readouterr().out
    table = {}
    for line in out.splitlines():
        words = line.split()
        if words and words[0] in FEEDS and len(words) == len(COLUMNS) + 1:
            table[words[0]] = dict(zip(COLUMNS, (int(w.replace(",", "")) for w in words[1:]), strict=True))
    assert set(table) == set(FEEDS), out
    return table


def store_counts() -> tuple[int, int, int]:
    with transaction() as conn:
        row = conn.execute(text("""SELECT (SELECT count(*) FROM staging.source_record),
                                          (SELECT count(*) FROM intake.file),
                                          (SELECT count(*) FROM directory.child)""")).one()
    return int(row[0]), int(row[1]), int(row[2])


def test_ingest_loads_every_feed_of_a_generated_folder_and_a_second_run_loads_nothing_new(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = store.parent / "backfill"
    assert main(["generate", "--children", "150", "--seed", "3", "--out", str(folder)]) == 0
    sent = {feed: sorted(p.name for p in (folder / "inbound" / feed).iterdir()) for feed in FEEDS}
    capsys.readouterr()

    first = ingest(folder, capsys)
    for feed in FEEDS:
        counts = first[feed]
        assert counts["files"] == len(sent[feed]) == counts["receipts"]
        assert counts["loaded"] > 0
        assert counts["read"] == counts["loaded"] + counts["quarantined"] + counts["withheld"] + counts["out_of_scope"]
        # Every file is answered as the spec says, and has left inbound/.
        for name in sent[feed]:
            receipt = json.loads((folder / "outbound" / feed / f"{name}.receipt.json").read_text())
            assert receipt["file_name"] == name and receipt["status"] in ("accepted", "accepted_with_errors")
        assert list((folder / "inbound" / feed).iterdir()) == []
    staged, files, children = store_counts()
    # A delta feed's later event about a child updates the record its first event staged.
    assert 0 < staged <= sum(first[f]["loaded"] for f in FEEDS)
    assert children > 100  # linked and published: 150 children, not every one in a feed

    second = ingest(folder, capsys)
    assert all(second[feed] == dict.fromkeys(COLUMNS, 0) for feed in FEEDS)
    assert store_counts() == (staged, files, children)

    # A backfill that drops the same files again: each is acknowledged as a duplicate, none loaded, and
    # the receipt each file already had is the one its sender still reads (never overwritten by "duplicate").
    answered = {(feed, name): (folder / "outbound" / feed / f"{name}.receipt.json").read_bytes()
                for feed in FEEDS for name in sent[feed]}
    for feed in FEEDS:
        for name in sent[feed]:
            shutil.copyfile(folder / "processed" / feed / name, folder / "inbound" / feed / name)
    again = ingest(folder, capsys)
    for feed in FEEDS:
        assert again[feed]["duplicate"] == len(sent[feed])
        assert again[feed]["files"] == again[feed]["loaded"] == 0
        for name in sent[feed]:
            receipt = (folder / "outbound" / feed / f"{name}.receipt.json").read_bytes()
            assert json.loads(receipt)["status"] != "duplicate" and receipt == answered[feed, name]
            assert not (folder / "inbound" / feed / name).exists()
    assert store_counts() == (staged, files, children)


def test_ingest_of_a_folder_that_does_not_exist_says_so(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(store.parent / "nowhere")]) == 2
    assert "no drop-zone folder" in capsys.readouterr().err
