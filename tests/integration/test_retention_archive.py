"""Retention stories, the archive: a child who left sits six years in an archive only an archivist reads, with
her session and a purpose, audited, in the store and through the API; a relink leaves her as she is.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from directory_api.auth import token_hash
from pipeline.steps import relink, retention, run_feed
from tests.factories import gp_row
from tests.integration.retention import TODAY, add_staff, archive_a_leaver, send
from warehouse.db import transaction
from warehouse.retention.archive import read_archived_child
from warehouse.users import create_session

pytestmark = pytest.mark.postgres


def test_only_an_archivist_reads_the_archive_with_a_purpose_and_every_read_is_audited(store: Path) -> None:
    # Archived today by the database's own clock, which decides the record's first year: a child who left
    # England at the start of the month.
    cp_id = archive_a_leaver(store, family_name="Quill")
    add_staff("1234", arch="archivist", reader="reader", stew="steward")

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
    cp_id = archive_a_leaver(store, as_of=date(2026, 11, 20))
    add_staff("1", arch="archivist")
    with transaction() as conn:
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
    cp_id = archive_a_leaver(store, as_of=date(2025, 6, 1), left_on="2025-05-01")
    add_staff("1", arch="archivist")
    with pytest.raises(DBAPIError, match="after its first year"), transaction() as conn:
        read_archived_child(conn, username="arch", cp_id=cp_id, purpose="data_management")
    with transaction() as conn:
        assert read_archived_child(conn, username="arch", cp_id=cp_id, purpose="serious_case_review")["cp_id"] == cp_id


def test_an_archivist_reads_an_archived_child_through_the_api_and_a_reader_cannot(store: Path) -> None:
    import pyotp
    from fastapi.testclient import TestClient

    from directory_api.main import create_app

    cp_id = archive_a_leaver(store, family_name="Rook")
    secrets = add_staff("2468", arch="archivist", reader="reader")
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
