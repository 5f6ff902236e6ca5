"""A school's files, from the drop zone to the directory, against a real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.steps import run_feed
from tests.factories import ctf, drop, pupil, school_file_name, valid_upn
from warehouse.db import transaction

pytestmark = pytest.mark.postgres

CASE_DATA = (
    "<StageAssessments><StageAssessment><Stage>KS2</Stage><Subject>MAT</Subject><Result>CANARY-RESULT-4471</Result>"
    "</StageAssessment></StageAssessments><SENhistory><SEN><Provision>CANARY-SEN-PROVISION</Provision></SEN>"
    "</SENhistory><FSMhistory><FSMinstance><FSMstartDate>2020-01-01</FSMstartDate><FSMendDate>CANARY-FSM</FSMendDate>"
    "</FSMinstance></FSMhistory><Attendance><YearData><SessionsAuthorised>CANARY-ATTENDANCE</SessionsAuthorised>"
    "</YearData></Attendance><LookedAfter><InCare>CANARY-LOOKED-AFTER</InCare></LookedAfter>"
    "<MedicalFlag>CANARY-MEDICAL</MedicalFlag><Disabilities><Disability>CANARY-DISABILITY</Disability>"
    "</Disabilities><Languages><Type><LanguageCode>CANARY-LANGUAGE</LanguageCode></Type></Languages>"
)
CANARIES = ("CANARY-RESULT-4471", "CANARY-SEN-PROVISION", "CANARY-FSM", "CANARY-ATTENDANCE",
            "CANARY-LOOKED-AFTER", "CANARY-MEDICAL", "CANARY-DISABILITY", "CANARY-LANGUAGE", "CANARY-ETHNICITY")


def receipt(dropzone: Path, name: str) -> dict:
    return json.loads((dropzone / "outbound" / "school" / f"{name}.receipt.json").read_text())


def scalar(sql: str, **params: object) -> object:
    with transaction() as conn:
        return conn.execute(text(sql), params).scalar()


def every_text_value_in_the_store() -> str:
    """Every text, varchar and json value of every table of the hub's schemas, as one string."""
    with transaction() as conn:
        columns = conn.execute(text("""
            SELECT table_schema, table_name, column_name FROM information_schema.columns
            WHERE table_schema IN ('intake', 'staging', 'identity', 'directory', 'archive', 'audit')
              AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')
              -- where the hub read a file from: a path of the hub's own (a test's folder is named after the test)
              AND column_name <> 'dropzone'""")).fetchall()
        parts = [conn.execute(text(f'SELECT coalesce(string_agg("{c}"::text, \'|\'), \'\') FROM "{s}"."{t}"'))
                 .scalar_one() for s, t, c in columns]
    return "\n".join(parts)


def test_a_real_looking_ctf_loads_with_none_of_its_case_information_stored(store: Path) -> None:
    extra = CASE_DATA
    content = ctf([pupil(extra_xml=extra), pupil(Forename="Maisie", Sex="F", extra_xml=extra)])
    content = content.replace(b"<MiddleNames>", b"<Ethnicity>CANARY-ETHNICITY</Ethnicity><MiddleNames>")
    name = school_file_name()
    drop(store, "school", name, content)

    outcomes = run_feed("school", "run-1")

    assert [(o.status, o.read, o.loaded) for o in outcomes] == [("accepted", 2, 2)]
    assert scalar("SELECT count(*) FROM directory.child") == 2
    stored = every_text_value_in_the_store()
    assert not [c for c in CANARIES if c in stored]
    dropped = receipt(store, name)["dropped_fields"]
    assert dropped["StageAssessments"] == 2 and dropped["BasicDetails/Ethnicity"] == 2
    assert not any(c in json.dumps(receipt(store, name)) for c in CANARIES)
    assert not (store / "inbound" / "school" / name).exists()
    assert (store / "processed" / "school" / name).exists()


