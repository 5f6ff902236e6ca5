"""The gp, connexions, ecaf and ics row contracts: what loads, with which warning, what is quarantined or withheld."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from connectors.parsers.csv_feed import read_csv
from connectors.parsers.ecaf_xml import read_ecaf
from schemas.child import RowOutcome, SourceRecord
from schemas.connexions import CONNEXIONS_COLUMNS, ConnexionsRow, validate_connexions_row
from schemas.ecaf import validate_ecaf_row
from schemas.feed_row import ChildRow
from schemas.gp import GP_COLUMNS, GpRow, validate_gp_row
from schemas.ics import ICS_COLUMNS, IcsRow, validate_ics_row
from tests.factories import connexions_row, csv_file, ecaf_file, gp_row, ics_row, notification
from tools.synthetic import csvfeeds

pytestmark = pytest.mark.unit
TODAY = date(2026, 11, 25)
SENDER = "372"
CSV_FEEDS: dict[str, tuple[tuple[str, ...], Callable[..., dict[str, str]], Callable[..., RowOutcome]]] = {
    "gp": (GP_COLUMNS, gp_row, validate_gp_row),
    "connexions": (CONNEXIONS_COLUMNS, connexions_row, validate_connexions_row),
    "ics": (ICS_COLUMNS, ics_row, validate_ics_row),
}


def outcome(feed: str, sender: str = SENDER, **overrides: Any) -> RowOutcome:
    """One row through the feed's real reader and validator."""
    if feed == "ecaf":
        row = next(read_ecaf(io.BytesIO(ecaf_file([notification(**overrides)]))).rows)
        return validate_ecaf_row(row.values, sender, TODAY)
    columns, build, validate = CSV_FEEDS[feed]
    row = next(read_csv(io.BytesIO(csv_file([build(**overrides)], columns)), columns))
    return validate(row.values, sender, TODAY)


def loaded(feed: str, **overrides: Any) -> SourceRecord:
    result = outcome(feed, **overrides)
    assert result.record is not None, result.errors
    return result.record


@pytest.mark.parametrize(("columns", "generated", "model"), [
    (GP_COLUMNS, csvfeeds.GP_COLUMNS, GpRow),
    (CONNEXIONS_COLUMNS, csvfeeds.CONNEXIONS_COLUMNS, ConnexionsRow),
    (ICS_COLUMNS, csvfeeds.ICS_COLUMNS, IcsRow),
])
def test_every_spec_column_is_read_by_the_model_and_the_generator_writes_the_same_columns(
        columns: tuple[str, ...], generated: tuple[str, ...], model: type[ChildRow]) -> None:
    assert columns == generated
    assert set(columns) <= set(model.model_fields)
    # The model's other fields are identifiers this feed does not send (never filled).
    assert set(model.model_fields) - set(columns) <= {"nhs_number", "upn", "uln"}


def test_a_gp_row_is_the_childs_primary_care_and_a_restricted_child_is_shielded() -> None:
    record = loaded("gp", restricted="Y", postcode="s601aa", practice_code="c84001")
    assert (record.restricted, record.postcode, record.middle_names) == (True, "S60 1AA", "James")
    assert record.address_lines[:3] == ("12 Oak Road", "Rotherham", None)
    inv = record.involvement
    assert inv is not None
    assert (inv.kind, inv.organisation_code, inv.organisation_name, inv.phone) == (
        "primary_care", "C84001", "Oak Surgery", "01709 100200")
    assert (inv.started_on, inv.ended_on) == (date(2016, 3, 20), None)
    assert loaded("gp", restricted="").restricted is False


def test_a_gp_deregistration_ends_the_registration_and_says_why() -> None:
    record = loaded("gp", record_action="DEREGISTER", deregistration_date="2026-10-31",
                    deregistration_reason="left_england")
    assert (record.deregistered_on, record.deregistration_reason) == (date(2026, 10, 31), "left_england")
    assert record.involvement is not None and record.involvement.ended_on == date(2026, 10, 31)


def test_a_connexions_row_is_the_advisers_involvement_with_the_consent_to_stay_to_19() -> None:
    record = loaded("connexions", consent_extend_to_19="Y", involvement_end="2026-07-31")
    assert record.consent_extend_to_19 is True and record.upn is not None and record.uln is not None
    assert record.address_lines[:3] == ("3 Mill Lane", "Kimberworth", "Rotherham")
    inv = record.involvement
    assert inv is not None
    assert (inv.kind, inv.organisation_code, inv.practitioner_name, inv.email) == (
        "connexions", "372", "Pat Adviser", "pat.adviser@example.org")
    assert (inv.started_on, inv.ended_on) == (date(2024, 9, 1), date(2026, 7, 31))


