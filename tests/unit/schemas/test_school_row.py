"""The school row contract: what loads, what loads with a warning, what is quarantined and why."""

from __future__ import annotations

import io
from datetime import date

import pytest

from connectors.parsers.school_xml import read_ctf
from schemas.school import validate_pupil
from tests.factories import ctf, pupil

pytestmark = pytest.mark.unit
TODAY = date(2026, 11, 25)


def outcome(**overrides: object):
    ctf_file = read_ctf(io.BytesIO(ctf([pupil(**overrides)])))
    row = next(iter(ctf_file.rows))
    return validate_pupil(row.values, ctf_file.header, TODAY)


def test_a_valid_pupil_becomes_a_standardised_record_with_its_school() -> None:
    result = outcome(PostCode="s601aa", Surname="  O'Brien ")
    assert result.errors == [] and result.warnings == []
    record = result.record
    assert record is not None
    assert (record.family_name, record.postcode, record.gender) == ("O'Brien", "S60 1AA", "M")
    assert record.address_lines[:2] == ("12 Oak Road", "Rotherham")
    assert record.involvement is not None and record.involvement.organisation_code == "3722001"
    assert record.involvement.started_on == date(2020, 9, 1)
    assert record.contacts[0].relationship == "PAR" and record.contacts[0].parental_responsibility is True


@pytest.mark.parametrize(("overrides", "field", "reason"), [
    ({"DOB": "2015-02-30"}, "DOB", "not a real date"),
    ({"DOB": "30/01/2015"}, "DOB", "not a YYYY-MM-DD date"),
    ({"DOB": "2027-01-01"}, "DOB", "in the future"),
    ({"DOB": "2000-11-24"}, "DOB", "more than 25 years ago"),
    ({"DOB": None}, "DOB", "missing"),
    ({"Surname": None}, "Surname", "empty"),
    ({"Forename": "   "}, "Forename", "empty"),
    ({"Sex": "X"}, "Sex", "not one of M, F, U, I"),
    ({"Forename": "A" * 4096}, "Forename", "longer than"),
])
def test_a_child_that_cannot_be_identified_is_quarantined_naming_the_field(
        overrides: dict[str, object], field: str, reason: str) -> None:
    result = outcome(**overrides)
    assert result.record is None
    assert [(e.field, reason in e.reason) for e in result.errors] == [(field, True)]


def test_the_oldest_and_youngest_dates_of_birth_allowed() -> None:
    assert outcome(DOB="2001-11-25").record is not None       # exactly 25 years
    assert outcome(DOB="2026-11-25").record is not None       # born today
    assert outcome(DOB="2001-11-24").record is None


@pytest.mark.parametrize(("overrides", "field"), [
    ({"UPN": "Z372200125001X"}, "UPN"),
    ({"UPN": "A372200125001"}, "UPN"),
    ({"PostCode": "NOT A POSTCODE"}, "PostCode"),
])
def test_a_failed_identifier_is_a_warning_and_the_child_still_loads_without_it(
        overrides: dict[str, object], field: str) -> None:
    result = outcome(**overrides)
    assert result.record is not None and [w.field for w in result.warnings] == [field]
    assert result.record.upn is None or field != "UPN"
    assert result.record.postcode is None or field != "PostCode"


def test_a_forces_postcode_is_no_fixed_postcode_without_a_warning() -> None:
    result = outcome(PostCode="BFPO 123")
    assert result.record is not None and result.warnings == []
    assert result.record.postcode is None and result.record.no_fixed_postcode


def test_older_ctf_versions_say_gender() -> None:
    ctf_file = read_ctf(io.BytesIO(ctf([pupil()]).replace(b"<Sex>M</Sex>", b"<Gender>F</Gender>")))
    result = validate_pupil(next(iter(ctf_file.rows)).values, ctf_file.header, TODAY)
    assert result.record is not None and result.record.gender == "F"
