"""Every read a console page makes holds against whoever calls it (issue 13, migration 0017).

The console's pages read only through the ``console`` schema's definer functions, which take the session
token and decide in the database who reads and what they may see: steward pages need a steward's live
session, operations pages a steward's or a data team member's; a held or shielded child is masked for a
steward not entitled to it. Called straight from SQL as ``cp_console`` (what a console with a bug, or
anyone holding the console's role, could do), a made-up token, a reader's or an archivist's session, and a
data team member on a steward's read are refused (42501); a steward without the entitlement gets a held
or shielded child's pair and history without a name or an ID she did not already have. And every console
request logs in as ``cp_console_login``, which runs what ``cp_console`` runs and nothing else, so a page
that read a table would fail, and no request can step back to the store's owner.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from directory_api import deps
from directory_api.auth import token_hash
from directory_api.main import create_app
from tests.integration.test_console_matrix import rows, the_store
from warehouse import users
from warehouse.db import CONSOLE_LOGIN, get_engine, transaction
from warehouse.steward_actions import CONSOLE_ROLE

pytestmark = pytest.mark.postgres

STEWARD_READS = {
    "console.review_entries": "SELECT count(*) FROM console.review_entries(:s, NULL, NULL, 6.0, 50, 0)",
    "console.review_pairs": "SELECT count(*) FROM console.review_pairs(:s, ARRAY[:pair]::bigint[], 6.0)",
    "console.source_records": "SELECT console.source_records(:s, ARRAY[:record]::bigint[])",
    "console.pair_detail": "SELECT console.pair_detail(:s, :pair)",
    "console.identity_history": "SELECT console.identity_history(:s, :child)",
    "console.action_cp_ids": "SELECT console.action_cp_ids(:s, :action)",
    "console.audit_view": "SELECT console.audit_view(:s, 'console_view_pair', ARRAY[:child], '{}')",
    "console.model_versions": "SELECT count(*) FROM console.model_versions(:s)",
    "console.current_model": "SELECT count(*) FROM console.current_model(:s)",
    "console.model": "SELECT console.model(:s, 'none-such')",
    "console.labels": "SELECT count(*) FROM console.labels(:s)",
    "console.canonical_records": "SELECT count(*) FROM console.canonical_records(:s, ARRAY[:record]::bigint[])",
    "console.review_pair_index": "SELECT count(*) FROM console.review_pair_index(:s)",
    "console.children_of": "SELECT count(*) FROM console.children_of(:s, ARRAY[:record]::bigint[])",
    "console.store_fingerprint": "SELECT count(*) FROM console.store_fingerprint(:s)",
}
OPERATIONS_READS = {
    "console.glance_feeds": "SELECT count(*) FROM console.glance_feeds(:s)",
    "console.glance_facts": "SELECT count(*) FROM console.glance_facts(:s)",
    "console.sender_summaries": "SELECT count(*) FROM console.sender_summaries(:s, NULL, 100, 0)",
    "console.files": "SELECT count(*) FROM console.files(:s, :file, NULL, NULL, 1, 0)",
    "console.receipt": "SELECT console.receipt(:s, :file)",
    "console.quarantine": "SELECT count(*) FROM console.quarantine(:s, NULL, NULL, true, 10, 50, 0)",
    "console.daily_volumes": "SELECT count(*) FROM console.daily_volumes(:s, 30)",
    "console.universal_services": "SELECT count(*) FROM console.universal_services(:s, DATE '2026-11-25')",
}
CONSOLE_READS = sorted([*STEWARD_READS, *OPERATIONS_READS, "console.session_ended"])
"""Every function of the console schema the console's role may execute (test_console_role checks the list)."""
PEOPLE = {"reader": ("reader", False), "archivist": ("archivist", False), "data_team": ("data_team", False),
          "sam": ("steward", False), "sue": ("steward", True)}


