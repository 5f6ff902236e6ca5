"""Row contract of the school feed: one CTF ``Pupil`` mapped to the canonical source record."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, ValidationError

from schemas.child import Contact, Involvement, RowIssue, RowOutcome, SourceRecord
from schemas.common import (
    DateOfBirth,
    GenderCode,
    OptionalName,
    OptionalText,
    RequiredName,
    clean_text,
    flag,
    optional_date,
)
from schemas.identifiers import is_pseudo_postcode, normalise_postcode, normalise_uln, normalise_upn

RELATIONSHIP_CODES = frozenset({"PAR", "CAR", "OTH"})


class SchoolPupilRow(BaseModel):
    """A pupil as the CTF sends it; aliases are the CTF element names, so errors name them too."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False)

    upn: OptionalText = Field(None, validation_alias="UPN")
    uln: OptionalText = Field(None, validation_alias="UniqueLearnerNumber")
    family_name: RequiredName = Field(None, validation_alias="Surname", validate_default=True)
    given_name: RequiredName = Field(None, validation_alias="Forename", validate_default=True)
    date_of_birth: DateOfBirth = Field(None, validation_alias="DOB", validate_default=True)
    # Older CTF versions say Gender, newer ones Sex.
    gender: GenderCode = Field(None, validation_alias=AliasChoices("Sex", "Gender"), validate_default=True)
    middle_names: OptionalName = Field(None, validation_alias=AliasPath("BasicDetails", "MiddleNames"))
    preferred_family_name: OptionalName = Field(
        None, validation_alias=AliasPath("BasicDetails", "PreferredSurname")
    )
    preferred_given_name: OptionalName = Field(
        None, validation_alias=AliasPath("BasicDetails", "PreferredForename")
    )
    former_family_name: OptionalName = Field(None, validation_alias=AliasPath("BasicDetails", "FormerSurname"))
    address: dict[str, Any] = Field(default_factory=dict, validation_alias="Address")
    contacts: list[dict[str, Any]] = Field(default_factory=list, validation_alias=AliasPath("Contacts", "Contact"))
    history: list[dict[str, Any]] = Field(
        default_factory=list, validation_alias=AliasPath("SchoolHistory", "School")
    )


FIELD_NAMES = {"family_name": "Surname", "given_name": "Forename", "date_of_birth": "DOB", "gender": "Sex"}


def detail(value: Any, field: str, warnings: list[RowIssue]) -> str | None:
    """An optional detail as clean text; one that breaks the rules is dropped with a warning, never fatal."""
    try:
        return clean_text(value)
    except ValueError as exc:
        warnings.append(RowIssue(field, f"{exc}; loaded without it"))
        return None


def source_key(school: str, raw_upn: str | None, row: SchoolPupilRow) -> str:
    """The school's own key for a pupil: its UPN as sent (hashed, so a mistyped UPN is not stored)."""
    basis = raw_upn or f"{row.family_name}|{row.given_name}|{row.date_of_birth}"
    return f"{school}:{hashlib.sha256(basis.upper().encode()).hexdigest()[:24]}"


def address_lines(address: dict[str, Any], warnings: list[RowIssue]) -> tuple[str | None, ...]:
    """Up to five address lines from either a BS7666 address or plain address lines."""
    bs = address.get("BS7666Address")
    if isinstance(bs, dict):
        def part(name: str) -> str | None:
            return detail(bs.get(name), f"Address/BS7666Address/{name}", warnings)

        first = " ".join(p for p in (part("PAON"), part("Street")) if p) or None
        lines = [part("SAON"), first, part("Locality"), part("Town") or part("PostTown"),
                 part("AdministrativeArea") or detail(address.get("County"), "Address/County", warnings)]
    else:
        plain = address.get("AddressLines")
        plain = plain if isinstance(plain, dict) else {}
        lines = [detail(plain.get(f"AddressLine{i}"), f"Address/AddressLines/AddressLine{i}", warnings)
                 for i in range(1, 6)]
    present = [line for line in lines if line]
    return tuple(present + [None] * (5 - len(present)))


