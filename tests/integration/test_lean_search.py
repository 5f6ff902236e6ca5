"""The API's search answers every refusal itself, reading the session once (issue 13, throughput; migration 0019).

Stories: a reader searches too broadly, then finds too many children, then spends her budget; an auditor
searches though his role reads nothing. Each gets the status, message and audit entry the API has always
given, and the database reads the session once and opens no subtransaction to answer: no function the search
reaches catches an exception. An auditor whose budget happens to be spent is refused for his role, as the
record route refuses him. The migration steps down to the old search and back.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, text

from tests.integration.read_contract import NORMAL, add_app_user, add_child, build_directory, session_of
from warehouse.db import database_url, transaction
from warehouse.migrate import alembic_config

pytestmark = pytest.mark.postgres

API_SEARCH = text("""SELECT status, body FROM directory.api_search_children(
    :token, 'safeguarding', NULL, :family_name, :given_name, CAST(:date_of_birth AS date), NULL, NULL)""")
# The old shape's session look-ups: the lean one reads the session through access.api_reader alone.
OLD_LOOKUPS = {"access.api_unsigned", "access.api_session", "access.session_reader", "access.reading_user"}
SEARCH_FUNCTIONS = ("directory.search_children(text,text,text,text,date,text,text)",
                    "access.session_reader(text)",
                    "directory.api_search_children(text,text,text,text,text,date,text,text)")


@pytest.fixture
def directory(store: Path) -> None:
    """The read contract's small directory, 51 children called Many born on one day, a reader whose
    budget is spent, and an auditor whose budget is spent (a role that does not read)."""
    with transaction() as conn:
        build_directory(conn)
        for i in range(51):
            add_child(conn, f"CP1{i:08d}X", f"Twin{i}", "Many", "2019-01-01", "F", "S60 3CC")
        add_app_user(conn, "r_spent", "reader")
        add_app_user(conn, "a_spent", "auditor")
        conn.execute(text("UPDATE access.app_user SET reads_per_hour = 0 WHERE username IN ('r_spent', 'a_spent')"))


def function_calls(conn: Connection) -> dict[str, int]:
    """Calls of each PL/pgSQL function this backend has counted and not yet reported (this transaction's,
    and earlier ones' not yet flushed: compare two readings)."""
    return dict(conn.execute(text(
        "SELECT schemaname || '.' || funcname, calls FROM pg_stat_xact_user_functions")).tuples().all())


def api_search(conn: Connection, username: str, **criteria: Any) -> tuple[int, dict[str, Any], dict[str, int]]:
    """GET /children as cp_api: (status, body, calls of each PL/pgSQL function it made)."""
    token = session_of(username)
    conn.execute(text("SET LOCAL track_functions = 'pl'"))
    before = function_calls(conn)
    conn.execute(text("SET LOCAL ROLE cp_api"))
    status, body = conn.execute(API_SEARCH, {"token": token, "family_name": criteria.get("family_name"),
                                             "given_name": criteria.get("given_name"),
                                             "date_of_birth": criteria.get("date_of_birth")}).one()
    conn.execute(text("RESET ROLE"))
    after = function_calls(conn)
    calls = {f: n - before.get(f, 0) for f, n in after.items() if n > before.get(f, 0)}
    return status, json.loads(body), calls


def refusals() -> list[tuple[str, str, str | None, str | None, str]]:
    with transaction() as conn:
        return [tuple(row) for row in conn.execute(text("""
            SELECT action, username, cp_id, purpose, detail->>'reason' FROM audit.entry
            WHERE action = 'search_refused' ORDER BY occurred_at""")).all()]


CASES = [
    ("r_plain", {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4)}, 200, None),
    ("r_plain", {"family_name": "Smith-Jones"}, 400,
     "search not allowed: give family name and date of birth (optionally given name, gender, postcode), "
     "or given name, date of birth, gender and postcode"),
    ("r_plain", {"family_name": "Many", "date_of_birth": date(2019, 1, 1)}, 400,
     "too many matches: refine the search"),
    ("r_spent", {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4)}, 429,
     "read budget spent: 0 children read in the last hour"),
    ("a_auditor", {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4)}, 403,
     "not allowed: role auditor does not read the directory"),
    # Newly defined (the old search checked the budget before the role): the role decides, as for a record.
    ("a_spent", {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4)}, 403,
     "not allowed: role auditor does not read the directory"),
]
REASONS = {400: None, 403: "not_allowed", 429: "read_budget"}


@pytest.mark.parametrize(("username", "criteria", "status", "detail"), CASES,
                         ids=["found", "search_rules", "too_many_matches", "read_budget", "not_allowed",
                              "role_before_budget"])
def test_every_answer_reads_the_session_once_and_catches_no_exception(
        directory: None, username: str, criteria: dict[str, Any], status: int, detail: str | None) -> None:
    with transaction() as conn:
        answered, body, calls = api_search(conn, username, **criteria)
        catching = conn.execute(text(r"""
            SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname || '.' || p.proname = ANY(:called) AND p.prosrc ~* '\mEXCEPTION\s+WHEN\M'"""),
            {"called": list(calls)}).scalars().all()
    assert answered == status
    assert body == ({"data": [{"cp_id": NORMAL, "shielded": False, "given_name": "Alfie",
                               "family_name": "Smith-Jones", "date_of_birth": "2016-03-04", "gender": "M",
                               "postcode": "S60 1AA"}], "count": 1} if status == 200 else {"detail": detail})
    reason = "too_many_matches" if "too many" in (detail or "") else \
        "search_rules" if status == 400 else REASONS.get(status)
    assert refusals() == ([] if status == 200 else [("search_refused", username, None, "safeguarding", reason)])
    assert calls.get("access.api_reader") == 1 and OLD_LOOKUPS.isdisjoint(calls), calls
    assert "directory.api_search_children" in calls and catching == []


def test_the_search_by_user_name_runs_the_same_search_body(directory: None) -> None:
    with transaction() as conn:
        conn.execute(text("SET LOCAL track_functions = 'pl'"))
        before = function_calls(conn)
        found = conn.execute(text("""
            SELECT * FROM directory.search_children('r_plain', 'safeguarding', 'Smith-Jones', NULL,
                                                    DATE '2016-03-04', NULL, NULL)""")).mappings().all()
        after = function_calls(conn)
    assert [dict(row) for row in found] == [{"cp_id": NORMAL, "given_name": "Alfie", "family_name": "Smith-Jones",
                                            "date_of_birth": date(2016, 3, 4), "gender": "M",
                                            "postcode": "S60 1AA", "shielded": False}]
    assert after.get("directory.search_for", 0) - before.get("directory.search_for", 0) == 1, (before, after)


def test_the_migration_steps_down_to_the_old_search_and_back(directory: None) -> None:
    def definitions() -> dict[str, str]:
        with transaction() as conn:
            return {f: conn.execute(text("SELECT pg_get_functiondef(CAST(:f AS regprocedure))"), {"f": f}).scalar_one()
                    for f in SEARCH_FUNCTIONS}

    config = alembic_config(database_url())
    lean = definitions()
    command.downgrade(config, "0018")
    try:
        old = definitions()
        with transaction() as conn:
            helpers = conn.execute(text("SELECT to_regproc('directory.search_for')")).scalar()
        assert helpers is None
        assert "EXCEPTION WHEN" in old["directory.api_search_children(text,text,text,text,text,date,text,text)"]
        assert all(old[f] != lean[f] for f in SEARCH_FUNCTIONS)
    finally:
        command.upgrade(config, "head")
    assert definitions() == lean
