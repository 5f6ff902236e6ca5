"""Sign-in with four factors (user name, password, PIN, one-time code), bearer sessions, and their audit.

Every outcome of a sign-in, a sign-out and a use of an expired session is appended to the audit chain on the
request's connection. A refusal is raised as :class:`Refused`; the request's transaction commits what the
refusal recorded (the failed attempt, the audit entry) before the error goes back (see ``deps.get_conn``).

Error messages name the factor that failed, as the issue asks ("each with a clear error"), with two limits:
an unknown user name and a wrong password give the same answer (no list of valid user names can be drawn
from the API; an unknown name costs the same argon2 verification), and a locked account answers "locked"
before any factor is checked (no guessing while locked). Naming the PIN or the one-time code only tells
someone who already holds the password, and every failure counts towards the lock-out.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, status
from pyotp.utils import strings_equal
from sqlalchemy import Connection, text

from warehouse import audit, users

SESSION_MINUTES = 15
"""Lifetime of a session token; a reader signs in again after it."""
LOCK_AFTER = 5
"""Failed sign-ins in a row that lock an account."""
LOCK_MINUTES = 15
"""How long a locked account stays locked."""
TOTP_WINDOW = 1
"""One-time codes of the previous and next 30-second step are accepted too (clock drift)."""

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


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random secret, verified for unknown user names so they take as long as a wrong password."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _verify(stored_hash: str | None, secret: str) -> bool:
    try:
        return stored_hash is not None and _hasher().verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def matched_step(secret: str, code: str, at: datetime) -> int | None:
    """The 30-second time step ``code`` is valid for at ``at`` (within one step either side), or None.

    The step, not the code, is what replay protection compares. (pyotp 2.12 has ``verify_and_get_timecode``;
    the project allows ``pyotp>=2.9``, which does not, so the window is searched here.)
    """
    totp = pyotp.TOTP(secret)
    if not totp.verify(code, for_time=at, valid_window=TOTP_WINDOW):
        return None
    now_step = totp.timecode(at)
    for step in range(now_step - TOTP_WINDOW, now_step + TOTP_WINDOW + 1):
        if strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def _record(conn: Connection, username: str, role: str | None, action: str, **detail: Any) -> None:
    audit.append(conn, username=username, role=role, action=action, detail=detail)


def _fail(conn: Connection, username: str, role: str | None, reason: str, message: str) -> Refused:
    """Count a failed attempt (locking the account at the limit), audit it and build the refusal."""
    attempts = users.record_failed_attempt(conn, username, lock_after=LOCK_AFTER, lock_minutes=LOCK_MINUTES)
    _record(conn, username, role, "sign_in_failed", reason=reason, failed_attempts=attempts)
    if attempts >= LOCK_AFTER:
        message += f"; account locked for {LOCK_MINUTES} minutes after {attempts} failed sign-ins"
    return Refused(status.HTTP_401_UNAUTHORIZED, message)


def sign_in(conn: Connection, *, username: str, password: str, pin: str, one_time_code: str,
            now: datetime) -> NewSession:
    """Check the four factors in order and open a session, or raise :class:`Refused` (audited).

    The one-time code's time step is accepted with an atomic compare-and-set in the database, so one code
    signs in once however many requests race with it (pyotp alone accepts a code again within its window).
    """
    creds = users.get_credentials(conn, username)
    if creds is None:
        _verify(_dummy_hash(), password)
        _record(conn, username, None, "sign_in_failed", reason="password", known_user=False)
        raise Refused(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    role = creds["role"]
    locked_until = creds.get("locked_until")
    if locked_until is not None and locked_until > now:
        _record(conn, username, role, "sign_in_failed", reason="locked")
        until = locked_until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise Refused(status.HTTP_423_LOCKED, f"account locked until {until}")
    if not _verify(creds["password_hash"], password):
        raise _fail(conn, username, role, "password", "wrong user name or password")
    if creds.get("disabled"):
        _record(conn, username, role, "sign_in_failed", reason="disabled")
        raise Refused(status.HTTP_401_UNAUTHORIZED, "account disabled")
    if not _verify(creds["pin_hash"], pin):
        raise _fail(conn, username, role, "pin", "wrong PIN")
    step = matched_step(creds["totp_secret"], one_time_code, now)
    if step is None:
        raise _fail(conn, username, role, "one_time_code", "one-time code is wrong or stale")
    if not users.accept_totp_step(conn, username, step):
        raise _fail(conn, username, role, "replayed_code", "one-time code already used")
    users.reset_failed_attempts(conn, username)
    token = secrets.token_urlsafe(32)
    expires_at = users.create_session(conn, username, token_hash(token), SESSION_MINUTES)
    _record(conn, username, role, "sign_in")
    return NewSession(token=token, username=username, role=role, expires_at=expires_at)


def _ended_session(conn: Connection, digest: str) -> dict[str, Any] | None:
    """Whose session a token was and why it no longer works, for the audit (None: never a session).

    ``users.session_user`` returns live sessions only; this belongs next to it in ``warehouse.users``.
    """
    row = conn.execute(text("""
        SELECT s.username, u.role,
               CASE WHEN s.revoked THEN 'revoked' WHEN u.disabled THEN 'disabled' ELSE 'expired' END AS reason
        FROM access.session s JOIN access.app_user u ON u.username = s.username
        WHERE s.token_hash = :token_hash"""), {"token_hash": digest}).mappings().first()
    return dict(row) if row is not None else None


def session_for(conn: Connection, token: str, *, now: datetime) -> SessionUser:
    """The user a bearer token signs in, or :class:`Refused` (401) for an unknown, revoked or expired one.

    Expiry is judged by the API's clock as well as the database's, so tests can move time on.
    """
    digest = token_hash(token)
    session = users.session_user(conn, digest)
    if session is not None and session["expires_at"] > now:
        return SessionUser(username=session["username"], role=session["role"], token_hash=digest, token=token)
    ended = session or _ended_session(conn, digest)
    if ended is None:
        raise Refused(status.HTTP_401_UNAUTHORIZED, "unknown session token: sign in again")
    _record(conn, ended["username"], ended["role"], "session_expired", reason=ended.get("reason", "expired"))
    raise Refused(status.HTTP_401_UNAUTHORIZED, "session expired: sign in again")


def sign_out(conn: Connection, user: SessionUser) -> None:
    """Revoke the session of this request and audit the sign-out."""
    users.revoke_session(conn, user.token_hash)
    _record(conn, user.username, user.role, "sign_out")
