"""The directory does not depend on the order files arrive in.

An ICS ``close`` that arrives before its ``open`` still gets the open's start date; a care leaver's GP row
sent in the same run as the ICS record that keeps them in scope is loaded whatever the folder order; a child
a later file takes out of scope (left England) leaves the directory at that run's publish, not at the next
nightly retention. And as a property: the same small drop zone sent in any order, split across runs in any
way, ends as the same directory (children as sets of source records, their involvement dates and addresses).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from pipeline.ingest import ingest_folder
from tests.conftest import STORE_SCHEMAS
from tests.factories import connexions_row, csv_file, ctf, drop, feed_file_name, gp_row, ics_row, pupil
from warehouse.db import get_engine, transaction

pytestmark = pytest.mark.postgres

SNAPSHOT = """
    SELECT d.given_name, d.family_name, d.address_line_1, d.postcode,
           (SELECT array_agg(s.feed || ':' || s.source_key ORDER BY s.feed, s.source_key)
            FROM identity.link l JOIN staging.source_record s ON s.record_id = l.record_id
            WHERE l.cp_id = d.cp_id) AS records,
           (SELECT coalesce(array_agg(concat_ws('|', v.kind, v.organisation_code, v.started_on, v.ended_on)), '{}')
            FROM directory.involvement v WHERE v.cp_id = d.cp_id) AS involvements
    FROM directory.child d"""


def directory() -> set[tuple[Any, ...]]:
    """The directory without its ContactPoint IDs (which depend on who was seen first)."""
    with transaction() as conn:
        return {(r.given_name, r.family_name, r.address_line_1, r.postcode, tuple(r.records),
                 tuple(sorted(r.involvements))) for r in conn.execute(text(SNAPSHOT))}


def involvements(kind: str) -> list[tuple[Any, ...]]:
    with transaction() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT organisation_code, started_on, ended_on FROM directory.involvement WHERE kind = :k"), {"k": kind})]


def test_an_ics_close_that_arrives_before_its_open_keeps_the_opens_start_date(store: Path) -> None:
    child = {"nhs_number": "9990000018", "given_name": "Lena", "date_of_birth": "2013-02-03"}
    drop(store, "ics", feed_file_name("ics", stamp="20261102T100000"),
         csv_file([ics_row(event="close", event_date="2026-10-30", **child)]))
    ingest_folder(store, "run-1")
    [(_, started, _)] = involvements("social_care")
    assert started is None  # only the close is known so far
    drop(store, "ics", feed_file_name("ics", stamp="20261101T100000"),
         csv_file([ics_row(event="open", event_date="2026-06-01", **child)]))

    ingest_folder(store, "run-2")

    [(_, started, ended)] = involvements("social_care")
    assert (str(started), str(ended)) == ("2026-06-01", "2026-10-30")


def test_a_care_leavers_gp_row_in_the_same_run_as_the_ics_record_that_keeps_them_in_scope_is_loaded(
        store: Path) -> None:
    leaver = {"nhs_number": "9990000026", "given_name": "Kai", "family_name": "Doyle", "date_of_birth": "2005-04-05",
              "gender": "M"}
    drop(store, "gp", feed_file_name("gp"), csv_file([gp_row(**leaver)]))
    drop(store, "ics", feed_file_name("ics"), csv_file([ics_row(extend_to_25="Y", **leaver)]))

    summary = ingest_folder(store, "run-1")

    assert [f.out_of_scope for f in summary.feeds if f.feed == "gp"] == [0]
    assert [(kind, n) for kind, n in kinds()] == [("primary_care", 1), ("social_care", 1)]


def kinds() -> list[tuple[str, int]]:
    with transaction() as conn:
        return [(r.kind, r.n) for r in conn.execute(text(
            "SELECT kind, count(*) AS n FROM directory.involvement GROUP BY kind ORDER BY kind"))]


def test_a_child_a_later_gp_file_says_left_england_leaves_the_directory_at_that_runs_publish(store: Path) -> None:
    child = {"nhs_number": "9990000034", "given_name": "Ada", "date_of_birth": "2015-01-02"}
    drop(store, "gp", feed_file_name("gp", stamp="20261101T100000"), csv_file([gp_row(**child)]))
    ingest_folder(store, "run-1")
    assert len(directory()) == 1
    drop(store, "gp", feed_file_name("gp", stamp="20261110T100000"), csv_file([gp_row(
        record_action="deregister", deregistration_date="2026-11-05", deregistration_reason="left_england", **child)]))

    summary = ingest_folder(store, "run-2")

    assert directory() == set() and summary.archived == 1
    with transaction() as conn:
        assert conn.execute(text("SELECT reason FROM archive.child")).scalars().all() == ["left_england"]


def test_a_newer_extract_repeating_an_unchanged_row_makes_its_address_the_newest_again(store: Path) -> None:
    ava = {"nhs_number": "9990000077", "given_name": "Ava", "family_name": "Hart", "date_of_birth": "2014-03-02",
           "gender": "F"}
    at_gp = csv_file([gp_row(**ava)])  # 12 Oak Road, S60 1AA
    drop(store, "gp", feed_file_name("gp", stamp="20261101T100000"), at_gp)
    drop(store, "ics", feed_file_name("ics", stamp="20261102T100000"), csv_file([ics_row(**ava)]))  # 8 Elm Close
    ingest_folder(store, "run-1")
    assert [(a, p) for _, _, a, p, _, _ in directory()] == [("8 Elm Close", "S60 2AB")]

    drop(store, "gp", feed_file_name("gp", stamp="20261103T100000"), at_gp + b"\r\n")  # the same row, newer
    ingest_folder(store, "run-2")

    assert [(a, p) for _, _, a, p, _, _ in directory()] == [("12 Oak Road", "S60 1AA")]


# --- the property ------------------------------------------------------------------------------------

def small_drop_zone(folder: Path) -> list[tuple[str, str]]:
    """Eight files about four children from every feed, each with its own extract time: (feed, name)."""
    ava = {"nhs_number": "9990000042", "given_name": "Ava", "family_name": "Hart", "date_of_birth": "2014-03-02",
           "gender": "F"}
    ben = {"nhs_number": "9990000050", "given_name": "Ben", "family_name": "Cole", "date_of_birth": "2012-07-08",
           "gender": "M"}
    files = [
        ("school", "school_3722001_20261101T100000_1.xml",
         ctf([pupil(Forename="Cara", Surname="Lund", DOB="2015-05-06", Sex="F")])),
        ("gp", feed_file_name("gp", stamp="20261101T090000"), csv_file([gp_row(**ava)])),
        ("gp", feed_file_name("gp", stamp="20261103T090000"),  # Ava moved: the newer address wins
         csv_file([gp_row(record_action="update", address_line_1="4 New Street", postcode="S61 2XY", **ava)])),
        ("ics", feed_file_name("ics", stamp="20261102T100000"),
         csv_file([ics_row(event="open", event_date="2026-06-01", **ben)])),
        ("ics", feed_file_name("ics", stamp="20261104T100000"),
         csv_file([ics_row(event="close", event_date="2026-11-01", **ben)])),
        ("gp", feed_file_name("gp", stamp="20261102T090000"), csv_file([gp_row(**ben)])),
        ("connexions", feed_file_name("connexions", stamp="20261101T120000"),
         csv_file([connexions_row(given_name="Dev", family_name="Shah", date_of_birth="2010-01-09")])),
        ("ics", feed_file_name("ics", stamp="20261103T100000"),
         csv_file([ics_row(event="open", event_date="2026-09-01", given_name="Cara", family_name="Lund",
                           date_of_birth="2015-05-06", nhs_number="9990000069")])),
    ]
    for feed, name, content in files:
        (folder / feed).mkdir(parents=True, exist_ok=True)
        (folder / feed / name).write_bytes(content)
    return [(feed, name) for feed, name, _ in files]


def empty_store() -> None:
    with get_engine().begin() as conn:
        tables = conn.execute(text(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = ANY(:s)"),
            {"s": list(STORE_SCHEMAS)}).scalars().all()
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # as tests/conftest.py resets
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


def send_in_runs(sources: Path, dropzone: Path, runs: list[list[tuple[str, str]]]) -> set[tuple[Any, ...]]:
    empty_store()
    shutil.rmtree(dropzone, ignore_errors=True)
    for number, run in enumerate(runs):
        for feed, name in run:
            drop(dropzone, feed, name, (sources / feed / name).read_bytes())
        ingest_folder(dropzone, f"run-{number}")
    return directory()


@pytest.fixture
def sources(store: Path, tmp_path: Path) -> tuple[Path, list[tuple[str, str]]]:
    folder = tmp_path / "sources"
    return folder, small_drop_zone(folder)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_same_files_in_any_order_and_any_split_into_runs_give_the_same_directory(
        store: Path, sources: tuple[Path, list[tuple[str, str]]], data: st.DataObject) -> None:
    folder, files = sources
    expected = send_in_runs(folder, store, [files])  # all at once
    order = data.draw(st.permutations(files), label="arrival order")
    cuts = sorted(data.draw(st.sets(st.integers(1, len(files) - 1), max_size=2), label="run boundaries"))
    runs = [list(order[a:b]) for a, b in zip([0, *cuts], [*cuts, len(files)], strict=True)]

    assert send_in_runs(folder, store, runs) == expected
    assert len(expected) == 4
