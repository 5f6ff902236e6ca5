"""Who is using the console, what they may open, and how its pages are drawn.

The console signs people in with the directory API's own :func:`directory_api.auth.sign_in` (four factors,
lock-out, audit, one-use codes) and keeps the session token in a cookie instead of a bearer header: HttpOnly
(no script reads it), SameSite=Strict (no other site's page sends it) and Secure unless
``CONTACTPOINT_CONSOLE_SECURE_COOKIE=false`` (plain-http development and tests). Sessions last as long as
the API's (15 minutes).

Every POST form carries a CSRF token derived from the session token with HMAC, so it needs no storage,
changes with every sign-in, and cannot be computed by a page that cannot read the HttpOnly cookie.
The sign-in form, which has no session yet, uses a double-submit token in its own short-lived cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from contactpoint.roles import Role
from contactpoint.settings import get_settings
from directory_api import auth
from directory_api.deps import ClockDep, ConsoleConnDep
from warehouse import users

SESSION_COOKIE = "cp_console"
"""The cookie holding the console's session token."""
SIGN_IN_COOKIE = "cp_console_sign_in"
"""The cookie holding the sign-in form's double-submit CSRF token (no session exists yet)."""
STEWARD_ROLE = Role.STEWARD
DATA_TEAM_ROLE = Role.DATA_TEAM
OPERATIONS_ROLES = (STEWARD_ROLE, DATA_TEAM_ROLE)

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

SECURITY_HEADERS = {
    # Nothing but the console's own stylesheet: no script at all, no CDN, charts are inline SVG.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # pages may show a child's details: keep them out of shared caches and history
}


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in person behind a console request, with what the database lets them see."""

    username: str
    display_name: str
    role: str
    may_see_shielded: bool
    may_see_sensitive: bool
    csrf_token: str
    session_token: str = field(default="", repr=False)
    """The session itself, for the database's session-taking functions (never shown, never logged)."""

    @property
    def is_steward(self) -> bool:
        """Whether the steward pages are open to this user."""
        return self.role == STEWARD_ROLE

    @property
    def runs_operations(self) -> bool:
        """Whether the operations pages (feeds, files, quarantine) are open to this user."""
        return self.role in OPERATIONS_ROLES


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session: an HMAC keyed by the (secret, HttpOnly) session token."""
    return hmac.new(session_token.encode(), b"contactpoint-console-csrf", hashlib.sha256).hexdigest()


def check_csrf(form_token: str | None, user: ConsoleUser) -> None:
    """Refuse (403) a POST whose form does not carry the session's CSRF token."""
    if not form_token or not secrets.compare_digest(form_token, user.csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form's security token is missing or stale: reload the page")


def secure_cookie() -> bool:
    """Whether console cookies are marked Secure (only sent over https)."""
    return get_settings().console_secure_cookie


class SignInAgain(auth.Refused):
    """Send the browser to the sign-in page; a :class:`~directory_api.auth.Refused`, so what the refusal
    audited (an expired session) is committed by ``deps.get_conn``."""

    def __init__(self, request: Request) -> None:
        super().__init__(status.HTTP_303_SEE_OTHER, "sign in to use the console")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.headers = {"Location": f"/console/sign-in?next={quote(target, safe='')}"}


def _console_user(request: Request, conn: ConsoleConnDep, clock: ClockDep) -> ConsoleUser:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInAgain(request)
    live = users.live_session(conn, token)  # the request already runs as the console's role
    if live is None or live["expires_at"] <= clock():
        # The database audits an expired or revoked session under its own user (nothing for a made-up token).
        users.audit_ended_session(conn, token)
        raise SignInAgain(request)
    users.bind_session(conn, token)
    return ConsoleUser(username=live["username"], display_name=live["display_name"], role=live["role"],
                       may_see_shielded=bool(live["may_see_shielded"]),
                       may_see_sensitive=bool(live["may_see_sensitive"]), csrf_token=csrf_for(token),
                       session_token=token)


def require_console_user(user: Annotated[ConsoleUser, Depends(_console_user)]) -> ConsoleUser:
    """Any signed-in console user; the browser is sent to the sign-in page otherwise."""
    return user


def require_steward(user: Annotated[ConsoleUser, Depends(_console_user)]) -> ConsoleUser:
    """A signed-in steward; any other role gets 403."""
    if not user.is_steward:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this page is for data stewards")
    return user


def require_operations(user: Annotated[ConsoleUser, Depends(_console_user)]) -> ConsoleUser:
    """A signed-in data team member or steward; any other role gets 403."""
    if not user.runs_operations:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this page is for data teams and data stewards")
    return user


ConsoleUserDep = Annotated[ConsoleUser, Depends(require_console_user)]
StewardDep = Annotated[ConsoleUser, Depends(require_steward)]
OperationsDep = Annotated[ConsoleUser, Depends(require_operations)]

@dataclass(frozen=True)
class NavLink:
    """An entry of the console's navigation bar."""

    key: str
    label: str
    href: str
    stewards_only: bool = False
    operations: bool = False  # open to the data team too (and to stewards)

    def open_to(self, user: ConsoleUser) -> bool:
        """Whether ``user`` may open the page this entry links to."""
        if self.operations:
            return user.runs_operations
        return user.is_steward or not self.stewards_only


NAV_LINKS: list[NavLink] = [NavLink("review", "Review queue", "/console/review", stewards_only=True)]
"""The navigation bar, in order; a page module adds its own entry with :func:`add_nav_link` when imported."""


def add_nav_link(link: NavLink) -> None:
    """Add a page to the navigation bar (once; importing a module twice does not duplicate it)."""
    if all(existing.key != link.key for existing in NAV_LINKS):
        NAV_LINKS.append(link)


_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                           trim_blocks=True, lstrip_blocks=True)


def render(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    """A console page: the template under ``console/templates`` with autoescaping and the security headers.

    ``context`` should carry ``user`` (a :class:`ConsoleUser`) for the navigation and the forms' CSRF token,
    and ``nav`` (a :class:`NavLink` key) to mark the current page.
    """
    user = context.get("user")
    nav_items = [link for link in NAV_LINKS if isinstance(user, ConsoleUser) and link.open_to(user)]
    page = _environment.get_template(template).render({"request": request, "nav_items": nav_items, **context})
    return HTMLResponse(page, status_code=status_code, headers=SECURITY_HEADERS)


def read_refused(request: Request, refused: Exception) -> HTMLResponse:
    """A console read the database refused after the page's own checks passed (the session was revoked or
    the role changed between them, in another transaction): 403 with the database's reason, never a 500."""
    return render(request, "steward/refused.html", {"user": None, "message": str(refused), "back": "/console/sign-in"},
                  status_code=status.HTTP_403_FORBIDDEN)

