"""Who the generated people are: children's and carers' names, and how a school reaches a pupil's carers."""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from tools.synthetic import names
from tools.synthetic.idgen import Weighted, below, choose
from tools.synthetic.places import LaContext, slug

BOYS = Weighted.by_rank(names.BOY_NAMES, 0.45)
GIRLS = Weighted.by_rank(names.GIRL_NAMES, 0.45)
FAMILY = Weighted.by_rank(names.SURNAMES, 0.5)


@dataclass(slots=True)
class Carer:
    """A parent or carer as a school lists them among a pupil's contacts."""

    title: str
    given: str
    family: str
    relationship: str  # PAR, CAR or OTH
    responsibility: bool
    lives_with: bool
    phone: str
    email: str


def pick_given(rng: Random, gender: str) -> str:
    if gender == "M" or (gender not in ("M", "F") and rng.random() < 0.5):
        return BOYS.pick(rng)
    return GIRLS.pick(rng)


def pick_family(rng: Random) -> str:
    roll = rng.random()
    if roll < 0.05:  # double-barrelled without a hyphen, as many families write it
        return f"{FAMILY.pick(rng)} {FAMILY.pick(rng)}"
    if roll < 0.08:
        return f"{FAMILY.pick(rng)}-{FAMILY.pick(rng)}"
    return FAMILY.pick(rng)


def pick_carers(ctx: LaContext, rng: Random, family: str) -> list[Carer]:
    carers: list[Carer] = []
    foster = rng.random() < 0.04
    count = 2 if rng.random() < 0.62 else 1
    for order in range(count):
        female = (order == 0) == (rng.random() < 0.88)
        given = choose(rng, names.ADULT_FEMALE if female else names.ADULT_MALE)
        surname = family if rng.random() < 0.85 else pick_family(rng)
        title = choose(rng, names.TITLES_F if female else names.TITLES_M)
        relationship = "CAR" if foster else "PAR"
        email = _email(rng, given, surname)
        carers.append(Carer(title, given, surname, relationship, True, True, _mobile(rng), email))
    if rng.random() < 0.2:  # a grandparent as emergency contact, without parental responsibility
        given = choose(rng, names.ADULT_FEMALE)
        carers.append(Carer("Mrs", given, family, "OTH", False, False, ctx.phone(rng), ""))
    return carers


def _mobile(rng: Random) -> str:
    return f"07700 900{below(rng, 1000):03d}"


def _email(rng: Random, given: str, family: str) -> str:
    if rng.random() < 0.3:
        return ""
    domain = choose(rng, names.EMAIL_DOMAINS)
    return f"{slug(given)}.{slug(family).replace('.', '')}{below(rng, 100)}@{domain}"


def pick_middle(rng: Random, gender: str) -> str:
    roll = rng.random()
    if roll < 0.35:
        return ""
    if roll < 0.88:
        return pick_given(rng, gender)
    second = FAMILY.pick(rng) if rng.random() < 0.3 else pick_given(rng, gender)
    return f"{pick_given(rng, gender)} {second}"
