"""Thin Python calls of the read contract's SQL functions (migration 0004).

The functions check the user, mask and audit by themselves; these wrappers only pass arguments and
shape results. Run them in a transaction that commits: the audit entries are written in it.

Refusals arrive as database errors (``sqlalchemy.exc.DBAPIError``; SQLSTATE in ``.orig.sqlstate``):

- ``42501`` not allowed: unknown, disabled or locked user, or a role that does not read;
- ``22023`` a purpose is missing, or the search criteria are not an allowed combination;
- ``54000`` too many matches: refine the search (more than 50 children);
- ``P0002`` no such child (unknown, held or archived ID);
- ``53400`` the person's read budget for the hour is spent (``access.app_user.reads_per_hour``).

The ``session_`` functions take the caller's session token and find the user themselves (migration
0011): whoever can call them cannot read as someone else. The user-name functions are left to the hub's
own tools, which run as the store's owner.

The directory API calls the ``api_`` functions (migration 0013) as ``cp_api``, a role that owns and reads
no table: one autocommit statement per request answers the HTTP status and the JSON body, refusals
audited by the database itself (``api_call``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from warehouse.db import api_pool

SEARCH_LIMIT = 50
API_CHILD_RECORD = "SELECT status, body FROM directory.api_child_record($1, $2, $3, $4)"
API_SEARCH_CHILDREN = "SELECT status, body FROM directory.api_search_children($1, $2, $3, $4, $5, $6::date, $7, $8)"
API_CHANGES = "SELECT status, body FROM directory.api_changes($1, $2, $3)"


def _search(conn: Connection, function: str, reader: str, *, purpose: str, family_name: str | None,
            given_name: str | None, date_of_birth: date | None, gender: str | None,
            postcode: str | None) -> list[dict[str, Any]]:
    rows = conn.execute(text(f"""
        SELECT * FROM directory.{function}(CAST(:reader AS text), CAST(:purpose AS text),
            CAST(:family_name AS text), CAST(:given_name AS text), CAST(:date_of_birth AS date),
            CAST(:gender AS text), CAST(:postcode AS text))"""),
        {"reader": reader, "purpose": purpose, "family_name": family_name, "given_name": given_name,
         "date_of_birth": date_of_birth, "gender": gender, "postcode": postcode}).mappings().all()
    return [dict(row) for row in rows]


def _record(conn: Connection, function: str, reader: str, *, purpose: str, cp_id: str) -> dict[str, Any]:
    record = conn.execute(
        text(f"SELECT directory.{function}(CAST(:reader AS text), CAST(:purpose AS text), CAST(:cp_id AS text))"),
        {"reader": reader, "purpose": purpose, "cp_id": cp_id}).scalar_one()
    return dict(record)


def search_children(conn: Connection, *, username: str, purpose: str, family_name: str | None = None,
                    given_name: str | None = None, date_of_birth: date | None = None, gender: str | None = None,
                    postcode: str | None = None) -> list[dict[str, Any]]:
    """Children matching the criteria, masked for the user; one audit entry per child returned.

    Each dict has ``cp_id, given_name, family_name, date_of_birth, gender, postcode, shielded``; a
    shielded child the user may not see has only ``cp_id`` and ``shielded=True`` (the rest None).
    """
    return _search(conn, "search_children", username, purpose=purpose, family_name=family_name,
                   given_name=given_name, date_of_birth=date_of_birth, gender=gender, postcode=postcode)


def child_record(conn: Connection, *, username: str, purpose: str, cp_id: str) -> dict[str, Any]:
    """One child's record as JSON-ready dict, masked for the user; always one audit entry.

    Shapes: the full record (``cp_id, shielded, given_name, middle_names, family_name, date_of_birth,
    gender, address_line_1..5, postcode, died_on, carers[], involvements[]``); a shielded child the user may not
    see: ``{cp_id, shielded: true, contact: {name, organisation, phone} | null}``; a merged-away ID:
    ``{cp_id, superseded_by}``. Dates are ISO strings.
    """
    return _record(conn, "child_record", username, purpose=purpose, cp_id=cp_id)


def session_search_children(conn: Connection, *, session_token: str, purpose: str, family_name: str | None = None,
                            given_name: str | None = None, date_of_birth: date | None = None,
                            gender: str | None = None, postcode: str | None = None) -> list[dict[str, Any]]:
    """:func:`search_children` as the user the session token signs in (the database resolves it)."""
    return _search(conn, "session_search_children", session_token, purpose=purpose, family_name=family_name,
                   given_name=given_name, date_of_birth=date_of_birth, gender=gender, postcode=postcode)


def session_child_record(conn: Connection, *, session_token: str, purpose: str, cp_id: str) -> dict[str, Any]:
    """:func:`child_record` as the user the session token signs in (the database resolves it)."""
    return _record(conn, "session_child_record", session_token, purpose=purpose, cp_id=cp_id)


async def api_child_record(*, session_token: str, purpose: str, case_reference: str | None,
                           cp_id: str) -> tuple[int, str]:
    """``GET /children/{cp_id}``: the record masked for the session's user, or the refusal; audited."""
    status, body = await api_pool().one(API_CHILD_RECORD, (session_token, purpose, case_reference, cp_id))
    return int(status), str(body)


async def api_search_children(*, session_token: str, purpose: str, case_reference: str | None,
                              family_name: str | None = None, given_name: str | None = None,
                              date_of_birth: date | None = None, gender: str | None = None,
                              postcode: str | None = None) -> tuple[int, str]:
    """``GET /children``: ``{"data": [...], "count": n}`` masked for the session's user, or the refusal."""
    status, body = await api_pool().one(API_SEARCH_CHILDREN, (session_token, purpose, case_reference, family_name,
                                                              given_name, date_of_birth, gender, postcode))
    return int(status), str(body)


async def api_changes(*, session_token: str, after: int, limit: int) -> tuple[int, str]:
    """``GET /changes``: a page of the feed for a front-end system's service account, or the refusal."""
    status, body = await api_pool().one(API_CHANGES, (session_token, after, limit))
    return int(status), str(body)
