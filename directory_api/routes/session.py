"""Sign in (`POST /session`) and sign out (`DELETE /session`)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from directory_api import auth
from directory_api.deps import ClockDep, ConnDep, CurrentUser
from directory_api.schemas import ErrorPublic, SessionCreate, SessionPublic

router = APIRouter(prefix="/session", tags=["session"])


@router.post(
    "", status_code=status.HTTP_201_CREATED,
    responses={401: {"model": ErrorPublic, "description": "A factor failed; the message says which."},
               423: {"model": ErrorPublic, "description": "Locked after too many failed sign-ins."}},
)
def sign_in(body: SessionCreate, conn: ConnDep, clock: ClockDep) -> SessionPublic:
    """Sign in with user name, password, PIN and the current one-time code of the security token.

    Returns a bearer token valid for a short time. Each one-time code signs in once. After five failed
    sign-ins in a row the account is locked for 15 minutes. Every attempt is audited.
    """
    opened = auth.sign_in(conn, username=body.username, password=body.password, pin=body.pin,
                          one_time_code=body.one_time_code, now=clock())
    return SessionPublic(token=opened.token, username=opened.username, role=opened.role,
                         expires_at=opened.expires_at)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT,
               responses={401: {"model": ErrorPublic, "description": "Not signed in, or the session expired."}})
def sign_out(conn: ConnDep, user: CurrentUser) -> Response:
    """Sign out: the token stops working at once. Audited."""
    auth.sign_out(conn, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
