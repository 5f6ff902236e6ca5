"""What the services send about each child, in the canonical columns, with this generator's own fault mix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random
from typing import Any

from tools.independent_population import identifiers
from tools.independent_population.names import NICKNAMES, STREET_FORMS, VARIANT_OF
from tools.independent_population.population import Address, Child

# Faults and their weights (a faulty record carries one of them; twins' copied identifiers come on top).
FAULTS: dict[str, float] = {
    "name_swap": 12, "dob_digit": 10, "dob_day_month": 6, "dob_year": 4, "temporary_upn": 8,
    "forename_typo": 9, "surname_typo": 7, "middle_as_forename": 6, "nickname": 5, "spelling": 5,
    "odd_postcode": 4, "gender_missing": 3, "identifier_typo": 4, "surname_change": 3, "no_postcode": 2,
    "street_form": 2,
}
KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"
# The feeds that carry middle names (docs/feeds.md): GP registrations (`other_given_names`) and the school's CTF
# (`BasicDetails/MiddleNames`); Connexions, eCAF and ICS send a given and a family name only.
SOURCES_WITH_MIDDLE_NAMES = frozenset({"gp", "school", "school_previous"})


@dataclass
class Record:
    """One row of a service's extract and the truth behind it."""

    child: Child
    source: str
    given_name: str
    family_name: str
    born: date
    gender: str
    address: Address | None
    nhs: str | None
    upn: str | None
    faults: list[str] = field(default_factory=list)
    middle_names: str | None = None

    def row(self, record_id: str) -> dict[str, Any]:
        """The canonical CSV row."""
        return {"record_id": record_id, "given_name": self.given_name, "middle_names": self.middle_names or "",
                "family_name": self.family_name, "date_of_birth": self.born.isoformat(), "gender": self.gender,
                "postcode": self.address.postcode if self.address else "",
                "address_line_1": self.address.line_1 if self.address else "",
                "nhs_number": self.nhs or "", "upn": self.upn or ""}


def _sources(rng: Random, child: Child) -> list[tuple[str, bool, bool, bool]]:
    """(source, carries NHS number, carries UPN, shows the old address) for each record of the child."""
    out = []
    moved = child.old_address is not None
    if rng.random() < 0.93:
        out.append(("gp", rng.random() < 0.97, False, moved and rng.random() < 0.35))
    if 4 <= child.age <= 16 and rng.random() < 0.96:
        out.append(("school", False, rng.random() < 0.98, moved and rng.random() < 0.25))
        if moved and rng.random() < 0.4:  # the previous school's last roll
            out.append(("school_previous", False, rng.random() < 0.95, True))
    if 13 <= child.age and rng.random() < 0.5:
        out.append(("connexions", False, rng.random() < 0.8, moved and rng.random() < 0.3))
    if rng.random() < 0.07:
        out.append(("ics", rng.random() < 0.6, rng.random() < 0.35, False))
    if rng.random() < 0.06:
        out.append(("ecaf", rng.random() < 0.5, rng.random() < 0.35, False))
    return out or [("gp", True, False, False)]


def records_of(rng: Random, child: Child) -> list[Record]:
    """The clean records of one child."""
    out = []
    for source, nhs, upn, old in _sources(rng, child):
        gender = child.sex if rng.random() > 0.01 else "U"
        address = child.old_address if old and child.old_address else child.address
        out.append(Record(child, source, child.given, child.family, child.born, gender, address,
                          child.nhs if nhs else None, child.upn if upn else None,
                          ["old_address"] if old else [],
                          child.middle if source in SOURCES_WITH_MIDDLE_NAMES else None))
    return out


def _typo(rng: Random, name: str) -> str:
    if len(name) < 3:
        return name + rng.choice(KEYBOARD)
    i = rng.randrange(1, len(name))
    kind = rng.choice(("replace", "drop", "double", "transpose"))
    if kind == "replace":
        return name[:i] + rng.choice(KEYBOARD) + name[i + 1:]
    if kind == "drop":
        return name[:i] + name[i + 1:]
    if kind == "double":
        return name[:i] + name[i] + name[i:]
    i = min(i, len(name) - 2)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def _date_digit(rng: Random, born: date) -> date:
    text = born.isoformat()
    for _ in range(50):
        i = rng.choice((2, 3, 5, 6, 8, 9))
        candidate = text[:i] + rng.choice("0123456789") + text[i + 1:]
        try:
            changed = date.fromisoformat(candidate)
        except ValueError:
            continue
        if changed != born and changed <= date(2026, 11, 25):
            return changed
    return born + timedelta(days=1)