def test_a_file_with_a_bad_upn_a_bad_date_and_an_unknown_element_loads_minus_the_bad_row(store: Path) -> None:
    good, bad_upn, bad_date = valid_upn(), "Z372200125999", valid_upn()
    name = school_file_name()
    drop(store, "school", name, ctf([
        pupil(UPN=good, extra_xml="<FavouriteColour>blue</FavouriteColour>"),
        pupil(UPN=bad_upn, Forename="Maisie", Sex="F"),
        pupil(UPN=bad_date, Forename="Freddie", DOB="2016-13-01"),
    ]))

    [outcome] = run_feed("school", "run-1")

    assert (outcome.status, outcome.read, outcome.loaded, outcome.quarantined, outcome.warned) == (
        "accepted_with_errors", 3, 2, 1, 1)
    body = receipt(store, name)
    assert body["status"] == "accepted_with_errors"
    assert body["rows"] == {"read": 3, "loaded": 2, "quarantined": 1, "withheld": 0, "out_of_scope": 0,
                            "loaded_with_warnings": 1}
    assert body["quarantined"] == [{"row": 3, "field": "DOB", "reason": "is not a real date"}]
    assert [(w["row"], w["field"]) for w in body["warnings"]] == [(2, "UPN")]
    assert body["dropped_fields"] == {"FavouriteColour": 1}
    # The quarantined row is kept, field by field as sent, so a data team can correct and release it.
    raw = scalar("SELECT raw FROM intake.quarantined_row WHERE row_number = 3")
    assert isinstance(raw, dict) and raw["DOB"] == "2016-13-01" and raw["Forename"] == "Freddie"
    # The child with a mistyped UPN is in the directory, without the UPN.
    assert scalar("SELECT count(*) FROM staging.source_record WHERE given_name = 'Maisie' AND upn IS NULL") == 1
    assert bad_upn not in every_text_value_in_the_store().replace(json.dumps(raw), "")


def test_malformed_xml_is_rejected_whole_and_nothing_is_partly_loaded(store: Path) -> None:
    name = school_file_name()
    drop(store, "school", name, ctf([pupil(), pupil()]).replace(b"</CTFpupilData></CTfile>", b"<Pupil>"))

    [outcome] = run_feed("school", "run-1")

    assert outcome.status == "rejected" and "not well-formed" in (outcome.reason or "")
    assert receipt(store, name)["status"] == "rejected"
    assert scalar("SELECT count(*) FROM staging.source_record") == 0
    assert scalar("SELECT count(*) FROM intake.quarantined_row") == 0
    assert scalar("SELECT count(*) FROM directory.child") == 0
    assert (store / "rejected" / "school" / name).exists()


@pytest.mark.parametrize("prologue", [
    '<!DOCTYPE CTfile [<!ENTITY leak SYSTEM "file:///etc/hostname">]>',
    '<!DOCTYPE CTfile [<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY leak "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
])
def test_an_entity_attack_is_rejected_without_being_resolved(store: Path, prologue: str) -> None:
    name = school_file_name()
    drop(store, "school", name, ctf([pupil(Surname="X")], prologue=prologue).replace(b"<Surname>X", b"<Surname>&leak;"))

    [outcome] = run_feed("school", "run-1")

    assert outcome.status == "rejected" and "DOCTYPE" in (outcome.reason or "")
    assert scalar("SELECT count(*) FROM staging.source_record") == 0
    assert "AAAAAAAAAAAAAAAAAAAA" not in every_text_value_in_the_store()


def test_running_twice_loads_nothing_twice_and_keeps_every_contactpoint_id(store: Path) -> None:
    content = ctf([pupil(), pupil(Forename="Maisie", Sex="F")])
    drop(store, "school", school_file_name(), content)
    run_feed("school", "run-1")
    with transaction() as conn:
        before = conn.execute(text("SELECT cp_id, given_name FROM directory.child ORDER BY cp_id")).fetchall()

    # The sender sends the same bytes again under another name; and the hub simply runs again.
    drop(store, "school", school_file_name(seq=2), content)
    again = run_feed("school", "run-2") + run_feed("school", "run-3")

    assert again == []
    assert receipt(store, school_file_name(seq=2))["status"] == "duplicate"
    with transaction() as conn:
        after = conn.execute(text("SELECT cp_id, given_name FROM directory.child ORDER BY cp_id")).fetchall()
        counts = conn.execute(text("""SELECT (SELECT count(*) FROM staging.source_record),
                                             (SELECT count(*) FROM intake.file),
                                             (SELECT count(*) FROM directory.history)""")).one()
    assert after == before
    assert tuple(counts) == (2, 1, 2 + 2 + 2)  # two children, their carers and involvements, written once


