"""What the parser fuzzing draws from: hostile snippets and byte mutations, field values, well-formed files
with arbitrary values, and valid prologues; ``fuzz_settings`` makes every run draw the same examples.
"""

from __future__ import annotations

import os
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from connectors.parsers.csv_feed import MAX_ROW_CHARS
from schemas.connexions import CONNEXIONS_COLUMNS
from schemas.gp import GP_COLUMNS
from schemas.ics import ICS_COLUMNS
from tests.factories import (
    connexions_row,
    csv_file,
    ctf,
    ecaf_file,
    gp_row,
    ics_row,
    notification,
    pupil,
    valid_nhs_number,
    valid_upn,
)
from tests.unit.connectors.parser_contract import connexions_ids, ecaf_ids, ics_ids

SCALE = float(os.environ.get("CP_FUZZ_SCALE", "1"))


def fuzz_settings(examples: int) -> settings:
    """Deterministic, database-less settings: the same examples on every run and every machine."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


HOSTILE: tuple[bytes, ...] = (
    b"<!DOCTYPE x>",
    b'<!DOCTYPE CTfile [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b"&x;", b"&b;", b"&#0;", b"&#x1;", b"&amp;", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?pi x?>",
    b"<", b">", b"</", b"/>", b"<x>", b"</x>", b"<Pupil>", b"</Pupil>", b"<Notification>", b"</Notification>",
    b'<x xmlns="urn:other">', b"<p:x/>", b"<p:", b"xmlns:p='urn:p'",
    b'<?xml version="1.0" encoding="UTF-16"?>', b'<?xml version="1.1"?>',
    b"\x00", b"\x00\x00\x00\x00", b"\xff", b"\xfe\xff", b"\xef\xbb\xbf", b"\xc3", b"\xc3(", b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x1b[0m", b"\x0b", b"\x0c", b"\x1c", b"\x85", "\u2028".encode(),
    b'"', b'""', b",", b",,,,,,", b"\n", b"\r", b"\r\n", b"\r\n\r\n", b"\t",
    "²".encode(), "١٢٣".encode(), "Zoë".encode(), "\U0001f600".encode(), "\u202e".encode(),
    b"2026-02-29", b"2026-11-26", b"1999-01-01", b"0000-00-00", b"9" * 30, b"-1", b"M", b"X", b"Y", b"maybe",
    b"../../etc/passwd", b"BFPO 123", b"ZZ99 3VZ",
    b"A" * 101, b"A" * 201, b"1" * 5000, b"x" * (MAX_ROW_CHARS + 1), b"x" * 1_000_000,
)


MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 30), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 30)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 30), st.integers(1, 300)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 30),
              st.one_of(st.sampled_from(HOSTILE), st.binary(min_size=1, max_size=24))),
)


def mutate(content: bytes, mutations: list[tuple[Any, ...]]) -> bytes:
    """Apply byte flips, truncations, deletions and insertions, each at a position within the file."""
    data = bytearray(content)
    for kind, position, *rest in mutations:
        at = position % (len(data) + 1)
        if kind == "flip" and at < len(data):
            data[at] ^= rest[0]
        elif kind == "truncate":
            del data[at:]
        elif kind == "delete":
            del data[at: at + rest[0]]
        elif kind == "insert":
            data[at:at] = rest[0]
    return bytes(data)


# Text that XML 1.0 can carry (no controls, surrogates or non-characters), so structured files stay well formed.
XML_TEXT_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")


INTERESTING_VALUES = (
    "", " ", "  \t ", "x" * 101, "x" * 201, "x" * 5000, "²", "١٢", "Zoë", "O'Brien", "Smith-Jones",
    "2026-02-29", "2024-02-29", "2026-11-25", "2026-11-26", "2001-11-25", "2001-11-24", "2026-13-01",
    "26-11-2026", "2026-1-1", "M", "f", "U", "I", "X", "Y", "N", "true", "FALSE", "1", "0", "maybe",
    "add", "UPDATE", "deregister", "death", "left_england", "open", "close", "completed", "closed",
    "social_care", "sexual_health", "mental_health", "substance_misuse", "other", "unknown_service",
    "372", "919", "37", "3721", "S60 1AA", "s601aa", "BFPO 123", "ZZ99 3VZ", "GIR 0AA", "C84001", "c84001",
    "9990000018", "999 000 0018", "9990000017", "A372200125001", "5634616009", "PAR", "car", "XYZ",
)


FIELD_TEXT = st.one_of(
    st.sampled_from(INTERESTING_VALUES),
    st.text(XML_TEXT_CHARS, max_size=30),
    st.text(XML_TEXT_CHARS, min_size=95, max_size=260),
)


def _overrides(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names), FIELD_TEXT, max_size=5)


PUPIL_FIELDS = ("UPN", "Surname", "Forename", "DOB", "Sex", "MiddleNames", "PostCode", "PAON", "Street", "Town")


PUPIL_EXTRAS = (
    "", "<Gender>F</Gender>", "<UniqueLearnerNumber>5634616009</UniqueLearnerNumber>",
    "<BasicDetails><PreferredSurname>Lee</PreferredSurname><FormerSurname>Ng</FormerSurname></BasicDetails>",
    "<SchoolHistory><School><LEA>372</LEA><Estab>2001</Estab><EntryDate>2020-13-01</EntryDate></School>"
    "</SchoolHistory>",
    "<Address><AddressLines><AddressLine1>1 Oak Road</AddressLine1></AddressLines><PostCode>ZZ99 3VZ</PostCode>"
    "</Address>",
    "<StageAssessments><StageAssessment><Result>CANARY</Result></StageAssessment></StageAssessments>",
)


CONTACT_FIELDS = ("Order", "Title", "Surname", "Forename", "Relationship", "Responsibility", "PhoneNo", "Email")


def contact_xml(values: dict[str, str]) -> str:
    phone = values.pop("PhoneNo", "01709 123456")
    body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in values.items())
    return f"<Contacts><Contact>{body}<Phones><Phone><PhoneNo>{escape(phone)}</PhoneNo></Phone></Phones>" \
           "</Contact></Contacts>"


@st.composite
def school_files(draw: st.DrawFn) -> bytes:
    """A well-formed CTF whose pupils' and contacts' values are arbitrary text."""
    pupils = []
    for i in range(draw(st.integers(1, 3))):
        contact = {"Order": "1", "Surname": "Smith", "Relationship": "PAR", **draw(_overrides(CONTACT_FIELDS))}
        extra = draw(st.sampled_from(PUPIL_EXTRAS))
        values = {"UPN": valid_upn(serial=i), **draw(_overrides(PUPIL_FIELDS))}
        pupils.append(pupil(**values, contact=None, extra_xml=contact_xml(contact) + extra))
    return ctf(pupils)


@st.composite
def csv_files(draw: st.DrawFn, feed: str) -> bytes:
    """A CSV file of the feed's columns (sometimes with case-note columns) whose values are arbitrary text."""
    build, columns, ids = {
        "gp": (gp_row, GP_COLUMNS, lambda i: {"nhs_number": valid_nhs_number(999_000_000 + 11 * i)}),
        "connexions": (connexions_row, CONNEXIONS_COLUMNS, connexions_ids),
        "ics": (ics_row, ICS_COLUMNS, ics_ids),
    }[feed]
    extra = draw(st.sampled_from(((), ("notes",), ("notes", "diagnosis"))))
    rows = [build(**{**ids(i), **{name: "case" for name in extra}, **draw(_overrides(columns))})
            for i in range(1, draw(st.integers(1, 4)) + 1)]
    return csv_file(rows, columns + extra)


