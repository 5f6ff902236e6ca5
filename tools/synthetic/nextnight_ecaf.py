"""An LA's CAF notifications on a next night: open assessments that close, and a few new ones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from random import Random
from xml.sax.saxutils import escape, unescape

from tools.synthetic.faults import RowPerson
from tools.synthetic.idgen import below
from tools.synthetic.nextnight_files import (
    DOB,
    FAMILY_NAME,
    GIVEN,
    ID,
    LINE1,
    POSTCODE,
    TOWN,
    Change,
    LaPlan,
    Night,
    NightOneFile,
    closing_tonight,
    fault_after_change,
    opening_tonight,
    row_person,
)
from tools.synthetic.places import LocalAuthority
from tools.synthetic.population import age_on

_NOTIFICATION_END = "  </Notification>\n"
_EVENT = re.compile(r"<Event>\w+</Event>")
_EVENT_DATE = re.compile(r"<EventDate>[^<]*</EventDate>")
_NOTIFICATION_ID = re.compile(r"<NotificationId>[^<]*</NotificationId>")
_C = "      "  # indentation inside a notification's Child and Practitioner, as ecaf.py writes them


def ecaf_events(
    night: Night, la: LocalAuthority, rows: list[list[str]], plan: LaPlan, ecaf: EcafReader, rng: Random,
) -> None:
    """Tonight's CAF notifications: some open assessments close, a few new ones are completed."""
    faults = night.faults("ecaf", la.code)
    by_id = {row[ID]: row for row in rows}
    notes: list[tuple[list[str], str, str]] = []  # (lines without id, child_id, fault)
    for child_id, lines, fault, change in closing_tonight(ecaf.still_open(), plan, rng):
        closed = [_EVENT.sub("<Event>closed</Event>", line) for line in lines]
        closed = [_EVENT_DATE.sub(f"<EventDate>{night.yesterday.isoformat()}</EventDate>", line) for line in closed]
        if change is not None and (change.moved_to is not None or change.renamed_from):
            closed, fault = _edit_notification(closed, by_id[child_id], change, fault)
        notes.append((closed, child_id, fault))
    for row in opening_tonight(rows, plan, rng):
        if age_on(date.fromisoformat(row[DOB]), night.as_of) >= 18:
            continue
        assert night.ctx is not None
        staff = night.ctx.practitioners[below(rng, len(night.ctx.practitioners))]
        person = row_person(row, nhs=rng.random() < 0.7, upn_=rng.random() < 0.6)
        fault = faults.maybe(person, date.fromisoformat(row[DOB]), row[POSTCODE])
        notes.append((_notification(person, row, staff.name, staff.role, staff.organisation, staff.phone,
                                    staff.email, rng.random() < 0.6, night.yesterday), row[ID], fault))
    if not notes:
        return
    out = night.open("ecaf", la.code, ecaf.sequence + 1, "xml")
    out.handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<CAFNotifications>\n')
    for serial, (lines, child_id, fault) in enumerate(notes, start=1):
        notification_id = f"CAF{la.code}-N{night.as_of:%m%d}{serial:04d}"
        lines = [_NOTIFICATION_ID.sub(f"<NotificationId>{notification_id}</NotificationId>", line)
                 for line in lines]
        out.handle.write("".join(lines))
        out.record(notification_id, child_id, fault)
    out.handle.write("</CAFNotifications>\n")
    out.close()


def _notification(person: RowPerson, row: list[str], name: str, role: str, organisation: str, phone: str,
                  email: str, lead: bool, when: date) -> list[str]:
    """A ``completed`` notification's lines (its NotificationId is filled in when written)."""
    lines = ["  <Notification>\n", "    <NotificationId></NotificationId>\n", "    <Event>completed</Event>\n",
             f"    <EventDate>{when.isoformat()}</EventDate>\n", "    <Child>\n"]
    if person.nhs:
        lines.append(f"{_C}<NHSNumber>{escape(person.nhs)}</NHSNumber>\n")
    if person.upn:
        lines.append(f"{_C}<UPN>{escape(person.upn)}</UPN>\n")
    lines += _child_lines(person, [row[LINE1], row[TOWN]])
    lines += [
        "    </Child>\n    <Practitioner>\n", f"{_C}<Name>{escape(name)}</Name>\n",
        f"{_C}<Role>{escape(role)}</Role>\n", f"{_C}<Organisation>{escape(organisation)}</Organisation>\n",
        f"{_C}<Phone>{phone}</Phone>\n", f"{_C}<Email>{escape(email)}</Email>\n",
        f"{_C}<LeadProfessional>{'true' if lead else 'false'}</LeadProfessional>\n",
        "    </Practitioner>\n", _NOTIFICATION_END,
    ]
    return lines


