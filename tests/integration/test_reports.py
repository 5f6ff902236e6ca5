"""The universal services report: who, by local authority, has no current school or no GP."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from pipeline.steps import run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name, valid_upn
from warehouse.db import transaction
from warehouse.reports import UniversalServicesRow, ordered, universal_services, write_report


@pytest.mark.postgres
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
        [row] = list(csv.DictReader(handle))
    assert (row["local_authority_name"], row["school_age_without_school"], row["school_age_without_school_rate"],
            row["without_gp"], row["without_gp_rate"]) == ("Rotherham", "1", "0.5000", "1", "0.3333")
    page = html_path.read_text()
    assert "<svg" in page and "Rotherham" in page and "<script" not in page and "http://" not in page.split("<svg")[0]
    assert "1 of 2" in page and "50.0%" in page and "33.3%" in page  # rates with their denominators
    assert "children without the service (%)" in page  # the chart has an axis


@pytest.mark.unit
def test_the_report_puts_the_highest_share_without_a_school_first_and_no_empty_row() -> None:
    rows = ordered([UniversalServicesRow("unknown", 4, 2, 2, 4), UniversalServicesRow("373", 100, 80, 4, 10),
                    UniversalServicesRow("372", 50, 40, 8, 1), UniversalServicesRow("999", 0, 0, 0, 0)])
    assert ordered([UniversalServicesRow("unknown", 1, 0, 0, 0)]) == []  # nothing to report: no row
    assert [(r.name, r.no_school_rate) for r in rows] == [("Rotherham", 0.2), ("Sheffield", 0.05),
                                                          ("LA not known", 1.0)]
