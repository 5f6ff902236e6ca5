"""Search the directory and read a child's record, through the read contract only.

The database decides what a reader may see and audits every child shown. A refusal by the contract is
answered with its own message (400 search rules or too many matches, 403 not entitled, 404 no such child)
and is audited too, after the rollback it causes (``search_refused`` / ``read_refused``, reason code only),
so repeated refused searches (someone trying to trawl the directory) show in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from directory_api.auth import Refused, SessionUser
from directory_api.deps import ConnDep, CurrentUser
from directory_api.schemas import (
    ChildRecordPublic,
    ChildrenPublic,
    ChildSearchQuery,
    ChildSummaryPublic,
    ErrorPublic,
    Purpose,
    child_record_public,
)
from warehouse import audit, contract

router = APIRouter(prefix="/children", tags=["children"])

CP_ID_PATTERN = r"^CP[0-9]{9}[A-Z]$"
# SQLSTATE of a contract refusal (see warehouse.contract) → HTTP status and the reason code audited.
REFUSALS = {
    "22023": (status.HTTP_400_BAD_REQUEST, "search_rules"),
    "54000": (status.HTTP_400_BAD_REQUEST, "too_many_matches"),
    "42501": (status.HTTP_403_FORBIDDEN, "not_allowed"),
    "P0002": (status.HTTP_404_NOT_FOUND, "no_such_child"),
    "53400": (status.HTTP_429_TOO_MANY_REQUESTS, "read_budget"),
}
ERRORS: dict[int | str, dict[str, object]] = {
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


def as_reader(conn: Connection) -> None:
    """Drop to the reader role for the rest of the request: it can run the contract's functions and
    touch no table, so even a bug in this API cannot read around the masking."""
    conn.execute(text("SET LOCAL ROLE cp_reader"))


@router.get("", responses=ERRORS)
def search_children(query: Annotated[ChildSearchQuery, Query()], conn: ConnDep, user: CurrentUser) -> ChildrenPublic:
    """Find children by the national search rules (see the parameters); at most 50, each audited."""
    criteria = query.model_dump(exclude={"purpose"})
    as_reader(conn)
    with contract_refusals(user, action="search", purpose=query.purpose):
        found = contract.session_search_children(conn, session_token=user.token, purpose=query.purpose, **criteria)
    return ChildrenPublic(data=[ChildSummaryPublic.model_validate(child) for child in found], count=len(found))


@router.get("/{cp_id}", responses=ERRORS)
def read_child(cp_id: Annotated[str, Path(pattern=CP_ID_PATTERN, description="ContactPoint ID.")],
               purpose: Annotated[Purpose, Query(description=PURPOSE_DOC)],
               conn: ConnDep, user: CurrentUser) -> ChildRecordPublic:
    """A child's record, masked for you: a shielded child shows only whom to contact; a merged-away ID
    answers ``{"cp_id": old, "superseded_by": new}`` (200). Audited."""
    as_reader(conn)
    with contract_refusals(user, action="read", purpose=purpose, cp_id=cp_id):
        record = contract.session_child_record(conn, session_token=user.token, purpose=purpose, cp_id=cp_id)
    return child_record_public(record)
