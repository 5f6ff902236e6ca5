"""Retention stories: children leave the directory on the day their rule says, sit six years in an archive only an
archivist reads (with a purpose, audited), are kept out when a feed sends them again, and are then destroyed so
that no table, and no page of any relation file, still holds them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from cli.main import main
from contactpoint.settings import get_settings
from directory_api.auth import token_hash
from pipeline.steps import relink, retention, run_feed
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
from tests.integration.test_feeds import receipt
from warehouse import audit, contract
from warehouse.db import get_engine, transaction
from warehouse.key_vault import KeyVault
from warehouse.retention.archive import age_out, read_archived_child
from warehouse.retention.destroy import destroy_due
from warehouse.retention.proof import destruction_logged, prove_destroyed
from warehouse.retention.rules import add_years
from warehouse.users import add_user, create_session

pytestmark = pytest.mark.postgres

TODAY = date(2026, 11, 25)  # the store fixture's clock


@pytest.fixture
def day_before(store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Files are loaded on the 24th, the day before the pass (a child turning 18 on the 25th is still in scope)."""
    monkeypatch.setenv("CONTACTPOINT_AS_OF", "2026-11-24")
    get_settings.cache_clear()
    return store


def send(dropzone: Path, feed: str, rows: list[dict[str, str]], stamp: str = "20261101T100000", seq: int = 1) -> str:
    name = feed_file_name(feed, stamp=stamp, seq=seq)
    drop(dropzone, feed, name, csv_file(rows))
    return name


def status_by_nhs() -> dict[str, tuple[str, bool, bool]]:
    """NHS number -> (identity status, in the directory, in the archive)."""
    with transaction() as conn:
        rows = conn.execute(text("""
            SELECT DISTINCT s.nhs_number, c.status, d.cp_id IS NOT NULL AS listed, a.cp_id IS NOT NULL AS archived
            FROM staging.source_record s JOIN identity.link l ON l.record_id = s.record_id
            JOIN identity.child c ON c.cp_id = l.cp_id
            LEFT JOIN directory.child d ON d.cp_id = c.cp_id LEFT JOIN archive.child a ON a.cp_id = c.cp_id
            WHERE s.nhs_number IS NOT NULL""")).all()
    return {r.nhs_number: (r.status, r.listed, r.archived) for r in rows}


def cp_id_of(nhs_number: str) -> str:
    with transaction() as conn:
        return str(conn.execute(text("""SELECT l.cp_id FROM staging.source_record s JOIN identity.link l
                                        ON l.record_id = s.record_id WHERE s.nhs_number = :n"""),
                                {"n": nhs_number}).scalar_one())


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


def _archive_one_child(store: Path, *, born: str, as_of: date, **row: str) -> str:
    child = gp_row(date_of_birth=born, **row)
    send(store, "gp", [child])
    run_feed("gp", "run-1")
    age_out(get_engine(), as_of)
    return cp_id_of(child["nhs_number"])


def test_only_an_archivist_reads_the_archive_with_a_purpose_and_every_read_is_audited(store: Path) -> None:
    # Archived today by the database's own clock, which decides the record's first year: a child who left
    # England at the start of the month.
    with transaction() as conn:
        archived_on = conn.execute(text("SELECT current_date")).scalar_one()
    cp_id = _archive_one_child(store, born="2014-02-02", as_of=archived_on, family_name="Quill",
                               record_action="deregister", deregistration_date="2026-11-01",
                               deregistration_reason="left_england")
    with transaction() as conn:
        for name, role in (("arch", "archivist"), ("reader", "reader"), ("stew", "steward")):
            add_user(conn, username=name, display_name=name, role=role, password="pw-long-enough", pin="1234")

    with transaction() as conn:
        record = read_archived_child(conn, username="arch", cp_id=cp_id, purpose="child_protection_enquiry")
    assert record["source_records"][0]["family_name"] == "Quill" and record["source_records"][0]["feed"] == "gp"
    with transaction() as conn:
        read_archived_child(conn, username="arch", cp_id=cp_id, purpose="data_management")  # first year
        entries = conn.execute(text("SELECT username, purpose FROM audit.entry WHERE action = 'read_archive'")).all()
    assert [(e.username, e.purpose) for e in entries] == [("arch", "child_protection_enquiry"),
                                                         ("arch", "data_management")]

    for who, purpose in (("arch", "curiosity"), ("reader", "child_protection_enquiry"),
                         ("stew", "child_protection_enquiry")):
        with pytest.raises(DBAPIError, match="not allowed"), transaction() as conn:
            read_archived_child(conn, username=who, cp_id=cp_id, purpose=purpose)
    for role in ("cp_reader", "cp_steward", "cp_loader"):
        with pytest.raises(ProgrammingError, match="permission denied"), transaction() as conn:
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            conn.execute(text("SELECT payload FROM archive.child"))
        with pytest.raises(ProgrammingError, match="permission denied"), transaction() as conn:
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            conn.execute(text("SELECT * FROM archive.read_child('arch', :c, 'serious_case_review')"), {"c": cp_id})