def sessions() -> dict[str, str]:
    """A live session for each of PEOPLE, and one that has ended (sue's colleague's, revoked)."""
    tokens = {}
    with transaction() as conn:
        for name, (role, entitled) in {**PEOPLE, "gone": ("steward", True)}.items():
            users.add_user(conn, username=name, display_name=name, role=role, password="pw", pin="1",
                           may_see_shielded=entitled)
            tokens[name] = f"a-session-of-{name}"
            users.create_session(conn, name, token_hash(tokens[name]), 15)
        users.revoke_session(conn, token_hash(tokens["gone"]))
    return tokens


def as_console(sql: str, **params: Any) -> tuple[str | None, Any]:
    """Run ``sql`` as the console's role (rolled back): the SQLSTATE it raised, or None and its value."""
    with get_engine().connect() as conn:
        try:
            conn.execute(text(f"SET LOCAL ROLE {CONSOLE_ROLE}"))
            return None, conn.execute(text(sql), params).scalar()
        except DBAPIError as error:
            return str(getattr(error.orig, "sqlstate", None)), None
        finally:
            conn.rollback()


@pytest.fixture
def world(store: Path) -> dict[str, Any]:
    found = the_store(store)
    found["tokens"] = sessions()
    return found


def test_each_console_read_answers_only_the_roles_its_pages_are_for(world: dict[str, Any]) -> None:
    wrong = []
    tokens = {**world["tokens"], "made-up": "not-a-session", "a name": "sue"}
    for who, token in tokens.items():
        role = PEOPLE.get(who, ("nobody", False))[0]
        for reads, allowed in ((STEWARD_READS, {"steward"}), (OPERATIONS_READS, {"steward", "data_team"})):
            for name, sql in reads.items():
                state, _ = as_console(sql, s=token, pair=world["pairs"]["plain"], record=world["records"]["plain"],
                                      child=world["children"]["plain"], action=world["actions"]["plain"],
                                      file=world["file_id"])
                if state != (None if role in allowed else "42501"):
                    wrong.append(f"{name} for {who}: {state}")
    assert wrong == []


def test_a_steward_not_entitled_reads_nothing_of_a_held_or_shielded_child_through_any_read(
        world: dict[str, Any]) -> None:
    for flag in ("held", "shielded"):
        child, record, pair = world["children"][flag], world["records"][flag], world["pairs"][flag]
        seen = {who: {
            "pair": as_console("SELECT console.pair_detail(:s, :p)", s=world["tokens"][who], p=pair)[1],
            "child": as_console("SELECT console.identity_history(:s, :c)", s=world["tokens"][who], c=child)[1],
            "records": as_console("SELECT console.source_records(:s, ARRAY[:r]::bigint[])", s=world["tokens"][who],
                                  r=record)[1],
            "children": as_console("SELECT array_agg(cp_id) FROM console.children_of(:s, ARRAY[:r]::bigint[])",
                                   s=world["tokens"][who], r=record)[1],
            "queue": as_console("SELECT array_agg(concat_ws('/', child_1, child_2)) FROM console.review_entries("
                                ":s, NULL, NULL, 6.0, 50, 0) WHERE kind = 'row'", s=world["tokens"][who])[1],
        } for who in ("sam", "sue")}
        # The entitled steward sees the child: her name and ID are there to be hidden.
        assert child in json.dumps(seen["sue"]) and any(h in json.dumps(seen["sue"]) for h in ("Isla", "Amelia"))
        masked = seen["sam"]
        assert masked["child"] == {"cp_id": child, "shielded": True}
        assert masked["records"] == {str(record): {"record_id": record, "shielded": True}}
        assert masked["pair"]["shielded"] is True and set(masked["pair"]) == {"pair_id", "record_a", "record_b",
                                                                              "records", "shielded"}
        assert masked["children"] is None
        # The history echoes the ID she asked for (asserted above); nothing else names either child.
        leaked = [h for h in world["hidden"] if h in json.dumps({**masked, "child": None}, default=str)]
        assert leaked == [], f"{flag}: sam reads {leaked}"


