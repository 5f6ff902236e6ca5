"""A data team puts right what the hub refused: a rejected file replayed with the sender's fix, and a
quarantined row released after correction. Both audited with who and why; neither loses what was sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cli.main import main
from directory_api.auth import token_hash
from pipeline.corrections import ReleaseRefused, release_quarantined_row
from pipeline.steps import run_feed
from schemas.gp import GP_COLUMNS
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name
from warehouse import users
from warehouse.audit import verify_chain
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def data_team(store: Path) -> None:
    """dt.lee is on the data team: releases and replays are the database's answer to who acts."""
    with transaction() as conn:
        for name, role in (("dt.lee", "data_team"), ("stella", "steward")):
            users.add_user(conn, username=name, display_name=name, role=role, password="pw", pin="1")


def one(sql: str, **params: object) -> Any:
    with transaction() as conn:
        return conn.execute(text(sql), params).one()


def audit_entries(action: str) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [dict(r) for r in conn.execute(text(
            "SELECT username, user_role, purpose, detail FROM audit.entry WHERE action = :a ORDER BY entry_id"),
            {"a": action}).mappings()]


def test_a_rejected_file_is_replayed_with_the_senders_fixed_file(store: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    children = [gp_row(given_name="Maya", family_name="Patel", date_of_birth="2017-02-03"),
                gp_row(given_name="Theo", family_name="Walsh", date_of_birth="2018-07-09")]
    # The practice system left out a column the spec requires: the whole file is refused.
    broken_name = feed_file_name("gp", sender="13R", stamp="20261101T100000", seq=1)
    drop(store, "gp", broken_name, csv_file(children, tuple(c for c in GP_COLUMNS if c != "date_of_birth")))
    run_feed("gp", "run-1")
    rejected = one("SELECT file_id, status FROM intake.file WHERE file_name = :n", n=broken_name)
    assert rejected.status == "rejected"

    # The sender fixes its export and sends a new file; the data team replays it in place of the first.
    fixed = tmp_path / feed_file_name("gp", sender="13R", stamp="20261101T100000", seq=2)
    fixed.write_bytes(csv_file(children))
    assert main(["replay", str(fixed), "--replaces", broken_name, "--by", "dt.lee",
                 "--reason", "practice re-sent its export with the date of birth column (ticket 4411)"]) == 0
    assert "accepted" in capsys.readouterr().out
    replayed = one("SELECT file_id, status, rows_loaded FROM intake.file WHERE file_name = :n", n=fixed.name)
    assert (replayed.status, replayed.rows_loaded) == ("accepted", 2)
    assert one("SELECT count(*) FROM directory.child")[0] == 2
    receipt = json.loads((store / "outbound" / "gp" / f"{fixed.name}.receipt.json").read_text())
    assert receipt["status"] == "accepted"
    assert one("SELECT status FROM intake.file WHERE file_id = :f", f=rejected.file_id).status == "rejected"

    [entry] = audit_entries("file_replayed")
    assert (entry["username"], entry["user_role"]) == ("dt.lee", "data_team")
    assert entry["purpose"] == "practice re-sent its export with the date of birth column (ticket 4411)"
    assert entry["detail"] == {"feed": "gp", "rejected_file_id": rejected.file_id, "file_id": replayed.file_id,
                               "status": "accepted", "rows_loaded": 2, "rows_quarantined": 0}

    # Only a fixed file for a rejected one: the same bytes again, or a file that was accepted, are refused.
    again = tmp_path / feed_file_name("gp", sender="13R", stamp="20261101T100000", seq=3)
    again.write_bytes(fixed.read_bytes())
    assert main(["replay", str(again), "--replaces", broken_name, "--reason", "retry"]) == 1
    assert "same bytes" in capsys.readouterr().err
    assert main(["replay", str(again), "--replaces", fixed.name, "--reason", "retry"]) == 1
    assert "was not rejected" in capsys.readouterr().err
    assert len(audit_entries("file_replayed")) == 1


def test_a_corrected_quarantined_row_is_released_into_the_directory(store: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    good = gp_row(given_name="Ruby", family_name="Hale", date_of_birth="2016-05-01")
    bad = gp_row(given_name="Zara", family_name="Quinn", date_of_birth="2015-13-45")
    name = feed_file_name("gp", sender="13R")
    drop(store, "gp", name, csv_file([good, bad]))
    run_feed("gp", "run-1")
    file_id = one("SELECT file_id FROM intake.file WHERE file_name = :n", n=name).file_id

    # The data team finds the row by file, row and reason, without seeing its values.
    assert main(["quarantine", "list", "--feed", "gp"]) == 0
    listing = capsys.readouterr().out
    assert f"file {file_id}" in listing and "row 2" in listing and "date_of_birth" in listing
    assert "Zara" not in listing and "Quinn" not in listing

    # A correction that still breaks the row contract changes nothing.
    with pytest.raises(ReleaseRefused, match="still fails"), transaction() as conn:
        release_quarantined_row(conn, file_id, 2, {"date_of_birth": "2015-02-30"}, by="dt.lee",
                                reason="sender says February", today=one("SELECT current_date")[0])
    with pytest.raises(ReleaseRefused, match="no field"), transaction() as conn:
        release_quarantined_row(conn, file_id, 2, {"dob": "2015-03-14"}, by="dt.lee", reason="typo",
                                today=one("SELECT current_date")[0])
    assert one("SELECT count(*) FROM staging.source_record")[0] == 1

    assert main(["quarantine", "release", str(file_id), "2", "--set", "date_of_birth=2015-03-14", "--by", "dt.lee",
                 "--reason", "practice confirmed the date of birth by phone (ticket 4412)"]) == 0
    capsys.readouterr()
    staged = one("""SELECT s.file_id, s.row_number, s.date_of_birth::text AS born, l.cp_id FROM staging.source_record s
                    JOIN identity.link l USING (record_id) WHERE s.given_name = 'Zara'""")
    assert (staged.file_id, staged.row_number, staged.born) == (file_id, 2, "2015-03-14")  # lineage kept
    assert one("SELECT count(*) FROM directory.child WHERE cp_id = :c", c=staged.cp_id)[0] == 1
    # What the sender sent stays, marked released.
    kept = one("SELECT raw, released_at FROM intake.quarantined_row WHERE file_id = :f AND row_number = 2", f=file_id)
    assert kept.raw["date_of_birth"] == "2015-13-45" and kept.released_at is not None

    [entry] = audit_entries("quarantine_released")
    assert (entry["username"], entry["purpose"]) == ("dt.lee", "practice confirmed the date of birth by phone "
                                                               "(ticket 4412)")
    assert entry["detail"]["corrected_fields"] == ["date_of_birth"] and entry["detail"]["row"] == 2
    assert "2015" not in json.dumps(entry["detail"]) and "Zara" not in json.dumps(entry["detail"])

    assert main(["quarantine", "release", str(file_id), "2", "--set", "date_of_birth=2015-03-14",
                 "--reason", "again"]) == 1
    assert "was released" in capsys.readouterr().err
    assert main(["quarantine", "list", "--feed", "gp"]) == 0
    assert "row 2" not in capsys.readouterr().out  # released rows leave the default listing
    with transaction() as conn:
        assert verify_chain(conn, store.parent / "anchors.log").ok


def test_a_pupil_released_from_quarantine_joins_the_directory_at_the_school_that_sent_it(store: Path) -> None:
    name = school_file_name()
    drop(store, "school", name, ctf([pupil(), pupil(Forename="Maisie", Sex="F", DOB="2016-02-30")]))
    run_feed("school", "run-1")
    file_id = one("SELECT file_id FROM intake.file WHERE file_name = :n", n=name).file_id
    assert one("SELECT row_number FROM intake.quarantined_row WHERE file_id = :f", f=file_id).row_number == 2

    assert main(["quarantine", "release", str(file_id), "2", "--set", "DOB=2016-02-03", "--by", "dt.lee",
                 "--reason", "school office confirmed the date of birth"]) == 0
    staged = one("""SELECT s.sender, s.date_of_birth::text AS born, s.involvement ->> 'organisation_code' AS school,
                           s.involvement ->> 'organisation_name' AS school_name
                    FROM staging.source_record s WHERE s.given_name = 'Maisie'""")
    assert (staged.sender, staged.born, staged.school, staged.school_name) == (
        "3722001", "2016-02-03", "3722001", "Oak Primary")
    assert one("""SELECT count(*) FROM directory.involvement v JOIN staging.source_record s
                  ON s.record_id = v.source_record_id WHERE s.given_name = 'Maisie'""")[0] == 1


def test_only_a_live_data_team_members_session_releases_a_row_and_the_audit_names_its_user(
        store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    name = feed_file_name("gp", sender="13R")
    drop(store, "gp", name, csv_file([gp_row(given_name="Ruby", family_name="Hale", date_of_birth="2016-05-01"),
                                      gp_row(given_name="Zara", family_name="Quinn", date_of_birth="2015-13-45")]))
    run_feed("gp", "run-1")
    file_id = one("SELECT file_id FROM intake.file WHERE file_name = :n", n=name).file_id
    fix = ["quarantine", "release", str(file_id), "2", "--set", "date_of_birth=2015-03-14", "--reason", "phoned"]

    # A steward, a name no one has, and a made-up session are refused; nothing is staged or audited.
    assert main([*fix, "--by", "stella"]) == 1 and "data team" in capsys.readouterr().err
    assert main([*fix, "--by", "Jane Smith"]) == 1 and "not released" in capsys.readouterr().err
    monkeypatch.setenv("CONTACTPOINT_SESSION", "made-up")
    assert main([*fix, "--by", "dt.lee"]) == 1 and "data team" in capsys.readouterr().err
    assert one("SELECT count(*) FROM staging.source_record")[0] == 1 and audit_entries("quarantine_released") == []

    # dt.lee signs in; her session, not a name typed with it, is who released the row.
    token = "dt-lee-session-token"
    with transaction() as conn:
        users.create_session(conn, "dt.lee", token_hash(token), 15)
    monkeypatch.setenv("CONTACTPOINT_SESSION", token)
    assert main([*fix, "--by", "stella"]) == 0
    assert [(e["username"], e["user_role"]) for e in audit_entries("quarantine_released")] == [("dt.lee", "data_team")]
