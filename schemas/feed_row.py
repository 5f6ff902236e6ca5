"""Row rules the CSV and eCAF feeds share: who the child is, how identifiers and details are
checked, how a row is keyed.

What fails on a field the hub needs to identify the child, or to know what the row means, quarantines
the row; an identifier or postcode failing its check is dropped with a warning, and so is a detail
(contact, date, flag) that cannot be read, so a typing error never hides a child from the directory.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import AliasPath, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from schemas.child import RowIssue
from schemas.common import (
    DateOfBirth,
    GenderCode,
    RequiredName,
    clean_text,
    required_text,
    spec_date,
)
from schemas.identifiers import (
    LA_CODE,
    is_pseudo_postcode,
    normalise_nhs_number,
    normalise_postcode,
    normalise_uln,
    normalise_upn,
)

T = TypeVar("T")
Row = TypeVar("Row", bound=BaseModel)
AddressLines = tuple[str | None, str | None, str | None, str | None, str | None]


class ChildRow(BaseModel):
    """Who the child is. Field names are the CSV feeds' column names; the eCAF model sets aliases.

    Identifiers and the postcode are kept as sent here and checked by ``identity``; a feed that does
    not send one of them never fills it.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=False)

    family_name: RequiredName = Field(None, validate_default=True)
    given_name: RequiredName = Field(None, validate_default=True)
    date_of_birth: DateOfBirth = Field(None, validate_default=True)
    gender: GenderCode = Field(None, validate_default=True)
    nhs_number: str | None = None
    upn: str | None = None
    uln: str | None = None
    postcode: str | None = None


def one_of(*codes: str) -> Callable[[Any], str]:
    """A validator for a code that decides what a row means: present and one of ``codes`` (any case)."""
    def check(value: Any) -> str:
        text = required_text(value, 40)
        if text.lower() not in codes:
            raise ValueError(f"is not one of {', '.join(codes)}")
        return text.lower()
    return check


def la_code(value: Any) -> str:
    """A local authority's 3-digit code."""
    text = required_text(value, 10)
    if not LA_CODE.match(text):
        raise ValueError("is not a 3-digit local authority code")
    return text


RequiredDate = Annotated[date, BeforeValidator(spec_date)]
LaCode = Annotated[str, BeforeValidator(la_code)]


def sender_name(model: type[BaseModel], name: str) -> str:
    """A field's name as the sender knows it: its column, or its element path."""
    info = model.model_fields.get(name)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasPath):
        return "/".join(str(part) for part in alias.path)
    return alias if isinstance(alias, str) else name


def parse_row(model: type[Row], values: dict[str, Any], today: date,
              extract_date: date | None = None) -> tuple[Row | None, list[RowIssue]]:
    """The row as ``model`` reads it, or the quarantine reasons, each naming the field as sent.

    ``extract_date``: the day the sender extracted the file (its name says), when known.
    """
    try:
        return model.model_validate(values, context={"today": today, "extract_date": extract_date}), []
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            loc = error["loc"]
            # A missing field is reported by its Python name, a bad value by the path it came from.
            name = sender_name(model, str(loc[0])) if len(loc) == 1 else "/".join(str(p) for p in loc) or "row"
            issues.append(RowIssue(name, str(error.get("ctx", {}).get("error") or error["msg"])))
        return None, issues


def la_mismatch(row_la: str, sender: str) -> list[RowIssue]:
    """A row of a per-LA file must belong to the LA that sent the file."""
    if row_la == sender:
        return []
    return [RowIssue("la_code", f"is not the sender {sender[:40]} named in the file name")]


def as_sent(value: str | None) -> str | None:
    """What the sender wrote, stripped; None when blank."""
    return (value.strip() or None) if value else None


IDENTIFIER_CHECKS: tuple[tuple[str, Callable[[str | None], str | None], str], ...] = (
    ("nhs_number", normalise_nhs_number, "fails its check (10 digits, modulus 11); loaded without the NHS number"),
    ("upn", normalise_upn, "check letter or format is wrong; loaded without the UPN"),
    ("uln", normalise_uln, "fails its check; loaded without the ULN"),
)


def identity(row: ChildRow, warnings: list[RowIssue]) -> dict[str, Any]:
    """The ``SourceRecord`` fields naming the child; an identifier or postcode failing its check is left out."""
    fields: dict[str, Any] = {
        "given_name": row.given_name, "family_name": row.family_name,
        "date_of_birth": row.date_of_birth, "gender": row.gender,
    }
    for name, normalise, reason in IDENTIFIER_CHECKS:
        raw = as_sent(getattr(row, name))
        fields[name] = normalise(raw)
        if raw and fields[name] is None:
            warnings.append(RowIssue(sender_name(type(row), name), reason))
    raw_postcode = as_sent(row.postcode)
    fields["postcode"] = normalise_postcode(raw_postcode)
    fields["no_fixed_postcode"] = is_pseudo_postcode(raw_postcode)
    if raw_postcode and fields["postcode"] is None and not fields["no_fixed_postcode"]:
        warnings.append(RowIssue(sender_name(type(row), "postcode"), "is not a valid postcode; loaded without it"))
    return fields


def optional(row: BaseModel, name: str, parse: Callable[[Any], T | None], warnings: list[RowIssue]) -> T | None:
    """A detail the hub does not need to identify the child; one ``parse`` refuses is left out with a warning."""
    try:
        return parse(getattr(row, name))
    except ValueError as exc:
        warnings.append(RowIssue(sender_name(type(row), name), f"{exc}; loaded without it"))
        return None


def address_lines(row: BaseModel, names: tuple[str, ...], warnings: list[RowIssue]) -> AddressLines:
    """The named fields as up to five address lines, in order, blank ones closed up."""
    lines = [line for name in names if (line := optional(row, name, clean_text, warnings))] + [None] * 5
    return lines[0], lines[1], lines[2], lines[3], lines[4]


def source_key(scope: str, identifier: str | None, row: ChildRow, *qualifiers: str | None) -> str:
    """The sender's key for a record, hashed so that a mistyped identifier in it is never stored.

    ``identifier`` is the sender's own key for the child as sent (checked or not); without one, the
    child's names and date of birth stand in. ``qualifiers`` tell apart records of one child (services).
    """
    basis = as_sent(identifier) or f"{row.family_name}|{row.given_name}|{row.date_of_birth}"
    text = "|".join("".join((part or "").split()).upper() for part in (basis, *qualifiers))
    return f"{scope}:{hashlib.sha256(text.encode()).hexdigest()[:24]}"