def test_a_view_is_audited_under_the_sessions_own_user_and_nothing_else_is_written(world: dict[str, Any]) -> None:
    tokens = world["tokens"]
    with transaction() as conn:
        conn.execute(text(f"SET LOCAL ROLE {CONSOLE_ROLE}"))
        conn.execute(text("SELECT console.audit_view(:s, 'console_view_identity', ARRAY[:c], '{}')"),
                     {"s": tokens["sam"], "c": world["children"]["plain"]})
    assert as_console("SELECT console.audit_view(:s, 'sign_in', NULL, '{}')", s=tokens["sam"])[0] == "22023"
    assert as_console("SELECT console.audit_view(:s, 'console_view_pair', NULL, '{}')", s="sue")[0] == "42501"
    assert rows("SELECT username, user_role, cp_id, purpose FROM audit.entry WHERE action LIKE 'console_view%'") == [
        ("sam", "steward", world["children"]["plain"], "data stewardship")]
    # An ended session is audited as such; a made-up token names no one, so nothing is written for it.
    assert as_console("SELECT console.session_ended(:s)", s=tokens["gone"]) == (None, "revoked")
    assert as_console("SELECT console.session_ended(:s)", s="not-a-session") == (None, None)


def test_every_console_request_logs_in_as_the_console_login_which_reads_no_table_and_cannot_step_back(
        world: dict[str, Any]) -> None:
    owner = str(rows("SELECT current_user")[0][0])

    async def first_statements() -> tuple[str, str, str | None, str | None]:
        async with deps._request_conn(deps._begin_console) as conn:
            who = conn.execute(text("SELECT current_user, session_user")).one()
            refused = []
            for sql in ("SELECT count(*) FROM identity.child", f'SET ROLE "{owner}"'):
                try:
                    with conn.begin_nested():
                        conn.execute(text(sql))
                except DBAPIError as error:
                    refused.append(str(getattr(error.orig, "sqlstate", None)))
            return str(who[0]), str(who[1]), *refused

    # In a thread of its own: an earlier test in this worker (a browser's sync API) may hold a running loop here.
    with ThreadPoolExecutor(max_workers=1) as thread:
        answered = thread.submit(asyncio.run, first_statements()).result()
    assert answered == (CONSOLE_LOGIN, CONSOLE_LOGIN, "42501", "42501")


def test_the_console_login_owns_reads_and_is_member_of_nothing_and_runs_what_the_console_role_runs(
        world: dict[str, Any]) -> None:
    assert rows("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = :r",
                r=CONSOLE_LOGIN) == [(0,)]
    assert rows("""SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
                     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                     AND has_table_privilege(:r, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')""",
                r=CONSOLE_LOGIN) == [(0,)]
    assert rows("""SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
                   WHERE r.rolname = :r""", r=CONSOLE_LOGIN) == [(0,)]
    runs = """SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE p.prosecdef AND has_schema_privilege(:r, n.oid, 'USAGE')
                AND has_function_privilege(:r, p.oid, 'EXECUTE') ORDER BY 1"""
    assert rows(runs, r=CONSOLE_LOGIN) == rows(runs, r=CONSOLE_ROLE) != []


def dependencies(dependant: Any) -> Iterator[Any]:
    yield dependant.call
    for inner in dependant.dependencies:
        yield from dependencies(inner)


def test_no_console_route_takes_the_hub_owners_connection(world: dict[str, Any]) -> None:
    app = create_app()
    console = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/console")]
    owners = [r.path for r in console if deps.get_conn in set(dependencies(r.dependant))]
    with_database = [r.path for r in console if deps.get_console_conn in set(dependencies(r.dependant))]
    assert owners == [] and len(with_database) == len(console) - 2  # all but the stylesheet and the sign-in form
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/console/sign-in").status_code == 200
