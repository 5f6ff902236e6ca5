"""A school's roll resent on a next night: its CTF with pupils copied, rewritten, dropped or appended."""

from __future__ import annotations

import re
from datetime import date, timedelta
from random import Random
from typing import IO
from xml.sax.saxutils import escape

from tools.synthetic.faults import RowPerson
from tools.synthetic.nextnight_files import (
    DOB,
    FAMILY_NAME,
    ID,
    POSTCODE,
    POSTCODE_FAULTS,
    ULN,
    Change,
    LaPlan,
    Night,
    night_one_file,
    row_person,
)
from tools.synthetic.people import pick_carers
from tools.synthetic.places import Address

_CASE_BASICS = re.compile(r"<(Ethnicity|Languages|MedicalFlag|Disabilities|PreferredForename)>.*?</\1>")
_P = "      "  # indentation of a Pupil's children, as ctf.py writes them


class SchoolRoll:
    """A school's CTF resent: header restamped, pupils copied, edited or dropped, joiners appended."""

    def __init__(self, night: Night, old_name: str, sender: str, sequence: int) -> None:
        self.night = night
        self.old_name = old_name
        self.sender = sender
        self._in: IO[str] | None = open(night_one_file(night.first, "school", old_name), encoding="utf-8")
        self.out = night.open("school", sender, sequence, "xml")
        self.faults = night.faults("school", sender)
        self.gender_tag = "Sex"
        self.bs7666: bool | None = None
        self.name = ""
        self.la_code, self.estab = sender[:3], sender[3:]
        self._number = 0
        write = self.out.handle.write
        for line in self._in:
            stripped = line.strip()
            if stripped.startswith("<DateTime>"):
                line = f"    <DateTime>{self.out.stamp:%Y-%m-%dT%H:%M:%S}</DateTime>\n"
            elif stripped.startswith("<CTFversion>"):
                version = stripped.removeprefix("<CTFversion>").removesuffix("</CTFversion>")
                self.gender_tag = "Gender" if float(version) < 21 else "Sex"
            elif stripped.startswith("<SchoolName>"):
                self.name = stripped.removeprefix("<SchoolName>").removesuffix("</SchoolName>")
            write(line)
            if stripped == "<CTFpupilData>":
                break
        else:
            raise ValueError(f"{old_name}: no CTFpupilData element")

    def _next_pupil(self, number: int) -> list[str]:
        assert self._in is not None
        lines: list[str] = []
        for line in self._in:
            if not lines and line != "    <Pupil>\n":
                break
            lines.append(line)
            if line == "    </Pupil>\n":
                break
        self._number += 1
        if not lines or lines[-1] != "    </Pupil>\n" or number != self._number:
            raise ValueError(f"{self.old_name}: ground truth row {number} does not match the file's pupils")
        return lines

    def pupil(self, number: int, key: str, child_id: str, fault: str, plan: LaPlan, by_id: dict[str, list[str]],
              transfers: dict[str, list[str]]) -> None:
        """Night one's pupil ``number``: copied as it was, rewritten from the truth, or dropped."""
        lines = self._next_pupil(number)
        if self.bs7666 is None:
            self.bs7666 = "        <BS7666Address>\n" in lines
        change = plan.changes.get(child_id)
        if change is None:
            self.out.handle.write("".join(lines))
            self.out.record(key, child_id, fault)
            return
        if change.school_to:
            transfers[child_id] = lines
            return
        if change.leaves:
            return
        if change.moved_to is None and not change.renamed_from:  # a GP change: the school's record is as it was
            self.out.handle.write("".join(lines))
            self.out.record(key, child_id, fault)
            return
        lines, key, fault = self._rewrite(lines, by_id[child_id], change, fault, plan)
        self.out.handle.write("".join(lines))
        self.out.record(key, child_id, fault)

    def _rewrite(self, lines: list[str], truth: list[str], change: Change, fault: str,
                 plan: LaPlan) -> tuple[list[str], str, str]:
        """The pupil's identifying elements from the truth (with a fresh fault draw), the rest as it was."""
        moved = plan.addresses.get(truth[ID])
        uln = any(line.startswith(f"{_P}<UniqueLearnerNumber>") for line in lines)
        person = row_person(truth, upn_=True, uln=uln and bool(truth[ULN]), postcode=moved is not None)
        if change.renamed_from:
            person.former_family = change.renamed_from
        new_fault = self.faults.maybe(person, date.fromisoformat(truth[DOB]), truth[POSTCODE])
        if moved is None and fault in POSTCODE_FAULTS and not new_fault:
            new_fault = fault  # the old address element is kept, typing error and all
        body = _sections(lines)
        out = ["    <Pupil>\n", *self._head(person), *self._basics(person, body["basics"]), *body["middle"]]
        if moved is not None:
            out += self._address(moved, person.postcode)
        else:
            out += body["address"]
        out += body["rest"]
        out.append("    </Pupil>\n")
        return out, person.upn, new_fault

    def _head(self, person: RowPerson) -> list[str]:
        head = [f"{_P}<UPN>{escape(person.upn)}</UPN>\n"]
        if person.uln:
            head.append(f"{_P}<UniqueLearnerNumber>{person.uln}</UniqueLearnerNumber>\n")
        tag = self.gender_tag
        head.append(
            f"{_P}<Surname>{escape(person.family)}</Surname>\n{_P}<Forename>{escape(person.given)}</Forename>\n"
            f"{_P}<DOB>{escape(person.dob)}</DOB>\n{_P}<{tag}>{escape(person.gender)}</{tag}>\n")
        return head

    def _basics(self, person: RowPerson, old: list[str]) -> list[str]:
        basic = []
        if person.middle:
            basic.append(f"<MiddleNames>{escape(person.middle)}</MiddleNames>")
        if person.former_family:
            basic.append(f"<FormerSurname>{escape(person.former_family)}</FormerSurname>")
        basic += [match.group(0) for match in _CASE_BASICS.finditer("".join(old))]
        if not basic:
            return []
        return [f"{_P}<BasicDetails>\n", *(f"{_P}  {item}\n" for item in basic), f"{_P}</BasicDetails>\n"]

    def _address(self, address: Address, postcode: str) -> list[str]:
        out = [f"{_P}<Address>\n"]
        if self.bs7666:
            out.append(f"{_P}  <BS7666Address>\n")
            if address.saon:
                out.append(f"{_P}    <SAON>{escape(address.saon)}</SAON>\n")
            out.append(f"{_P}    <PAON>{escape(address.paon)}</PAON>\n")
            out.append(f"{_P}    <Street>{escape(address.street)}</Street>\n")
            if address.locality:
                out.append(f"{_P}    <Locality>{escape(address.locality)}</Locality>\n")
            out.append(f"{_P}    <Town>{escape(address.town)}</Town>\n")
            if address.county:
                out.append(f"{_P}    <AdministrativeArea>{escape(address.county)}</AdministrativeArea>\n")
            out.append(f"{_P}    <PostTown>{escape(address.town.upper())}</PostTown>\n")
            out.append(f"{_P}    <UniquePropertyReferenceNumber>{address.uprn}</UniquePropertyReferenceNumber>\n")
            out.append(f"{_P}  </BS7666Address>\n")
        else:
            lines = [line for line in (address.line1, address.locality, address.town) if line]
            out.append(f"{_P}  <AddressLines>\n")
            out += [f"{_P}    <AddressLine{n}>{escape(line)}</AddressLine{n}>\n" for n, line in enumerate(lines, 1)]
            out.append(f"{_P}  </AddressLines>\n")
            if address.county:
                out.append(f"{_P}  <County>{escape(address.county)}</County>\n")
        out.append(f"{_P}  <PostCode>{escape(postcode)}</PostCode>\n{_P}</Address>\n")
        return out

    def join(self, truth: list[str], plan: LaPlan, transferred: list[str] | None) -> None:
        """Append a pupil who joined the roll: a transfer from another school, or a new arrival."""
        change = plan.changes.get(truth[ID])
        yesterday = self.night.yesterday
        history = (f"{_P}  <School><LEA>{self.la_code}</LEA><Estab>{self.estab}</Estab><SchoolName>"
                   f"{escape(self.name)}</SchoolName><EntryDate>{yesterday.isoformat()}</EntryDate></School>\n")
        if transferred is not None and change is not None:
            lines, key, fault = self._rewrite(transferred, truth, change, "", plan)
            body = _sections(lines)
            rest = _extend_history(body["rest"], history, yesterday - timedelta(days=1))
            lines = ["    <Pupil>\n", *body["head"], *body["basics"], *body["middle"], *body["address"], *rest,
                     "    </Pupil>\n"]
        else:
            lines, key, fault = self._arrival(truth, plan, history)
        self.out.handle.write("".join(lines))
        self.out.record(key, truth[ID], fault)

    def _arrival(self, truth: list[str], plan: LaPlan, history: str) -> tuple[list[str], str, str]:
        address = plan.addresses[truth[ID]]
        person = row_person(truth, upn_=True)
        fault = self.faults.maybe(person, date.fromisoformat(truth[DOB]), truth[POSTCODE])
        rng = Random(f"{self.night.seed}/next/carers/{truth[ID]}")
        assert self.night.ctx is not None
        contacts = [f"{_P}<Contacts>\n"]
        for order, carer in enumerate(pick_carers(self.night.ctx, rng, truth[FAMILY_NAME]), start=1):
            contacts.append(
                f"{_P}  <Contact>\n{_P}    <Order>{order}</Order>\n{_P}    <Title>{carer.title}</Title>\n"
                f"{_P}    <Surname>{escape(carer.family)}</Surname>\n"
                f"{_P}    <Forename>{escape(carer.given)}</Forename>\n"
                f"{_P}    <Relationship>{carer.relationship}</Relationship>\n"
                f"{_P}    <Responsibility>{'true' if carer.responsibility else 'false'}</Responsibility>\n"
                f"{_P}    <AddressAsPupil>{'true' if carer.lives_with else 'false'}</AddressAsPupil>\n"
                f"{_P}    <Phones><Phone><PhoneNo>{carer.phone}</PhoneNo></Phone></Phones>\n{_P}  </Contact>\n")
        contacts.append(f"{_P}</Contacts>\n")
        lines = ["    <Pupil>\n", *self._head(person), *self._basics(person, []),
                 *self._address(address, person.postcode), *contacts,
                 f"{_P}<SchoolHistory>\n", history, f"{_P}</SchoolHistory>\n", "    </Pupil>\n"]
        return lines, person.upn, fault

    def finish_reading(self) -> None:
        """Night one's file has no pupil the ground truth did not name."""
        if self._in is None:
            return
        rest = self._in.readline()
        self._in.close()
        self._in = None
        if rest != "  </CTFpupilData>\n":
            raise ValueError(f"{self.old_name}: the file has more pupils than the ground truth names")

    def close(self) -> None:
        self.finish_reading()
        if self.out.handle.closed:
            return
        self.out.handle.write("  </CTFpupilData>\n</CTfile>\n")
        self.out.close()


