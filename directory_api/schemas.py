"""What the directory API accepts and answers (pydantic); ``...Public`` models are what goes out.

The shapes of a child follow the read contract (``warehouse.contract``): masking happens in the database,
so a field a reader may not see arrives as null or is absent, never filtered here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contactpoint.purposes import CASE_REFERENCE_PATTERN, READ_PURPOSES

ReadPurpose = Literal[READ_PURPOSES]  # type: ignore[valid-type]
"""One of the purposes the law allows (``contactpoint.purposes``; the database checks the same list)."""
CaseReference = Annotated[str, StringConstraints(pattern=CASE_REFERENCE_PATTERN, max_length=40)]
CASE_REFERENCE_DOC = "Your case or referral number (optional; 1-40 letters, digits, /._-): audited with the purpose."
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ErrorPublic(BaseModel):
    """Every refusal: a message that says what failed."""

    detail: str = Field(examples=["wrong PIN"])


class SessionCreate(BaseModel):
    """The four factors of a sign-in."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", description="User name.",
                          examples=["jdoe"])
    password: str = Field(min_length=1, max_length=1024, description="Password.",
                          examples=["correct horse battery"])
    pin: str = Field(min_length=1, max_length=64, description="PIN.", examples=["2468"])
    # Not restricted to six digits here: a malformed code is a failed sign-in (counted, audited), not a 422.
    one_time_code: str = Field(min_length=1, max_length=16, description="Current code of the security token.",
                               examples=["492039"])


class SessionPublic(BaseModel):
    """A new session: send ``Authorization: Bearer <token>`` with every request until ``expires_at``."""

    token: str = Field(description="Shown once; the hub stores only its sha256.",
                       examples=["q3Vx9mT0c8n1s2AbCdEfGhIjKlMnOpQrStUvWxYz0123"])
    token_type: Literal["bearer"] = "bearer"
    username: str = Field(examples=["jdoe"])
    role: str = Field(examples=["reader"])
    expires_at: datetime = Field(description="15 minutes after sign-in; then sign in again with a new code.",
                                 examples=["2026-12-04T10:15:00Z"])


class ChildSearchQuery(BaseModel):
    """Search criteria, by the national demographics rules (a search must name a date of birth).

    Allowed: family name + date of birth; given + family name + date of birth (names then match as
    prefixes of three or more letters too); family name + date of birth + gender + postcode; given name +
    date of birth + gender + postcode. At most 50 children come back; beyond that, refine the search.
    """

    model_config = ConfigDict(extra="forbid")

    purpose: ReadPurpose = Field(description="Why you are looking: one of the purposes the law allows (required on "
                                             "every request; recorded in the audit).")
    case_reference: CaseReference | None = Field(default=None, description=CASE_REFERENCE_DOC)
    family_name: Name | None = None
    given_name: Name | None = None
    date_of_birth: date | None = Field(default=None, description="YYYY-MM-DD.")
    gender: Literal["M", "F", "U", "I"] | None = None
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None


class ChildSummaryPublic(BaseModel):
    """A child in a search result; a shielded child you may not see has only ``cp_id`` and ``shielded``."""

    cp_id: str
    shielded: bool
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    gender: str | None = None
    postcode: str | None = None


class ChildrenPublic(BaseModel):
    """A search result (each child in it is audited as seen)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 2, "data": [
        {"cp_id": "CP738324226G", "shielded": False, "given_name": "Alfie", "family_name": "Smith-Jones",
         "date_of_birth": "2016-03-04", "gender": "M", "postcode": "S60 1AA"},
        {"cp_id": "CP476543723C", "shielded": True}]}]})

    data: list[ChildSummaryPublic]
    count: int


class CarerPublic(BaseModel):
    """A parent or carer."""

    title: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    relationship: str | None = None
    parental_responsibility: bool | None = None
    phone: str | None = None
    email: str | None = None


class InvolvementPublic(BaseModel):
    """A service working with the child. A sensitive service you are not entitled to see shows as
    ``kind: other, service: "an unspecified service"`` with only its practitioner's contact details."""

    kind: str
    service: str | None = None
    organisation_name: str | None = None
    service_type: str | None = None
    sensitive: bool | None = None
    practitioner_name: str | None = None
    phone: str | None = None
    email: str | None = None
    started_on: date | None = None
    ended_on: date | None = None
    current: bool
    lead_professional: bool
    caf_completed: bool


class ChildPublic(BaseModel):
    """A child's record."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "cp_id": "CP738324226G", "shielded": False, "given_name": "Alfie", "middle_names": "James",
        "family_name": "Smith-Jones", "date_of_birth": "2016-03-04", "gender": "M",
        "address_line_1": "12 Oak Road", "address_line_2": "Rotherham", "postcode": "S60 1AA", "died_on": None,
        "carers": [{"title": "Ms", "given_name": "Jo", "family_name": "Smith-Jones", "relationship": "mother",
                    "parental_responsibility": True, "phone": "01709 100300", "email": None}],
        "involvements": [{"kind": "gp", "service": "GP practice", "organisation_name": "Oak Surgery",
                          "service_type": None, "sensitive": False, "practitioner_name": None,
                          "phone": "01709 100200", "email": None, "started_on": "2016-03-20", "ended_on": None,
                          "current": True, "lead_professional": False, "caf_completed": False}]}]})

    cp_id: str
    shielded: bool
    given_name: str
    middle_names: str | None = None
    family_name: str
    date_of_birth: date
    gender: str
    address_line_1: str | None = None
    address_line_2: str | None = None
    address_line_3: str | None = None
    address_line_4: str | None = None
    address_line_5: str | None = None
    postcode: str | None = None
    died_on: date | None = Field(default=None, description="the child died on this date (the record stays a year)")
    carers: list[CarerPublic]
    involvements: list[InvolvementPublic]


class ContactPublic(BaseModel):
    """Whom to ask about a shielded child."""

    name: str | None = None
    organisation: str | None = None
    phone: str | None = None


class ShieldedChildPublic(BaseModel):
    """A shielded child you may not see: only whom to contact."""

    cp_id: str
    shielded: Literal[True] = True
    contact: ContactPublic | None = None


class SupersededPublic(BaseModel):
    """A ContactPoint ID merged into another: read the child under ``superseded_by``."""

    cp_id: str
    superseded_by: str


ChildRecordPublic = ChildPublic | ShieldedChildPublic | SupersededPublic


def child_record_public(record: dict[str, Any]) -> ChildRecordPublic:
    """The model for one of the read contract's three record shapes."""
    if "superseded_by" in record:
        return SupersededPublic.model_validate(record)
    if "contact" in record:
        return ShieldedChildPublic.model_validate(record)
    return ChildPublic.model_validate(record)
