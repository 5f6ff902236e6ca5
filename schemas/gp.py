"""Row contract of the gp feed (GP registrations, CSV), on the shared rules of ``schemas.feed_row``."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from schemas.child import Involvement, RowIssue, RowOutcome, SourceRecord
from schemas.common import (
    clean_text,
    flag,
    optional_date,
    optional_name,
    spec_date,
)
from schemas.feed_row import (
    ChildRow,
    address_lines,
    as_sent,
    identity,
    one_of,
    optional,
    parse_row,
    source_key,
)
from schemas.identifiers import (
    is_ods_practice_code,
)

GP_COLUMNS = (
    "nhs_number", "family_name", "given_name", "other_given_names", "date_of_birth", "gender",
    "address_line_1", "address_line_2", "address_line_3", "address_line_4", "postcode", "practice_code",
    "practice_name", "practice_phone", "registration_date", "deregistration_date", "deregistration_reason",
    "restricted", "record_action",
)
RECORD_ACTIONS = ("add", "update", "deregister")
DEREGISTRATION_REASONS = ("death", "left_england", "other")
# A registration whose practice code fails its check still shows the child has a GP, and whom to call.
UNKNOWN_PRACTICE = "unknown"


class GpRow(ChildRow):
    """A GP registration row: the child, the practice, and what the row does (add, update, deregister)."""

    other_given_names: str | None = None
    address_line_1: str | None = None
    address_line_2: str | None = None
    address_line_3: str | None = None
    address_line_4: str | None = None
    practice_code: str | None = None
    practice_name: str | None = None
    practice_phone: str | None = None
    registration_date: str | None = None
    deregistration_date: str | None = None
    deregistration_reason: str | None = None
    restricted: str | None = None
    record_action: Annotated[str, BeforeValidator(one_of(*RECORD_ACTIONS))] = Field(None, validate_default=True)


def _deregistration(row: GpRow, warnings: list[RowIssue]) -> tuple[date | None, str | None, list[RowIssue]]:
    """When and why a deregistration ends the registration; it must say both to be loaded."""
    if row.record_action != "deregister":
        for name in ("deregistration_date", "deregistration_reason"):
            if as_sent(getattr(row, name)):
                warnings.append(RowIssue(name, "ignored: record_action is not deregister"))
        return None, None, []
    errors: list[RowIssue] = []
    reason = ended = None
    try:
        reason = one_of(*DEREGISTRATION_REASONS)(row.deregistration_reason)
    except ValueError as exc:
        errors.append(RowIssue("deregistration_reason", str(exc)))
    try:
        ended = spec_date(row.deregistration_date)
    except ValueError as exc:
        errors.append(RowIssue("deregistration_date", str(exc)))
    return ended, reason, errors


def _restricted(row: GpRow, warnings: list[RowIssue]) -> bool:
    try:
        return flag(row.restricted) or False
    except ValueError as exc:
        # Fail safe: shielding a child by mistake hides details; exposing a restricted child can harm.
        warnings.append(RowIssue("restricted", f"{exc}; treated as Y, so the child stays shielded"))
        return True


def _practice_code(row: GpRow, warnings: list[RowIssue]) -> str:
    code = (as_sent(row.practice_code) or "").upper()
    if is_ods_practice_code(code):
        return code
    problem = "is not an ODS practice code (a letter and five digits)" if code else "is missing"
    warnings.append(RowIssue("practice_code", f"{problem}; loaded with practice code {UNKNOWN_PRACTICE!r}"))
    return UNKNOWN_PRACTICE


def validate_gp_row(values: dict[str, Any], sender: str, today: date, extract_date: date | None = None
                    ) -> RowOutcome:
    """Validate one GP registration row and map it to the canonical record (the child's primary care).

    The key is the sender's NHS number for the child (names and date of birth without one), not the
    practice: a delta feed's update or deregistration then replaces the child's registration.
    """
    row, errors = parse_row(GpRow, values, today, extract_date)
    if row is None:
        return RowOutcome(record=None, errors=errors)
    warnings: list[RowIssue] = []
    ended, reason, errors = _deregistration(row, warnings)
    if errors:
        return RowOutcome(record=None, errors=errors)
    record = SourceRecord(
        source_key=source_key(sender, row.nhs_number, row),
        **identity(row, warnings),
        middle_names=optional(row, "other_given_names", optional_name, warnings),
        address_lines=address_lines(row, ("address_line_1", "address_line_2", "address_line_3", "address_line_4"),
                                     warnings),
        restricted=_restricted(row, warnings),
        deregistered_on=ended,
        deregistration_reason=reason,
        involvement=Involvement(
            kind="primary_care",
            organisation_code=_practice_code(row, warnings),
            organisation_name=optional(row, "practice_name", clean_text, warnings),
            phone=optional(row, "practice_phone", clean_text, warnings),
            started_on=optional(row, "registration_date", optional_date, warnings),
            ended_on=ended,
        ),
    )
    return RowOutcome(record=record, warnings=warnings)
