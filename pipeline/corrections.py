"""The data team's corrections: a quarantined row, corrected, released into staging.

A released row passes the same row contract as a row in a file (the feed's own, from the registry), is staged
with the lineage of the file it came in (so precedence by extract time still holds: a newer file's word about
the child is not overwritten), and its quarantine row is marked released, never deleted: what the sender sent
stays as evidence. Every release is audited with who and why (who: the data team member the session signs in,
as the database says); the audit detail names the corrected fields, never their values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection

from connectors.feeds import FEEDS
from contactpoint.roles import Role
from warehouse import audit
from warehouse.corrections import (
    data_team_member,
    mark_released,
    organisation_of_file,
    quarantined_row,
    record_id_of,
    staged_from_file,
)
from warehouse.staging import Lineage, mark_snapshot_presence, stage_records
from warehouse.steward_actions import NotEntitled

DATA_TEAM_ROLE = Role.DATA_TEAM


class ReleaseRefused(ValueError):
    """A release the row contract or the quarantine will not allow, and why."""


def corrected_values(raw: Mapping[str, Any], corrections: Mapping[str, Any]) -> dict[str, Any]:
    """The row as sent with the data team's corrections over it; a correction may only name a field the
    row has (a typo in a field name would otherwise pass silently as an extra column)."""
    unknown = sorted(set(corrections) - set(raw))
    if unknown:
        raise ReleaseRefused(f"the row has no field {', '.join(unknown)}; fields: {', '.join(sorted(raw))}")
    return {**raw, **corrections}


def _judged(conn: Connection, values: dict[str, Any], lineage: Lineage, today: date) -> Any:
    """The feed's row contract on a released row, judged as its file was: in the context the file gave its
    rows, and refusing a birth date after the file's extract date."""
    feed = FEEDS[lineage.feed]
    organisation = organisation_of_file(conn, lineage.file_id) if feed.release_context else None
    extracted = lineage.extract_time.date() if lineage.extract_time else None
    return feed.contract()(values, feed.context_for_release(lineage.sender, organisation), today, extracted)


def release_quarantined_row(conn: Connection, file_id: int, row_number: int, corrections: Mapping[str, Any], *,
                            reason: str, today: date, by: str | None = None, session: str | None = None) -> int:
    """Validate the corrected row, stage it with its file's lineage, mark the quarantine row released and
    audit it; returns the staged record's id. Raises :class:`ReleaseRefused` (nothing changed) if the
    corrected row still fails, the law keeps it out, or it was already released, or when ``session`` (or, for
    the hub's tools, ``by``) is not a live data team member's (``warehouse.corrections.data_team_member``)."""
    if not reason.strip():
        raise ReleaseRefused("a release needs a reason")
    found = quarantined_row(conn, file_id, row_number)
    if found is None:
        raise ReleaseRefused(f"row {row_number} of file {file_id} is not in quarantine")
    if found.released_at is not None:
        raise ReleaseRefused(f"row {row_number} of {found.file_name} was released "
                             f"at {found.released_at:%Y-%m-%d %H:%M}")
    try:
        by = data_team_member(conn, session=session, by=by)
    except NotEntitled as refused:
        raise ReleaseRefused(str(refused)) from None
    lineage = Lineage(found.feed, found.sender, file_id, found.extract_time, found.sequence)
    outcome = _judged(conn, corrected_values(found.raw, corrections), lineage, today)
    if outcome.withheld:
        raise ReleaseRefused("the law keeps this row out (a sensitive service without consent): it cannot be released")
    if outcome.record is None:
        raise ReleaseRefused("the corrected row still fails: " + "; ".join(f"{e.field}: {e.reason}"
                                                                            for e in outcome.errors))
    record = outcome.record
    if staged_from_file(conn, found.feed, record.source_key, file_id):
        raise ReleaseRefused("the same child is already loaded from this file (a repeated row): nothing to release")
    stage_records(conn, lineage, [(row_number, record)])
    if FEEDS[found.feed].full_snapshot:
        # A row released from an older roll than the sender's newest is a child that has since left.
        mark_snapshot_presence(conn, lineage)
    record_id = record_id_of(conn, found.feed, record.source_key)
    mark_released(conn, file_id, row_number)
    audit.append(conn, username=by, role=DATA_TEAM_ROLE, action="quarantine_released", purpose=reason.strip(),
                 detail={"feed": found.feed, "file_id": file_id, "row": row_number, "record_id": record_id,
                         "corrected_fields": sorted(corrections), "warnings": len(outcome.warnings)})
    return record_id
