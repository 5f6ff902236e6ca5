"""An archivist reads one aged-out child from the restricted archive, for a purpose the law allows.

The database checks the archivist, the purpose and the record's age, and writes the audit entry
(``archive.read_child``); a refusal is answered 403 and audited after the rollback it causes. A record
whose six years are over has had its key shredded: 410, whoever asks.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.encoders import jsonable_encoder

from directory_api.deps import ConnDep, CurrentUser
from directory_api.routes.children import CP_ID_PATTERN, ERRORS, contract_refusals
from warehouse.retention.archive import ArchiveKeyDestroyed, read_archived_child

router = APIRouter(prefix="/archive", tags=["archive"])


class ArchivePurpose(StrEnum):
    """Why an archivist may open an archived record (data management only in the record's first year)."""

    child_protection_enquiry = "child_protection_enquiry"
    serious_case_review = "serious_case_review"
    data_management = "data_management"


@router.get("/{cp_id}", responses={**ERRORS, 410: {"description": "Destroyed: its six years are over."}})
def read_archived(cp_id: Annotated[str, Path(pattern=CP_ID_PATTERN)],
                  purpose: Annotated[ArchivePurpose, Query(description="Why: recorded with your name.")],
                  user: CurrentUser, conn: ConnDep) -> dict[str, Any]:
    """An archived child's record as it left the directory (record, carers, involvements, history, source
    records), for an archivist with a lawful purpose."""
    with contract_refusals(user, action="read_archive", purpose=purpose.value, cp_id=cp_id):
        try:
            record = read_archived_child(conn, session=user.token, cp_id=cp_id, purpose=purpose.value)
        except ArchiveKeyDestroyed:
            raise HTTPException(status.HTTP_410_GONE, "destroyed: this record's six years are over") from None
    return dict(jsonable_encoder(record))
