"""Row contract of the ics feed: social care involvement notifications (CSV), one event a row.

The law decides first: a sensitive service (sexual health, mental health, substance misuse) is
recorded only with the child's explicit consent. Without it the row is withheld before anything
else is looked at, so not even a quarantined copy of it is kept. A service type the hub cannot
classify might be a sensitive one, so it is treated as one: withheld without consent, and with
consent quarantined for its unknown ``service_type``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from schemas.child import Involvement, RowIssue, RowOutcome, SourceRecord
from schemas.common import clean_text, flag
from schemas.feed_row import (
    ChildRow,
    LaCode,
    RequiredDate,
    address_lines,
    identity,
    la_mismatch,
    one_of,
    optional,
    parse_row,
    source_key,
)

ICS_COLUMNS = (
    "event_id", "event", "event_date", "la_code", "nhs_number", "upn", "family_name", "given_name",
    "date_of_birth", "gender", "address_line_1", "town", "postcode", "worker_name", "team_name",
    "worker_phone", "worker_email", "service_type", "consent_sensitive", "lead_professional", "extend_to_25",
)
EVENTS = ("open", "close")
SERVICE_TYPES = ("social_care", "youth_offending", "sexual_health", "mental_health", "substance_misuse", "other")
SENSITIVE_SERVICES = frozenset({"sexual_health", "mental_health", "substance_misuse"})
# Involvement kind per service type; every other service is kind "other" and keeps its service_type.
SERVICE_KINDS = {"social_care": "social_care"}


class IcsRow(ChildRow):
    """An ICS event: the child, the service and team, the worker to contact, and whether it opens or closes."""

    event_id: str | None = None
    event: Annotated[str, BeforeValidator(one_of(*EVENTS))] = Field(None, validate_default=True)
    event_date: RequiredDate = Field(None, validate_default=True)
    la_code: LaCode = Field(None, validate_default=True)
    address_line_1: str | None = None
    town: str | None = None
    worker_name: str | None = None
    team_name: str | None = None
    worker_phone: str | None = None
    worker_email: str | None = None
    service_type: Annotated[str, BeforeValidator(one_of(*SERVICE_TYPES))] = Field(None, validate_default=True)
    consent_sensitive: str | None = None
    lead_professional: str | None = None
    extend_to_25: str | None = None


def is_withheld(values: dict[str, Any]) -> bool:
    """Whether the law keeps the row out: a sensitive (or unclassifiable) service without consent."""
    service = " ".join(str(values.get("service_type") or "").split()).lower()
    if service in SERVICE_TYPES and service not in SENSITIVE_SERVICES:
        return False
    try:
        return flag(values.get("consent_sensitive")) is not True
    except ValueError:
        return True  # consent that cannot be read is not consent


def validate_ics_row(values: dict[str, Any], sender: str, today: date, extract_date: date | None = None
                     ) -> RowOutcome:
    """Withhold, quarantine or map one ICS event to the canonical record (a service's involvement).

    The key is the LA, the child (names and date of birth, which every event carries), the service
    type and the team, so a ``close`` event ends the involvement its ``open`` began.
    """
    if is_withheld(values):
        # Read only to find the key: a consented record of this same service is withdrawn with it.
        withheld_row, _ = parse_row(IcsRow, values, today, extract_date)
        key = source_key(withheld_row.la_code, None, withheld_row, withheld_row.service_type,
                         withheld_row.team_name) if withheld_row is not None else None
        return RowOutcome(record=None, withheld=True, withdraws=key)
    row, errors = parse_row(IcsRow, values, today, extract_date)
    if row is None or (errors := la_mismatch(row.la_code, sender)):
        return RowOutcome(record=None, errors=errors)
    warnings: list[RowIssue] = []
    optional(row, "consent_sensitive", flag, warnings)  # consent was decided above; this only reports a bad value
    opens = row.event == "open"
    record = SourceRecord(
        source_key=source_key(row.la_code, None, row, row.service_type, row.team_name),
        **identity(row, warnings),
        address_lines=address_lines(row, ("address_line_1", "town"), warnings),
        extend_to_25=optional(row, "extend_to_25", flag, warnings),
        involvement=Involvement(
            kind=SERVICE_KINDS.get(row.service_type, "other"),
            organisation_code=row.la_code,
            organisation_name=optional(row, "team_name", clean_text, warnings),
            practitioner_name=optional(row, "worker_name", clean_text, warnings),
            phone=optional(row, "worker_phone", clean_text, warnings),
            email=optional(row, "worker_email", clean_text, warnings),
            started_on=row.event_date if opens else None,
            ended_on=None if opens else row.event_date,
            lead_professional=optional(row, "lead_professional", flag, warnings) or False,
            service_type=row.service_type,
            sensitive=row.service_type in SENSITIVE_SERVICES,
        ),
    )
    return RowOutcome(record=record, warnings=warnings)
