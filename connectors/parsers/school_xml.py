"""Streaming reader for the school feed's Common Transfer File (CTF) XML.

Reads one ``Pupil`` at a time with lxml's ``iterparse`` and frees it, so memory stays flat in the
size of the file. Entities, DTDs and the network are off, and any DOCTYPE rejects the file: a CTF
never needs one, and it is how external-entity and entity-expansion attacks arrive.

Only the elements the feed specification names are read; everything else in a pupil (attainment,
SEN, FSM, attendance, ethnicity, medical flags, unknown elements) is skipped without reading its
value, and only its name is reported so the receipt can say it was dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from lxml import etree

from connectors.parsers import FileRejected, ParsedRow

# The spec's pupil layout: a leaf is None, a group is a dict, a repeated group is a 1-tuple.
Shape = dict[str, Any]
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


def _text(element: Any) -> str | None:
    text = element.text
    if text is None:
        return None
    text = text.strip()
    return text or None


def read_shape(element: Any, shape: Shape, path: str, dropped: list[str]) -> dict[str, Any]:
    """Spec fields of ``element`` as nested dicts and lists; other element names go to ``dropped``."""
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):  # comments, processing instructions, unresolved entities
            continue
        name = etree.QName(child).localname
        sub = shape.get(name, ...)
        where = f"{path}/{name}" if path else name
        if sub is ...:
            dropped.append(where)
        elif sub is None:
            out[name] = _text(child)
        elif isinstance(sub, tuple):
            out.setdefault(name, []).append(read_shape(child, sub[0], where, dropped))
        else:
            out[name] = read_shape(child, sub, where, dropped)
    return out


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _events(stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    parser = etree.iterparse(
        stream, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )
    try:
        yield from parser
    except etree.XMLSyntaxError as exc:
        raise FileRejected(f"not well-formed XML: {exc.msg}") from None


def read_ctf(stream: IO[bytes]) -> CtfFile:
    """Open a CTF: read up to the end of its header, then hand back the pupils lazily.

    Raises ``FileRejected`` (now or while the rows are read) for a DOCTYPE, a wrong root, a missing
    or incomplete header, or XML that is not well formed; the caller loads nothing of such a file.
    """
    events = _events(stream)
    header: dict[str, Any] | None = None
    header_dropped: list[str] = []
    for event, element in events:
        if event == "start" and element.getparent() is None:
            if element.getroottree().docinfo.doctype:
                raise FileRejected("a DOCTYPE or entity declaration is not allowed in a feed file")
            if etree.QName(element).localname != "CTfile":
                raise FileRejected(f"root element is {etree.QName(element).localname!r}, expected 'CTfile'")
        elif event == "end" and etree.QName(element).localname == "Header":
            header = _flatten(read_shape(element, HEADER, "Header", header_dropped))
            element.clear()
            break
        elif event == "start" and etree.QName(element).localname == "Pupil":
            raise FileRejected("pupil data before the Header")
    if header is None:
        raise FileRejected("missing Header")
    missing = [name for name in REQUIRED_HEADER if not header.get(name)]
    if missing:
        raise FileRejected(f"Header lacks {', '.join(missing)}")
    return CtfFile(header=header, rows=_pupils(events), header_dropped=header_dropped)


def _pupils(events: Iterator[tuple[str, Any]]) -> Iterator[ParsedRow]:
    row_number = 0
    for event, element in events:
        if event != "end" or etree.QName(element).localname != "Pupil":
            continue
        row_number += 1
        dropped: list[str] = []
        values = read_shape(element, PUPIL, "", dropped)
        yield ParsedRow(row_number=row_number, values=values, dropped=dropped)
        # Free what has been read: the pupil and any siblings the tree still holds.
        element.clear()
        parent = element.getparent()
        while element.getprevious() is not None and parent is not None:
            del parent[0]
