"""Row contract of the connexions feed: one young person known to an LA's Connexions service (CSV)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from schemas.child import Involvement, RowIssue, RowOutcome, SourceRecord
from schemas.common import clean_text, flag, optional_date
from schemas.feed_row import ChildRow, LaCode, address_lines, identity, la_mismatch, optional, parse_row, source_key

CONNEXIONS_COLUMNS = (
    "client_id", "upn", "uln", "family_name", "given_name", "date_of_birth", "gender", "address_line_1",
    "address_line_2", "town", "postcode", "la_code", "adviser_name", "adviser_phone", "adviser_email",
    "involvement_start", "involvement_end", "consent_extend_to_19",
)


class ConnexionsRow(ChildRow):
    """A Connexions client: the young person, their personal adviser and the LA's service."""

    client_id: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    town: str | None = None
    la_code: LaCode = Field(None, validate_default=True)
    adviser_name: str | None = None
    adviser_phone: str | None = None
    adviser_email: str | None = None
    involvement_start: str | None = None
    involvement_end: str | None = None
    consent_extend_to_19: str | None = None


def validate_connexions_row(values: dict[str, Any], sender: str, today: date, extract_date: date | None = None
                            ) -> RowOutcome:
    """Validate one Connexions row and map it to the canonical record (a connexions involvement).

    The file is one LA's full snapshot, so the row's ``la_code`` must be the sender's; the key is the
    LA's ``client_id`` (names and date of birth without one).
    """
    row, errors = parse_row(ConnexionsRow, values, today, extract_date)
    if row is None or (errors := la_mismatch(row.la_code, sender)):
        return RowOutcome(record=None, errors=errors)
    warnings: list[RowIssue] = []
    record = SourceRecord(
        source_key=source_key(row.la_code, row.client_id, row),
        **identity(row, warnings),
        address_lines=address_lines(row, ("address_line_1", "address_line_2", "town"), warnings),
        consent_extend_to_19=optional(row, "consent_extend_to_19", flag, warnings),
        involvement=Involvement(
            kind="connexions",
            organisation_code=row.la_code,
            practitioner_name=optional(row, "adviser_name", clean_text, warnings),
            phone=optional(row, "adviser_phone", clean_text, warnings),
            email=optional(row, "adviser_email", clean_text, warnings),
            started_on=optional(row, "involvement_start", optional_date, warnings),
            ended_on=optional(row, "involvement_end", optional_date, warnings),
        ),
    )
    return RowOutcome(record=record, warnings=warnings)