def _sections(lines: list[str]) -> dict[str, list[str]]:
    """A pupil element's lines split: head (UPN..Sex), basics, middle (LookedAfter, SEN), address, rest."""
    parts: dict[str, list[str]] = {"head": [], "basics": [], "middle": [], "address": [], "rest": []}
    section = "head"
    for line in lines[1:-1]:
        if line == f"{_P}<BasicDetails>\n":
            section = "basics"
        elif line == f"{_P}<Address>\n":
            section = "address"
        elif section == "head" and not line.startswith(
                (f"{_P}<UPN>", f"{_P}<UniqueLearnerNumber>", f"{_P}<Surname>", f"{_P}<Forename>", f"{_P}<DOB>",
                 f"{_P}<Sex>", f"{_P}<Gender>")):
            section = "middle"
        parts[section].append(line)
        if line == f"{_P}</BasicDetails>\n":
            section = "middle"
        elif line == f"{_P}</Address>\n":
            section = "rest"
    return parts


def _extend_history(rest: list[str], joined: str, left: date) -> list[str]:
    """The school history with the old school's leaving date and the new school's entry."""
    out: list[str] = []
    for line in rest:
        if line == f"{_P}</SchoolHistory>\n":
            if out and "<LeavingDate>" not in out[-1]:
                out[-1] = out[-1].replace("</School>\n", f"<LeavingDate>{left.isoformat()}</LeavingDate></School>\n")
            out.append(joined)
        out.append(line)
    return out
