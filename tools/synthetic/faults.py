"""Controlled faults: each chosen row gets exactly one, and the ground truth names it.

Three families, by what the hub must do with the row (see the feed spec, "What happens to a row"):
linkage faults load normally but make the child harder to find; identifier faults load with a
warning; row faults must be quarantined. Row faults are about a fifth of all faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from tools.synthetic import names
from tools.synthetic.idgen import (
    Weighted,
    below,
    between,
    broken_postcode,
    choose,
    odd_postcode,
    wrong_check_nhs,
    wrong_check_uln,
    wrong_check_upn,
)

LINKAGE_FAULTS = ("typo", "dob_swap", "missing_id", "surname_change", "nickname", "postcode_case")
IDENTIFIER_FAULTS = ("bad_check_digit", "bad_postcode")
ROW_FAULTS = ("empty_name", "impossible_date", "bad_date_format", "future_dob", "bad_gender")
FAULT_KINDS = LINKAGE_FAULTS + IDENTIFIER_FAULTS + ROW_FAULTS
FAULT_WEIGHTS: dict[str, float] = {
    "typo": 16, "dob_swap": 8, "missing_id": 10, "surname_change": 8, "nickname": 8, "postcode_case": 10,
    "bad_check_digit": 12, "bad_postcode": 8,
    "empty_name": 4, "impossible_date": 4, "bad_date_format": 4, "future_dob": 4, "bad_gender": 4,
}
FAMILIAR_TO_FORMAL = {familiar: formal for formal, familiar in names.NICKNAMES.items()}
_FAMILY = Weighted.by_rank(names.SURNAMES, 0.5)
_LETTERS = "abcdefghijklmnoprstuwy"  # letters that slip into names; q, v, x, z would look contrived
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%Y%m%d", "%d.%m.%Y", "%m/%d/%Y")


@dataclass(slots=True)
class RowPerson:
    """The identifying fields of one row, as the feed will write them (faults edit this)."""

    given: str
    middle: str
    family: str
    former_family: str
    dob: str
    gender: str
    postcode: str
    nhs: str
    upn: str
    uln: str


class FaultInjector:
    """Decides, per row, whether to inject a fault, and which; one draw per row keeps streams aligned."""

    def __init__(self, rate: float, rng: Random, as_of: date) -> None:
        self.rate = rate
        self.rng = rng
        self.as_of = as_of

    def maybe(self, person: RowPerson, dob: date, canonical_postcode: str) -> str:
        """Apply at most one fault to ``person``; return its kind, or "" for a clean row."""
        if self.rng.random() >= self.rate:
            return ""
        kinds = [kind for kind in FAULT_KINDS if _applies(kind, person, dob, self.as_of)]
        total = sum(FAULT_WEIGHTS[kind] for kind in kinds)
        point = self.rng.random() * total
        for kind in kinds:
            point -= FAULT_WEIGHTS[kind]
            if point < 0:
                break
        _apply(kind, person, dob, canonical_postcode, self.rng, self.as_of)
        return kind


def _applies(kind: str, person: RowPerson, dob: date, as_of: date) -> bool:
    if kind == "dob_swap":  # only a swap that still makes a real, past date is a linkage fault
        return dob.day <= 12 and dob.day != dob.month and date(dob.year, dob.day, dob.month) < as_of
    if kind == "missing_id":
        return bool(person.nhs or person.upn)
    if kind == "bad_check_digit":
        return bool(person.nhs or person.upn or person.uln)
    if kind == "nickname":
        return person.given in names.NICKNAMES or person.given in FAMILIAR_TO_FORMAL
    if kind in ("postcode_case", "bad_postcode"):
        return bool(person.postcode)
    return True


def typo(name: str, rng: Random) -> str:
    """One keyboard slip: a letter substituted, dropped, inserted or two letters transposed."""
    for _ in range(20):
        i = below(rng, len(name))
        letter = _LETTERS[below(rng, len(_LETTERS))]
        if name[i].isupper():
            letter = letter.upper()
        op = below(rng, 4)
        if op == 0:
            new = name[:i] + letter + name[i + 1 :]
        elif op == 1 and len(name) > 3:
            new = name[:i] + name[i + 1 :]
        elif op == 2:
            new = name[: i + 1] + letter.lower() + name[i + 1 :]
        elif i + 1 < len(name):
            new = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        else:
            continue
        if new.casefold() != name.casefold() and new.strip() == new and new:
            return new
    return name + "e"


def _apply(
    kind: str, person: RowPerson, dob: date, canonical_postcode: str, rng: Random, as_of: date
) -> None:
    if kind == "typo":
        if rng.random() < 0.5:
            person.given = typo(person.given, rng)
        else:
            person.family = typo(person.family, rng)
    elif kind == "dob_swap":
        person.dob = date(dob.year, dob.day, dob.month).isoformat()
    elif kind == "missing_id":
        present = [field for field in ("nhs", "upn") if getattr(person, field)]
        setattr(person, choose(rng, present), "")
    elif kind == "surname_change":
        new = _FAMILY.pick(rng)
        while new.casefold() == person.family.casefold():
            new = _FAMILY.pick(rng)
        if person.family.isupper():  # the sender's system upper-cases family names
            new = new.upper()
        person.former_family, person.family = person.family, new
    elif kind == "nickname":
        person.given = names.NICKNAMES.get(person.given) or FAMILIAR_TO_FORMAL[person.given]
    elif kind == "postcode_case":
        person.postcode = odd_postcode(canonical_postcode, rng)
    elif kind == "bad_check_digit":
        present = [field for field in ("nhs", "upn", "uln") if getattr(person, field)]
        which = choose(rng, present)
        if which == "nhs":
            person.nhs = wrong_check_nhs(person.nhs, rng)
        elif which == "upn":
            person.upn = wrong_check_upn(person.upn, rng)
        else:
            person.uln = wrong_check_uln(person.uln, rng)
    elif kind == "bad_postcode":
        person.postcode = broken_postcode(canonical_postcode, rng)
    elif kind == "empty_name":
        if rng.random() < 0.5:
            person.given = ""
        else:
            person.family = ""
    elif kind == "impossible_date":
        person.dob = choose(rng,
            (f"{dob.year}-02-30", f"{dob.year}-02-31", f"{dob.year}-04-31", f"{dob.year}-13-{dob.day:02d}",
             f"{dob.year}-{dob.month:02d}-00", f"{dob.year}-11-31")
        )
    elif kind == "bad_date_format":
        person.dob = dob.strftime(choose(rng, _DATE_FORMATS))
    elif kind == "future_dob":
        person.dob = (as_of + timedelta(days=between(rng, 200, 900))).isoformat()
    elif kind == "bad_gender":
        person.gender = choose(rng, ("X", "Z", "9", "?", "MF"))
