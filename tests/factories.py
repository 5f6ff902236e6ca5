"""Builders for test inputs: valid identifiers, CTF pupils and files, drop-zone uploads."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from schemas.identifiers import nhs_check_digit, upn_check_letter

_serial = itertools.count(1)


def valid_upn(la: str = "372", estab: str = "2001", year: str = "25", serial: int | None = None) -> str:
    """A permanent UPN whose check letter holds."""
    body = f"{la}{estab}{year}{(serial if serial is not None else next(_serial)) % 1000:03d}"
    letter = upn_check_letter(body)
    assert letter is not None
    return letter + body


def valid_nhs_number(start: int = 999_000_000) -> str:
    """The first valid synthetic NHS number at or after ``start`` (nine-digit body)."""
    for body in range(start, 999_999_999):
        check = nhs_check_digit(f"{body:09d}")
        if check is not None:
            return f"{body:09d}{check}"
    raise AssertionError("no valid NHS number")


def pupil(**overrides: Any) -> dict[str, Any]:
    """A valid pupil as element values; ``extra_xml`` adds raw elements (case data, unknown elements)."""
    values: dict[str, Any] = {
        "UPN": valid_upn(), "Surname": "Smith-Jones", "Forename": "Alfie", "DOB": "2016-03-04", "Sex": "M",
        "MiddleNames": "James", "PostCode": "S60 1AA", "PAON": "12", "Street": "Oak Road", "Town": "Rotherham",
        "contact": ("Jane", "Smith-Jones", "PAR", "01709 123456"), "extra_xml": "",
    }
    values.update(overrides)
    return values


def _element(name: str, value: Any) -> str:
    return "" if value is None else f"<{name}>{escape(str(value))}</{name}>"


def pupil_xml(p: dict[str, Any], lea: str = "372", estab: str = "2001") -> str:
    """One ``Pupil`` element."""
    contact = ""
    if p.get("contact"):
        given, family, relationship, phone = p["contact"]
        contact = (f"<Contacts><Contact><Order>1</Order>{_element('Surname', family)}{_element('Forename', given)}"
                   f"<Relationship>{relationship}</Relationship><Responsibility>true</Responsibility>"
                   f"<Phones><Phone><PhoneNo>{escape(phone)}</PhoneNo></Phone></Phones></Contact></Contacts>")
    return (
        "<Pupil>" + _element("UPN", p.get("UPN")) + _element("Surname", p.get("Surname"))
        + _element("Forename", p.get("Forename")) + _element("DOB", p.get("DOB")) + _element("Sex", p.get("Sex"))
        + "<BasicDetails>" + _element("MiddleNames", p.get("MiddleNames")) + "</BasicDetails>"
        + "<Address><BS7666Address>" + _element("PAON", p.get("PAON")) + _element("Street", p.get("Street"))
        + _element("Town", p.get("Town")) + "</BS7666Address>" + _element("PostCode", p.get("PostCode"))
        + "</Address>" + contact
        + f"<SchoolHistory><School><LEA>{lea}</LEA><Estab>{estab}</Estab><SchoolName>Oak Primary</SchoolName>"
        + "<EntryDate>2020-09-01</EntryDate></School></SchoolHistory>"
        + p.get("extra_xml", "") + "</Pupil>"
    )


def ctf(pupils: list[dict[str, Any]], lea: str = "372", estab: str = "2001",
        stamp: str = "2026-11-01T10:00:00", prologue: str = "") -> bytes:
    """A whole CTF file for one school."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + prologue
        + "<CTfile><Header><DocumentName>Common Transfer File</DocumentName><CTFversion>25.0</CTFversion>"
        + f"<DateTime>{stamp}</DateTime><DocumentQualifier>full</DocumentQualifier><SupplierID>SIMS</SupplierID>"
        + f"<SourceSchool><LEA>{lea}</LEA><Estab>{estab}</Estab><URN>123456</URN>"
        + "<SchoolName>Oak Primary</SchoolName><AcademicYear>2026</AcademicYear></SourceSchool></Header>"
        + "<CTFpupilData>" + "".join(pupil_xml(p, lea, estab) for p in pupils) + "</CTFpupilData></CTfile>"
    ).encode()


def school_file_name(lea: str = "372", estab: str = "2001", stamp: str = "20261101T100000", seq: int = 1) -> str:
    """A spec-conforming school file name."""
    return f"school_{lea}{estab}_{stamp}_{seq}.xml"


def drop(dropzone: Path, feed: str, name: str, content: bytes) -> Path:
    """Upload as a sender does: write ``NAME.part``, then rename to ``NAME``."""
    inbound = dropzone / "inbound" / feed
    inbound.mkdir(parents=True, exist_ok=True)
    part = inbound / f"{name}.part"
    part.write_bytes(content)
    return part.rename(inbound / name)
