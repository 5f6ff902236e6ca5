"""The universal services report: who, by local authority, has no current school or no GP."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from contactpoint.pipeline import run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name, valid_upn
from warehouse.db import transaction
from warehouse.reports import universal_services, write_report

pytestmark = pytest.mark.postgres


def test_a_school_age_child_known_only_to_a_gp_is_counted_without_a_school_in_the_la_of_its_district(
        store: Path) -> None:
    drop(store, "school", school_file_name(), ctf([pupil(UPN=valid_upn(), Forename="Ava", Surname="Stone", Sex="F",
                                                         DOB="2016-01-10", PostCode="S60 1AA")]))
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([
        gp_row(given_name="Leo", family_name="Marsh", date_of_birth="2018-05-05", postcode="S60 2AB",
               other_given_names=""),
        gp_row(given_name="Ivy", family_name="Marsh", date_of_birth="2024-05-05", postcode="S60 2AB",
               gender="F", other_given_names="")]))
    run_feed("school", "run-1")
    run_feed("gp", "run-2")

    with transaction() as conn:
        rows = universal_services(conn, date(2026, 11, 25))
    assert [(r.la, r.children, r.school_age, r.no_school, r.no_gp) for r in rows] == [("372", 3, 2, 1, 1)]

    csv_path, html_path = write_report(rows, store.parent / "report", date(2026, 11, 25))
    with csv_path.open() as handle:
        assert list(csv.DictReader(handle))[0]["school_age_without_school"] == "1"
    page = html_path.read_text()
    assert "<svg" in page and "LA 372" in page and "<script" not in page
