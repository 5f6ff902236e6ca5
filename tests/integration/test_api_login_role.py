"""The directory API reads as ``cp_api``, a login that owns and reads no table, for purposes the law allows.

Stories: an auditor reads the grants and finds the API's login can do nothing but call three functions; a
reader who types "curious" as the purpose gets 422 and leaves nothing in the audit; a social worker gives
her case number and finds it beside the purpose in the audit; sixteen front ends reading at once leave an
audit every lane of which still verifies, one entry per read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from tests.integration.api_story import PURPOSE, Api, audit_entries
from warehouse.audit import LANE_SPAN, lane_of, verify_chain
from warehouse.db import api_database_url, transaction

pytestmark = pytest.mark.postgres

API_FUNCTIONS = {"directory.api_child_record(text,text,text,text)",
                 "directory.api_search_children(text,text,text,text,text,date,text,text)",
                 "directory.api_changes(text,bigint,integer)"}


def test_the_api_login_owns_and_reads_no_table_and_runs_only_its_three_functions(store: Path) -> None:
    with transaction() as conn:
        role = conn.execute(text("""
            SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication
            FROM pg_roles WHERE rolname = 'cp_api'""")).one()
        readable = conn.execute(text("""
            SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              AND (pg_get_userbyid(c.relowner) = 'cp_api'
                   OR (c.relkind <> 'S' AND (
                       has_table_privilege('cp_api', c.oid,
                                           'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                       OR has_any_column_privilege('cp_api', c.oid, 'SELECT, INSERT, UPDATE, REFERENCES')))
                   OR (c.relkind = 'S' AND has_sequence_privilege('cp_api', c.oid, 'USAGE, SELECT, UPDATE')))
            """)).scalars().all()
        executable = set(conn.execute(text("""
            SELECT replace(p.oid::regprocedure::text, ' ', '') FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND has_function_privilege('cp_api', p.oid, 'EXECUTE')""")).scalars())
        member_of = conn.execute(text("""
            SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
            JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'cp_api'""")).scalars().all()
    assert tuple(role) == (True, False, False, False, False, False)
    assert readable == []
    assert executable == {f.replace(" ", "") for f in API_FUNCTIONS}
    assert member_of == []


def test_the_read_routes_connect_as_cp_api_and_a_table_stays_out_of_its_reach(api: Api) -> None:
    assert api.get("/children/CP000000001A", api.token(), purpose=PURPOSE).status_code == 200
    with transaction() as conn:
        logins = conn.execute(text("""
            SELECT DISTINCT usename FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = 'cp_api'""")).scalars().all()
    assert logins == ["cp_api"]
    with psycopg.connect(api_database_url().replace("postgresql+psycopg", "postgresql")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("cp_api",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM directory.child")


@pytest.mark.parametrize("params", [
    {"purpose": "curious"},
    {"purpose": "safeguarding enquiry"},
    {"purpose": "safeguarding", "case_reference": "Jane Smith DOB 2015-01-01"},
    {"purpose": "safeguarding", "case_reference": "C" * 41},
])
def test_a_purpose_the_law_does_not_allow_is_422_and_never_reaches_the_audit(api: Api, params: dict[str, str]) -> None:
    token = api.token()
    for path, criteria in [("/children/CP000000001A", {}),
                           ("/children", {"family_name": "Stone", "date_of_birth": "2015-01-10"})]:
        response = api.get(path, token, **criteria, **params)
        assert response.status_code == 422, response.text
    assert [e["action"] for e in audit_entries()] == ["sign_in"]


def test_the_database_refuses_an_unlawful_purpose_too_whoever_calls(api: Api) -> None:
    token = api.token()
    with psycopg.connect(api_database_url().replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        answer = conn.execute("SELECT * FROM directory.api_child_record(%s, 'curious', NULL, 'CP000000001A')",
                              (token,)).fetchone()
    assert answer is not None and answer[0] == 422 and "purpose not allowed" in answer[1]
    assert [e["action"] for e in audit_entries()] == ["sign_in"]


def test_a_case_reference_is_audited_beside_the_purpose(api: Api) -> None:
    token = api.token()
    response = api.get("/children/CP000000001A", token, purpose="child_protection_enquiry",
                       case_reference="S47/2026-0042")
    assert response.status_code == 200, response.text
    found = api.get("/children", token, purpose="safeguarding", case_reference="MASH-17",
                    family_name="Smith-Jones", date_of_birth="2016-03-04")
    assert found.json()["count"] == 1
    assert [(e["action"], e["purpose"]) for e in audit_entries()] == [
        ("sign_in", None), ("read_child", "child_protection_enquiry case S47/2026-0042"),
        ("search", "safeguarding case MASH-17")]


def test_the_openapi_document_lists_the_lawful_purposes(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/children/{cp_id}"]["get"]["parameters"]}
    assert "safeguarding" in parameters["purpose"]["schema"]["enum"]
    assert not parameters["case_reference"]["required"]


@pytest.fixture
def readers_at_once(api: Api) -> Iterator[tuple[Api, str]]:
    with transaction() as conn:  # a front end's service account reads without an hourly budget
        api.add_user("frontend", role="service")
        conn.execute(text("UPDATE access.app_user SET reads_per_hour = NULL WHERE username = 'frontend'"))
    yield api, api.token("frontend")


def test_sixteen_front_ends_reading_at_once_leave_an_audit_whose_every_lane_verifies(
        readers_at_once: tuple[Api, str], store: Path) -> None:
    _, token = readers_at_once
    url = api_database_url().replace("postgresql+psycopg", "postgresql")
    statuses: list[int] = []
    lock = threading.Lock()

    def front_end() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(25):
                row = conn.execute("SELECT status FROM directory.api_child_record(%s, 'record_synchronisation', "
                                   "NULL, 'CP000000001A')", (token,)).fetchone()
                with lock:
                    statuses.append(row[0] if row else 0)

    threads = [threading.Thread(target=front_end) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 400
    with transaction() as conn:
        ids = conn.execute(text("SELECT entry_id FROM audit.entry WHERE action = 'read_child'")).scalars().all()
        result = verify_chain(conn, store.parent / "anchors.log")
    assert len(ids) == 400 and result.ok, result.reason
    lanes = {lane_of(i) for i in ids}
    assert lanes <= set(range(8)) and all(i % LANE_SPAN for i in ids)


def test_a_read_while_lane_0_is_committing_takes_lane_1_and_an_edit_there_is_found(
        readers_at_once: tuple[Api, str], store: Path) -> None:
    _, token = readers_at_once
    url = api_database_url().replace("postgresql+psycopg", "postgresql")
    with transaction() as holder:  # another read holds lane 0 until its commit reaches the disk
        holder.execute(text("SELECT pg_advisory_xact_lock(7204313, 0)"))
        with psycopg.connect(url, autocommit=True) as conn:
            for _ in range(2):
                row = conn.execute("SELECT status FROM directory.api_child_record(%s, 'record_synchronisation', "
                                   "NULL, 'CP000000003C')", (token,)).fetchone()
                assert row == (200,)
    with transaction() as conn:
        ids = conn.execute(text("SELECT entry_id FROM audit.entry WHERE cp_id = 'CP000000003C' ORDER BY 1")).scalars()
        assert list(ids) == [LANE_SPAN + 1, LANE_SPAN + 2]
        assert verify_chain(conn, store.parent / "anchors.log").ok
    for purpose in ("safeguarding", "record_synchronisation"):  # what a superuser could do, then undo
        with transaction() as conn:
            conn.execute(text("ALTER TABLE audit.entry DISABLE TRIGGER ALL"))
            conn.execute(text("UPDATE audit.entry SET purpose = :p WHERE entry_id = :i"),
                         {"p": purpose, "i": LANE_SPAN + 1})
            conn.execute(text("ALTER TABLE audit.entry ENABLE TRIGGER ALL"))
        with transaction() as conn:
            result = verify_chain(conn, store.parent / "anchors.log")
        edited = purpose == "safeguarding"
        assert (result.ok, result.first_break) == ((False, LANE_SPAN + 1) if edited else (True, None))
