"""The read contract's small directory and how its tests read it: what the read-contract tests share.

A small directory is built with plain SQL as superuser; every read then runs *as* a database group role
(``SET LOCAL ROLE``), the way a front end's login role, granted that group, would run it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from warehouse import contract, users
from warehouse.db import get_engine, transaction

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
