"""The canonical source record every feed row becomes, and the outcome of validating a row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict

INVOLVEMENT_KINDS = ("education", "primary_care", "connexions", "caf", "social_care", "other")


class Contact(BaseModel):
    """A parent, carer or other contact of the child, as a feed sent it."""

    model_config = ConfigDict(frozen=True)

    contact_order: int
    title: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    relationship: str | None = None
    parental_responsibility: bool | None = None
    phone: str | None = None
    email: str | None = None


class Involvement(BaseModel):
    """A service working with the child: who to contact and since when. Never what they do."""

    model_config = ConfigDict(frozen=True)

    kind: str
    organisation_code: str
    organisation_name: str | None = None
    practitioner_name: str | None = None
    phone: str | None = None
    email: str | None = None
    started_on: date | None = None
    ended_on: date | None = None
    lead_professional: bool = False
    # ics: social_care, youth_offending, sexual_health, mental_health, substance_misuse, other.
    service_type: str | None = None
    # A sensitive service (recorded only with explicit consent; most readers see "an unspecified service").
    sensitive: bool = False
    caf_completed: bool = False


class SourceRecord(BaseModel):
    """One feed's view of one child, standardised to the hub's columns (``staging.source_record``)."""

    model_config = ConfigDict(frozen=True)

    source_key: str
    given_name: str
    family_name: str
    date_of_birth: date
    gender: str
    middle_names: str | None = None
    preferred_given_name: str | None = None
    preferred_family_name: str | None = None
    former_family_name: str | None = None
    address_lines: tuple[str | None, str | None, str | None, str | None, str | None] = (None,) * 5
    postcode: str | None = None
    no_fixed_postcode: bool = False
    nhs_number: str | None = None
    upn: str | None = None
    uln: str | None = None
    restricted: bool = False
    # Retention flags as the feeds send them (None: the feed says nothing).
    consent_extend_to_19: bool | None = None
    extend_to_25: bool | None = None
    deregistered_on: date | None = None
    deregistration_reason: str | None = None
    contacts: tuple[Contact, ...] = ()
    involvement: Involvement | None = None


@dataclass(frozen=True)
class RowIssue:
    """A reason a row was quarantined or loaded with a warning, naming the field as the spec does."""

    field: str
    reason: str


@dataclass
class RowOutcome:
    """What validation made of one row: a record to load (maybe with warnings) or quarantine issues."""

    record: SourceRecord | None
    warnings: list[RowIssue] = field(default_factory=list)
    errors: list[RowIssue] = field(default_factory=list)
    withheld: bool = False
    # A withheld row about a record staged earlier with consent withdraws that consent: its source key.
    withdraws: str | None = None