def test_the_archive_is_read_with_the_archivists_session_never_a_name(store: Path) -> None:
    cp_id = _archive_one_child(store, born="2014-02-02", as_of=date(2026, 11, 20), record_action="deregister",
                               deregistration_date="2026-11-01", deregistration_reason="left_england")
    with transaction() as conn:
        add_user(conn, username="arch", display_name="arch", role="archivist", password="pw-long-enough", pin="1")
        create_session(conn, "arch", token_hash("arch-session"), 15)
    call = "SELECT cp_id FROM archive.read_child_in_session(:s, :c, 'serious_case_review')"
    # Whoever holds the archivist's role can no longer name the archivist it reads as.
    with pytest.raises(ProgrammingError, match="permission denied"), transaction() as conn:
        conn.execute(text("SET LOCAL ROLE cp_archivist"))
        conn.execute(text("SELECT * FROM archive.read_child('arch', :c, 'serious_case_review')"), {"c": cp_id})
    for session in ("arch", "made-up"):  # a name is not a session
        with pytest.raises(DBAPIError, match="live archivist's session"), transaction() as conn:
            conn.execute(text("SET LOCAL ROLE cp_archivist"))
            conn.execute(text(call), {"s": session, "c": cp_id})
    with transaction() as conn:
        conn.execute(text("SET LOCAL ROLE cp_archivist"))
        assert conn.execute(text(call), {"s": "arch-session", "c": cp_id}).scalar() == cp_id
        conn.execute(text("RESET ROLE"))
        assert conn.execute(text("SELECT username FROM audit.entry WHERE action = 'read_archive'")).scalars().all() \
            == ["arch"]


def test_after_its_first_year_an_archived_record_is_read_only_for_an_enquiry_or_a_review(store: Path) -> None:
    cp_id = _archive_one_child(store, born="2014-02-02", as_of=date(2025, 6, 1), record_action="deregister",
                               deregistration_date="2025-05-01", deregistration_reason="left_england")
    with transaction() as conn:
        add_user(conn, username="arch", display_name="arch", role="archivist", password="pw-long-enough", pin="1")
    with pytest.raises(DBAPIError, match="after its first year"), transaction() as conn:
        read_archived_child(conn, username="arch", cp_id=cp_id, purpose="data_management")
    with transaction() as conn:
        assert read_archived_child(conn, username="arch", cp_id=cp_id, purpose="serious_case_review")["cp_id"] == cp_id


def relation_files_holding(needles: list[bytes]) -> list[str]:
    """Every relation file of this database (tables, TOAST, indexes, catalogs) that holds any needle."""
    with transaction() as conn:
        conn.execute(text("CHECKPOINT"))
        datadir = Path(conn.execute(text("SHOW data_directory")).scalar_one())
        paths = conn.execute(text("""SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c
                                     WHERE pg_relation_filepath(c.oid) IS NOT NULL""")).all()
    found = []
    for relname, relative in paths:
        for segment in sorted(datadir.glob(relative + "*")):
            if segment.name.split(".")[0] != Path(relative).name.split(".")[0] or "_" in segment.name:
                continue  # another relation's file, or a free-space / visibility map
            data = segment.read_bytes()
            if any(n in data for n in needles):
                found.append(relname)
    return sorted(set(found))


