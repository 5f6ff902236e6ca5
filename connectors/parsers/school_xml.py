"""Streaming reader for the school feed's Common Transfer File (CTF) XML.

Reads one ``Pupil`` at a time with the hardened parser of ``xml_safety`` and frees it, so memory
stays flat in the size of the file; any DOCTYPE rejects the file.

Only the elements the feed specification names are read; everything else in a pupil (attainment,
SEN, FSM, attendance, ethnicity, medical flags, unknown elements) is skipped without reading its
value, and only its name is reported so the receipt can say it was dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from connectors.parsers import FileRejected, ParsedFile, ParsedRow
from connectors.parsers.xml_safety import Shape, XmlEvents, check_root, free, localname, read_shape

ADDRESS: Shape = {
    "BS7666Address": {
        "SAON": None, "PAON": None, "Street": None, "Locality": None, "Town": None,
        "AdministrativeArea": None, "PostTown": None, "UniquePropertyReferenceNumber": None,
    },
    "AddressLines": {f"AddressLine{i}": None for i in range(1, 6)},
    "County": None,
    "PostCode": None,
}
CONTACT: Shape = {
    "Order": None, "Title": None, "Surname": None, "Forename": None, "Relationship": None,
    "Responsibility": None, "AddressAsPupil": None, "Phones": {"Phone": ({"PhoneNo": None},)},
    "Email": None,
}
PUPIL: Shape = {
    "UPN": None, "UniqueLearnerNumber": None, "Surname": None, "Forename": None, "DOB": None,
    "Sex": None, "Gender": None,
    "BasicDetails": {
        "MiddleNames": None, "PreferredSurname": None, "PreferredForename": None,
        "FormerSurname": None, "FormerForename": None,
    },
    "Address": ADDRESS,
    "Contacts": {"Contact": (CONTACT,)},
    "SchoolHistory": {"School": ({
        "LEA": None, "Estab": None, "SchoolName": None, "EntryDate": None, "LeavingDate": None,
    },)},
}
HEADER: Shape = {
    "DocumentName": None, "CTFversion": None, "DateTime": None, "DocumentQualifier": None,
    "SupplierID": None,
    "SourceSchool": {"LEA": None, "Estab": None, "URN": None, "SchoolName": None, "AcademicYear": None},
}
REQUIRED_HEADER = ("SourceSchool/LEA", "SourceSchool/Estab", "DateTime")


@dataclass
class CtfFile:
    """A CTF being read: its header, then its pupils one at a time."""

    header: dict[str, Any]
    rows: Iterator[ParsedRow]
    header_dropped: list[str] = field(default_factory=list)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_ctf(stream: IO[bytes]) -> CtfFile:
    """Open a CTF: read up to the end of its header, then hand back the pupils lazily.

    Raises ``FileRejected`` (now or while the rows are read) for a DOCTYPE, a wrong root, a missing
    or incomplete header, or XML that is not well formed; the caller loads nothing of such a file.
    """
    # Only Header and Pupil events reach Python: the other elements are read by libxml2 alone.
    events = XmlEvents(stream, tags=("{*}Header", "{*}Pupil"))
    stream_events = iter(events)
    header: dict[str, Any] | None = None
    header_dropped: list[str] = []
    root_checked = False
    for event, element in stream_events:
        if not root_checked:
            check_root(element.getroottree().getroot(), "CTfile")
            root_checked = True
        if event == "end" and localname(element) == "Header":
            header = _flatten(read_shape(element, HEADER, "Header", header_dropped))
            element.clear()
            break
        if event == "start" and localname(element) == "Pupil":
            raise FileRejected("pupil data before the Header")
    if not root_checked and events.root is not None:
        check_root(events.root, "CTfile")  # a file naming neither element: its root may be the fault
    if header is None:
        raise FileRejected("missing Header")
    missing = [name for name in REQUIRED_HEADER if not header.get(name)]
    if missing:
        raise FileRejected(f"Header lacks {', '.join(missing)}")
    return CtfFile(header=header, rows=_pupils(stream_events), header_dropped=header_dropped)


def _pupils(events: Iterator[tuple[str, Any]]) -> Iterator[ParsedRow]:
    row_number = 0
    for event, element in events:
        if event != "end" or localname(element) != "Pupil":
            continue
        row_number += 1
        dropped: list[str] = []
        values = read_shape(element, PUPIL, "", dropped)
        yield ParsedRow(row_number=row_number, values=values, dropped=dropped)
        free(element)


def read_ctf_file(stream: IO[bytes], sender: str, columns: tuple[str, ...] = ()) -> ParsedFile:
    """A CTF for the loader: its pupils, judged against its Header; refused when the Header's school
    (LEA + establishment) is not the sender its file name says."""
    ctf = read_ctf(stream)
    school = f"{ctf.header['SourceSchool/LEA']}{ctf.header['SourceSchool/Estab']}"
    if school != sender:
        raise FileRejected(f"the Header's school {school} is not the sender {sender} in the file name")
    return ParsedFile(ctf.rows, ctf.header, ctf.header_dropped)


def ctf_header_of(sender: str, school_name: str | None) -> dict[str, Any]:
    """What validating a pupil needs from its file's Header, once the file is gone: the school is the sender
    (LEA + estab); its name is the one a pupil of the same file that did load carries."""
    return {"SourceSchool/LEA": sender[:3], "SourceSchool/Estab": sender[3:], "SourceSchool/SchoolName": school_name}