def test_an_ecaf_notification_records_that_an_assessment_exists_and_who_to_contact() -> None:
    record = loaded("ecaf")
    inv = record.involvement
    assert inv is not None and record.nhs_number is not None
    assert (inv.kind, inv.organisation_code, inv.organisation_name, inv.practitioner_name) == (
        "caf", SENDER, "Rotherham Health", "Jo Practitioner")
    assert (inv.lead_professional, inv.caf_completed, inv.started_on, inv.ended_on) == (
        True, True, date(2026, 10, 1), None)
    closed = loaded("ecaf", Event="closed", EventDate="2026-11-02").involvement
    assert closed is not None and (closed.started_on, closed.ended_on) == (None, date(2026, 11, 2))


@pytest.mark.parametrize(("service", "kind", "sensitive"), [
    ("social_care", "social_care", False),
    ("youth_offending", "other", False),
    ("other", "other", False),
    ("Mental_Health", "other", True),
])
def test_an_ics_event_maps_its_service_to_an_involvement_kind(service: str, kind: str, sensitive: bool) -> None:
    record = loaded("ics", service_type=service, consent_sensitive="Y", extend_to_25="Y")
    inv = record.involvement
    assert inv is not None and record.extend_to_25 is True
    assert (inv.kind, inv.service_type, inv.sensitive) == (kind, service.lower(), sensitive)
    assert (inv.organisation_code, inv.organisation_name, inv.practitioner_name, inv.lead_professional) == (
        "372", "Children in Need Team", "Sam Worker", True)


def test_an_ics_close_event_ends_the_involvement_its_open_event_began() -> None:
    child = {"date_of_birth": "2012-07-08", "la_code": "372"}
    opened = loaded("ics", event="open", event_date="2026-01-05", nhs_number="", **child)
    closed = loaded("ics", event="close", event_date="2026-06-30", **child)
    assert closed.source_key == opened.source_key
    assert closed.involvement is not None and closed.involvement.ended_on == date(2026, 6, 30)


@pytest.mark.parametrize(("service", "consent"), [
    ("sexual_health", "N"), ("mental_health", ""), ("substance_misuse", "maybe"), ("camhs", "N"), ("", ""),
])
def test_a_sensitive_or_unclassifiable_service_without_consent_is_withheld_whatever_else_is_wrong(
        service: str, consent: str) -> None:
    for broken in ({}, {"date_of_birth": "not a date"}, {"la_code": "999"}):
        result = outcome("ics", service_type=service, consent_sensitive=consent, **broken)
        assert (result.withheld, result.record, result.errors, result.warnings) == (True, None, [], [])


IDENTITY = [
    ("family_name", "", "family_name", "empty"),
    ("given_name", "  ", "given_name", "empty"),
    ("date_of_birth", "2015-02-30", "date_of_birth", "not a real date"),
    ("date_of_birth", "04/03/2016", "date_of_birth", "not a YYYY-MM-DD date"),
    ("date_of_birth", "2027-01-01", "date_of_birth", "in the future"),
    ("date_of_birth", "2000-11-24", "date_of_birth", "more than 25 years ago"),
    ("gender", "X", "gender", "not one of M, F, U, I"),
    ("family_name", "A" * 101, "family_name", "longer than"),
]
QUARANTINED = [(feed, {column: value}, field, reason)
               for feed in CSV_FEEDS for column, value, field, reason in IDENTITY]
QUARANTINED += [
    ("gp", {"record_action": "delete"}, "record_action", "not one of add, update, deregister"),
    ("gp", {"record_action": ""}, "record_action", "missing"),
    ("gp", {"record_action": "deregister", "deregistration_date": "2026-10-01"}, "deregistration_reason", "missing"),
    ("gp", {"record_action": "deregister", "deregistration_date": "2026-10-01", "deregistration_reason": "moved"},
     "deregistration_reason", "not one of death, left_england, other"),
    ("gp", {"record_action": "deregister", "deregistration_reason": "death"}, "deregistration_date", "missing"),
    ("connexions", {"la_code": "37"}, "la_code", "not a 3-digit"),
    ("connexions", {"la_code": "373"}, "la_code", "not the sender 372"),
    ("ics", {"la_code": "373"}, "la_code", "not the sender 372"),
    ("ics", {"event": "reopen"}, "event", "not one of open, close"),
    ("ics", {"event_date": ""}, "event_date", "missing"),
    ("ics", {"service_type": "camhs", "consent_sensitive": "Y"}, "service_type", "not one of social_care"),
    ("ecaf", {"FamilyName": None}, "Child/FamilyName", "empty"),
    ("ecaf", {"DateOfBirth": "2016-13-01"}, "Child/DateOfBirth", "not a real date"),
    ("ecaf", {"Gender": None}, "Child/Gender", "missing"),
    ("ecaf", {"Event": "started"}, "Event", "not one of completed, updated, closed"),
    ("ecaf", {"EventDate": None}, "EventDate", "missing"),
]