def test_destruction_after_six_years_leaves_nothing_to_find_in_any_table_or_any_page(
        day_before: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    store = day_before
    canary = "Zyxcanarywick"
    doomed = gp_row(date_of_birth="2008-11-25", given_name="Octavia", family_name=canary, postcode="S99 9ZZ",
                    address_line_1="77 Canary Wharf Row")
    keeper = gp_row(date_of_birth="2015-05-05", given_name="Pip", family_name="Keeper")
    first_file = send(store, "gp", [doomed, keeper])
    run_feed("gp", "run-1")
    cp_id = cp_id_of(doomed["nhs_number"])
    with transaction() as conn:  # a steward kept her apart from Pip, saying why in words that name her
        records: dict[str, int] = dict(conn.execute(text("SELECT family_name, record_id FROM staging.source_record"))
                                       .tuples().all())
        action = conn.execute(text("""INSERT INTO identity.steward_action (kind, steward, reason, cp_ids)
                                      VALUES ('keep_apart', 'sam', :r, ARRAY[:c, :k]) RETURNING action_id"""),
                              {"r": f"Octavia {canary} is not Pip", "c": cp_id,
                               "k": cp_id_of(keeper["nhs_number"])}).scalar_one()
        a, b = sorted((records[canary], records["Keeper"]))
        conn.execute(text("""INSERT INTO identity.steward_decision (record_a, record_b, decision, steward, reason,
                                                                    action_id)
                             VALUES (:a, :b, 'cannot_link', 'sam', 'different children', :x)"""),
                     {"a": a, "b": b, "x": action})
    needles = [v.encode() for v in (canary, canary.upper(), canary.lower(), doomed["nhs_number"])]
    assert relation_files_holding(needles), "the canary must be on disk first, or the test proves nothing"

    retention(TODAY)
    details = [canary, doomed["nhs_number"], "S99 9ZZ", "77 Canary Wharf Row"]
    with transaction() as conn:
        archived_hits = prove_destroyed(conn, details)
    assert {h.table for h in archived_hits} >= {"staging.source_record"}  # kept to recognise late records
    assert "archive.child" not in {h.table for h in archived_hits}  # the archive holds ciphertext only
    assert relation_files_holding(needles)
    assert KeyVault().dates() == [date(2032, 11, 25)]
    prove = ["retention", "prove-destroyed", "--detail", canary, "--detail", doomed["nhs_number"], "--cp-id", cp_id]
    assert main(prove) == 1  # archived, not destroyed: its source records are still there

    nothing = destroy_due(get_engine(), date(2032, 11, 24))
    assert nothing.destroyed == 0 and KeyVault().dates() == [date(2032, 11, 25)]
    done = destroy_due(get_engine(), date(2032, 11, 25))
    assert done.destroyed == 1 and done.keys_shredded == [date(2032, 11, 25)] and KeyVault().dates() == []
    assert done.rows_removed["staging.source_record"] == 1 and done.rows_removed["identity.child"] == 1
    assert done.rows_removed["identity.steward_action"] == 1 and done.rows_removed["identity.steward_decision"] == 1
    assert done.rewrite_complete and "staging.source_record" in done.tables_rewritten

    with transaction() as conn:
        assert prove_destroyed(conn, [*details, "Octavia"]) == []
        logged = destruction_logged(conn, cp_id)
        assert logged is not None and logged["destroyed_on"] == date(2032, 11, 25)
        assert logged["rows_removed"]["archive.child"] == 1
        log_text = json.dumps([list(r) for r in conn.execute(text("SELECT * FROM archive.destruction_log"))],
                              default=str)
        assert cp_id not in log_text and canary not in log_text
        assert audit.verify_chain(conn).ok
        assert conn.execute(text("SELECT count(*) FROM directory.child WHERE family_name = 'Keeper'")
                            ).scalar_one() == 1
    leftover = relation_files_holding(needles)
    assert leftover == [], leftover
    capsys.readouterr()
    assert main(prove) == 0
    assert "nothing found" in capsys.readouterr().out

    # Years later a sender sends the old file again, and a fresh extract that still lists her: nothing returns.
    monkeypatch.setenv("CONTACTPOINT_AS_OF", "2032-11-26")
    get_settings.cache_clear()
    drop(store, "gp", feed_file_name("gp", stamp="20321126T100000", seq=8), (store / "processed" / "gp" / first_file
                                                                            ).read_bytes())
    assert run_feed("gp", "run-2") == []  # the same bytes: a duplicate
    again = send(store, "gp", [{**doomed, "address_line_1": "1 Later Lane"}], stamp="20321126T110000", seq=9)
    run_feed("gp", "run-3")
    assert receipt(store, "gp", again)["out_of_scope_rows"] == [1]
    with transaction() as conn:
        assert prove_destroyed(conn, [canary, doomed["nhs_number"]]) == []


def first_of_months(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        days.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return days


def test_a_generated_population_stepped_monthly_over_eight_years_ends_where_the_rules_say(store: Path,
                                                                                          tmp_path: Path) -> None:
    from pipeline.ingest import ingest_folder
    from tools.synthetic.generator import generate
    from warehouse.retention.due import child_facts
    from warehouse.retention.rules import leave_date

    generate(tmp_path / "generated", children=500, seed=9, fault_rate=0.0, as_of=date(2026, 11, 1))
    ingest_folder(tmp_path / "generated", "run-1")
    with get_engine().begin() as conn:
        conn.execute(text("CREATE TEMP TABLE everyone ON COMMIT DROP AS "
                          "SELECT cp_id FROM identity.child WHERE status = 'active'"))
        rules_say = {f.cp_id: leave_date(f) for f in child_facts(conn, "everyone", TODAY)}
        identifiers: dict[str, set[str]] = {}
        for cp_id, value in conn.execute(text("""
                SELECT l.cp_id, x FROM identity.link l JOIN staging.source_record s ON s.record_id = l.record_id,
                       unnest(ARRAY[s.nhs_number::text, btrim(s.upn)]) x WHERE x IS NOT NULL""")):
            identifiers.setdefault(cp_id, set()).add(value)
    reasons = {leave.reason for leave in rules_say.values()}
    assert {"connexions_consent_to_19", "care_leaver_or_learning_difficulties_to_25"} <= reasons, reasons

    steps = first_of_months(date(2026, 12, 1), date(2034, 12, 1))
    for day in steps:
        retention(day)
    end = steps[-1]

    def expected(leave_on: date) -> str:
        if leave_on > end:
            return "listed"
        archived_on = next(day for day in steps if day >= leave_on)
        return "destroyed" if add_years(archived_on, 6) <= end else "archived"

    with transaction() as conn:
        listed = set(conn.execute(text("SELECT cp_id FROM directory.child")).scalars())
        archived = set(conn.execute(text("SELECT cp_id FROM archive.child")).scalars())
        identities = set(conn.execute(text("SELECT cp_id FROM identity.child")).scalars())
        actual = {cp_id: "listed" if cp_id in listed else "archived" if cp_id in archived
                  else "destroyed" if cp_id not in identities else "lost" for cp_id in rules_say}
        wanted = {cp_id: expected(leave.on) for cp_id, leave in rules_say.items()}
        assert actual == wanted
        destroyed = [cp_id for cp_id, state in wanted.items() if state == "destroyed"]
        assert all(destruction_logged(conn, cp_id) is not None for cp_id in destroyed)
        # Their NHS numbers and UPNs (as an auditor holds them) are nowhere in the store.
        held_by_destroyed = {v for cp_id in destroyed for v in identifiers.get(cp_id, ())}
        assert len(held_by_destroyed) > len(destroyed) / 2
        assert prove_destroyed(conn, sorted(held_by_destroyed)) == []
        assert audit.verify_chain(conn).ok
    assert {state for state in wanted.values()} == {"listed", "archived", "destroyed"}


def test_a_transaction_older_than_the_destruction_delays_the_rewrite_to_the_next_pass(day_before: Path) -> None:
    store = day_before
    canary = "Qwvcanaryolder"
    doomed = gp_row(date_of_birth="2008-11-25", family_name=canary)
    send(store, "gp", [doomed])
    run_feed("gp", "run-1")
    retention(TODAY)
    needles = [canary.encode(), canary.upper().encode()]

    report = get_engine().connect()  # a long report that started before the destruction
    old_snapshot = report.begin()
    report.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    report.execute(text("SELECT count(*) FROM staging.source_record")).scalar_one()
    try:
        first = destroy_due(get_engine(), date(2032, 11, 25), snapshot_wait_seconds=1)
        assert first.destroyed == 1 and not first.rewrite_complete
        with transaction() as conn:
            assert prove_destroyed(conn, [canary]) == []  # gone for every query...
            assert conn.execute(text("SELECT count(*) FROM archive.destruction_log WHERE rewritten_at IS NULL")
                                ).scalar_one() == 1
        assert "source_record" in relation_files_holding(needles)  # ...but the report's snapshot keeps the bytes
    finally:
        old_snapshot.rollback()
        report.close()

    second = destroy_due(get_engine(), date(2032, 11, 26), snapshot_wait_seconds=10)
    assert second.destroyed == 0 and second.rewrite_complete and "staging.source_record" in second.tables_rewritten
    assert relation_files_holding(needles) == []
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM archive.destruction_log WHERE rewritten_at IS NULL")
                            ).scalar_one() == 0


def test_an_archivist_reads_an_archived_child_through_the_api_and_a_reader_cannot(store: Path) -> None:
    import pyotp
    from fastapi.testclient import TestClient

    from directory_api.main import create_app

    with transaction() as conn:
        archived_on = conn.execute(text("SELECT current_date")).scalar_one()
    cp_id = _archive_one_child(store, born="2014-02-02", as_of=archived_on, family_name="Rook",
                               record_action="deregister", deregistration_date="2026-11-01",
                               deregistration_reason="left_england")
    secrets = {}
    with transaction() as conn:
        for name, role in (("arch", "archivist"), ("reader", "reader")):
            secrets[name] = add_user(conn, username=name, display_name=name, role=role, password="pw-long-enough",
                                     pin="2468")
    with TestClient(create_app()) as client:
        def token(name: str) -> str:
            response = client.post("/session", json={"username": name, "password": "pw-long-enough", "pin": "2468",
                                                     "one_time_code": pyotp.TOTP(secrets[name]).now()})
            assert response.status_code == 201, response.text
            return str(response.json()["token"])

        archivist, reader = {"Authorization": f"Bearer {token('arch')}"}, {"Authorization": f"Bearer {token('reader')}"}
        seen = client.get(f"/archive/{cp_id}", params={"purpose": "serious_case_review"}, headers=archivist)
        assert seen.status_code == 200 and seen.json()["source_records"][0]["family_name"] == "Rook"
        assert client.get(f"/archive/{cp_id}", headers=archivist).status_code == 422  # a purpose is required
        assert client.get(f"/archive/{cp_id}", params={"purpose": "curiosity"}, headers=archivist).status_code == 422
        refused = client.get(f"/archive/{cp_id}", params={"purpose": "serious_case_review"}, headers=reader)
        assert refused.status_code == 403
    with transaction() as conn:
        entries = conn.execute(text("""SELECT username, action FROM audit.entry
                                       WHERE action LIKE 'read_archive%' ORDER BY entry_id""")).all()
    assert [tuple(e) for e in entries] == [("arch", "read_archive"), ("reader", "read_archive_refused")]


def test_an_id_merged_into_a_destroyed_child_goes_with_it(store: Path) -> None:
    cp_id = _archive_one_child(store, born="2014-02-02", as_of=TODAY, record_action="deregister",
                               deregistration_date="2026-11-01", deregistration_reason="left_england")
    with transaction() as conn:  # an older ID a steward merged into this child, kept to answer "superseded by"
        conn.execute(text("INSERT INTO identity.child (cp_id, status, superseded_by) "
                          "VALUES ('CP999999999Z', 'merged', :c)"), {"c": cp_id})
    done = destroy_due(get_engine(), date(2032, 11, 25))
    assert done.destroyed == 1 and done.rows_removed["identity.child"] == 2
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM identity.child")).scalar_one() == 0


def test_a_full_relink_leaves_an_archived_child_as_it_is(day_before: Path) -> None:
    store = day_before
    send(store, "gp", [gp_row(date_of_birth="2008-11-25", family_name="Frost"),
                       gp_row(date_of_birth="2015-05-05", family_name="Keeper")])
    run_feed("gp", "run-1")
    retention(TODAY)

    def links() -> list[tuple[Any, ...]]:
        with transaction() as conn:
            return [tuple(r) for r in conn.execute(text("""
                SELECT l.record_id, l.cp_id, c.status FROM identity.link l JOIN identity.child c USING (cp_id)
                ORDER BY l.record_id"""))]

    before = links()
    assert sorted(status for _, _, status in before) == ["active", "archived"]
    summary = relink("relink-1")
    assert summary.records == 1  # the archived child's record is not re-clustered
    assert links() == before
