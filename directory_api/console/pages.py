"""The console's own pages: home, sign-in, sign-out and the stylesheet."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from directory_api import auth
from directory_api.console import session
from directory_api.console.session import ConsoleUserDep
from directory_api.deps import ClockDep, ConsoleConnDep
from matching import stewardship
from warehouse import operations_days, users

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only, never another site (open redirect)."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


@router.get("/static/console.css")
def stylesheet() -> Response:
    """The console's stylesheet, served by the hub itself."""
    return Response((session.STATIC / "console.css").read_bytes(), media_type="text/css",
                    headers={"Cache-Control": "max-age=300"})


@router.get("/")
def home(request: Request, user: ConsoleUserDep, conn: ConsoleConnDep) -> Response:
    """Where a signed-in user lands: the day at a glance (for stewards and data teams), with links."""
    glance = operations_days.day_at_a_glance(conn, session=user.session_token) if user.runs_operations else None
    entries = stewardship.review_entries(conn, per_page=1, may_see_shielded=user.may_see_shielded,
                                         session=user.session_token) if user.is_steward else None
    return session.render(request, "home.html", {"user": user, "nav": "home", "glance": glance, "entries": entries})


def _sign_in_page(request: Request, *, error: str | None, next_path: str, status_code: int = 200) -> Response:
    form_token = secrets.token_urlsafe(24)
    response = session.render(request, "sign_in.html",
                              {"user": None, "error": error, "next": next_path, "form_token": form_token},
                              status_code=status_code)
    response.set_cookie(session.SIGN_IN_COOKIE, form_token, max_age=900, httponly=True, samesite="strict",
                        secure=session.secure_cookie(), path="/console")
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form: user name, password, PIN and the current one-time code."""
    return _sign_in_page(request, error=None, next_path=safe_next(next))


@router.post("/sign-in")
def sign_in(request: Request, conn: ConsoleConnDep, clock: ClockDep,
            username: Annotated[str, Form()], password: Annotated[str, Form()], pin: Annotated[str, Form()],
            one_time_code: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = "",
            next: Annotated[str, Form()] = "/console/") -> Response:
    """Sign in with the directory's four factors; the session token goes into an HttpOnly cookie."""
    expected = request.cookies.get(session.SIGN_IN_COOKIE)
    if not expected or not csrf_token or not secrets.compare_digest(expected, csrf_token):
        return _sign_in_page(request, error="The form expired: please try again.", next_path=safe_next(next),
                             status_code=status.HTTP_403_FORBIDDEN)
    try:
        opened = auth.sign_in(conn, username=username.strip(), password=password, pin=pin.strip(),
                              one_time_code=one_time_code.strip(), now=clock())  # as the console's login: no table
    except auth.Refused as refused:
        # Commit the failed attempt and its audit entry (get_conn commits on Refused only): do it here,
        # because the answer is a page, not the refusal.
        conn.commit()
        conn.begin()
        return _sign_in_page(request, error=str(refused.detail), next_path=safe_next(next),
                             status_code=refused.status_code)
    response = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(session.SESSION_COOKIE, opened.token, max_age=auth.SESSION_MINUTES * 60, httponly=True,
                        samesite="strict", secure=session.secure_cookie(), path="/console")
    response.delete_cookie(session.SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
def sign_out(conn: ConsoleConnDep, user: ConsoleUserDep, request: Request,
             csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session at once (audited) and forget the cookie."""
    session.check_csrf(csrf_token, user)
    token = request.cookies.get(session.SESSION_COOKIE)
    if token is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "no session")
    users.sign_out(conn, token)
    response = RedirectResponse("/console/sign-in", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(session.SESSION_COOKIE, path="/console")
    return response
