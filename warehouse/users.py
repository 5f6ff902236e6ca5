"""People who may use the directory: their secrets, entitlements, lock-out, one-time codes and sessions.

Passwords and PINs are stored as argon2 hashes (argon2-cffi's PasswordHasher); the TOTP secret is
stored as is, because the server must compute codes from it. The sign-in flow itself (which factor
is checked when) belongs to the directory API; these are the atomic pieces it needs. Nothing here
commits: call them inside the caller's transaction.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import bcrypt
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, text

from contactpoint.roles import ROLES, Role
from warehouse.db import acting_as

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
"""A user name's form (``access.app_user``'s check): anything else names no account."""
UNKNOWN_USER = "(unknown)"
"""What the audit trail says for a sign-in under a name that is no account: the typed text is never kept
(it may be a child's name, or 200,000 characters)."""


def valid_username(username: str) -> bool:
    """Whether ``username`` has the form of a user name (checked before any lookup or audit)."""
    return bool(USERNAME.fullmatch(username))

_hasher = PasswordHasher()
BCRYPT_COST = 10
"""bcrypt's cost for passwords and PINs: the database checks them at sign-in (pgcrypto's crypt)."""


def verify_secret(stored_hash: str, given: str) -> bool:
    """Whether ``given`` is the secret behind ``stored_hash`` (False on any mismatch or bad hash).

    bcrypt hashes (made by the database since migration 0014; bcrypt reads at most 72 bytes) and the
    argon2 hashes made before it are both understood here; the database's sign-in checks bcrypt only.
    """
    try:
        if stored_hash.startswith("$2"):
            return bcrypt.checkpw(given.encode()[:72], stored_hash.encode())
        return _hasher.verify(stored_hash, given)
    except (ValueError, VerificationError, InvalidHashError):
        return False


def add_user(conn: Connection, *, username: str, display_name: str, role: str, password: str, pin: str,
             may_see_shielded: bool = False, may_see_sensitive: bool = False) -> str:
    """Create a user; returns the new TOTP secret (show it once, as a provisioning URI)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if not password or not pin:
        raise ValueError("a user needs a password and a PIN")
    secret = pyotp.random_base32()
    conn.execute(text("""
        INSERT INTO access.app_user (username, display_name, role, may_see_shielded, may_see_sensitive,
                                     password_hash, pin_hash, totp_secret)
        VALUES (:username, :display_name, :role, :shielded, :sensitive,
                crypto.crypt(:password, crypto.gen_salt('bf', :cost)), crypto.crypt(:pin, crypto.gen_salt('bf', :cost)),
                :secret)"""),
        {"username": username, "display_name": display_name, "role": role, "shielded": may_see_shielded,
         "sensitive": may_see_sensitive, "password": password, "pin": pin, "cost": BCRYPT_COST,
         "secret": secret})
    return secret


def provisioning_uri(username: str, secret: str, issuer: str = "ContactPoint Hub") -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def set_entitlements(conn: Connection, username: str, *, may_see_shielded: bool, may_see_sensitive: bool) -> None:
    """Grant or withdraw the shielded and sensitive entitlements; LookupError for an unknown user."""
    updated = conn.execute(text("""
        UPDATE access.app_user SET may_see_shielded = :shielded, may_see_sensitive = :sensitive
        WHERE username = :username"""),
        {"username": username, "shielded": may_see_shielded, "sensitive": may_see_sensitive}).rowcount
    if not updated:
        raise LookupError(f"no user {username}")


def disable_user(conn: Connection, username: str) -> None:
    """Disable a user and end their sessions at once; LookupError for an unknown user."""
    updated = conn.execute(text("UPDATE access.app_user SET disabled = true WHERE username = :username"),
                           {"username": username}).rowcount
    if not updated:
        raise LookupError(f"no user {username}")
    conn.execute(text("UPDATE access.session SET revoked = true WHERE username = :username"),
                 {"username": username})


def get_credentials(conn: Connection, username: str) -> dict[str, Any] | None:
    """Everything sign-in needs about a user (hashes, TOTP secret and step, lock state), or None."""
    row = conn.execute(text("""
        SELECT username, display_name, role, may_see_shielded, may_see_sensitive, password_hash, pin_hash,
               totp_secret, last_totp_step, failed_attempts, locked_until, disabled,
               coalesce(locked_until > now(), false) AS locked
        FROM access.app_user WHERE username = :username"""), {"username": username}).mappings().first()
    return dict(row) if row is not None else None


def lock_for_sign_in(conn: Connection, username: str) -> dict[str, Any] | None:
    """:func:`get_credentials` with the user's row locked until the caller's transaction ends, so that
    racing sign-ins for one user are counted one after another (None for an unknown user)."""
    row = conn.execute(text("""
        SELECT username, display_name, role, may_see_shielded, may_see_sensitive, password_hash, pin_hash,
               totp_secret, last_totp_step, failed_attempts, locked_until, disabled
        FROM access.app_user WHERE username = :username FOR UPDATE"""), {"username": username}).mappings().first()
    return dict(row) if row is not None else None


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Every user without any secret: name, role, entitlements, state."""
    return [dict(r) for r in conn.execute(text("""
        SELECT username, display_name, role, may_see_shielded, may_see_sensitive, disabled,
               coalesce(locked_until > now(), false) AS locked, failed_attempts, created_at
        FROM access.app_user ORDER BY username""")).mappings()]


def standing(conn: Connection, username: str) -> dict[str, Any] | None:
    """A user's name, role, and whether disabled and entitled to shielded children (no secret), or None."""
    row = conn.execute(text("SELECT username, role, disabled, may_see_shielded FROM access.app_user "
                            "WHERE username = :u"), {"u": username}).mappings().first()
    return dict(row) if row is not None else None


def steward_may_see_shielded(conn: Connection, username: str) -> bool:
    """Whether ``username`` names an enabled steward entitled to shielded children."""
    found = standing(conn, username)
    return bool(found and found["role"] == Role.STEWARD and found["may_see_shielded"] and not found["disabled"])


def record_failed_attempt(conn: Connection, username: str, *, lock_after: int = 5, lock_minutes: int = 15) -> int:
    """Count a failed sign-in; the ``lock_after``-th in a row locks the user for ``lock_minutes``.

    One UPDATE, so racing failures all count. Returns the count (0 for an unknown user).
    """
    count = conn.execute(text("""
        UPDATE access.app_user
        SET failed_attempts = failed_attempts + 1,
            locked_until = CASE WHEN failed_attempts + 1 >= :lock_after
                                THEN now() + make_interval(mins => CAST(:lock_minutes AS integer)) ELSE locked_until END
        WHERE username = :username
        RETURNING failed_attempts"""),
        {"username": username, "lock_after": lock_after, "lock_minutes": lock_minutes}).scalar()
    return int(count or 0)


def reset_failed_attempts(conn: Connection, username: str) -> None:
    """Clear the failure count and any lock (after a full sign-in, or by an administrator).

    Check the lock *before* verifying secrets: this clears it.
    """
    conn.execute(text("UPDATE access.app_user SET failed_attempts = 0, locked_until = NULL WHERE username = :u"),
                 {"u": username})


def accept_totp_step(conn: Connection, username: str, step: int) -> bool:
    """Use a one-time code's time step once: True only for the first use of a step newer than any before.

    pyotp's ``verify()`` accepts a code again within its window; this compare-and-set is atomic, so of
    any number of racing requests with one code exactly one wins (the others wait for its row lock
    and then see the step taken). Pass the step the code matched (``totp.timecode(moment)``).
    """
    accepted = conn.execute(text("""
        UPDATE access.app_user SET last_totp_step = :step
        WHERE username = :username AND last_totp_step < :step AND NOT disabled
        RETURNING 1"""), {"username": username, "step": step}).first()
    return accepted is not None


def create_session(conn: Connection, username: str, token_hash: str, ttl_minutes: int) -> datetime:
    """Store a session under the hash of its token (never the token); returns when it expires."""
    return conn.execute(text("""
        INSERT INTO access.session (token_hash, username, expires_at)
        VALUES (:token_hash, :username, now() + make_interval(mins => CAST(:ttl AS integer)))
        RETURNING expires_at"""), {"token_hash": token_hash, "username": username, "ttl": ttl_minutes}).scalar_one()


def session_user(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """The user of a live session (not expired, not revoked, user not disabled), or None."""
    row = conn.execute(text("""
        SELECT u.username, u.display_name, u.role, u.may_see_shielded, u.may_see_sensitive, s.expires_at
        FROM access.session s JOIN access.app_user u ON u.username = s.username
        WHERE s.token_hash = :token_hash AND NOT s.revoked AND s.expires_at > now() AND NOT u.disabled"""),
        {"token_hash": token_hash}).mappings().first()
    return dict(row) if row is not None else None


def revoke_session(conn: Connection, token_hash: str) -> None:
    """End a session (sign-out); unknown tokens are ignored."""
    conn.execute(text("UPDATE access.session SET revoked = true WHERE token_hash = :token_hash"),
                 {"token_hash": token_hash})


def live_session(conn: Connection, token: str, *, role: str | None = None) -> dict[str, Any] | None:
    """The user of a live session by its token (``access.session_of``, a definer function), or None.

    ``role``: the database role to ask as (the console's ``cp_console``, which reads no table).
    """
    with acting_as(conn, role):
        row = conn.execute(text("SELECT * FROM access.session_of(:t)"), {"t": token}).mappings().first()
    return dict(row) if row is not None else None


def sign_out(conn: Connection, token: str, *, role: str | None = None) -> bool:
    """End the session of ``token`` at once, audited (``access.sign_out``); False when it was not live."""
    with acting_as(conn, role):
        return bool(conn.execute(text("SELECT access.sign_out(:t)"), {"t": token}).scalar())


def open_session(conn: Connection, *, username: str, password: str, pin: str, one_time_code: str, now: datetime,
                 role: str | None = None) -> dict[str, Any]:
    """``access.sign_in`` (``warehouse/sql/functions/05_sign_in.sql``): the new session (``token``,
    ``username``, ``role``, ``expires_at``) or ``{"refused": true}``; the attempt and its audit are written
    either way. ``role``: the database role to call it as (the console's ``cp_console``)."""
    with acting_as(conn, role):
        return dict(conn.execute(text("SELECT access.sign_in(:u, :p, :pin, :code, :now)"), {
            "u": username, "p": password, "pin": pin, "code": one_time_code, "now": now}).scalar_one())


def ended_session(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    """Whose session a token was and why it no longer works (``reason``: revoked, disabled or expired), for
    the audit; None when it never was a session. :func:`session_user` returns live sessions only."""
    row = conn.execute(text("""
        SELECT s.username, u.role,
               CASE WHEN s.revoked THEN 'revoked' WHEN u.disabled THEN 'disabled' ELSE 'expired' END AS reason
        FROM access.session s JOIN access.app_user u ON u.username = s.username
        WHERE s.token_hash = :token_hash"""), {"token_hash": token_hash}).mappings().first()
    return dict(row) if row is not None else None


def audit_ended_session(conn: Connection, token: str) -> None:
    """Audit a console token that no longer signs anyone in under its own user (``console.session_ended``;
    nothing for a token that never was a session)."""
    conn.execute(text("SELECT console.session_ended(:t)"), {"t": token})


def bind_session(conn: Connection, token: str) -> None:
    """Make ``token`` this transaction's session: steward actions in it must be its user's (migration 0011's
    trigger)."""
    conn.execute(text("SELECT set_config('contactpoint.session', :t, true)"), {"t": token})
