"""Retention stories, destruction: after six years in the archive a child is destroyed so that no table, and no
page of any relation file, still holds her, even when an old transaction delays the rewrite; and a
population stepped monthly over eight years ends where the rules say.
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
from tests.factories import drop, feed_file_name, gp_row
from tests.integration.retention import TODAY, archive_a_leaver, cp_id_of, send
from tests.integration.test_feeds import receipt
from warehouse import audit
from warehouse.db import get_engine, transaction
from warehouse.key_vault import KeyVault
from warehouse.retention.destroy import destroy_due
from warehouse.retention.proof import destruction_logged, prove_destroyed
from warehouse.retention.rules import add_years

pytestmark = pytest.mark.postgres


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


def test_an_id_merged_into_a_destroyed_child_goes_with_it(store: Path) -> None:
    cp_id = archive_a_leaver(store, as_of=TODAY)
    with transaction() as conn:  # an older ID a steward merged into this child, kept to answer "superseded by"
        conn.execute(text("INSERT INTO identity.child (cp_id, status, superseded_by) "
                          "VALUES ('CP999999999Z', 'merged', :c)"), {"c": cp_id})
    done = destroy_due(get_engine(), date(2032, 11, 25))
    assert done.destroyed == 1 and done.rows_removed["identity.child"] == 2
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM identity.child")).scalar_one() == 0
