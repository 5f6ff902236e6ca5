"""The console's database role reads no table, and the steward actions hold whoever calls them (issue 13).

``cp_console`` can do two things: run the steward actions and the console's reads, which take a session
token and decide in the database who acts or reads and what that person may touch. Called straight from
SQL as ``cp_console``, with each role's live session, on a plain, a held and a shielded child, an action
is refused (42501) exactly where the console's matrix refuses it; a made-up or ended session, or a
colleague's name, gets nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from directory_api.auth import token_hash
from tests.integration.test_console_matrix import FLAGS, ROLES, rows, the_store
from tests.integration.test_console_reads import CONSOLE_READS
from warehouse import users
from warehouse.db import transaction
from warehouse.steward_actions import CONSOLE_ROLE

pytestmark = pytest.mark.postgres

ACTIONS = {"link": "identity.steward_link(:s, :pair, :r)",
           "keep_apart": "identity.steward_keep_apart(:s, :pair, :r)",
           "entry": "identity.steward_decide_entry(:s, :pair, 'keep_apart', :r, 6.0)",
           "split": "identity.steward_split(:s, :record, :r)",
           "merge": "identity.steward_merge(:s, :child, :other, :r)",
           "undo": "identity.steward_undo(:s, :action, :r)"}


def as_console(conn: Connection, sql: str, **params: Any) -> Any:
    conn.execute(text(f"SET LOCAL ROLE {CONSOLE_ROLE}"))
    return conn.execute(text(sql), params).scalar()


def sqlstate(sql: str, **params: Any) -> str | None:
    """Run ``sql`` as the console's role in a transaction rolled back afterwards; the SQLSTATE it raised."""
    with transaction() as conn:
        try:
            with conn.begin_nested():
                as_console(conn, sql, **params)
        except DBAPIError as error:
            return str(getattr(error.orig, "sqlstate", None))
        finally:
            conn.execute(text("SET LOCAL ROLE NONE"))
    return None


def test_the_console_role_owns_and_reads_no_table_and_runs_only_sign_in_the_steward_actions_and_its_reads(
        store: Path) -> None:
    owned = rows("""SELECT c.oid::regclass::text FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                    WHERE r.rolname = :role""", role=CONSOLE_ROLE)
    readable = rows("""
        SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%'
          AND (has_table_privilege(:role, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
               OR (c.relkind <> 'S' AND has_any_column_privilege(:role, c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))
               OR (c.relkind = 'S' AND has_sequence_privilege(:role, c.oid, 'USAGE, SELECT, UPDATE')))""",
        role=CONSOLE_ROLE)
    member_of = rows("""SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                        JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = :role""", role=CONSOLE_ROLE)
    definers = rows("""
        SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND has_schema_privilege(:role, n.oid, 'USAGE')
          AND has_function_privilege(:role, p.oid, 'EXECUTE') ORDER BY 1""", role=CONSOLE_ROLE)
    assert (owned, readable, member_of) == ([], [], [])
    sessions_and_actions = ["access.session_of", "access.sign_in", "access.sign_out"] + sorted(
        f"identity.steward_{a}" for a in ("decide_entry", "keep_apart", "link", "merge", "promote", "split", "undo"))
    names = [d[0].split("(")[0] for d in definers]
    assert [n for n in names if not n.startswith("console.")] == sessions_and_actions
    # Besides: the console's reads (migration 0017), each taking the session first (tests/.../test_console_reads.py).
    assert [n for n in names if n.startswith("console.")] == CONSOLE_READS
    assert sqlstate("SELECT count(*) FROM identity.child") == "42501"
    assert sqlstate("SELECT count(*) FROM access.session") == "42501"