def apply_fault(rng: Random, record: Record, fault: str) -> bool:
    """Change the record as ``fault`` says; False when the fault does not fit this record."""
    child = record.child
    if fault == "name_swap":
        record.given_name, record.family_name = record.family_name, record.given_name
    elif fault == "dob_digit":
        record.born = _date_digit(rng, record.born)
    elif fault == "dob_day_month":
        if record.born.day > 12 or record.born.day == record.born.month:
            return False
        record.born = date(record.born.year, record.born.day, record.born.month)
    elif fault == "dob_year":
        record.born = record.born.replace(year=record.born.year + rng.choice((-1, 1)), day=min(record.born.day, 28))
    elif fault == "temporary_upn":
        if record.upn is None:
            return False
        record.upn = identifiers.temporary_upn(rng, child.la_code)
    elif fault == "forename_typo":
        record.given_name = _typo(rng, record.given_name)
    elif fault == "surname_typo":
        record.family_name = _typo(rng, record.family_name)
    elif fault == "middle_as_forename":
        if not child.middle:
            return False
        # The clerk took the middle name for the forename and lost the given one: no middle name left to send.
        record.given_name, record.middle_names = child.middle, None
    elif fault == "nickname":
        if child.given not in NICKNAMES:
            return False
        record.given_name = rng.choice(NICKNAMES[child.given])
    elif fault == "spelling":
        options = [v for v in VARIANT_OF.get(child.given, ()) if v != child.given]
        surnames = [v for v in VARIANT_OF.get(child.family, ()) if v != child.family]
        if not options and not surnames:
            return False
        if options:
            record.given_name = rng.choice(options)
        else:
            record.family_name = rng.choice(surnames)
    elif fault == "odd_postcode":
        if record.address is None:
            return False
        code = record.address.postcode
        odd = rng.choice((code.lower(), code.replace(" ", ""), f" {code.replace(' ', '  ')} ",
                          code.replace("0", "O") if "0" in code else code.lower()))
        record.address = Address(record.address.line_1, odd)
    elif fault == "gender_missing":
        record.gender = rng.choice(("U", ""))
    elif fault == "identifier_typo":
        if record.nhs:
            record.nhs = identifiers.mistype(rng, record.nhs)
        elif record.upn:
            record.upn = identifiers.mistype(rng, record.upn)
        else:
            return False
    elif fault == "surname_change":
        record.family_name = rng.choice((f"{child.family}-{_typo(rng, 'Williamson')}", "Hussain", "Begum",
                                         "Smith", "Ahmed", "Mensah", "Nowak", f"{child.family} Ali"))
    elif fault == "no_postcode":
        if record.address is None:
            return False
        record.address = Address(record.address.line_1, "")
    elif fault == "street_form":
        if record.address is None:
            return False
        line = record.address.line_1
        for long, shorts in STREET_FORMS.items():
            if line.endswith(long):
                line = line[: -len(long)] + rng.choice(shorts)
                break
        else:
            return False
        record.address = Address(line.upper() if rng.random() < 0.5 else line, record.address.postcode)
    else:
        raise ValueError(f"unknown fault {fault}")
    record.faults.append(fault)
    return True


def inject_faults(rng: Random, records: list[Record], fault_rate: float) -> None:
    """Give about ``fault_rate`` of the records one fault each (drawn by weight, redrawn where it does not fit)."""
    names, weights = list(FAULTS), list(FAULTS.values())
    for record in records:
        if rng.random() >= fault_rate:
            continue
        for _ in range(10):
            if apply_fault(rng, record, rng.choices(names, weights=weights)[0]):
                break


def copy_twin_identifiers(rng: Random, records: list[Record], share: float) -> None:
    """For ``share`` of twin pairs, one record of a twin carries the other twin's NHS number or UPN, and both
    twins' names on those records carry a typo (what a hurried clerk does with a family's forms)."""
    by_child: dict[str, list[Record]] = {}
    for record in records:
        by_child.setdefault(record.child.child_id, []).append(record)
    for own in by_child.values():
        twin_id = own[0].child.twin_of
        if twin_id is None or twin_id not in by_child or rng.random() >= share:
            continue
        wrong = rng.choice(own)
        sibling = by_child[twin_id][0].child
        if wrong.nhs:
            wrong.nhs = sibling.nhs
        elif wrong.upn:
            wrong.upn = sibling.upn
        else:
            wrong.nhs = sibling.nhs
        wrong.given_name = _typo(rng, wrong.given_name)
        wrong.faults.append("sibling_identifier")
        other = rng.choice(by_child[twin_id])
        other.given_name = _typo(rng, other.given_name)
        other.faults.append("forename_typo")