@pytest.mark.parametrize(("feed", "overrides", "field", "reason"), QUARANTINED)
def test_a_row_that_cannot_identify_the_child_or_breaks_the_spec_is_quarantined_naming_the_field(
        feed: str, overrides: dict[str, Any], field: str, reason: str) -> None:
    result = outcome(feed, **overrides)
    assert result.record is None and not result.withheld
    assert [(e.field, reason in e.reason) for e in result.errors] == [(field, True)], result.errors


WARNED = [
    ("gp", {"nhs_number": "9990000000"}, "nhs_number", "nhs_number", None),
    ("gp", {"postcode": "NOT A POSTCODE"}, "postcode", "postcode", None),
    ("gp", {"practice_code": "84001"}, "practice_code", "organisation_code", "unknown"),
    ("gp", {"practice_code": ""}, "practice_code", "organisation_code", "unknown"),
    ("gp", {"registration_date": "20/03/2016"}, "registration_date", "started_on", None),
    ("gp", {"restricted": "maybe"}, "restricted", "restricted", True),
    ("gp", {"deregistration_reason": "death"}, "deregistration_reason", "deregistration_reason", None),
    ("connexions", {"upn": "Z372200125001"}, "upn", "upn", None),
    ("connexions", {"uln": "1234567890"}, "uln", "uln", None),
    ("connexions", {"involvement_start": "2024-02-30"}, "involvement_start", "started_on", None),
    ("connexions", {"consent_extend_to_19": "perhaps"}, "consent_extend_to_19", "consent_extend_to_19", None),
    ("connexions", {"adviser_email": "x" * 300}, "adviser_email", "email", None),
    ("ics", {"upn": "A123"}, "upn", "upn", None),
    ("ics", {"lead_professional": "sometimes"}, "lead_professional", "lead_professional", False),
    ("ics", {"extend_to_25": "?"}, "extend_to_25", "extend_to_25", None),
    ("ics", {"consent_sensitive": "?"}, "consent_sensitive", "sensitive", False),
    ("ecaf", {"NHSNumber": "999 000 0000"}, "Child/NHSNumber", "nhs_number", None),
    ("ecaf", {"Postcode": "S60"}, "Child/Postcode", "postcode", None),
    ("ecaf", {"LeadProfessional": "yes please"}, "Practitioner/LeadProfessional", "lead_professional", False),
]


@pytest.mark.parametrize(("feed", "overrides", "field", "attribute", "kept"), WARNED)
def test_a_failed_identifier_or_unreadable_detail_is_a_warning_and_the_child_loads_without_it(
        feed: str, overrides: dict[str, Any], field: str, attribute: str, kept: object) -> None:
    result = outcome(feed, **overrides)
    assert result.record is not None and [w.field for w in result.warnings] == [field], result.warnings
    holder = result.record if attribute in SourceRecord.model_fields else result.record.involvement
    assert getattr(holder, attribute) == kept


def test_a_forces_postcode_is_no_fixed_postcode_without_a_warning() -> None:
    result = outcome("connexions", postcode="BFPO 123")
    assert result.record is not None and result.warnings == []
    assert result.record.postcode is None and result.record.no_fixed_postcode


def test_source_keys_follow_the_senders_own_key_for_the_child() -> None:
    gp = loaded("gp", nhs_number="999 000 0115", practice_code="C84001")
    moved = loaded("gp", nhs_number="9990000115", practice_code="C84002", record_action="update")
    assert gp.source_key == moved.source_key != loaded("gp", sender="14C", nhs_number="9990000115").source_key
    assert gp.source_key.startswith("372:") and "9990000115" not in gp.source_key
    assert loaded("connexions", client_id="CX1").source_key == loaded("connexions", client_id="CX1",
                                                                      given_name="Chid").source_key
    child = {"date_of_birth": "2012-07-08"}
    team_a, team_b = loaded("ics", team_name="Team A", **child), loaded("ics", team_name="Team B", **child)
    assert team_a.source_key != team_b.source_key
    assert loaded("ecaf", DateOfBirth="2014-02-03").source_key == loaded(
        "ecaf", DateOfBirth="2014-02-03", Event="updated", Name="New Lead").source_key