def _contact(raw: dict[str, Any], position: int, warnings: list[RowIssue]) -> Contact:
    relationship = (detail(raw.get("Relationship"), "Contact/Relationship", warnings) or "").upper() or None
    if relationship is not None and relationship not in RELATIONSHIP_CODES:
        warnings.append(RowIssue("Contact/Relationship", "is not PAR, CAR or OTH"))
        relationship = None
    order_text = detail(raw.get("Order"), "Contact/Order", warnings)
    phones = (raw.get("Phones") or {}).get("Phone") or []
    try:
        responsibility = flag(raw.get("Responsibility"))
    except ValueError as exc:
        warnings.append(RowIssue("Contact/Responsibility", str(exc)))
        responsibility = None
    return Contact(
        # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
        contact_order=int(order_text) if order_text and order_text.isascii() and order_text.isdigit() else position,
        title=detail(raw.get("Title"), "Contact/Title", warnings),
        given_name=detail(raw.get("Forename"), "Contact/Forename", warnings),
        family_name=detail(raw.get("Surname"), "Contact/Surname", warnings),
        relationship=relationship,
        parental_responsibility=responsibility,
        phone=next((n for n in (detail(p.get("PhoneNo"), "Contact/Phones/Phone/PhoneNo", warnings)
                                for p in phones) if n), None),
        email=detail(raw.get("Email"), "Contact/Email", warnings),
    )


def _entry_date(history: list[dict[str, Any]], lea: str, estab: str) -> tuple[date | None, date | None]:
    for school in history:
        if str(school.get("LEA") or "").strip() == lea and str(school.get("Estab") or "").strip() == estab:
            try:
                return optional_date(school.get("EntryDate")), optional_date(school.get("LeavingDate"))
            except ValueError:
                return None, None
    return None, None


def validate_pupil(values: dict[str, Any], header: dict[str, Any], today: date,
                   extract_date: date | None = None) -> RowOutcome:
    """Validate one pupil; identifier and postcode failures are warnings, identity failures errors.

    ``extract_date``: the day the school extracted the file (its name says), when known.
    """
    try:
        row = SchoolPupilRow.model_validate(values, context={"today": today, "extract_date": extract_date})
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "Pupil"
            reason = str(error.get("ctx", {}).get("error") or error["msg"])
            errors.append(RowIssue(FIELD_NAMES.get(name, name), reason))
        return RowOutcome(record=None, errors=errors)

    warnings: list[RowIssue] = []
    upn = normalise_upn(row.upn)
    if row.upn and upn is None:
        warnings.append(RowIssue("UPN", "check letter or format is wrong; loaded without the UPN"))
    uln = normalise_uln(row.uln)
    if row.uln and uln is None:
        warnings.append(RowIssue("UniqueLearnerNumber", "fails its check; loaded without the ULN"))
    raw_postcode = detail(row.address.get("PostCode"), "PostCode", warnings)
    postcode = normalise_postcode(raw_postcode)
    pseudo = is_pseudo_postcode(raw_postcode)
    if raw_postcode and postcode is None and not pseudo:
        warnings.append(RowIssue("PostCode", "is not a valid postcode; loaded without it"))

    lea, estab = str(header["SourceSchool/LEA"]), str(header["SourceSchool/Estab"])
    started, ended = _entry_date(row.history, lea, estab)
    record = SourceRecord(
        source_key=source_key(lea + estab, row.upn, row),
        given_name=row.given_name,
        family_name=row.family_name,
        date_of_birth=row.date_of_birth,
        gender=row.gender,
        middle_names=row.middle_names,
        preferred_given_name=row.preferred_given_name,
        preferred_family_name=row.preferred_family_name,
        former_family_name=row.former_family_name,
        address_lines=address_lines(row.address, warnings),  # type: ignore[arg-type]
        postcode=postcode,
        no_fixed_postcode=pseudo,
        upn=upn,
        uln=uln,
        contacts=tuple(_contact(c, i, warnings) for i, c in enumerate(row.contacts, start=1)),
        involvement=Involvement(
            kind="education",
            organisation_code=lea + estab,
            organisation_name=detail(header.get("SourceSchool/SchoolName"), "Header/SourceSchool/SchoolName", warnings),
            started_on=started,
            ended_on=ended,
        ),
    )
    return RowOutcome(record=record, warnings=warnings)
