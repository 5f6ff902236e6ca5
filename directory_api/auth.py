"""Sign-in with four factors (user name, password, PIN, one-time code), bearer sessions, and their audit.

Every outcome of a sign-in, a sign-out and a use of an expired session is appended to the audit chain on the
request's connection. A refusal is raised as :class:`Refused`; the request's transaction commits what the
refusal recorded (the failed attempt, the audit entry) before the error goes back (see ``deps.get_conn``).

Every refused sign-in gets one answer (``REFUSED``): naming the failing factor confirmed a guessed password
to whoever tried it (issue 13). The audit entry keeps the reason code for the people who review it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import Connection

from warehouse import audit, users

SESSION_MINUTES = 15
"""Lifetime of a session token; a reader signs in again after it."""
LOCK_AFTER = 5
"""Failed sign-ins in a row that lock an account."""
LOCK_MINUTES = 15
"""How long a locked account stays locked."""
TOTP_WINDOW = 1
"""One-time codes of the previous and next 30-second step are accepted too (clock drift).

These three rules are the database's (``access.sign_in``); the numbers here say them to people and tests."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock (timezone-aware, UTC); tests override ``deps.get_clock`` instead."""
    return datetime.now(UTC)


class Refused(HTTPException):
    """A refusal whose audit entry the request's transaction commits (``deps.get_conn``).

    Either the entry is already written on the request's connection (sign-in, session), or, when the
    refusal came from the database and aborted the transaction, ``record`` writes it after the rollback.
    """

    def __init__(self, status_code: int, detail: str, *, record: Callable[[Connection], object] | None = None) -> None:
        headers = {"WWW-Authenticate": "Bearer"} if status_code == status.HTTP_401_UNAUTHORIZED else None
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.record = record


@dataclass(frozen=True)
class NewSession:
    """A session just opened: the token is shown once, to its owner, and stored only as its sha256."""

    token: str
    username: str
    role: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionUser:
    """The signed-in person behind a request."""

    username: str
    role: str
    token_hash: str
    token: str = ""
    """The bearer token itself, for the database's session-taking functions (empty when not at hand)."""


def token_hash(token: str) -> str:
    """The sha256 (hex) a session token is stored and looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


def _record(conn: Connection, username: str, role: str | None, action: str, **detail: Any) -> None:
    audit.append(conn, username=username, role=role, action=action, detail=detail)


REFUSED = ("sign-in refused: the user name, password, PIN or one-time code is wrong, or the account is "
           f"resting for {LOCK_MINUTES} minutes after {LOCK_AFTER} failed sign-ins")
"""The one answer to every refused sign-in: unknown, wrong factor, replayed code, locked or disabled alike,
so an answer never confirms a user name or a guessed password (issue 13, findings 5 and 7)."""


def sign_in(conn: Connection, *, username: str, password: str, pin: str, one_time_code: str,
            now: datetime, role: str | None = None) -> NewSession:
    """Check the four factors and open a session, or raise :class:`Refused` (401, audited).

    The database does it all (``access.sign_in``, a definer function: ``warehouse/sql/functions/05_sign_in.sql``),
    so a role with no table privilege can sign people in: the attempt is counted first, under the user's
    row lock, before any secret is checked (parallel sign-ins for one user wait for each other, so no more
    than ``LOCK_AFTER`` secrets are ever checked before the lock-out, however many requests race); unknown,
    wrong and locked cost the same two bcrypt checks and answer the same words; a lock-out never ends live
    sessions; a user name that is not a real account is never written to the audit trail; a one-time
    code's time step is taken with a compare-and-set, so one code signs in once however many requests race.
    ``role``: the database role to call it as (the console's ``cp_console``).
    """
    opened = users.open_session(conn, username=username, password=password, pin=pin, one_time_code=one_time_code,
                                now=now, role=role)
    if opened.get("refused"):
        raise Refused(status.HTTP_401_UNAUTHORIZED, REFUSED)
    return NewSession(token=str(opened["token"]), username=str(opened["username"]), role=str(opened["role"]),
                      expires_at=datetime.fromisoformat(str(opened["expires_at"])))


def session_for(conn: Connection, token: str, *, now: datetime) -> SessionUser:
    """The user a bearer token signs in, or :class:`Refused` (401) for an unknown, revoked or expired one.

    Expiry is judged by the API's clock as well as the database's, so tests can move time on.
    """
    digest = token_hash(token)
    session = users.session_user(conn, digest)
    if session is not None and session["expires_at"] > now:
        return SessionUser(username=session["username"], role=session["role"], token_hash=digest, token=token)
    ended = session or users.ended_session(conn, digest)
    if ended is None:
        raise Refused(status.HTTP_401_UNAUTHORIZED, "unknown session token: sign in again")
    _record(conn, ended["username"], ended["role"], "session_expired", reason=ended.get("reason", "expired"))
    raise Refused(status.HTTP_401_UNAUTHORIZED, "session expired: sign in again")


def sign_out(conn: Connection, user: SessionUser) -> None:
    """Revoke the session of this request and audit the sign-out."""
    users.revoke_session(conn, user.token_hash)
    _record(conn, user.username, user.role, "sign_out")
