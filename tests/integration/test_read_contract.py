"""The read contract against a real PostgreSQL: roles, users, search rules, masking, one audit entry per read.

A small directory is built with plain SQL as superuser; every read then runs *as* a database group role
(``SET LOCAL ROLE``), the way a front end's login role, granted that group, would run it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from contactpoint.purposes import READ_PURPOSES
from warehouse import contract, users
from warehouse.db import get_engine, transaction

pytestmark = pytest.mark.postgres

NORMAL, SHIELDED, SENSITIVE, MERGED, HELD, ARCHIVED = (
    "CP000000001A", "CP000000002B", "CP000000003C", "CP000000004D", "CP000000005E", "CP000000006F")

# What no caller without the shielded entitlement may ever receive about the shielded child.
SHIELDED_SECRETS = ("Shieldina", "Hiddenworth", "2015-05-05", "S1 2AB", "7 Secret Lane", "Sheffield Hideaway",
                    "Carol", "0114 999 0000", "carol@example.org", "Hidden Valley School",
                    # whoever places her: her school, her social worker (issue 13, finding 3)
                    "Mr Quiet", "Pat Lead", "Shield LA Social Care", "0114 000 0004")
TEAM = {"name": "ContactPoint team", "organisation": "the local authority's designated ContactPoint team",
        "phone": None}
"""A shielded child's contact when no record names her local authority (migration 0011's '*' row)."""
# What no caller without the sensitive entitlement may receive about the sensitive involvement.
SENSITIVE_SECRETS = ("sexual_health", "Riverside Sexual Health Clinic")

# username → (role, may_see_shielded, may_see_sensitive)
READERS = {
    "r_plain": ("reader", False, False), "r_shielded": ("reader", True, False),
    "r_sensitive": ("reader", False, True), "r_both": ("reader", True, True),
    "s_plain": ("steward", False, False), "s_both": ("steward", True, True),
}
OTHER_USERS = {"a_auditor": ("auditor", True, True), "v_archivist": ("archivist", True, True)}
DB_ROLES = ("cp_loader", "cp_reader", "cp_steward", "cp_archivist", "cp_auditor")
READING_DB_ROLES = ("cp_reader", "cp_steward")
HUB_SCHEMAS = ("intake", "staging", "identity", "directory", "archive", "audit", "access")


# --- building a directory --------------------------------------------------------------------------------

def _record(conn: Connection, key: str, given: str, family: str, dob: str) -> int:
    """A staged source record, which carers and involvements must point at."""
    return int(conn.execute(text("""
        INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time,
                                           given_name, family_name, date_of_birth, gender, content_hash)
        VALUES ('school', 'LA372', :key, (SELECT max(file_id) FROM intake.file), 1, now(), :given, :family,
                CAST(:dob AS date), 'U', 'x') RETURNING record_id"""),
        {"key": key, "given": given, "family": family, "dob": dob}).scalar_one())


def add_child(conn: Connection, cp_id: str, given: str, family: str, dob: str, gender: str, postcode: str | None,
              *, shielded: bool = False, status: str = "active", address: str | None = None,
              town: str | None = None) -> int:
    """An identity and its directory row; returns the source record id for carers and involvements."""
    conn.execute(text("INSERT INTO identity.child (cp_id) VALUES (:c)"), {"c": cp_id})
    conn.execute(text("""
        INSERT INTO directory.child (cp_id, given_name, family_name, date_of_birth, gender, address_line_1,
                                     address_line_2, postcode, shielded)
        VALUES (:c, :g, :f, CAST(:d AS date), :s, :a, :t, :p, :sh)"""),
        {"c": cp_id, "g": given, "f": family, "d": dob, "s": gender, "a": address, "t": town, "p": postcode,
         "sh": shielded})
    if status != "active":
        conn.execute(text("UPDATE identity.child SET status = :s WHERE cp_id = :c"), {"s": status, "c": cp_id})
    return _record(conn, f"src-{cp_id}", given, family, dob)


def add_carer(conn: Connection, cp_id: str, record_id: int, given: str, family: str, phone: str, email: str) -> None:
    conn.execute(text("""
        INSERT INTO directory.carer (cp_id, source_record_id, contact_order, given_name, family_name, relationship,
                                     parental_responsibility, phone, email)
        VALUES (:c, :r, 1, :g, :f, 'PAR', true, :p, :e)"""),
        {"c": cp_id, "r": record_id, "g": given, "f": family, "p": phone, "e": email})


def add_involvement(conn: Connection, cp_id: str, record_id: int, kind: str, code: str, organisation: str,
                    practitioner: str, phone: str, *, lead: bool = False, service_type: str | None = None,
                    ended_on: str | None = None, started_on: str = "2020-09-01") -> None:
    conn.execute(text("""
        INSERT INTO directory.involvement (cp_id, source_record_id, kind, organisation_code, organisation_name,
            practitioner_name, phone, email, started_on, ended_on, lead_professional, service_type, sensitive)
        VALUES (:c, :r, :k, :code, :o, :pr, :ph, 'practitioner@example.org', CAST(:s AS date), CAST(:e AS date),
                :lead, :st, :sens)"""),
        {"c": cp_id, "r": record_id, "k": kind, "code": code, "o": organisation, "pr": practitioner, "ph": phone,
         "s": started_on, "e": ended_on, "lead": lead, "st": service_type,
         "sens": service_type in ("sexual_health", "mental_health", "substance_misuse")})


def add_app_user(conn: Connection, username: str, role: str, shielded: bool = False, sensitive: bool = False,
                 **state: Any) -> None:
    """A user without real secrets (hashing is slow and the reads never look at them)."""
    conn.execute(text("""
        INSERT INTO access.app_user (username, display_name, role, may_see_shielded, may_see_sensitive,
                                     password_hash, pin_hash, totp_secret, disabled, locked_until)
        VALUES (:u, :u, :r, :sh, :se, 'x', 'x', 'x', :disabled, now() + CAST(:locked AS interval))"""),
        {"u": username, "r": role, "sh": shielded, "se": sensitive, "disabled": state.get("disabled", False),
         "locked": state.get("locked")})


def build_directory(conn: Connection) -> None:
    """A normal child, a shielded one, one with a consented sensitive service, a merged ID, a held and an
    archived child (both still with directory rows, as a half-finished publish could leave them), and users."""
    conn.execute(text("""
        INSERT INTO intake.file (feed, sender, file_name, sha256, size_bytes)
        VALUES ('school', 'LA372', 'seed.xml', repeat('a', 64), 1)"""))
    normal = add_child(conn, NORMAL, "Alfie", "Smith-Jones", "2016-03-04", "M", "S60 1AA", address="12 Oak Road")
    add_carer(conn, NORMAL, normal, "Jane", "Smith-Jones", "01709 123456", "jane@example.org")
    add_involvement(conn, NORMAL, normal, "education", "3722001", "Oak Road Primary", "Ms Teacher", "01709 000001",
                    lead=True)
    add_involvement(conn, NORMAL, normal, "primary_care", "C84001", "Oak Surgery", "Dr Gee", "01709 000002",
                    ended_on="2021-01-01")

    shielded = add_child(conn, SHIELDED, "Shieldina", "Hiddenworth", "2015-05-05", "F", "S1 2AB", shielded=True,
                         address="7 Secret Lane", town="Sheffield Hideaway")
    add_carer(conn, SHIELDED, shielded, "Carol", "Hiddenworth", "0114 999 0000", "carol@example.org")
    add_involvement(conn, SHIELDED, shielded, "education", "3732002", "Hidden Valley School", "Mr Quiet",
                    "0114 000 0003", started_on="2023-09-01")
    add_involvement(conn, SHIELDED, shielded, "social_care", "SC373", "Shield LA Social Care", "Pat Lead",
                    "0114 000 0004", lead=True, service_type="social_care")

    sensitive = add_child(conn, SENSITIVE, "Maisie", "Brown", "2010-02-02", "F", "S60 2BB")
    add_involvement(conn, SENSITIVE, sensitive, "education", "3722003", "Brown Hill Academy", "Ms Head",
                    "01709 000005")
    add_involvement(conn, SENSITIVE, sensitive, "other", "RSH01", "Riverside Sexual Health Clinic", "Sam Nurse",
                    "01709 000006", service_type="sexual_health")

    add_child(conn, MERGED, "Alfie", "Smith-Jones", "2016-03-04", "M", "S60 1AA")
    conn.execute(text("UPDATE identity.child SET status = 'merged', superseded_by = :n WHERE cp_id = :m"),
                 {"n": NORMAL, "m": MERGED})
    add_child(conn, HELD, "Alfie", "Smith-Jones", "2016-03-04", "M", "S60 1AA", status="held")
    add_child(conn, ARCHIVED, "Alfie", "Smith-Jones", "2016-03-04", "M", "S60 1AA", status="archived")

    for username, (role, shielded_ok, sensitive_ok) in {**READERS, **OTHER_USERS}.items():
        add_app_user(conn, username, role, shielded_ok, sensitive_ok)
    add_app_user(conn, "x_disabled", "reader", disabled=True)
    add_app_user(conn, "x_locked", "reader", locked="10 minutes")


@pytest.fixture
def directory(store: Path) -> None:
    with transaction() as conn:
        build_directory(conn)


@contextmanager
def as_role(role: str) -> Iterator[Connection]:
    """A transaction run as a database group role; committed at the end, so its audit entries stay."""
    with get_engine().begin() as conn:
        conn.execute(text(f"SET LOCAL ROLE {role}"))
        yield conn


def audit_count() -> int:
    with transaction() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit.entry")).scalar_one())


def sqlstate(error: pytest.ExceptionInfo[DBAPIError]) -> str:
    return str(getattr(error.value.orig, "sqlstate", ""))


def session_of(username: str) -> str:
    """A live session token of ``username`` (a random token, matching nothing, for an unknown user): the
    read functions take the session, never a user name (issue 13)."""
    token = secrets.token_urlsafe(32)
    with transaction() as conn:
        if conn.execute(text("SELECT 1 FROM access.app_user WHERE username = :u"), {"u": username}).first():
            users.create_session(conn, username, hashlib.sha256(token.encode()).hexdigest(), 15)
    return token


def search(role: str, username: str, **criteria: Any) -> list[dict[str, Any]]:
    token = session_of(username)
    with as_role(role) as conn:
        return contract.session_search_children(conn, session_token=token, purpose="safeguarding",
                                                **criteria)


def record(role: str, username: str, cp_id: str) -> dict[str, Any]:
    token = session_of(username)
    with as_role(role) as conn:
        return contract.session_child_record(conn, session_token=token, purpose="safeguarding", cp_id=cp_id)


# --- the matrix ------------------------------------------------------------------------------------------

READ_PATHS: list[tuple[str, dict[str, Any]]] = [
    ("search", {"family_name": "Hiddenworth", "date_of_birth": date(2015, 5, 5)}),
    ("search", {"given_name": "Shieldina", "family_name": "hiddenworth", "date_of_birth": date(2015, 5, 5)}),
    ("search", {"family_name": "Hiddenworth", "date_of_birth": date(2015, 5, 5), "gender": "F", "postcode": "S1 2AB"}),
    ("search", {"given_name": "Shieldina", "date_of_birth": date(2015, 5, 5), "gender": "F", "postcode": "s12ab"}),
    ("search", {"family_name": "Brown", "date_of_birth": date(2010, 2, 2)}),
    ("search", {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4)}),
    ("record", {"cp_id": SHIELDED}),
    ("record", {"cp_id": SENSITIVE}),
    ("record", {"cp_id": NORMAL}),
    ("record", {"cp_id": MERGED}),
]


@pytest.mark.parametrize("db_role", READING_DB_ROLES)
@pytest.mark.parametrize("username", sorted(READERS))
def test_no_shielded_or_sensitive_detail_reaches_an_unentitled_caller_and_every_read_is_audited_once(
        directory: None, db_role: str, username: str) -> None:
    _, shielded_ok, sensitive_ok = READERS[username]
    seen: list[str] = []
    for path, arguments in READ_PATHS:
        before = audit_count()
        if path == "search":
            result: Any = search(db_role, username, **arguments)
            expected_entries = max(1, len(result))
        else:
            result = record(db_role, username, **arguments)
            expected_entries = 1
        assert audit_count() - before == expected_entries, (path, arguments)
        seen.append(json.dumps(result, default=str))
    everything = "\n".join(seen)

    leaked_shielded = [s for s in SHIELDED_SECRETS if s in everything]
    leaked_sensitive = [s for s in SENSITIVE_SECRETS if s in everything]
    # Positive controls: the same reads do show these details to the entitled, so the check is not vacuous.
    assert bool(leaked_shielded) == shielded_ok, leaked_shielded
    assert bool(leaked_sensitive) == sensitive_ok, leaked_sensitive
    assert "Sam Nurse" in everything  # the practitioner of a sensitive service stays reachable
    # The shielded child's contact is her authority's ContactPoint team, never who places her.
    assert ("ContactPoint team" in everything) == (not shielded_ok)


def test_a_shielded_child_shows_its_id_and_whom_to_ask_and_nothing_else(directory: None) -> None:
    hits = search("cp_reader", "r_plain", family_name="Hiddenworth", date_of_birth=date(2015, 5, 5))
    assert hits == [{"cp_id": SHIELDED, "given_name": None, "family_name": None, "date_of_birth": None,
                     "gender": None, "postcode": None, "shielded": True}]
    assert record("cp_reader", "r_plain", SHIELDED) == {
        "cp_id": SHIELDED, "shielded": True,
        "contact": TEAM}
    full = record("cp_reader", "r_shielded", SHIELDED)
    assert (full["given_name"], full["postcode"], full["carers"][0]["given_name"]) == ("Shieldina", "S1 2AB", "Carol")


def test_a_search_by_postcode_never_returns_a_shielded_child_to_the_unentitled(directory: None) -> None:
    by_postcode = {"family_name": "Hiddenworth", "date_of_birth": date(2015, 5, 5), "gender": "F",
                   "postcode": "S1 2AB"}
    assert search("cp_reader", "r_plain", **by_postcode) == []
    assert search("cp_reader", "r_sensitive", **by_postcode) == []
    assert [h["family_name"] for h in search("cp_reader", "r_shielded", **by_postcode)] == ["Hiddenworth"]


def test_a_sensitive_service_is_an_unspecified_service_with_its_practitioner(directory: None) -> None:
    masked = record("cp_reader", "r_plain", SENSITIVE)["involvements"]
    assert {"kind": "other", "service": "an unspecified service", "practitioner_name": "Sam Nurse"}.items() \
        <= next(i for i in masked if i["practitioner_name"] == "Sam Nurse").items()
    hidden = next(i for i in masked if i["practitioner_name"] == "Sam Nurse")
    assert (hidden["service_type"], hidden["organisation_name"], hidden["sensitive"]) == (None, None, None)
    shown = next(i for i in record("cp_reader", "r_sensitive", SENSITIVE)["involvements"]
                 if i["practitioner_name"] == "Sam Nurse")
    assert (shown["service_type"], shown["organisation_name"]) == ("sexual_health", "Riverside Sexual Health Clinic")


def test_a_full_record_lists_carers_and_current_and_past_involvements(directory: None) -> None:
    child = record("cp_steward", "s_plain", NORMAL)
    assert (child["given_name"], child["family_name"], child["date_of_birth"], child["postcode"]) == \
        ("Alfie", "Smith-Jones", "2016-03-04", "S60 1AA")
    assert child["carers"] == [{"title": None, "given_name": "Jane", "family_name": "Smith-Jones",
                                "relationship": "PAR", "parental_responsibility": True, "phone": "01709 123456",
                                "email": "jane@example.org"}]
    assert [(i["organisation_name"], i["current"], i["lead_professional"]) for i in child["involvements"]] == [
        ("Oak Road Primary", True, True), ("Oak Surgery", False, False)]


def test_a_merged_id_answers_with_the_id_that_replaced_it(directory: None) -> None:
    assert record("cp_reader", "r_plain", MERGED) == {"cp_id": MERGED, "superseded_by": NORMAL}


@pytest.mark.parametrize("cp_id", [HELD, ARCHIVED, "CP999999999Z"])
def test_held_archived_and_unknown_ids_are_no_such_child(directory: None, cp_id: str) -> None:
    with pytest.raises(DBAPIError, match="no such child") as error:
        record("cp_reader", "r_both", cp_id)
    assert sqlstate(error) == "P0002"


def test_held_merged_and_archived_children_never_appear_in_a_search(directory: None) -> None:
    hits = search("cp_reader", "r_both", family_name="Smith-Jones", date_of_birth=date(2016, 3, 4))
    assert [h["cp_id"] for h in hits] == [NORMAL]


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


# --- search rules ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("criteria", [
    {"given_name": "Alfie", "date_of_birth": date(2016, 3, 4)},
    {"family_name": "Smith-Jones"},
    {"given_name": "Alfie", "family_name": "Smith-Jones"},
    {"date_of_birth": date(2016, 3, 4), "gender": "M", "postcode": "S60 1AA"},
    {"given_name": "Alfie", "date_of_birth": date(2016, 3, 4), "gender": "M"},
    {"given_name": "Alfie", "date_of_birth": date(2016, 3, 4), "postcode": "S60 1AA"},
    {"family_name": " - ", "date_of_birth": date(2016, 3, 4)},
    {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4), "gender": "X"},
], ids=lambda c: "+".join(k for k, v in c.items()))
def test_searches_the_national_rules_do_not_allow_are_refused(directory: None, criteria: dict[str, Any]) -> None:
    with pytest.raises(DBAPIError, match="search not allowed") as error:
        search("cp_reader", "r_both", **criteria)
    assert sqlstate(error) == "22023"


@pytest.mark.parametrize("criteria", [
    {"family_name": "smith-jones", "date_of_birth": date(2016, 3, 4)},
    {"family_name": "SMITH JONES", "date_of_birth": date(2016, 3, 4)},
    {"given_name": "alf", "family_name": "Smith", "date_of_birth": date(2016, 3, 4)},
    {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4), "gender": "m", "postcode": "s601aa"},
    {"given_name": "Alfie", "date_of_birth": date(2016, 3, 4), "gender": "M", "postcode": "S60 1AA"},
], ids=lambda c: "+".join(k for k, v in c.items()))
def test_each_allowed_search_finds_the_child(directory: None, criteria: dict[str, Any]) -> None:
    assert [h["cp_id"] for h in search("cp_reader", "r_plain", **criteria)] == [NORMAL]


def test_a_prefix_matches_only_when_both_names_are_given(directory: None) -> None:
    assert search("cp_reader", "r_plain", family_name="Smith", date_of_birth=date(2016, 3, 4)) == []
    assert search("cp_reader", "r_plain", given_name="Al", family_name="Smith-Jones",
                  date_of_birth=date(2016, 3, 4)) == []


def test_more_than_fifty_matches_are_refused_and_fifty_are_returned_and_audited(store: Path) -> None:
    with transaction() as conn:
        build_directory(conn)
        for i in range(50):
            add_child(conn, f"CP1{i:08d}X", f"Twin{i}", "Many", "2019-01-01", "F", "S60 3CC")
    before = audit_count()
    hits = search("cp_reader", "r_plain", family_name="Many", date_of_birth=date(2019, 1, 1))
    assert len(hits) == 50 and audit_count() - before == 50
    with transaction() as conn:
        details = conn.execute(text("SELECT DISTINCT detail FROM audit.entry WHERE entry_id > :b"),
                               {"b": before}).scalars().all()
    assert details == [{"result_count": 50, "criteria": ["family_name", "date_of_birth"]}]

    with transaction() as conn:
        add_child(conn, "CP199999999X", "Twin50", "Many", "2019-01-01", "F", "S60 3CC")
    before = audit_count()
    with pytest.raises(DBAPIError, match="too many matches: refine the search") as error:
        search("cp_reader", "r_plain", family_name="Many", date_of_birth=date(2019, 1, 1))
    assert sqlstate(error) == "54000" and audit_count() == before
    assert len(search("cp_reader", "r_plain", given_name="Twin50", family_name="Many",
                      date_of_birth=date(2019, 1, 1))) == 1


def test_a_search_without_results_is_audited_once_without_a_child(directory: None) -> None:
    assert search("cp_reader", "r_plain", family_name="Nobody", date_of_birth=date(2001, 1, 1)) == []
    with transaction() as conn:
        entry = conn.execute(text("SELECT * FROM audit.entry")).mappings().one()
    assert (entry["action"], entry["cp_id"], entry["username"], entry["user_role"], entry["purpose"]) == \
        ("search", None, "r_plain", "reader", "safeguarding")
    assert entry["detail"] == {"result_count": 0, "criteria": ["family_name", "date_of_birth"]}


def test_the_unentitled_see_visible_children_first_and_shielded_ones_last(directory: None) -> None:
    with transaction() as conn:
        add_child(conn, "CP000000007G", "Aaron", "Hiddenworth", "2015-05-05", "M", "S9 9ZZ")
    hits = search("cp_reader", "r_plain", family_name="Hiddenworth", date_of_birth=date(2015, 5, 5))
    assert [(h["cp_id"], h["given_name"]) for h in hits] == [("CP000000007G", "Aaron"), (SHIELDED, None)]


# --- users -----------------------------------------------------------------------------------------------

def test_a_user_is_added_with_slow_hashes_and_a_totp_secret(store: Path) -> None:
    with transaction() as conn:
        secret = users.add_user(conn, username="alice", display_name="Alice Practitioner", role="reader",
                                password="correct horse battery", pin="4711", may_see_sensitive=True)
        creds = users.get_credentials(conn, "alice")
    assert creds is not None and creds["totp_secret"] == secret
    assert creds["password_hash"].startswith("$2a$") and "correct horse" not in creds["password_hash"]
    assert users.verify_secret(creds["password_hash"], "correct horse battery")
    assert users.verify_secret(creds["pin_hash"], "4711") and not users.verify_secret(creds["pin_hash"], "4712")
    assert (creds["may_see_shielded"], creds["may_see_sensitive"], creds["locked"]) == (False, True, False)
    assert users.provisioning_uri("alice", secret).startswith("otpauth://totp/ContactPoint%20Hub:alice?secret=")
    with pytest.raises(ValueError), transaction() as conn:
        users.add_user(conn, username="bob", display_name="Bob", role="admin", password="p", pin="1")


def test_entitlements_change_what_a_user_sees_and_a_disabled_user_reads_nothing(directory: None) -> None:
    assert record("cp_reader", "r_plain", SHIELDED).keys() == {"cp_id", "shielded", "contact"}
    with transaction() as conn:
        users.set_entitlements(conn, "r_plain", may_see_shielded=True, may_see_sensitive=False)
    assert record("cp_reader", "r_plain", SHIELDED)["given_name"] == "Shieldina"
    with transaction() as conn:
        users.disable_user(conn, "r_plain")
    with pytest.raises(DBAPIError, match="not allowed"):
        record("cp_reader", "r_plain", SHIELDED)
    with pytest.raises(LookupError), transaction() as conn:
        users.set_entitlements(conn, "nobody", may_see_shielded=True, may_see_sensitive=True)


def test_a_one_time_code_step_is_accepted_once(directory: None) -> None:
    with transaction() as conn:
        assert users.accept_totp_step(conn, "r_plain", 58_000_000)
        assert not users.accept_totp_step(conn, "r_plain", 58_000_000)
        assert not users.accept_totp_step(conn, "r_plain", 57_999_999)  # an older code, even unused
        assert users.accept_totp_step(conn, "r_plain", 58_000_001)
        assert not users.accept_totp_step(conn, "nobody", 58_000_002)


def test_of_two_requests_racing_with_one_code_exactly_one_wins(directory: None) -> None:
    step = 58_100_000
    results: list[bool] = []
    # The first request holds its row lock; the second must wait for it and then see the step taken.
    with get_engine().connect() as first:
        first.begin()
        assert users.accept_totp_step(first, "r_plain", step)

        def second() -> None:
            with transaction() as conn:
                results.append(users.accept_totp_step(conn, "r_plain", step))

        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second request should be waiting for the first one's row lock"
        first.commit()
        racer.join(timeout=10)
    assert results == [False]


def test_of_many_threads_racing_with_one_code_exactly_one_wins(directory: None) -> None:
    step, threads = 58_200_000, 8
    barrier = threading.Barrier(threads)
    results: list[bool] = []

    def attempt() -> None:
        with transaction() as conn:
            barrier.wait()
            results.append(users.accept_totp_step(conn, "r_plain", step))

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert sorted(results) == [False] * (threads - 1) + [True]


def test_five_failures_lock_sign_in_but_never_end_the_users_live_session(directory: None) -> None:
    with transaction() as conn:
        counts = [users.record_failed_attempt(conn, "r_plain") for _ in range(4)]
        creds = users.get_credentials(conn, "r_plain")
        assert creds is not None and not creds["locked"]
    assert counts == [1, 2, 3, 4]
    assert record("cp_reader", "r_plain", NORMAL)["cp_id"] == NORMAL
    with transaction() as conn:
        assert users.record_failed_attempt(conn, "r_plain") == 5
        creds = users.get_credentials(conn, "r_plain")
        assert creds is not None and creds["locked"] and creds["locked_until"] is not None
        assert users.record_failed_attempt(conn, "nobody") == 0
    # Strangers' failures lock the sign-in, not the real user's session (issue 13, finding 7).
    assert record("cp_reader", "r_plain", NORMAL)["cp_id"] == NORMAL
    with transaction() as conn:
        users.reset_failed_attempts(conn, "r_plain")
    assert record("cp_reader", "r_plain", NORMAL)["cp_id"] == NORMAL


def test_a_session_is_live_until_it_expires_or_is_revoked(directory: None) -> None:
    with transaction() as conn:
        users.create_session(conn, "r_plain", "a" * 64, 30)
        users.create_session(conn, "r_plain", "b" * 64, 30)
        users.create_session(conn, "r_both", "c" * 64, 30)
        live = users.session_user(conn, "a" * 64)
        assert live is not None and (live["username"], live["role"], live["may_see_shielded"]) == \
            ("r_plain", "reader", False)
        users.revoke_session(conn, "a" * 64)
        assert users.session_user(conn, "a" * 64) is None
        assert users.session_user(conn, "unknown") is None
        conn.execute(text("UPDATE access.session SET created_at = now() - interval '2 hours', "
                          "expires_at = now() - interval '1 hour' WHERE token_hash = :t"), {"t": "b" * 64})
        assert users.session_user(conn, "b" * 64) is None
        assert users.session_user(conn, "c" * 64) is not None
        users.disable_user(conn, "r_both")
        assert users.session_user(conn, "c" * 64) is None


def test_the_cli_adds_a_user_shows_the_token_once_and_lists_users_without_secrets(
        store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    monkeypatch.setenv("NEW_PASSWORD", "a long enough passphrase")
    monkeypatch.setenv("NEW_PIN", "246810")
    assert main(["users", "add", "carol.p", "--role", "reader", "--display-name", "Carol Practitioner",
                 "--shielded", "--password-env", "NEW_PASSWORD", "--pin-env", "NEW_PIN"]) == 0
    out = capsys.readouterr().out
    assert "otpauth://totp/ContactPoint%20Hub:carol.p?secret=" in out
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "carol.p" in listing and "reader" in listing and "shielded" in listing and "sensitive" not in listing
    with transaction() as conn:
        creds = users.get_credentials(conn, "carol.p")
    assert creds is not None and creds["totp_secret"] not in listing
    monkeypatch.setenv("NEW_PIN", "12")
    with pytest.raises(SystemExit, match="PIN"):
        main(["users", "add", "dave", "--role", "auditor", "--display-name", "Dave",
              "--password-env", "NEW_PASSWORD", "--pin-env", "NEW_PIN"])
