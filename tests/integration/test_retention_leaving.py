"""Retention stories, leaving: children leave the directory on the day their rule says, and are kept out when a
feed sends them again or sends someone already past every leave date.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from cli.main import main
from contactpoint.settings import get_settings
from pipeline.steps import retention, run_feed
from tests.factories import (
    connexions_row,
    csv_file,
    ctf,
    drop,
    feed_file_name,
    gp_row,
    ics_row,
    pupil,
    school_file_name,
)
from tests.integration.retention import TODAY, cp_id_of, send, status_by_nhs
from tests.integration.test_feeds import receipt
from warehouse import contract
from warehouse.db import get_engine, transaction
from warehouse.retention.archive import age_out
from warehouse.users import add_user

pytestmark = pytest.mark.postgres


def test_children_leave_on_the_day_their_rule_says_and_the_others_stay(
        day_before: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = day_before
    turns_18 = gp_row(date_of_birth="2008-11-25", given_name="Ada", family_name="Ashdown")
    turns_18_tomorrow = gp_row(date_of_birth="2008-11-26", given_name="Ben", family_name="Birch")
    died = gp_row(date_of_birth="2015-04-01", given_name="Cal", family_name="Carr", record_action="deregister",
                  deregistration_date="2025-11-25", deregistration_reason="death")
    left = gp_row(date_of_birth="2014-02-02", given_name="Dee", family_name="Dunn", record_action="deregister",
                  deregistration_date="2026-11-01", deregistration_reason="left_england")
    send(store, "gp", [turns_18, turns_18_tomorrow, died, left])
    run_feed("gp", "run-1")
    consented = connexions_row(date_of_birth="2008-01-10", given_name="Eve", family_name="Ellis",
                               consent_extend_to_19="Y")
    send(store, "connexions", [consented])
    run_feed("connexions", "run-2")
    care_leaver = ics_row(date_of_birth="2003-06-01", given_name="Fin", family_name="Fox", extend_to_25="Y")
    send(store, "ics", [care_leaver])
    run_feed("ics", "run-3")

    before = status_by_nhs()
    # Everyone is published except the child who left England on the 1st: already past its leave date.
    assert [nhs for nhs, (_, listed, _) in before.items() if not listed] == [left["nhs_number"]]

    dry = age_out(get_engine(), TODAY, dry_run=True)
    assert {d.leave.reason for d in dry.archived} == {"age_18", "died", "left_england"}
    capsys.readouterr()
    assert main(["retention", "--as-of", TODAY.isoformat(), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "3 children would leave the directory" in printed
    assert f"archive {cp_id_of(died['nhs_number'])}: left on 2026-11-25 (died)" in printed
    assert status_by_nhs() == before  # a dry run moves nothing

    outcome = retention(TODAY)
    assert outcome.archived_by_rule == {"age_18": 1, "died": 1, "left_england": 1}
    after = status_by_nhs()
    for row, expected in ((turns_18, ("archived", False, True)), (died, ("archived", False, True)),
                          (left, ("archived", False, True)), (turns_18_tomorrow, ("active", True, False)),
                          (care_leaver, ("active", True, False))):
        assert after[row["nhs_number"]] == expected, row["given_name"]
    with transaction() as conn:
        eve = conn.execute(text("SELECT count(*) FROM directory.child WHERE given_name = 'Eve'")).scalar_one()
        archived = conn.execute(text("SELECT reason, archived_on, destroy_after FROM archive.child "
                                     "ORDER BY reason")).all()
    assert eve == 1  # Connexions consent: to 19
    assert [(r.reason, r.archived_on, r.destroy_after) for r in archived] == [
        (reason, TODAY, date(2032, 11, 25)) for reason in ("age_18", "died", "left_england")]

    retention(date(2026, 11, 26))
    assert status_by_nhs()[turns_18_tomorrow["nhs_number"]] == ("archived", False, True)


def test_a_child_who_died_is_marked_in_the_directory_for_a_year(store: Path) -> None:
    died = gp_row(date_of_birth="2015-04-01", record_action="deregister", deregistration_date="2026-05-01",
                  deregistration_reason="death")
    send(store, "gp", [died])
    run_feed("gp", "run-1")
    retention(TODAY)
    with transaction() as conn:
        cp_id = conn.execute(text("SELECT cp_id FROM directory.child")).scalar_one()
        add_user(conn, username="reader", display_name="reader", role="reader", password="pw-long-enough", pin="1")
        seen = contract.child_record(conn, username="reader", purpose="service_coordination",
                                     cp_id=cp_id)
    assert seen["died_on"] == "2026-05-01"
    retention(date(2027, 4, 30))
    assert status_by_nhs()[died["nhs_number"]] == ("active", True, False)
    retention(date(2027, 5, 1))
    assert status_by_nhs()[died["nhs_number"]] == ("archived", False, True)


def test_withdrawn_connexions_consent_brings_back_the_18th_birthday(store: Path) -> None:
    row = connexions_row(date_of_birth="2008-01-10", consent_extend_to_19="Y")
    send(store, "connexions", [row])
    run_feed("connexions", "run-1")
    retention(TODAY)
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM directory.child")).scalar_one() == 1
    send(store, "connexions", [{**row, "consent_extend_to_19": "N"}], stamp="20261120T100000", seq=2)
    run_feed("connexions", "run-2")
    outcome = retention(TODAY)
    assert outcome.archived_by_rule == {"age_18": 1}


def test_a_file_sent_again_after_age_out_publishes_nothing_and_its_receipt_says_out_of_scope(
        day_before: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = day_before
    adult = gp_row(date_of_birth="2008-11-25", given_name="Gus", family_name="Gale")
    child = gp_row(date_of_birth="2016-01-01", given_name="Hal", family_name="Hart")
    first = send(store, "gp", [adult, child])
    run_feed("gp", "run-1")
    retention(TODAY)
    monkeypatch.setenv("CONTACTPOINT_AS_OF", TODAY.isoformat())
    get_settings.cache_clear()
    with transaction() as conn:
        children_before = conn.execute(text("SELECT count(*) FROM identity.child")).scalar_one()

    resent = feed_file_name("gp", stamp="20261124T100000", seq=9)
    drop(store, "gp", resent, csv_file([adult, child]))  # the same bytes under a new name
    assert run_feed("gp", "run-2") == []  # acknowledged as a duplicate at once, nothing loaded
    assert receipt(store, "gp", resent)["status"] == "duplicate"

    again = send(store, "gp", [{**adult, "address_line_1": "1 New Street"}, child,
                               gp_row(date_of_birth="2001-11-25", given_name="Ida", family_name="Ives")],  # 25 today
                 stamp="20261125T100000", seq=3)
    [outcome] = run_feed("gp", "run-3")
    body = receipt(store, "gp", again)
    assert body["rows"]["out_of_scope"] == 2 and body["out_of_scope_rows"] == [1, 3]
    assert "archived" not in json.dumps(body)  # out of scope, never why
    assert outcome.loaded == 1
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM identity.child")).scalar_one() == children_before
        assert conn.execute(text("SELECT count(*) FROM directory.child WHERE given_name IN ('Gus', 'Ida')")
                            ).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM staging.source_record WHERE address_line_1 = '1 New Street'")
                            ).scalar_one() == 0
    assert receipt(store, "gp", first)["rows"]["out_of_scope"] == 0


def test_a_record_for_a_person_past_every_leave_date_is_out_of_scope_and_never_stored(store: Path) -> None:
    nineteen = connexions_row(date_of_birth="2007-06-01", consent_extend_to_19="Y")  # consent ran out at 19
    eighteen_without_consent = gp_row(date_of_birth="2008-06-01")
    seventeen = gp_row(date_of_birth="2009-06-01")
    cx = send(store, "connexions", [nineteen])
    gp = send(store, "gp", [eighteen_without_consent, seventeen])
    run_feed("connexions", "run-1")
    run_feed("gp", "run-2")
    assert receipt(store, "connexions", cx)["out_of_scope_rows"] == [1]
    assert receipt(store, "gp", gp)["out_of_scope_rows"] == [1]
    with transaction() as conn:
        assert conn.execute(text("SELECT date_of_birth FROM staging.source_record")).scalars().all() == [
            date(2009, 6, 1)]
    assert retention(TODAY).archived == 0


def test_an_adult_s_school_row_stays_in_scope_while_connexions_consent_keeps_the_child(store: Path) -> None:
    consented = connexions_row(date_of_birth="2008-01-10", consent_extend_to_19="Y")
    send(store, "connexions", [consented])
    run_feed("connexions", "run-1")
    name = school_file_name(stamp="20261102T100000")
    drop(store, "school", name, ctf([pupil(UPN=consented["upn"], DOB="2008-01-10", Forename="Chidi",
                                           Surname="Okafor", Sex="F")]))
    run_feed("school", "run-2")
    assert receipt(store, "school", name)["rows"] == {"read": 1, "loaded": 1, "quarantined": 0, "withheld": 0,
                                                      "out_of_scope": 0, "loaded_with_warnings": 0}
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM directory.involvement")).scalar_one() == 2
