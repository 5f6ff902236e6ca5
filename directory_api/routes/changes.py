"""The change feed: what changed since a cursor, as signals only (a kind and ContactPoint IDs).

A front end polls ``GET /changes?after=<cursor>``, re-reads each child named through ``/children/{cp_id}``
(where the contract masks and audits), and keeps ``next_cursor`` for its next poll. An event never carries
a child's data, so the feed itself needs no masking and is not audited per poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from directory_api.routes.children import ERRORS, Credentials, answer, bearer_token
from warehouse import contract
from warehouse.changes import MAX_PAGE

router = APIRouter(prefix="/changes", tags=["changes"])

# Front-end systems keep their copies fresh from the feed; a person has no need of every ID that
# changed, and the feed would let one list the directory without a single search (issue 13): the
# database answers 403 to any session but a service account's (directory.api_changes).


class ChangePublic(BaseModel):
    """One signal. ``ids_merged``: ``cp_id`` kept, ``other_cp_id`` retired (reading it answers
    "superseded by" ``cp_id``). ``id_split``: ``other_cp_id`` was split off ``cp_id``."""

    cursor: int = Field(description="This event's position in the feed.")
    kind: str = Field(examples=["child_changed", "ids_merged", "id_split", "merge_undone", "split_undone",
                                "id_archived"])
    cp_id: str
    other_cp_id: str | None = None
    recorded_at: datetime


class ChangesPublic(BaseModel):
    """A page of the feed, oldest first; pass ``next_cursor`` as ``after`` next time (the same value
    comes back when nothing is new)."""

    data: list[ChangePublic]
    count: int
    next_cursor: int


@router.get("", responses=ERRORS, response_model=ChangesPublic)
async def read_changes(credentials: Credentials,
                 after: Annotated[int, Query(ge=0, description="The last cursor you saw (0: from the start).")] = 0,
                 limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many events.")] = 100,
                 ) -> Response:
    """Events after ``after``, in order: front ends re-read each child named through the read contract.
    For front-end systems' service accounts only (the database checks the session's role)."""
    return answer(*await contract.api_changes(session_token=bearer_token(credentials), after=after, limit=limit))
