"""The read contract's refusals: roles and users that may not read, reads without a lawful purpose, and what
no reading role and not even a superuser may do to the tables, the audit log and the functions.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from contactpoint.purposes import READ_PURPOSES
from tests.integration.read_contract import (
    DB_ROLES,
    HUB_SCHEMAS,
    NORMAL,
    READING_DB_ROLES,
    as_role,
    audit_count,
    record,
    search,
    session_of,
    sqlstate,
)
from warehouse import contract
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("db_role", sorted(set(DB_ROLES) - set(READING_DB_ROLES)))
def test_roles_that_do_not_read_cannot_call_the_read_functions(directory: None, db_role: str) -> None:
    for call in (lambda c: contract.child_record(c, username="r_both", purpose="safeguarding", cp_id=NORMAL),
                 lambda c: contract.search_children(c, username="r_both", purpose="safeguarding", family_name="Brown",
                                                    date_of_birth=date(2010, 2, 2))):
        with pytest.raises(DBAPIError, match="permission denied") as error, as_role(db_role) as conn:
            call(conn)
        assert sqlstate(error) == "42501"


@pytest.mark.parametrize("username", ["nobody", "x_disabled", "a_auditor", "v_archivist"])
def test_unknown_disabled_locked_and_non_reading_users_are_refused(directory: None, username: str) -> None:
    before = audit_count()
    for call in (lambda: record("cp_reader", username, NORMAL),
                 lambda: search("cp_reader", username, family_name="Brown", date_of_birth=date(2010, 2, 2))):
        with pytest.raises(DBAPIError, match="not allowed") as error:
            call()
        assert sqlstate(error) == "42501"
    assert audit_count() == before


@pytest.mark.parametrize("purpose", [None, "", "   ", "curious", "safeguarding enquiry", "Safeguarding",
                                     "safeguarding case Jane Smith DOB 2015-01-01", "safeguarding case " + "9" * 41])
def test_every_read_needs_a_purpose_the_law_allows(directory: None, purpose: str | None) -> None:
    token = session_of("r_plain")
    before = audit_count()
    with pytest.raises(DBAPIError, match="purpose not allowed") as error, as_role("cp_reader") as conn:
        contract.session_child_record(conn, session_token=token, purpose=purpose,  # type: ignore[arg-type]
                                      cp_id=NORMAL)
    assert sqlstate(error) == "CP422"
    with pytest.raises(DBAPIError, match="purpose not allowed"), as_role("cp_reader") as conn:
        contract.session_search_children(conn, session_token=token, purpose=purpose,  # type: ignore[arg-type]
                                         family_name="Brown", date_of_birth=date(2010, 2, 2))
    assert audit_count() == before


def test_a_lawful_purpose_with_a_case_reference_is_audited_as_given(directory: None) -> None:
    with as_role("cp_reader") as conn:
        contract.session_child_record(conn, session_token=session_of("r_plain"),
                                      purpose="child_protection_enquiry case S47/2026-0042", cp_id=NORMAL)
    with transaction() as conn:
        purpose = conn.execute(text("SELECT purpose FROM audit.entry ORDER BY occurred_at DESC LIMIT 1")).scalar()
    assert purpose == "child_protection_enquiry case S47/2026-0042"


def test_the_purposes_the_api_offers_are_the_ones_the_database_allows(directory: None) -> None:
    with transaction() as conn:
        allowed = set(conn.execute(text("SELECT code FROM access.read_purposes()")).scalars())
    assert allowed == set(READ_PURPOSES)


def test_the_reader_role_touches_no_table_at_all(directory: None) -> None:
    with transaction() as conn:
        tables = conn.execute(text(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = ANY(:s)"),
            {"s": list(HUB_SCHEMAS)}).scalars().all()
    assert "audit.entry" in tables and "directory.child" in tables and "access.app_user" in tables
    for statement in [f"SELECT * FROM {t} LIMIT 1" for t in tables] + [
            "UPDATE audit.entry SET purpose = 'x'", "DELETE FROM audit.entry", "TRUNCATE audit.entry",
            "INSERT INTO audit.entry (occurred_at, username, user_role, action, prev_hash, entry_hash) "
            "VALUES (now(), 'x', 'x', 'x', repeat('0', 64), repeat('0', 64))",
            "SELECT audit.append('x', 'reader', 'search', NULL, NULL, '{}')",
            "SELECT * FROM audit.reads_by_user('r_plain')"]:
        with pytest.raises(DBAPIError, match="permission denied") as error, as_role("cp_reader") as conn:
            conn.execute(text(statement))
        assert sqlstate(error) == "42501", statement


def test_a_superuser_cannot_update_delete_or_truncate_the_audit_log(directory: None) -> None:
    search("cp_reader", "r_plain", family_name="Brown", date_of_birth=date(2010, 2, 2))
    for statement in ("UPDATE audit.entry SET purpose = 'nothing to see'", "DELETE FROM audit.entry",
                      "TRUNCATE audit.entry"):
        with pytest.raises(DBAPIError, match="append-only"), transaction() as conn:
            conn.execute(text(statement))
    assert audit_count() == 1


def test_every_security_definer_function_pins_its_search_path_and_no_function_is_public(database_url: str) -> None:
    with transaction() as conn:
        functions = conn.execute(text("""
            SELECT p.oid::regprocedure::text AS name, p.prosecdef, p.proconfig,
                   p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                                               WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') AS public
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ANY(:s)"""), {"s": list(HUB_SCHEMAS)}).mappings().all()
    definers = {f["name"] for f in functions if f["prosecdef"]}
    assert {"directory.search_children(text,text,text,text,date,text,text)",
            "directory.child_record(text,text,text)", "audit.append(text,text,text,text,text,jsonb)"} <= definers
    assert [f["name"] for f in functions
            if f["prosecdef"] and f["proconfig"] != ["search_path=pg_catalog, pg_temp"]] == []
    assert [f["name"] for f in functions if f["public"]] == []