def _child_lines(person: RowPerson, address: list[str]) -> list[str]:
    lines = [
        f"{_C}<FamilyName>{escape(person.family)}</FamilyName>\n",
        f"{_C}<GivenName>{escape(person.given)}</GivenName>\n",
        f"{_C}<DateOfBirth>{escape(person.dob)}</DateOfBirth>\n", f"{_C}<Gender>{escape(person.gender)}</Gender>\n",
        f"{_C}<Address>\n",
    ]
    lines += [f"{_C}  <AddressLine{n}>{escape(line)}</AddressLine{n}>\n" for n, line in enumerate(address, 1) if line]
    lines += [f"{_C}</Address>\n", f"{_C}<Postcode>{escape(person.postcode)}</Postcode>\n"]
    return lines


def _edit_notification(lines: list[str], truth: list[str], change: Change, fault: str) -> tuple[list[str], str]:
    """A CAF notification of a child who moved or changed name, with the child's details as they are now."""
    text_of = {line.strip().split(">", 1)[0][1:]: unescape(line.strip().split(">", 1)[1].rsplit("<", 1)[0])
               for line in lines if line.startswith(_C) and "</" in line}
    family = text_of.get("FamilyName", "")
    fault = fault_after_change(fault, change, text_of.get("GivenName", ""), truth[GIVEN])
    if change.renamed_from:
        family = truth[FAMILY_NAME]
    postcode = text_of.get("Postcode", "")
    address = [a for a in (text_of.get("AddressLine1", ""), text_of.get("AddressLine2", ""),
                           text_of.get("AddressLine3", ""))]
    if change.moved_to is not None:
        moved = change.moved_to
        address = [moved.line1, moved.locality, moved.town]
        postcode = moved.postcode.replace(" ", "") if postcode and " " not in postcode.strip() else moved.postcode
    person = RowPerson(given=text_of.get("GivenName", ""), middle="", family=family, former_family="",
                       dob=text_of.get("DateOfBirth", ""), gender=text_of.get("Gender", ""), postcode=postcode,
                       nhs="", upn="", uln="")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{_C}<FamilyName>"))
    end = next(i for i, line in enumerate(lines) if line.startswith(f"{_C}<Postcode>"))
    return lines[:start] + _child_lines(person, address) + lines[end + 1:], fault


class EcafReader(NightOneFile):
    """Night one's eCAF file of an LA: each child's last notification (one assessment per child)."""

    def __init__(self, first: Path) -> None:
        super().__init__(first, "ecaf")
        self.last: dict[str, tuple[list[str], str]] = {}

    def row(self, name: str, number: int, child_id: str, fault: str) -> None:
        self.follow(name)
        assert self.handle is not None
        lines: list[str] = []
        for line in self.handle:
            if lines or line == "  <Notification>\n":
                lines.append(line)
            if line == _NOTIFICATION_END:
                break
        if not lines or lines[-1] != _NOTIFICATION_END:
            raise ValueError(f"{name}: ground truth row {number} does not match the file")
        self.last.pop(child_id, None)
        self.last[child_id] = (lines, fault)

    def still_open(self) -> Iterator[tuple[str, tuple[list[str], str]]]:
        """(child_id, (the last notification's lines, its fault)) for every assessment not closed."""
        for child_id, (lines, fault) in self.last.items():
            if not any(line == "    <Event>closed</Event>\n" for line in lines):
                yield child_id, (lines, fault)
