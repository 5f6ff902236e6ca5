"""Households and children: the truth the records are drawn from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from tools.independent_population import identifiers
from tools.independent_population.names import (
    DISTRICTS,
    INWARD_LETTERS,
    LA_CODES,
    STREETS,
    TRADITIONS,
    Tradition,
    gendered,
)

AS_OF = date(2026, 11, 25)


@dataclass(frozen=True)
class Address:
    """A home: house number (or flat and number), street, postcode in the official form."""

    line_1: str
    postcode: str


@dataclass
class Child:
    """One true child."""

    child_id: str
    household_id: str
    tradition: str
    given: str
    middle: str | None
    family: str
    sex: str
    born: date
    nhs: str
    upn: str
    la_code: str
    address: Address
    old_address: Address | None
    twin_of: str | None = None

    @property
    def age(self) -> int:
        """Age in whole years on the extract date."""
        return AS_OF.year - self.born.year - ((AS_OF.month, AS_OF.day) < (self.born.month, self.born.day))


def _postcode(rng: Random) -> str:
    return f"{rng.choice(DISTRICTS)} {rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def _address(rng: Random, postcodes: list[str]) -> Address:
    number = str(rng.randint(1, 240)) + ("a" if rng.random() < 0.03 else "")
    line = f"{number} {rng.choice(STREETS)}"
    if rng.random() < 0.15:
        line = f"Flat {rng.randint(1, 30)}, {line}"
    return Address(line, rng.choice(postcodes))


def _tradition(rng: Random) -> Tradition:
    return rng.choices(TRADITIONS, weights=[t.weight for t in TRADITIONS])[0]


def _forename(rng: Random, tradition: Tradition, sex: str, avoid: set[str]) -> str:
    names = tradition.boys if sex == "M" else tradition.girls
    for _ in range(20):
        name = rng.choice(names)
        if name not in avoid:
            return name
    return rng.choice(names)


def _surname(rng: Random, tradition: Tradition, father: str, sex: str) -> str:
    if tradition.surname_rule == "patronymic":
        return father
    if tradition.surname_rule == "gendered":
        return gendered(rng.choice(tradition.surnames), sex)
    return rng.choice(tradition.surnames)


def population(children: int, seed: int) -> list[Child]:
    """About ``children`` children in households of one to five, with twins, step-siblings and movers."""
    rng = Random(seed)
    postcodes = [_postcode(rng) for _ in range(max(10, children // 6))]
    out: list[Child] = []
    household = 0
    while len(out) < children:
        household += 1
        tradition = _tradition(rng)
        la_code = rng.choice(LA_CODES)
        home = _address(rng, postcodes)
        moved = rng.random() < 0.12
        old_home = _address(rng, postcodes) if moved else None
        father = _forename(rng, tradition, "M", set())
        stem = rng.choice(tradition.surnames) if tradition.surnames else father
        hyphenated = tradition.name == "english" and rng.random() < 0.05
        second = rng.choice(tradition.surnames) if hyphenated else None
        births = rng.choices((1, 2, 3, 4, 5), weights=(38, 35, 17, 7, 3))[0]
        used: set[str] = set()
        age_days = rng.randint(0, 18 * 365)
        for birth in range(births):
            if age_days < 0:  # the family is complete: no child is born after the extract date
                break
            twins = 2 if rng.random() < 0.035 else 1
            born = AS_OF - timedelta(days=age_days)
            step = birth > 0 and rng.random() < 0.08  # a half-sibling with another father's surname
            first_of_birth: Child | None = None
            for _ in range(twins):
                sex = rng.choice("MF")
                given = _forename(rng, tradition, sex, used)
                used.add(given)
                middle = (_forename(rng, tradition, sex, used | {given})
                          if rng.random() < tradition.middle_share else None)
                if tradition.surname_rule == "patronymic":
                    family = father
                elif step:
                    family = _surname(rng, tradition, father, sex)
                else:
                    family = gendered(stem, sex) if tradition.surname_rule == "gendered" else stem
                    if second:
                        family = f"{family}-{second}"
                child = Child(f"c{len(out) + 1:07d}", f"h{household:06d}", tradition.name, given, middle, family,
                              sex, born, identifiers.nhs_number(rng), identifiers.upn(rng, la_code), la_code,
                              home, old_home)
                if first_of_birth is not None:
                    child.twin_of = first_of_birth.child_id
                first_of_birth = first_of_birth or child
                out.append(child)
            age_days -= rng.randint(330, 4 * 365)
    return out
