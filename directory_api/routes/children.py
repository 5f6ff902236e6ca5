"""Search the directory and read a child's record, through the read contract only.

These routes log in as ``cp_api`` (no table, only the ``directory.api_`` functions, migration 0013): one
autocommit statement per request takes the session token and answers the status and JSON body. The
database decides what a reader may see and audits every child shown; a refusal is answered with its own
message (400 search rules or too many matches, 403 not entitled, 404 no such child, 429 read budget) and
audited by the database (``search_refused`` / ``read_refused``, reason code only), so repeated refused
searches (someone trying to trawl the directory) show in the audit log. A purpose the law does not allow
is 422 and never reaches the audit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from contactpoint.purposes import CASE_REFERENCE_PATTERN, READ_PURPOSES
from directory_api.auth import Refused, SessionUser
from directory_api.deps import bearer
from directory_api.schemas import (
    CASE_REFERENCE_DOC,
    ChildRecordPublic,
    ChildrenPublic,
    ChildSearchQuery,
    ErrorPublic,
)
from warehouse import audit, contract

router = APIRouter(prefix="/children", tags=["children"])

CP_ID_PATTERN = r"^CP[0-9]{9}[A-Z]$"
CP_ID = re.compile(CP_ID_PATTERN)
CASE_REFERENCE = re.compile(CASE_REFERENCE_PATTERN)
# SQLSTATE of a contract refusal (see warehouse.contract) → HTTP status and the reason code audited.
REFUSALS = {
    "22023": (status.HTTP_400_BAD_REQUEST, "search_rules"),
    "54000": (status.HTTP_400_BAD_REQUEST, "too_many_matches"),
    "42501": (status.HTTP_403_FORBIDDEN, "not_allowed"),
    "P0002": (status.HTTP_404_NOT_FOUND, "no_such_child"),
    "53400": (status.HTTP_429_TOO_MANY_REQUESTS, "read_budget"),
}
ERRORS: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorPublic, "description": "A purpose the law does not allow, or a malformed parameter."},
    400: {"model": ErrorPublic, "description": "Search not allowed by the national rules, or too many matches."},
    401: {"model": ErrorPublic, "description": "Not signed in, or the session expired."},
    403: {"model": ErrorPublic, "description": "Your account may not read the directory."},
    404: {"model": ErrorPublic, "description": "No such child."},
    429: {"model": ErrorPublic, "description": "Your read budget for the hour is spent (refused and audited)."},
}
PURPOSE_DOC = "Why you are looking: required on every request, recorded with every child you see."


@contextmanager
def contract_refusals(user: SessionUser, *, action: str, purpose: str, cp_id: str | None = None) -> Iterator[None]:
    """Turn a refusal by the read contract into an HTTP error whose audit entry is written after the rollback.

    (No savepoint: the transaction holds nothing but the session lookup, and a savepoint would cost two more
    round trips on every read.)
    """
    try:
        yield
    except DBAPIError as error:
        refusal = REFUSALS.get(getattr(error.orig, "sqlstate", None) or "")
        if refusal is None:
            raise
        status_code, reason = refusal
        diag = getattr(error.orig, "diag", None)
        message = getattr(diag, "message_primary", None) or reason.replace("_", " ")

        def record(conn: Connection) -> None:
            audit.append(conn, username=user.username, role=user.role, action=f"{action}_refused", cp_id=cp_id,
                         purpose=purpose, detail={"reason": reason})

        raise Refused(status_code, message, record=record) from None


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The bearer token sent, or 401: the database judges whether it opens a session."""
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in: send Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    return credentials.credentials


def answer(status_code: int, body: str) -> Response:
    """The database's answer as it is: the JSON text it built, under its status (401 says how to sign in)."""
    headers = {"WWW-Authenticate": "Bearer"} if status_code == status.HTTP_401_UNAUTHORIZED else None
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@router.get("", responses=ERRORS, response_model=ChildrenPublic)
async def search_children(query: Annotated[ChildSearchQuery, Query()], credentials: Credentials) -> Response:
    """Find children by the national search rules (see the parameters); at most 50, each audited."""
    criteria = query.model_dump(exclude={"purpose", "case_reference"})
    return answer(*await contract.api_search_children(session_token=bearer_token(credentials), purpose=query.purpose,
                                                case_reference=query.case_reference, **criteria))


def read_parameters(cp_id: str, query: Mapping[str, str]) -> tuple[str, str | None]:
    """The purpose and case reference of a record read, or :class:`RequestValidationError` (422, FastAPI's
    shape) for a malformed ID, a purpose the law does not allow or a malformed case reference.

    Checked here, not by FastAPI's parameter declarations: solving three declared parameters and the bearer
    dependency took about 0.5 ms of CPU per read, half of the API's share of the hottest route (issue 13:
    1,000 audited reads a second on two cores). The database checks the purpose again whoever calls. Values
    are never echoed.
    """
    errors: list[dict[str, Any]] = []
    if not CP_ID.fullmatch(cp_id):
        errors.append({"type": "string_pattern_mismatch", "loc": ("path", "cp_id"),
                       "msg": f"String should match pattern '{CP_ID_PATTERN}'"})
    purpose, case_reference = query.get("purpose"), query.get("case_reference")
    if purpose is None:
        errors.append({"type": "missing", "loc": ("query", "purpose"), "msg": "Field required"})
    elif purpose not in READ_PURPOSES:
        errors.append({"type": "literal_error", "loc": ("query", "purpose"),
                       "msg": "Input should be one of the purposes the law allows: " + ", ".join(READ_PURPOSES)})
    if case_reference is not None and not CASE_REFERENCE.fullmatch(case_reference):
        errors.append({"type": "string_pattern_mismatch", "loc": ("query", "case_reference"),
                       "msg": CASE_REFERENCE_DOC})
    if errors or purpose is None:
        raise RequestValidationError(errors)
    return purpose, case_reference


READ_PARAMETERS = [
    {"name": "cp_id", "in": "path", "required": True, "description": "ContactPoint ID.",
     "schema": {"type": "string", "pattern": CP_ID_PATTERN, "title": "Cp Id"}},
    {"name": "purpose", "in": "query", "required": True, "description": PURPOSE_DOC,
     "schema": {"type": "string", "enum": list(READ_PURPOSES), "title": "Purpose"}},
    {"name": "case_reference", "in": "query", "required": False, "description": CASE_REFERENCE_DOC,
     "schema": {"type": "string", "pattern": CASE_REFERENCE_PATTERN, "maxLength": 40, "title": "Case Reference"}},
]


def bearer_of(request: Request) -> HTTPAuthorizationCredentials | None:
    """What ``HTTPBearer(auto_error=False)`` finds in the request, read without a dependency to solve."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    if not token or scheme.lower() != "bearer":
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)


@router.get("/{cp_id}", responses=ERRORS, response_model=ChildRecordPublic,
            openapi_extra={"parameters": READ_PARAMETERS, "security": [{"HTTPBearer": []}]})
async def read_child(request: Request) -> Response:
    """A child's record, masked for you: a shielded child shows only whom to contact; a merged-away ID
    answers ``{"cp_id": old, "superseded_by": new}`` (200). Audited.

    The hub's hottest route takes the bare request: its parameters and bearer token are read by
    :func:`read_parameters` and :func:`bearer_of`, documented by ``READ_PARAMETERS``."""
    cp_id = request.path_params["cp_id"]
    purpose, case_reference = read_parameters(cp_id, request.query_params)
    return answer(*await contract.api_child_record(session_token=bearer_token(bearer_of(request)), purpose=purpose,
                                                   case_reference=case_reference, cp_id=cp_id))
