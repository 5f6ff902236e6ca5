"""Nothing a sender puts in ``inbound/`` stops the hub: every file ends answered, in one terminal folder.

Odd names (too long, not UTF-8, hidden, full-width digits), symbolic links, folders and malformed checksums
are refused with a receipt and moved to ``rejected/``; the other files of the run, and the later feeds, are
loaded as if the odd ones were not there. Receipts go back to the drop zone the file came from, and no copy
of what was received is left outside the store and the sender's terminal folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from connectors.dropzone import FolderDropZone, receipt_stem
from contactpoint.settings import get_settings
from pipeline import steps as pipeline
from pipeline.ingest import ingest_feed, ingest_folder
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, ics_row, pupil, school_file_name
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


def scalar(sql: str, **params: object) -> Any:
    with transaction() as conn:
        return conn.execute(text(sql), params).scalar_one()


def receipts(dropzone: Path, feed: str) -> dict[str, dict[str, Any]]:
    outbound = dropzone / "outbound" / feed
    return {p.name: json.loads(p.read_bytes()) for p in outbound.iterdir()} if outbound.is_dir() else {}


def put(dropzone: Path, feed: str, name: str | bytes, content: bytes) -> None:
    """Write a file straight under its final name (a name too long for ``NAME.part`` cannot go through one)."""
    inbound = dropzone / "inbound" / feed
    inbound.mkdir(parents=True, exist_ok=True)
    with open(os.fsencode(inbound) + b"/" + (name if isinstance(name, bytes) else name.encode()), "wb") as f:
        f.write(content)


def in_inbound(dropzone: Path, feed: str) -> list[bytes]:
    return sorted(os.listdir(os.fsencode(dropzone / "inbound" / feed)))


def test_odd_names_links_and_folders_are_each_refused_with_a_receipt_and_every_other_file_is_loaded(
        store: Path) -> None:
    good_gp = feed_file_name("gp", seq=1)
    drop(store, "gp", good_gp, csv_file([gp_row(given_name="Tom")]))
    odd: dict[bytes, str] = {
        b"g" * 236 + b".csv": "bytes long",                 # its receipt's temporary name would pass 255 bytes
        b"g" * 250 + b".csv": "bytes long",                 # its .sha256 name would pass 255 bytes
        b"gp_372_20261101T100000_\xff\xfe.csv": "not UTF-8",
        b".gp_372_20261101T100000_2.csv": "hidden",
        "gp_372_２０２61101T100000_3.csv".encode(): "does not follow",  # full-width digits
        b"gp_372_20261101T100000_4.csv\n": "control",
    }
    for name in odd:
        put(store, "gp", name, csv_file([gp_row(given_name="Odd")]))
    (store / "inbound" / "gp" / feed_file_name("gp", seq=5)).symlink_to("/etc/passwd")
    (store / "inbound" / "gp" / feed_file_name("gp", seq=6)).mkdir()
    drop(store, "ics", feed_file_name("ics"), csv_file([ics_row(given_name="Ivy")]))

    summary = ingest_folder(store, "run-1")

    # Every entry has left inbound/, the good ones processed, the odd ones rejected (a link moved, not followed).
    assert in_inbound(store, "gp") == [] and in_inbound(store, "ics") == []
    assert sorted(os.listdir(store / "processed" / "gp")) == [good_gp]
    rejected = store / "rejected" / "gp"
    assert len(os.listdir(rejected)) == len(odd) + 2
    assert (rejected / feed_file_name("gp", seq=5)).is_symlink()
    # One receipt each, under a safe name, saying why; the good files were loaded and linked.
    answered = receipts(store, "gp")
    assert len(answered) == len(odd) + 3
    assert all(len(name.encode()) <= 255 and not name.startswith(".") for name in answered)
    for name, why in odd.items():
        body = answered[f"{receipt_stem(os.fsdecode(name))}.receipt.json"]
        assert body["status"] == "rejected" and why in body["reason"], body
    link_receipt = answered[f"{feed_file_name('gp', seq=5)}.receipt.json"]
    assert "symbolic link" in link_receipt["reason"] and link_receipt["sha256"] is None
    assert answered[f"{good_gp}.receipt.json"]["status"] == "accepted"
    assert [f.loaded for f in summary.feeds if f.feed in ("gp", "ics")] == [1, 1]
    assert scalar("SELECT count(*) FROM directory.child") == 2
    assert scalar("SELECT count(*) FROM staging.source_record WHERE given_name = 'Odd'") == 0
    assert scalar("SELECT count(*) FROM intake.refused_delivery WHERE delivered_at IS NOT NULL") == 7

    # A second run finds nothing left to answer.
    again = ingest_folder(store, "run-2")
    assert sum(f.files + f.receipts for f in again.feeds) == 0


def checksum_cases(content: bytes) -> dict[str, bytes]:
    digest = hashlib.sha256(content).hexdigest()
    return {"63 hex": digest[:63].encode(), "empty": b"", "words": b"not a checksum at all\n",
            "two digests": f"{digest}\n{digest}\n".encode()}


def test_a_file_whose_sha256_is_malformed_is_refused_and_the_same_bytes_sent_properly_are_loaded(
        store: Path) -> None:
    content = csv_file([gp_row(given_name="Tom")])
    names = {}
    for seq, (case, checksum) in enumerate(checksum_cases(content).items(), 1):
        names[case] = feed_file_name("gp", seq=seq)
        drop(store, "gp", names[case], content)
        (store / "inbound" / "gp" / f"{names[case]}.sha256").write_bytes(checksum)

    assert pipeline.run_feed("gp", "run-1") == []

    answered = receipts(store, "gp")
    for case, name in names.items():
        body = answered[f"{name}.receipt.json"]
        assert body["status"] == "rejected" and ".sha256" in body["reason"], (case, body)
        assert (store / "rejected" / "gp" / name).exists() and (store / "rejected" / "gp" / f"{name}.sha256").exists()
    assert scalar("SELECT count(*) FROM intake.file") == 0

    # The sender fixes the checksum (BSD format this time): the same bytes load, as a new delivery would.
    fixed = feed_file_name("gp", seq=9)
    drop(store, "gp", fixed, content)
    bsd = f"SHA256 ({fixed}) = {hashlib.sha256(content).hexdigest()}\n"
    (store / "inbound" / "gp" / f"{fixed}.sha256").write_text(bsd)
    [outcome] = pipeline.run_feed("gp", "run-2")
    assert (outcome.status, outcome.loaded) == ("accepted", 1)


def test_a_wrong_digest_is_refused_on_record_and_a_copy_of_a_rejected_file_goes_to_rejected(store: Path) -> None:
    content = csv_file([gp_row(given_name="Tom")])
    wrong = feed_file_name("gp", seq=1)
    drop(store, "gp", wrong, content)
    (store / "inbound" / "gp" / f"{wrong}.sha256").write_text("0" * 64 + f"  {wrong}\n")
    misfiled, again = feed_file_name("ics", seq=2), feed_file_name("gp", seq=3)
    drop(store, "gp", misfiled, content + b"\n")

    pipeline.run_feed("gp", "run-1")
    drop(store, "gp", again, content + b"\n")  # the same bytes as the misfiled (rejected) file
    pipeline.run_feed("gp", "run-2")

    assert scalar("SELECT reason FROM intake.refused_delivery WHERE file_name = :n", n=wrong).startswith(wrong)
    assert scalar("SELECT sha256 FROM intake.refused_delivery") == hashlib.sha256(content).hexdigest()
    assert receipts(store, "gp")[f"{again}.receipt.json"]["status"] == "duplicate"
    assert (store / "rejected" / "gp" / again).exists() and not (store / "processed" / "gp").exists()


def school_files(zone: Path, estabs: range) -> list[str]:
    names = []
    for estab in estabs:
        name = school_file_name(estab=str(estab))
        drop(zone, "school", name, ctf([pupil(Forename=f"Pupil{estab}")], estab=str(estab)))
        names.append(name)
    return names


def test_receipts_go_back_to_the_drop_zone_each_file_came_from_when_two_ingests_share_a_store(
        store: Path) -> None:
    zone_a, zone_b = store.parent / "zone-a", store.parent / "zone-b"
    sent_a, sent_b = school_files(zone_a, range(2001, 2007)), school_files(zone_b, range(3001, 3013))
    a, b = FolderDropZone(zone_a), FolderDropZone(zone_b)

    # Both zones received and loaded before either answers: each answer goes to its own senders only.
    for file_id in pipeline.receive("school", a) + pipeline.receive("school", b):
        pipeline.load(file_id)
    assert pipeline.acknowledge("school", a) == len(sent_a)
    assert sorted(receipts(zone_a, "school")) == sorted(f"{n}.receipt.json" for n in sent_a)
    assert receipts(zone_b, "school") == {} and len(in_inbound(zone_b, "school")) == len(sent_b)
    assert pipeline.acknowledge("school", b) == len(sent_b)
    assert sorted(receipts(zone_b, "school")) == sorted(f"{n}.receipt.json" for n in sent_b)
    assert {r["status"] for r in receipts(zone_b, "school").values()} == {"accepted"}
    assert scalar("SELECT count(*) FROM intake.duplicate_delivery") == 0


def test_concurrent_ingests_of_one_drop_zone_and_another_end_as_one_run_would(store: Path) -> None:
    zone_a, zone_b = store.parent / "zone-a", store.parent / "zone-b"
    sent_a, sent_b = school_files(zone_a, range(2001, 2009)), school_files(zone_b, range(3001, 3009))
    errors: list[BaseException] = []

    def run(zone: Path) -> None:
        try:
            ingest_feed("school", FolderDropZone(zone))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(zone,)) for zone in (zone_a, zone_a, zone_b, zone_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for zone, sent in ((zone_a, sent_a), (zone_b, sent_b)):
        assert sorted(receipts(zone, "school")) == sorted(f"{n}.receipt.json" for n in sent)
        assert {r["status"] for r in receipts(zone, "school").values()} == {"accepted"}
        assert in_inbound(zone, "school") == [] and sorted(os.listdir(zone / "processed" / "school")) == sorted(sent)
    assert scalar("SELECT count(*) FROM intake.file") == len(sent_a) + len(sent_b)
    assert scalar("SELECT count(*) FROM intake.duplicate_delivery") == 0


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_no_copy_of_a_received_file_stays_in_landing_after_a_crash_or_a_duplicate(store: Path) -> None:
    landing = get_settings().landing_dir
    landing.mkdir(parents=True)
    partial = landing / f".school.{dead_pid()}.77.part"
    partial.write_bytes(ctf([pupil(Forename="Crashed")]))
    orphan = landing / hashlib.sha256(b"landed, never registered").hexdigest()
    orphan.write_bytes(b"landed, never registered")
    content = csv_file([gp_row(given_name="Tom")])
    drop(store, "gp", feed_file_name("gp", seq=1), content)

    pipeline.run_feed("gp", "run-1")
    drop(store, "gp", feed_file_name("gp", seq=2), content)  # the same bytes under another name
    pipeline.run_feed("gp", "run-2")

    assert os.listdir(landing) == []
    assert receipts(store, "gp")[f"{feed_file_name('gp', seq=2)}.receipt.json"]["status"] == "duplicate"
