"""The console's reads, as the database answers them: definer functions that take the session (issue 13).

Every page of the console reads through a function of the ``console`` schema (migration 0017,
``warehouse/sql/functions/1*_console_*.sql``) that takes the signed-in user's session token, finds the live
user behind it, checks the role the page needs and applies the shielded entitlement itself. The console logs
in as ``cp_console_login``, which may execute those functions (as ``cp_console`` may) and reads no table, so a
page that read a table directly would fail, and a caller holding another person's name but not their
session reads nothing.

The modules that own each read (``warehouse.review_queue``, ``warehouse.steward_history``,
``warehouse.operations``, ``warehouse.operations_days``, ``warehouse.reports``, ``warehouse.model_versions``) call
these helpers when given a session; the hub's own tools, which run as the store's owner, call the statements directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, text
from sqlalchemy.exc import DBAPIError


class ReadRefused(PermissionError):
    """The database refused a console read: no live session, or a role the page is not for."""


def _refusal(error: DBAPIError) -> Exception:
    if getattr(error.orig, "sqlstate", None) == "42501":
        diag = getattr(error.orig, "diag", None)
        return ReadRefused(getattr(diag, "message_primary", None) or str(error.orig))
    return error


def console_call(conn: Connection, call: str, params: Mapping[str, Any]) -> Any:
    """The single value ``SELECT <call>`` returns (e.g. ``console.pair_detail(:session, :p)``).

    A refusal rolls back only this read (a savepoint) and raises :class:`ReadRefused`.
    """
    try:
        with conn.begin_nested():
            return conn.execute(text(f"SELECT {call}"), dict(params)).scalar()
    except DBAPIError as refused:
        raise _refusal(refused) from None


def console_rows(conn: Connection, call: str, params: Mapping[str, Any]) -> Sequence[RowMapping]:
    """The rows ``SELECT * FROM <call>`` returns, as mappings; refusals as in :func:`console_call`."""
    try:
        with conn.begin_nested():
            return conn.execute(text(f"SELECT * FROM {call}"), dict(params)).mappings().all()
    except DBAPIError as refused:
        raise _refusal(refused) from None


def rows(conn: Connection, session: str | None, entry: str, statement: str,
         params: Mapping[str, Any]) -> Sequence[RowMapping]:
    """A read's rows: through the console's ``entry`` with ``session``, else the owner's ``statement``.

    ``entry`` and ``statement`` are calls in the ``console`` schema, e.g. ``sender_files(:session, :feed)``
    and ``sender_file_rows(:feed)``; ``params`` fill both (``session`` is added for the entry).
    """
    if session is None:
        return conn.execute(text(f"SELECT * FROM console.{statement}"), dict(params)).mappings().all()
    return console_rows(conn, f"console.{entry}", {"session": session, **params})


def value(conn: Connection, session: str | None, entry: str, statement: str, params: Mapping[str, Any]) -> Any:
    """A read's single value, as :func:`rows` chooses between the console's entry and the owner's statement."""
    if session is None:
        return conn.execute(text(f"SELECT console.{statement}"), dict(params)).scalar()
    return console_call(conn, f"console.{entry}", {"session": session, **params})
