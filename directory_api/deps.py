"""What a route can ask for: the request's database transaction, the clock, the signed-in user.

``ConnDep``: one transaction per request, committed before the response is sent (``scope="function"``: a
failed commit is a 500, never a 200 for work that was lost), rolled back on error, except that a
:class:`~directory_api.auth.Refused` commits first, so a refused sign-in keeps its failed attempt and its
audit entry (a refusal by the database, which aborts the transaction, writes its entry after the rollback).
At most ``DB_SLOTS`` requests hold a connection at once; the others wait on the event loop. Without that
bound an overload deadlocks: every worker thread blocks waiting for a pooled connection while the requests
holding the connections wait for a worker thread to run their next step.
``ConsoleConnDep``: the same, on the console's own login ``cp_console_login`` (no table privilege).
``ClockDep``: "now", overridable in tests (``app.dependency_overrides[get_clock]``).
``CurrentUser``: the person a bearer token signs in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated
from weakref import WeakKeyDictionary

import anyio
from fastapi import Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from directory_api import auth
from warehouse.db import console_engine, get_engine

DB_SLOTS = 10
"""Requests holding a database connection at once: below the engine's pool (5 + 10 overflow)."""

_slots: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()


def _loop_slots() -> asyncio.Semaphore:
    """The slots of the running event loop (a semaphore belongs to one loop; tests start several)."""
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(DB_SLOTS)
    return _slots[loop]


def _begin() -> Connection:
    conn = get_engine().connect()
    conn.begin()
    return conn


def _begin_console() -> Connection:
    conn = console_engine().connect()  # the console's own login: no table, no way back to the owner
    conn.begin()
    return conn


def _end(conn: Connection, commit: bool, refusal: auth.Refused | None) -> None:
    try:
        if refusal is not None and refusal.record is not None:
            conn.rollback()  # the database refused and aborted the transaction: audit in a fresh one
            conn.begin()
            refusal.record(conn)
        if commit:
            conn.commit()
        else:
            conn.rollback()
    finally:
        conn.close()


async def _finish(conn: Connection, *, commit: bool, refusal: auth.Refused | None = None) -> None:
    with anyio.CancelScope(shield=True):  # a cancelled request still gives its connection back
        await run_in_threadpool(_end, conn, commit, refusal)


@asynccontextmanager
async def _request_conn(begin: Callable[[], Connection]) -> AsyncIterator[Connection]:
    async with _loop_slots():
        conn = await run_in_threadpool(begin)
        try:
            yield conn
        except auth.Refused as refusal:
            await _finish(conn, commit=True, refusal=refusal)  # a refusal's failed attempt and audit entry stay
            raise
        except BaseException:
            await _finish(conn, commit=False)
            raise
        await _finish(conn, commit=True)


async def get_conn() -> AsyncIterator[Connection]:
    """One transaction for the whole request (see the module docstring for when it commits)."""
    async with _request_conn(_begin) as conn:
        yield conn


async def get_console_conn() -> AsyncIterator[Connection]:
    """:func:`get_conn` for a console request, on the console's own login (``cp_console_login``, migration 0017):
    a role that owns and reads no table, so every read is a definer function that takes the session."""
    async with _request_conn(_begin_console) as conn:
        yield conn


async def get_clock() -> auth.Clock:
    """The clock the API reads "now" from (one-time codes, lock-outs, session expiry)."""
    return auth.utc_now


ConnDep = Annotated[Connection, Depends(get_conn, scope="function")]
ConsoleConnDep = Annotated[Connection, Depends(get_console_conn, scope="function")]
ClockDep = Annotated[auth.Clock, Depends(get_clock)]

bearer = HTTPBearer(auto_error=False, description="The token `POST /session` returned: `Bearer <token>`.")


def current_user(conn: ConnDep, clock: ClockDep,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> auth.SessionUser:
    """The signed-in user, or 401 without a token, with an unknown one or with an expired one (audited)."""
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in: send Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    return auth.session_for(conn, credentials.credentials, now=clock())


CurrentUser = Annotated[auth.SessionUser, Depends(current_user)]