def test_a_newer_roll_without_a_pupil_ends_that_school_involvement_in_any_arrival_order(store: Path) -> None:
    stays, leaves = pupil(UPN=valid_upn()), pupil(UPN=valid_upn(), Forename="Maisie", Sex="F")
    october = ctf([stays, leaves], stamp="2026-10-01T09:00:00")
    november = ctf([stays], stamp="2026-11-01T09:00:00")
    # The newer file arrives first; the older one, late, must not bring the leaver back.
    drop(store, "school", school_file_name(stamp="20261101T090000"), november)
    run_feed("school", "run-1")
    drop(store, "school", school_file_name(stamp="20261001T090000"), october)
    run_feed("school", "run-2")

    with transaction() as conn:
        rows = conn.execute(text("""
            SELECT c.given_name, i.ended_on::text FROM directory.involvement i JOIN directory.child c USING (cp_id)
            ORDER BY c.given_name""")).fetchall()
    assert [tuple(r) for r in rows] == [("Alfie", None), ("Maisie", "2026-11-01")]


def test_a_file_that_breaks_the_naming_rule_or_its_checksum_is_refused_with_a_receipt(store: Path) -> None:
    drop(store, "school", "roll-november.xml", ctf([pupil()]))
    good_name = school_file_name()
    drop(store, "school", good_name, ctf([pupil()]))
    (store / "inbound" / "school" / f"{good_name}.sha256").write_text(hashlib.sha256(b"other").hexdigest())

    assert run_feed("school", "run-1") == []

    assert "does not follow" in receipt(store, "roll-november.xml")["reason"]
    assert receipt(store, good_name)["status"] == "rejected"
    assert "sha256" in receipt(store, good_name)["reason"]
    assert scalar("SELECT count(*) FROM staging.source_record") == 0


def test_a_file_whose_rows_are_mostly_unusable_is_rejected_whole(store: Path) -> None:
    name = school_file_name()
    drop(store, "school", name, ctf([pupil(DOB="bad"), pupil(DOB="bad"), pupil()]))

    [outcome] = run_feed("school", "run-1")

    assert outcome.status == "rejected" and "2 of 3 rows" in (outcome.reason or "")
    assert scalar("SELECT count(*) FROM intake.quarantined_row") == 0


def test_for_every_file_rows_read_equals_loaded_plus_quarantined_plus_withheld(store: Path) -> None:
    for seq, pupils in enumerate([[pupil(), pupil(DOB="2016-02-30")], [pupil(Sex="Q"), pupil(), pupil()]], 1):
        drop(store, "school", school_file_name(estab=f"200{seq}", seq=seq), ctf(pupils, estab=f"200{seq}"))
    run_feed("school", "run-1")
    with transaction() as conn:
        files = conn.execute(text("SELECT rows_read, rows_loaded, rows_quarantined, rows_withheld FROM intake.file"))
        assert all(r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_withheld for r in files)
    # The database itself refuses counts that do not add up.
    with pytest.raises(Exception, match="check"), transaction() as conn:
        conn.execute(text("UPDATE intake.file SET rows_loaded = rows_loaded + 1"))


def test_the_header_must_name_the_school_that_sent_the_file(store: Path) -> None:
    drop(store, "school", school_file_name(estab="2001"), ctf([pupil()], estab="9999"))

    [outcome] = run_feed("school", "run-1")

    assert outcome.status == "rejected" and "3729999" in (outcome.reason or "")


def test_a_file_sent_again_under_its_own_name_after_its_receipt_keeps_its_receipt_and_is_not_loaded_again(
        store: Path) -> None:
    name, content = school_file_name(), ctf([pupil()])
    drop(store, "school", name, content)
    run_feed("school", "run-1")
    original = (store / "outbound" / "school" / f"{name}.receipt.json").read_bytes()
    drop(store, "school", name, content)

    assert run_feed("school", "run-2") == []

    # The sender's receipt still says what became of the file, not "duplicate" over it.
    assert (store / "outbound" / "school" / f"{name}.receipt.json").read_bytes() == original
    assert receipt(store, name)["status"] == "accepted"
    assert (store / "processed" / "school" / name).exists()
    assert not (store / "inbound" / "school" / name).exists()
    assert scalar("SELECT count(*) FROM intake.duplicate_delivery") == 1
