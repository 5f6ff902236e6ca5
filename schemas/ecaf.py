"""Row contract of the ecaf feed: one Common Assessment notification (XML ``Notification``).

The hub records that an assessment exists and who to contact, never its content: the model reads
the child, the event and the practitioner, nothing else. Aliases are the spec's element paths, so
errors and warnings name the field as the sender knows it (``Child/DateOfBirth``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AliasGenerator, AliasPath, BeforeValidator, ConfigDict, Field

from schemas.child import Involvement, RowIssue, RowOutcome, SourceRecord
from schemas.common import clean_text, flag
from schemas.feed_row import ChildRow, RequiredDate, address_lines, identity, one_of, optional, parse_row, source_key

EVENTS = ("completed", "updated", "closed")
ADDRESS_FIELDS = tuple(f"address_line_{i}" for i in range(1, 6))
ELEMENTS: dict[str, str | AliasPath] = {
    "notification_id": "NotificationId", "event": "Event", "event_date": "EventDate",
    **{name: AliasPath("Child", element) for name, element in (
        ("nhs_number", "NHSNumber"), ("upn", "UPN"), ("family_name", "FamilyName"), ("given_name", "GivenName"),
        ("date_of_birth", "DateOfBirth"), ("gender", "Gender"), ("postcode", "Postcode"))},
    **{name: AliasPath("Child", "Address", f"AddressLine{i}") for i, name in enumerate(ADDRESS_FIELDS, start=1)},
    **{name: AliasPath("Practitioner", element) for name, element in (
        ("practitioner_name", "Name"), ("practitioner_role", "Role"), ("organisation", "Organisation"),
        ("phone", "Phone"), ("email", "Email"), ("lead_professional", "LeadProfessional"))},
}


class EcafRow(ChildRow):
    """A CAF notification: the child, what happened to the assessment and when, and its practitioner."""

    model_config = ConfigDict(alias_generator=AliasGenerator(validation_alias=lambda name: ELEMENTS.get(name, name)))

    notification_id: str | None = None
    event: Annotated[str, BeforeValidator(one_of(*EVENTS))] = Field(None, validate_default=True)
    event_date: RequiredDate = Field(None, validate_default=True)
    address_line_1: str | None = None
    address_line_2: str | None = None
    address_line_3: str | None = None
    address_line_4: str | None = None
    address_line_5: str | None = None
    practitioner_name: str | None = None
    # Read as the spec names it; not stored until the canonical Involvement has a role.
    practitioner_role: str | None = None
    organisation: str | None = None
    phone: str | None = None
    email: str | None = None
    lead_professional: str | None = None


def validate_ecaf_row(values: dict[str, Any], sender: str, today: date, extract_date: date | None = None
                      ) -> RowOutcome:
    """Validate one notification and map it to the canonical record (a CAF involvement).

    One record per child per sender (names and date of birth, which every notification carries):
    each event replaces the last, so ``updated`` names the current practitioner and ``closed`` ends
    the involvement. Every event says an assessment was completed (a closed one was, too).
    """
    row, errors = parse_row(EcafRow, values, today, extract_date)
    if row is None:
        return RowOutcome(record=None, errors=errors)
    warnings: list[RowIssue] = []
    closed = row.event == "closed"
    record = SourceRecord(
        source_key=source_key(sender, None, row),
        **identity(row, warnings),
        address_lines=address_lines(row, ADDRESS_FIELDS, warnings),
        involvement=Involvement(
            kind="caf",
            organisation_code=sender,
            organisation_name=optional(row, "organisation", clean_text, warnings),
            practitioner_name=optional(row, "practitioner_name", clean_text, warnings),
            phone=optional(row, "phone", clean_text, warnings),
            email=optional(row, "email", clean_text, warnings),
            started_on=None if closed else row.event_date,
            ended_on=row.event_date if closed else None,
            lead_professional=optional(row, "lead_professional", flag, warnings) or False,
            caf_completed=True,
        ),
    )
    return RowOutcome(record=record, warnings=warnings)
