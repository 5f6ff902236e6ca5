"""Quarantine reasons and warnings name the field and the rule broken, never the value sent; and a date
of birth after the file's own extract date is refused, whatever the hub's clock says."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from schemas.child import RowOutcome
from schemas.connexions import validate_connexions_row
from schemas.ecaf import validate_ecaf_row
from schemas.gp import validate_gp_row
from schemas.ics import validate_ics_row
from schemas.school import validate_pupil
from tests.factories import connexions_row, gp_row, ics_row

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 25)
HEADER = {"SourceSchool/LEA": "372", "SourceSchool/Estab": "2001", "SourceSchool/SchoolName": "Oak Primary"}


def pupil(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"UPN": None, "Surname": "Smith", "Forename": "Ann", "DOB": "2015-05-01", "Sex": "F",
                              "Address": {"PostCode": "S60 1AA"},
                              "Contacts": {"Contact": [{"Order": "1", "Relationship": "PAR"}]}}
    values.update(fields)
    return values


def notification(**child: Any) -> dict[str, Any]:
    return {"NotificationId": "N1", "Event": "completed", "EventDate": "2026-10-01",
            "Child": {"FamilyName": "Begum", "GivenName": "Aisha", "DateOfBirth": "2015-05-01", "Gender": "F",
                      **child},
            "Practitioner": {"Name": "J Doe", "Organisation": "Rotherham LA"}}


def issues(outcome: RowOutcome) -> list[str]:
    return [f"{issue.field}: {issue.reason}" for issue in (*outcome.errors, *outcome.warnings)]


# Each value is distinctive, so finding it in a reason can only mean the reason echoed it.
BAD_VALUES = [
    ("gp", lambda: validate_gp_row(gp_row(date_of_birth="20091220"), "372", TODAY), "20091220"),
    ("gp", lambda: validate_gp_row(gp_row(date_of_birth="2016-13-01"), "372", TODAY), "2016-13-01"),
    ("gp", lambda: validate_gp_row(gp_row(date_of_birth="2026-11-30"), "372", TODAY), "2026-11-30"),
    ("gp", lambda: validate_gp_row(gp_row(date_of_birth="1990-01-02"), "372", TODAY), "1990-01-02"),
    ("gp", lambda: validate_gp_row(gp_row(gender="Qx"), "372", TODAY), "Qx"),
    ("gp", lambda: validate_gp_row(gp_row(record_action="Zap7"), "372", TODAY), "Zap7"),
    ("gp", lambda: validate_gp_row(gp_row(restricted="Maybe9"), "372", TODAY), "Maybe9"),
    ("connexions", lambda: validate_connexions_row(connexions_row(la_code="37x"), "372", TODAY), "37x"),
    ("connexions", lambda: validate_connexions_row(connexions_row(la_code="999"), "372", TODAY), "999"),
    ("ics", lambda: validate_ics_row(ics_row(date_of_birth="01/02/2015"), "372", TODAY), "01/02/2015"),
    ("ecaf", lambda: validate_ecaf_row(notification(DateOfBirth="2015-02-30"), "372", TODAY), "2015-02-30"),
    ("school", lambda: validate_pupil(pupil(DOB="2015/02/03"), HEADER, TODAY), "2015/02/03"),
    ("school", lambda: validate_pupil(pupil(Sex="Wq"), HEADER, TODAY), "Wq"),
    ("school", lambda: validate_pupil(
        pupil(Contacts={"Contact": [{"Relationship": "AUNTY", "Responsibility": "sortof"}]}), HEADER, TODAY),
     "AUNTY"),
    ("school", lambda: validate_pupil(
        pupil(Contacts={"Contact": [{"Relationship": "PAR", "Responsibility": "sortof"}]}), HEADER, TODAY),
     "sortof"),
]


@pytest.mark.parametrize(("feed", "validate", "value"), BAD_VALUES)
def test_a_reason_names_the_field_and_the_rule_never_the_value_sent(feed: str, validate: Any, value: str) -> None:
    found = issues(validate())

    assert found, f"{feed}: {value} broke no rule"
    assert not [issue for issue in found if value.lower() in issue.lower()], found


def test_a_date_of_birth_after_the_files_extract_date_is_quarantined_in_every_feed() -> None:
    extracted, born = date(2026, 10, 1), "2026-10-15"  # before today (25 Nov), after the extract
    outcomes = {
        "gp": validate_gp_row(gp_row(date_of_birth=born), "372", TODAY, extracted),
        "connexions": validate_connexions_row(connexions_row(date_of_birth=born), "372", TODAY, extracted),
        "ics": validate_ics_row(ics_row(date_of_birth=born), "372", TODAY, extracted),
        "ecaf": validate_ecaf_row(notification(DateOfBirth=born), "372", TODAY, extracted),
        "school": validate_pupil(pupil(DOB=born), HEADER, TODAY, extracted),
    }
    for feed, outcome in outcomes.items():
        assert outcome.record is None, feed
        assert [(i.field.rsplit("/", 1)[-1], i.reason) for i in outcome.errors] == [
            ({"school": "DOB", "ecaf": "DateOfBirth"}.get(feed, "date_of_birth"), "is after the file's extract date")]


def test_a_birth_on_the_extract_date_itself_loads() -> None:
    outcome = validate_gp_row(gp_row(date_of_birth="2026-10-01"), "372", TODAY, date(2026, 10, 1))
    assert outcome.record is not None and outcome.record.date_of_birth == date(2026, 10, 1)
