"""The data team's corrections: a quarantined row, corrected, released into staging.

Listing quarantined rows is ``warehouse.operations.quarantined_rows`` (reasons only, never values).

A released row passes the same row contract as a row in a file (the feed's own validator), is staged
with the lineage of the file it came in (so precedence by extract time still holds: a newer file's word
about the child is not overwritten), and its quarantine row is marked released, never deleted: what the
sender sent stays as evidence. Every release is audited with who and why (who: the data team member the
session signs in, as the database says); the audit detail names the corrected fields, never their values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from connectors.feeds import FEEDS
from contactpoint.roles import Role
from schemas.child import RowOutcome
from schemas.connexions import validate_connexions_row
from schemas.ecaf import validate_ecaf_row
from schemas.gp import validate_gp_row
from schemas.ics import validate_ics_row
from schemas.school import validate_pupil
from warehouse import audit
from warehouse.staging import Lineage, mark_snapshot_presence, stage_records
from warehouse.steward_actions import NotEntitled, tool_session

DATA_TEAM_ROLE = Role.DATA_TEAM
RowContract = Callable[[dict[str, Any], Lineage, date, Connection], RowOutcome]


def _school_header(conn: Connection, lineage: Lineage) -> dict[str, Any]:
    """What validating a pupil needs from its file's Header: the school is the sender (LEA + estab);
    its name is taken from a pupil of the same file that did load (the Header itself is not kept)."""
    name = conn.execute(text("""
        SELECT involvement ->> 'organisation_name' FROM staging.source_record
        WHERE file_id = :f AND involvement IS NOT NULL LIMIT 1"""), {"f": lineage.file_id}).scalar()
    return {"SourceSchool/LEA": lineage.sender[:3], "SourceSchool/Estab": lineage.sender[3:],
            "SourceSchool/SchoolName": name}


def _extract_date(lineage: Lineage) -> date | None:
    """A corrected row is judged as its file was: a birth date after the file's extract date is refused."""
    return lineage.extract_time.date() if lineage.extract_time else None


ROW_CONTRACTS: dict[str, RowContract] = {
    "school": lambda values, lineage, today, conn: validate_pupil(values, _school_header(conn, lineage), today,
                                                                  _extract_date(lineage)),
    "gp": lambda values, lineage, today, conn: validate_gp_row(values, lineage.sender, today, _extract_date(lineage)),
    "connexions": lambda values, lineage, today, conn: validate_connexions_row(values, lineage.sender, today,
                                                                               _extract_date(lineage)),
    "ecaf": lambda values, lineage, today, conn: validate_ecaf_row(values, lineage.sender, today,
                                                                   _extract_date(lineage)),
    "ics": lambda values, lineage, today, conn: validate_ics_row(values, lineage.sender, today, _extract_date(lineage)),
}


class ReleaseRefused(ValueError):
    """A release the row contract or the quarantine will not allow, and why."""


def corrected_values(raw: Mapping[str, Any], corrections: Mapping[str, Any]) -> dict[str, Any]:
    """The row as sent with the data team's corrections over it; a correction may only name a field the
    row has (a typo in a field name would otherwise pass silently as an extra column)."""
    unknown = sorted(set(corrections) - set(raw))
    if unknown:
        raise ReleaseRefused(f"the row has no field {', '.join(unknown)}; fields: {', '.join(sorted(raw))}")
    return {**raw, **corrections}


def data_team_member(conn: Connection, *, session: str | None, by: str | None) -> str:
    """The data team member a live ``session`` signs in, as the database finds them (``console.reader``:
    an enabled user whose role is data_team), or :class:`~warehouse.steward_actions.NotEntitled`. The hub's
    own tools, which run as the store's owner, may name the member (``by``) instead: a short session for them.
    Who released or replayed is then the database's answer, never a name typed into an audit entry."""
    if session is None:
        if not by:
            raise NotEntitled("this needs a data team member's session or name")
        session = tool_session(conn, by)
    try:
        with conn.begin_nested():
            return str(conn.execute(text("SELECT (console.reader(:s, ARRAY['data_team'])).username"),
                                    {"s": session}).scalar_one())
    except DBAPIError:
        raise NotEntitled("not allowed: this needs a live data team member's session") from None


def release_quarantined_row(conn: Connection, file_id: int, row_number: int, corrections: Mapping[str, Any], *,
                            reason: str, today: date, by: str | None = None, session: str | None = None) -> int:
    """Validate the corrected row, stage it with its file's lineage, mark the quarantine row released and
    audit it; returns the staged record's id. Raises :class:`ReleaseRefused` (nothing changed) if the
    corrected row still fails, the law keeps it out, or it was already released, or when ``session`` (or, for
    the hub's tools, ``by``) is not a live data team member's (:func:`data_team_member`)."""
    if not reason.strip():
        raise ReleaseRefused("a release needs a reason")
    found = conn.execute(text("""
        SELECT q.raw, q.released_at, f.feed, f.sender, f.extract_time, f.sequence, f.file_name
        FROM intake.quarantined_row q JOIN intake.file f USING (file_id)
        WHERE q.file_id = :f AND q.row_number = :r FOR UPDATE OF q"""), {"f": file_id, "r": row_number}).one_or_none()
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
    values = corrected_values(found.raw, corrections)
    outcome = ROW_CONTRACTS[found.feed](values, lineage, today, conn)
    if outcome.withheld:
        raise ReleaseRefused("the law keeps this row out (a sensitive service without consent): it cannot be released")
    if outcome.record is None:
        raise ReleaseRefused("the corrected row still fails: " + "; ".join(f"{e.field}: {e.reason}"
                                                                            for e in outcome.errors))
    record = outcome.record
    already = conn.execute(text("""SELECT 1 FROM staging.source_record
                                   WHERE feed = :feed AND source_key = :key AND file_id = :f"""),
                           {"feed": found.feed, "key": record.source_key, "f": file_id}).first()
    if already is not None:
        raise ReleaseRefused("the same child is already loaded from this file (a repeated row): nothing to release")
    stage_records(conn, lineage, [(row_number, record)])
    if FEEDS[found.feed].full_snapshot:
        # A row released from an older roll than the sender's newest is a child that has since left.
        mark_snapshot_presence(conn, lineage)
    record_id = int(conn.execute(
        text("SELECT record_id FROM staging.source_record WHERE feed = :feed AND source_key = :key"),
        {"feed": found.feed, "key": record.source_key}).scalar_one())
    conn.execute(text("UPDATE intake.quarantined_row SET released_at = now() WHERE file_id = :f AND row_number = :r"),
                 {"f": file_id, "r": row_number})
    audit.append(conn, username=by, role=DATA_TEAM_ROLE, action="quarantine_released", purpose=reason.strip(),
                 detail={"feed": found.feed, "file_id": file_id, "row": row_number, "record_id": record_id,
                         "corrected_fields": sorted(corrections), "warnings": len(outcome.warnings)})
    return record_id
