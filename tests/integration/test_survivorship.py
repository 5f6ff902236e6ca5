"""Survivorship: each attribute of a child's record comes from the record its rule trusts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.steps import run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name, valid_upn
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


def child_rows() -> list[tuple]:
    with transaction() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT given_name, family_name, date_of_birth::text, postcode, shielded FROM directory.child"))]


def test_name_from_the_school_birth_date_from_the_gp_address_from_the_newest_extract(store: Path) -> None:
    # The GP knows her by her registered name at the old address; the school, later, by the name she
    # uses at the new one. Both carry the same birth date and name enough to link.
    drop(store, "gp", feed_file_name("gp", sender="13R", stamp="20261001T090000"), csv_file([
        gp_row(given_name="Eleanor", family_name="Ward-Prowse", gender="F", date_of_birth="2013-07-09",
               other_given_names="Mae", postcode="S60 1AA", address_line_1="12 Oak Road")]))
    run_feed("gp", "run-1")
    drop(store, "school", school_file_name(stamp="20261101T090000"), ctf([pupil(
        UPN=valid_upn(), Forename="Eleanor", Surname="Ward Prowse", Sex="F", DOB="2013-07-09", MiddleNames="Mae",
        PostCode="M14 5RT", PAON="3", Street="Mill Lane", Town="Manchester")], stamp="2026-11-01T09:00:00"))
    run_feed("school", "run-2")

    assert child_rows() == [("Eleanor", "Ward Prowse", "2013-07-09", "M14 5RT", False)]
    with transaction() as conn:
        history = conn.execute(text("""SELECT count(*) FROM directory.history
                                       WHERE table_name = 'child' AND operation = 'UPDATE'""")).scalar_one()
    assert history == 1  # the change of name and address is kept in history


def test_a_restricted_gp_record_shields_the_child_whatever_feed_supplies_the_details(store: Path) -> None:
    drop(store, "gp", feed_file_name("gp", sender="13R", stamp="20261001T090000"), csv_file([
        gp_row(given_name="Rosa", family_name="Quill", gender="F", date_of_birth="2012-02-01", restricted="Y",
               other_given_names="")]))
    run_feed("gp", "run-1")
    drop(store, "school", school_file_name(stamp="20261101T090000"), ctf([pupil(
        UPN=valid_upn(), Forename="Rosa", Surname="Quill", Sex="F", DOB="2012-02-01", MiddleNames=None,
        PostCode="M14 5RT", PAON="3", Street="Mill Lane", Town="Manchester")]))
    run_feed("school", "run-2")

    assert child_rows() == [("Rosa", "Quill", "2012-02-01", "M14 5RT", True)]