def test_the_console_role_signs_people_in_through_the_database_alone(store: Path) -> None:
    with transaction() as conn:
        secret = users.add_user(conn, username="sue", display_name="Sue", role="steward", password="pw", pin="4711",
                                may_see_shielded=True)
    sign_in = "SELECT access.sign_in(:u, :p, '4711', :code, now())"
    with transaction() as conn:
        refused = as_console(conn, sign_in, u="sue", p="wrong", code=pyotp.TOTP(secret).now())
        unknown = as_console(conn, sign_in, u="Jane Smith DOB 2015-01-01", p="pw", code="123456")
    with transaction() as conn:
        opened = as_console(conn, sign_in, u="sue", p="pw", code=pyotp.TOTP(secret).now())
    assert refused == unknown == {"refused": True}
    assert set(opened) == {"token", "username", "role", "expires_at", "display_name", "may_see_shielded",
                           "may_see_sensitive"} and opened["may_see_shielded"] is True
    assert rows("SELECT token_hash FROM access.session WHERE username = 'sue'") == [(token_hash(opened["token"]),)]
    trail = rows("SELECT username, action, detail->>'reason' FROM audit.entry WHERE action LIKE 'sign_in%' "
                 "ORDER BY entry_id")
    assert [tuple(t) for t in trail] == [("sue", "sign_in_failed", "password"),
                                         ("(unknown)", "sign_in_failed", "password"), ("sue", "sign_in", None)]


def sessions(people: dict[str, tuple[str, bool]]) -> dict[str, str]:
    tokens = {}
    with transaction() as conn:
        for name, (role, entitled) in people.items():
            users.add_user(conn, username=name, display_name=name, role=role, password="pw", pin="1",
                           may_see_shielded=entitled)
            tokens[name] = f"a-session-of-{name}"
            users.create_session(conn, name, token_hash(tokens[name]), 15)
    return tokens


def test_each_action_as_the_console_role_refuses_exactly_where_the_matrix_does(store: Path) -> None:
    world = the_store(store)
    tokens = sessions(ROLES)
    wrong = []
    for role, (kind, entitled) in ROLES.items():
        for flag in FLAGS:
            for action, call in ACTIONS.items():
                got = sqlstate(f"SELECT {call}", s=tokens[role], r="", pair=world["pairs"][flag],
                               record=world["records"][flag], child=world["children"][flag], other=world["other"],
                               action=world["actions"][flag])
                allowed = kind == "steward" and (flag == "plain" or entitled)
                # Allowed: the checks pass and the action stops at the missing reason (P0001), changing nothing.
                if got != ("P0001" if allowed else "42501"):
                    wrong.append(f"{role} {action} [{flag}]: {got}")
    assert wrong == []
    assert rows("SELECT count(*) FROM identity.steward_action") == [(3,)]


def test_no_session_no_colleagues_session_and_no_ended_session_acts(store: Path) -> None:
    world = the_store(store)
    tokens = sessions({"sam": ("steward", False), "sue": ("steward", True)})
    with transaction() as conn:
        conn.execute(text("UPDATE access.session SET revoked = true WHERE username = 'sue'"))
    merge = "SELECT identity.steward_merge(:s, :a, :b, 'same girl')"
    ids = {"a": world["children"]["plain"], "b": world["children"]["held"]}
    assert sqlstate(merge, s="sue", **ids) == "42501"  # a user name is not a session
    assert sqlstate(merge, s=tokens["sue"], **ids) == "42501"  # her session has ended
    assert sqlstate(merge, s="made-up", **ids) == "42501"
    assert sqlstate(merge, s=tokens["sam"], **ids) == "42501"  # sam is not entitled to the held child
    assert sqlstate("SELECT access.tool_session('sam')") == "42501"  # only the hub's own tools name a steward
    assert rows("SELECT count(*) FROM identity.steward_action") == [(3,)]


def test_an_entitled_stewards_merge_as_the_console_role_takes_the_hold_into_the_merged_child(store: Path) -> None:
    world = the_store(store)
    tokens = sessions({"sue": ("steward", True), "sam": ("steward", False)})
    with transaction() as conn:
        outcome = as_console(conn, "SELECT identity.steward_merge(:s, :a, :b, 'same girl')", s=tokens["sue"],
                             a=world["children"]["plain"], b=world["children"]["held"])
    kept = outcome["kept_cp_id"]
    assert rows("SELECT status FROM identity.child WHERE cp_id = :c", c=kept) == [("held",)]
    assert sqlstate("SELECT identity.steward_split(:s, :r, 'not him')", s=tokens["sam"],
                    r=world["records"]["plain"]) == "42501", "the merged child is held: sam may no longer touch it"
    [entry] = rows("SELECT username, user_role, detail FROM audit.entry WHERE action = 'steward_merge'")
    assert (entry.username, entry.user_role, entry.detail["action_id"]) == ("sue", "steward", outcome["action_id"])
