"""Builders for test inputs: valid identifiers, CTF pupils and files, CSV and eCAF feed files, drop-zone uploads."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from connectors.feeds import FEEDS
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


# --- The CSV feeds (gp, connexions, ics) and the eCAF feed -----------------------------------------

def valid_uln(start: int = 100_000_000) -> str:
    """The first valid ULN at or after ``start`` (nine-digit body, first digit non-zero)."""
    for body in range(start, 999_999_999):
        digits = f"{body:09d}"
        check = (10 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))) % 11
        if check <= 9 and digits[0] != "0":
            return digits + str(check)
    raise AssertionError("no valid ULN")


def unique_nhs_number() -> str:
    """A valid synthetic NHS number not used before in this test session."""
    return valid_nhs_number(999_000_000 + 11 * next(_serial))


def distinct_birth_date(year: int, serial: int) -> str:
    """A date of birth in ``year`` that differs between calls, so default rows are distinct children."""
    return f"{year}-{1 + serial // 28 % 12:02d}-{1 + serial % 28:02d}"


def gp_row(**overrides: str) -> dict[str, str]:
    """A valid GP registration row (column → value); keys not in the spec become extra columns."""
    row = {
        "nhs_number": unique_nhs_number(), "family_name": "Smith-Jones", "given_name": "Alfie",
        "other_given_names": "James", "date_of_birth": "2016-03-04", "gender": "M", "address_line_1": "12 Oak Road",
        "address_line_2": "Rotherham", "address_line_3": "", "address_line_4": "", "postcode": "S60 1AA",
        "practice_code": "C84001", "practice_name": "Oak Surgery", "practice_phone": "01709 100200",
        "registration_date": "2016-03-20", "deregistration_date": "", "deregistration_reason": "",
        "restricted": "N", "record_action": "add",
    }
    row.update(overrides)
    return row


def connexions_row(**overrides: str) -> dict[str, str]:
    """A valid Connexions row of LA 372."""
    serial = next(_serial)
    row = {
        "client_id": f"CX372{serial:06d}", "upn": valid_upn(serial=serial), "uln": valid_uln(100_000_000 + 7 * serial),
        "family_name": "Okafor", "given_name": "Chidi", "date_of_birth": "2009-05-06", "gender": "F",
        "address_line_1": "3 Mill Lane", "address_line_2": "Kimberworth", "town": "Rotherham", "postcode": "S61 1AB",
        "la_code": "372", "adviser_name": "Pat Adviser", "adviser_phone": "01709 500600",
        "adviser_email": "pat.adviser@example.org", "involvement_start": "2024-09-01", "involvement_end": "",
        "consent_extend_to_19": "N",
    }
    row.update(overrides)
    return row


def ics_row(**overrides: str) -> dict[str, str]:
    """A valid ICS ``open`` event of LA 372 for a social care involvement."""
    serial = next(_serial)
    row = {
        "event_id": f"ICS372-{serial:07d}", "event": "open", "event_date": "2026-06-01", "la_code": "372",
        "nhs_number": unique_nhs_number(), "upn": "", "family_name": "Nowak", "given_name": "Lena",
        "date_of_birth": distinct_birth_date(2012, serial), "gender": "F", "address_line_1": "8 Elm Close",
        "town": "Rotherham", "postcode": "S60 2AB", "worker_name": "Sam Worker", "team_name": "Children in Need Team",
        "worker_phone": "01709 700800", "worker_email": "sam.worker@example.org", "service_type": "social_care",
        "consent_sensitive": "N", "lead_professional": "Y", "extend_to_25": "N",
    }
    row.update(overrides)
    return row


def csv_file(rows: list[dict[str, str]], columns: tuple[str, ...] | None = None) -> bytes:
    """A CSV feed file: a header (``columns``, or every key of the rows in order), then the rows."""
    header = list(columns or dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([row.get(column, "") for column in header] for row in rows)
    return out.getvalue().encode()


def notification(**overrides: Any) -> dict[str, Any]:
    """A valid eCAF notification as element values; ``extra_xml`` / ``child_extra_xml`` add raw elements."""
    serial = next(_serial)
    values: dict[str, Any] = {
        "NotificationId": f"CAF-{serial:07d}", "Event": "completed", "EventDate": "2026-10-01",
        "NHSNumber": unique_nhs_number(), "UPN": None, "FamilyName": "Begum", "GivenName": "Ayesha",
        "DateOfBirth": distinct_birth_date(2014, serial), "Gender": "F", "AddressLine1": "5 Park View",
        "AddressLine2": "Rotherham", "Postcode": "S60 3AD", "Name": "Jo Practitioner", "Role": "Health Visitor",
        "Organisation": "Rotherham Health",
        "Phone": "01709 900100", "Email": "jo.practitioner@example.org", "LeadProfessional": "true",
        "extra_xml": "", "child_extra_xml": "",
    }
    values.update(overrides)
    return values


def twin_notification(given_name: str, gender: str = "F") -> dict[str, Any]:
    """An eCAF notification without identifiers for a twin of ``gp_row()``'s and ``pupil()``'s child (same
    family name, birth date and home): nothing but a steward tells which twin it is."""
    return notification(NHSNumber=None, UPN=None, FamilyName="Smith-Jones", GivenName=given_name,
                        DateOfBirth="2016-03-04", Gender=gender, AddressLine1="12 Oak Road",
                        AddressLine2="Rotherham", Postcode="S60 1AA")


def notification_xml(n: dict[str, Any]) -> str:
    """One ``Notification`` element."""
    child = "".join(_element(name, n.get(name)) for name in ("NHSNumber", "UPN", "FamilyName", "GivenName",
                                                             "DateOfBirth", "Gender"))
    address = _element("AddressLine1", n.get("AddressLine1")) + _element("AddressLine2", n.get("AddressLine2"))
    practitioner = "".join(_element(name, n.get(name)) for name in ("Name", "Role", "Organisation", "Phone", "Email",
                                                                    "LeadProfessional"))
    return (
        "<Notification>" + _element("NotificationId", n.get("NotificationId")) + _element("Event", n.get("Event"))
        + _element("EventDate", n.get("EventDate"))
        + f"<Child>{child}<Address>{address}</Address>{_element('Postcode', n.get('Postcode'))}"
        + f"{n.get('child_extra_xml', '')}</Child><Practitioner>{practitioner}</Practitioner>"
        + n.get("extra_xml", "") + "</Notification>"
    )


def ecaf_file(notifications: list[dict[str, Any]], prologue: str = "", root_extra_xml: str = "") -> bytes:
    """A whole eCAF file."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + prologue + "<CAFNotifications>" + root_extra_xml
        + "".join(notification_xml(n) for n in notifications) + "</CAFNotifications>"
    ).encode()


def feed_file_name(feed: str, sender: str = "372", stamp: str = "20261101T100000", seq: int = 1) -> str:
    """A spec-conforming file name for any feed."""
    return f"{feed}_{sender}_{stamp}_{seq}.{FEEDS[feed].extension}"
