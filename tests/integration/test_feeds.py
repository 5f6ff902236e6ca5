"""The gp, connexions, ecaf and ics feeds, from the drop zone to the directory, against a real PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pipeline.steps import run_feed
from tests.factories import (
    connexions_row,
    csv_file,
    drop,
    ecaf_file,
    feed_file_name,
    gp_row,
    ics_row,
    notification,
)
from tests.integration.test_school_slice import every_text_value_in_the_store
from warehouse.db import transaction

pytestmark = pytest.mark.postgres

CASE_NOTES = {"notes": "CANARY-NOTE-8812 seen at home", "assessment_text": "CANARY-ASSESS-5531 concerns",
              "diagnosis": "CANARY-DX-7720 ADHD"}


def receipt(dropzone: Path, feed: str, name: str) -> dict[str, Any]:
    return json.loads((dropzone / "outbound" / feed / f"{name}.receipt.json").read_text())


def rows(sql: str, **params: object) -> list[tuple[Any, ...]]:
    with transaction() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def send(store: Path, feed: str, content: bytes, **name: Any) -> str:
    file_name = feed_file_name(feed, **name)
    drop(store, feed, file_name, content)
    return file_name


def test_a_gp_file_marks_a_restricted_child_and_the_directory_shields_that_child(store: Path) -> None:
    send(store, "gp", csv_file([gp_row(given_name="Rosa", gender="F", restricted="Y"), gp_row(given_name="Tom")]))

    [outcome] = run_feed("gp", "run-1")

    assert (outcome.status, outcome.read, outcome.loaded) == ("accepted", 2, 2)
    assert rows("SELECT given_name, restricted FROM staging.source_record ORDER BY given_name") == [
        ("Rosa", True), ("Tom", False)]
    assert rows("SELECT given_name, shielded FROM directory.child ORDER BY given_name") == [
        ("Rosa", True), ("Tom", False)]
    assert rows("SELECT DISTINCT kind, organisation_code, organisation_name FROM directory.involvement") == [
        ("primary_care", "C84001", "Oak Surgery")]


def test_an_ics_mental_health_involvement_without_consent_is_withheld_counted_and_stored_nowhere(
        store: Path) -> None:
    secret = {"family_name": "Quillfeather", "given_name": "Oona", "worker_name": "CANARY-WORKER-3107",
              "team_name": "CANARY-CAMHS-TEAM", "worker_email": "canary.camhs@example.org",
              "worker_phone": "07700 900123", "event_id": "CANARY-EVENT-99"}
    name = send(store, "ics", csv_file([
        ics_row(),
        ics_row(service_type="mental_health", consent_sensitive="N", **secret),
        ics_row(service_type="sexual_health", consent_sensitive="Y", given_name="Mia", team_name="Sexual Health Team"),
    ]))

    [outcome] = run_feed("ics", "run-1")

    assert (outcome.status, outcome.read, outcome.loaded, outcome.withheld, outcome.quarantined) == (
        "accepted", 3, 2, 1, 0)
    body = receipt(store, "ics", name)
    assert body["rows"]["withheld"] == 1 and body["withheld_rows"] == [2]
    assert "mental" not in json.dumps(body) and body["quarantined"] == [] and body["warnings"] == []
    stored = every_text_value_in_the_store()
    assert not [value for value in secret.values() if value in stored]
    assert "mental_health" not in stored
    # With consent the sensitive involvement is recorded, flagged so readers see "an unspecified service".
    assert rows("""SELECT involvement->>'service_type', (involvement->>'sensitive')::boolean, involvement->>'kind'
                   FROM staging.source_record WHERE given_name = 'Mia'""") == [("sexual_health", True, "other")]


@pytest.mark.parametrize(("feed", "build"), [("gp", gp_row), ("connexions", connexions_row), ("ics", ics_row)])
def test_a_csv_stuffed_with_case_notes_stores_none_of_them_and_the_receipt_names_the_columns(
        store: Path, feed: str, build: Any) -> None:
    name = send(store, feed, csv_file([build(**CASE_NOTES), build(given_name="Second", **CASE_NOTES)]))

    [outcome] = run_feed(feed, "run-1")

    assert (outcome.status, outcome.loaded) == ("accepted", 2)
    stored = every_text_value_in_the_store()
    assert not [value for value in CASE_NOTES.values() if value in stored]
    body = receipt(store, feed, name)
    assert body["dropped_fields"] == {"assessment_text": 2, "diagnosis": 2, "notes": 2}
    assert "CANARY" not in json.dumps(body)


def test_an_ecaf_file_records_the_assessment_and_its_practitioner_never_its_content(store: Path) -> None:
    content = "<AssessmentText>CANARY-CAF-TEXT-6620</AssessmentText><Notes>CANARY-CAF-NOTE</Notes>"
    name = send(store, "ecaf", ecaf_file([notification(extra_xml=content)]))

    [outcome] = run_feed("ecaf", "run-1")

    assert (outcome.status, outcome.loaded) == ("accepted", 1)
    assert "CANARY" not in every_text_value_in_the_store()
    assert receipt(store, "ecaf", name)["dropped_fields"] == {"AssessmentText": 1, "Notes": 1}
    assert rows("SELECT kind, practitioner_name, lead_professional, started_on::text FROM directory.involvement") == [
        ("caf", "Jo Practitioner", True, "2026-10-01")]
    assert rows("SELECT (involvement->>'caf_completed')::boolean FROM staging.source_record") == [(True,)]


def test_for_every_file_rows_read_equal_loaded_plus_quarantined_plus_withheld(store: Path) -> None:
    send(store, "gp", csv_file([gp_row(), gp_row(date_of_birth="2016-02-30"), gp_row(nhs_number="123"), gp_row()]))
    send(store, "connexions", csv_file([connexions_row(), connexions_row(gender="Q"), connexions_row()]))
    send(store, "ics", csv_file([ics_row(), ics_row(service_type="substance_misuse"), ics_row(event="x"), ics_row()]))
    send(store, "ecaf", ecaf_file([notification(), notification(Gender="Z"), notification(GivenName="Bo")]))

    outcomes = [o for feed in ("gp", "connexions", "ics", "ecaf") for o in run_feed(feed, "run-1")]

    assert [(o.status, o.read, o.loaded, o.quarantined, o.withheld, o.warned) for o in outcomes] == [
        ("accepted_with_errors", 4, 3, 1, 0, 1),
        ("accepted_with_errors", 3, 2, 1, 0, 0),
        ("accepted_with_errors", 4, 2, 1, 1, 0),
        ("accepted_with_errors", 3, 2, 1, 0, 0),
    ]
    files = rows("SELECT rows_read, rows_loaded, rows_quarantined, rows_withheld FROM intake.file")
    assert len(files) == 4 and all(read == loaded + quarantined + withheld for read, loaded, quarantined, withheld
                                   in files)


@pytest.mark.parametrize(("feed", "build", "missing"), [
    ("gp", gp_row, "record_action"), ("connexions", connexions_row, "la_code"), ("ics", ics_row, "consent_sensitive"),
])
def test_a_file_missing_a_required_column_is_rejected_whole_with_a_receipt_naming_it(
        store: Path, feed: str, build: Any, missing: str) -> None:
    written = [build(), build()]
    columns = tuple(column for column in written[0] if column != missing)
    name = send(store, feed, csv_file(written, columns))

    [outcome] = run_feed(feed, "run-1")

    body = receipt(store, feed, name)
    assert (outcome.status, body["status"]) == ("rejected", "rejected") and missing in body["reason"]
    assert rows("SELECT count(*) FROM staging.source_record") == [(0,)]
    assert (store / "rejected" / feed / name).exists()


@pytest.mark.parametrize(("content", "reason"), [
    (b"nhs_number,family_name\n\xff\xfe\n", "not UTF-8"),
    (csv_file([gp_row(), gp_row()]).replace(b",add\r\n", b",add,surplus\r\n", 1), "data row 1 has 20 fields"),
])
def test_a_csv_that_is_not_utf8_or_has_a_ragged_row_is_rejected_and_nothing_is_partly_loaded(
        store: Path, content: bytes, reason: str) -> None:
    name = send(store, "gp", content)

    [outcome] = run_feed("gp", "run-1")

    assert outcome.status == "rejected" and reason in receipt(store, "gp", name)["reason"]
    assert rows("SELECT count(*) FROM staging.source_record UNION ALL SELECT count(*) FROM intake.quarantined_row") == [
        (0,), (0,)]


def test_an_ecaf_xml_with_a_doctype_is_rejected_without_resolving_it(store: Path) -> None:
    prologue = '<!DOCTYPE CAFNotifications [<!ENTITY leak SYSTEM "file:///etc/hostname">]>'
    content = ecaf_file([notification(FamilyName="X")], prologue=prologue).replace(b">X<", b">&leak;<")
    name = send(store, "ecaf", content)

    [outcome] = run_feed("ecaf", "run-1")

    assert outcome.status == "rejected" and "DOCTYPE" in receipt(store, "ecaf", name)["reason"]
    assert rows("SELECT count(*) FROM staging.source_record") == [(0,)]


def test_a_gp_deregistration_without_a_reason_is_quarantined_naming_the_field(store: Path) -> None:
    name = send(store, "gp", csv_file([gp_row(), gp_row(), gp_row(record_action="deregister",
                                                                  deregistration_date="2026-10-01")]))

    run_feed("gp", "run-1")

    assert receipt(store, "gp", name)["quarantined"] == [
        {"row": 3, "field": "deregistration_reason", "reason": "is missing"}]


def test_a_newer_connexions_snapshot_without_a_client_ends_that_involvement(store: Path) -> None:
    stays, leaves = connexions_row(), connexions_row(given_name="Leon", gender="M")
    send(store, "connexions", csv_file([stays, leaves]), stamp="20261001T090000")
    run_feed("connexions", "run-1")
    send(store, "connexions", csv_file([stays]), stamp="20261101T090000")
    run_feed("connexions", "run-2")

    assert rows("""SELECT c.given_name, i.kind, i.ended_on::text FROM directory.involvement i
                   JOIN directory.child c USING (cp_id) ORDER BY c.given_name""") == [
        ("Chidi", "connexions", None), ("Leon", "connexions", "2026-11-01")]


def test_an_ics_close_in_a_later_file_ends_the_involvement_its_open_began(store: Path) -> None:
    opened = ics_row(event_date="2026-03-01")
    send(store, "ics", csv_file([opened]), stamp="20260301T090000")
    run_feed("ics", "run-1")
    send(store, "ics", csv_file([{**opened, "event": "close", "event_date": "2026-09-30", "event_id": "E2"}]),
         stamp="20261001T090000")
    run_feed("ics", "run-2")

    assert rows("SELECT kind, ended_on::text FROM directory.involvement") == [("social_care", "2026-09-30")]
    assert rows("SELECT count(*) FROM staging.source_record") == [(1,)]


def test_an_ics_open_and_close_in_one_file_end_the_involvement(store: Path) -> None:
    opened = ics_row(event_date="2026-03-01")
    send(store, "ics", csv_file([opened, ics_row(), {**opened, "event": "close", "event_date": "2026-09-30"}]))

    [outcome] = run_feed("ics", "run-1")

    assert outcome.quarantined == 0
    assert rows("SELECT started_on::text, ended_on::text FROM directory.involvement WHERE ended_on IS NOT NULL") == [
        ("2026-03-01", "2026-09-30")]


def test_consent_withdrawn_in_a_later_file_removes_the_sensitive_service_and_the_child_it_alone_named(
        store: Path) -> None:
    consented = ics_row(service_type="substance_misuse", consent_sensitive="Y", given_name="Nia",
                        team_name="CANARY-SUBSTANCE-TEAM", event_date="2026-03-01")
    send(store, "ics", csv_file([consented, ics_row(given_name="Theo")]), stamp="20261001T090000")
    run_feed("ics", "run-1")
    assert rows("SELECT count(*) FROM directory.child WHERE given_name = 'Nia'") == [(1,)]

    name = send(store, "ics", csv_file([{**consented, "consent_sensitive": "N", "event_date": "2026-10-20"}]),
                stamp="20261101T090000")
    [outcome] = run_feed("ics", "run-2")

    assert (outcome.read, outcome.withheld) == (1, 1)
    assert receipt(store, "ics", name)["withheld_rows"] == [1]
    assert "CANARY-SUBSTANCE-TEAM" not in every_text_value_in_the_store()
    assert rows("SELECT given_name FROM directory.child") == [("Theo",)]
    assert rows("SELECT method FROM identity.link_history WHERE new_cp_id IS NULL") == [("consent_withdrawn",)]


def test_a_date_of_birth_after_the_files_own_extract_date_is_quarantined_even_in_a_later_run(store: Path) -> None:
    # Extracted on 1 October; loaded later (a backfill), when a birth on 15 October is no longer "future".
    name = send(store, "gp", csv_file([gp_row(), gp_row(given_name="Nell", date_of_birth="2026-10-15")]),
                stamp="20261001T090000")

    run_feed("gp", "run-1")

    assert receipt(store, "gp", name)["quarantined"] == [
        {"row": 2, "field": "date_of_birth", "reason": "is after the file's extract date"}]
    assert rows("SELECT given_name FROM staging.source_record") == [("Alfie",)]