ECAF_FIELDS = ("NotificationId", "Event", "EventDate", "NHSNumber", "UPN", "FamilyName", "GivenName", "DateOfBirth",
               "Gender", "AddressLine1", "AddressLine2", "Postcode", "Name", "Role", "Organisation", "Phone", "Email",
               "LeadProfessional")


@st.composite
def ecaf_files(draw: st.DrawFn) -> bytes:
    """A well-formed eCAF file whose notifications' values are arbitrary text."""
    return ecaf_file([notification(**{**ecaf_ids(i), **draw(_overrides(ECAF_FIELDS))})
                      for i in range(1, draw(st.integers(1, 3)) + 1)])


def structured_files(feed: str) -> st.SearchStrategy[bytes]:
    """Well-formed files of ``feed`` with arbitrary field values."""
    if feed == "school":
        return school_files()
    if feed == "ecaf":
        return ecaf_files()
    return csv_files(feed)


PROLOGUES = {
    "school": b'<?xml version="1.0" encoding="UTF-8"?><CTfile><Header><DateTime>2026-11-01T10:00:00</DateTime>'
              b"<SourceSchool><LEA>372</LEA><Estab>2001</Estab></SourceSchool></Header><CTFpupilData><Pupil>",
    "gp": ",".join(GP_COLUMNS).encode() + b"\r\n",
    "connexions": ",".join(CONNEXIONS_COLUMNS).encode() + b"\r\n",
    "ecaf": b'<?xml version="1.0" encoding="UTF-8"?><CAFNotifications><Notification>',
    "ics": ",".join(ICS_COLUMNS).encode() + b"\r\n",
}
