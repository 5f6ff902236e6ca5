"""Places and services of the synthetic England: local authorities, neighbourhoods, schools,
GP practices and the practitioners that the feeds name.

A neighbourhood is the unit of generation: its households, streets, schools and practices are
built together and released together, so memory stays flat however many children there are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from random import Random
from typing import Generic, TypeVar

from schemas.local_authorities import LOCAL_AUTHORITIES
from tools.synthetic import names
from tools.synthetic.idgen import below, between, choose, postcode

_RANGE = re.compile(r"^([A-Z]{1,2})(\d{1,2})-(\d{1,2})$")
_ODS_LETTERS = "ABCDEFGHJKLMNPRSTUVWY"


@lru_cache(maxsize=4096)
def slug(text: str) -> str:
    """Lower-case ASCII letters and dots only, for e-mail addresses."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z.]+", "", plain.lower().replace(" ", "."))


def ascii_fold(text: str) -> str:
    """The text without accents (Zoë -> Zoe), as systems limited to ASCII store it."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _districts(spec: str) -> tuple[str, ...]:
    out: list[str] = []
    for token in spec.split():
        match = _RANGE.match(token)
        if match:
            area, low, high = match.group(1), int(match.group(2)), int(match.group(3))
            out.extend(f"{area}{number}" for number in range(low, high + 1))
        else:
            out.append(token)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class LocalAuthority:
    """One local authority: DfE code, name, towns with their postcode districts."""

    index: int
    code: str
    name: str
    county: str
    towns: tuple[tuple[str, tuple[str, ...]], ...]
    phone_prefix: str

    @property
    def ccg_code(self) -> str:
        """A CCG-style sender id for the LA's GP registrations (e.g. ``14C``); unique per LA."""
        return f"{10 + self.index // 26:02d}{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[self.index % 26]}"

    @property
    def mail_domain(self) -> str:
        """A council e-mail domain under the reserved ``.example`` top-level domain."""
        return f"{slug(self.name).replace('.', '')}.gov.example"


def all_local_authorities() -> tuple[LocalAuthority, ...]:
    """Every LA of the reference table, in table order (its index keeps national codes unique)."""
    result = []
    for index, (code, name, county, towns_spec) in enumerate(LOCAL_AUTHORITIES):
        towns = tuple(
            (town, _districts(spec)) for town, spec in (part.split("=") for part in towns_spec.split(";"))
        )
        area = re.match(r"[A-Z]+", towns[0][1][0])
        area_code = area.group(0) if area else ""
        if area_code in names.LONDON_AREAS:
            prefix = names.LONDON_PREFIX
        else:
            prefix = names.PHONE_PREFIX.get(area_code, names.DEFAULT_PREFIX)
        result.append(LocalAuthority(index, code, name, county, towns, prefix))
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Address:
    """A household's address (BS7666 parts) and its postcode in official form."""

    saon: str
    paon: str
    street: str
    locality: str
    town: str
    county: str
    postcode: str
    uprn: int

    @property
    def line1(self) -> str:
        """House number and street in one line, as most systems hold it."""
        first = f"{self.paon} {self.street}" if self.paon.isdigit() else f"{self.paon}, {self.street}"
        return f"{self.saon}, {first}" if self.saon else first


@dataclass(frozen=True, slots=True)
class Staff:
    """A practitioner a feed names as the contact for a child."""

    name: str
    phone: str
    email: str
    role: str
    organisation: str


Pupil = TypeVar("Pupil")
"""A child on a school's roll (the population's ``Child``): places know nothing of people."""


@dataclass(slots=True)
class School(Generic[Pupil]):
    """A school and the pupils on its roll for this run."""

    la_code: str
    estab: int
    urn: int
    name: str
    secondary: bool
    sixth_form: bool
    ctf_version: str
    supplier: str
    bs7666: bool
    pupils: list[Pupil] = field(default_factory=list)

    @property
    def sender_id(self) -> str:
        """LA code and establishment number, e.g. ``3722001``."""
        return f"{self.la_code}{self.estab:04d}"


@dataclass(frozen=True, slots=True)
class Practice:
    """A GP practice with its ODS code."""

    code: str
    name: str
    phone: str


class LaContext:
    """What persists while one LA is generated: counters that must not repeat within the LA."""

    def __init__(self, la: LocalAuthority, seed: int) -> None:
        self.la = la
        self.seed = seed
        rng = Random(f"{seed}/la/{la.code}/counters")
        self.next_primary = 2000 + below(rng, 10)
        self.next_secondary = 4000 + below(rng, 10)
        self.next_urn = 100_000 + la.index * 1000
        self.next_practice = between(rng, 10, 59)
        self.next_uprn = 10_000_000_000 + la.index * 100_000_000
        self.serials: dict[str, int] = {"connexions": 0, "ecaf": 0, "ics": 0}
        staff_rng = Random(f"{seed}/la/{la.code}/staff")
        self.advisers = [self.staff(staff_rng, "Personal Adviser", "Connexions") for _ in range(6)]
        self.workers = [self.staff(staff_rng, "Social Worker", la.name + " Council") for _ in range(12)]
        self.practitioners = [
            self.staff(staff_rng, names.PRACTITIONER_ROLES[i % len(names.PRACTITIONER_ROLES)], "")
            for i in range(16)
        ]

    def phone(self, rng: Random) -> str:
        """A local drama-range phone number."""
        # Every drama prefix leaves three digits free (0161 496 0xxx, 01632 960xxx, ...).
        return f"{self.la.phone_prefix}{below(rng, 1000):03d}"

    def staff(self, rng: Random, role: str, organisation: str) -> Staff:
        """A practitioner with a council (or NHS) e-mail address."""
        female = rng.random() < 0.7
        given = choose(rng, names.ADULT_FEMALE if female else names.ADULT_MALE)
        family = choose(rng, names.SURNAMES[:150])
        health = role in ("Health Visitor", "School Nurse", "Midwife")
        domain = "nhs.example" if health else self.la.mail_domain
        organisation = organisation or (
            f"{self.la.name} Council" if domain != "nhs.example" else f"NHS {self.la.name} Community Services"
        )
        email = f"{slug(given)}.{slug(family)}@{domain}"
        return Staff(f"{given} {family}", self.phone(rng), email, role, organisation)

    def school(self, rng: Random, town: str, secondary: bool) -> School:
        """A new school with a unique establishment number and URN."""
        if secondary:
            estab, self.next_secondary = self.next_secondary, self.next_secondary + between(rng, 1, 12)
            stem = town if rng.random() < 0.3 else choose(rng, names.SCHOOL_STEMS)
            name = f"{stem} {choose(rng, names.SECONDARY_SUFFIXES)}"
        else:
            estab, self.next_primary = self.next_primary, self.next_primary + between(rng, 1, 9)
            name = f"{choose(rng, names.SCHOOL_STEMS)} {choose(rng, names.PRIMARY_SUFFIXES)}"
        self.next_urn += between(rng, 1, 4)
        roll = rng.random()
        version = "25.0" if roll < 0.7 else "24.0" if roll < 0.8 else "23.0" if roll < 0.86 else "19.0"
        return School(
            la_code=self.la.code, estab=estab, urn=self.next_urn, name=name, secondary=secondary,
            sixth_form=secondary and rng.random() < 0.6, ctf_version=version,
            supplier=choose(rng, names.CTF_SUPPLIERS), bs7666=rng.random() < 0.7,
        )

    def practice(self, rng: Random, town: str) -> Practice:
        """A new GP practice; the ODS code is unique nationally (letter and digits from the LA)."""
        letter = _ODS_LETTERS[self.la.index % len(_ODS_LETTERS)]
        digits = f"{(self.la.index // len(_ODS_LETTERS)) * 11 + 12:02d}{self.next_practice:03d}"
        self.next_practice += between(rng, 1, 7)
        pattern = choose(rng, names.PRACTICE_PATTERNS)
        stem, surname = choose(rng, names.SCHOOL_STEMS[:23]), choose(rng, names.SURNAMES[:80])
        name = pattern.format(stem=stem, surname=surname, town=town)
        return Practice(f"{letter}{digits}", name, self.phone(rng))

    def uprn(self, rng: Random) -> int:
        """A unique property reference number for a new address."""
        self.next_uprn += between(rng, 1, 40)
        return self.next_uprn


@dataclass(slots=True)
class Street:
    """A street of a neighbourhood: a few postcodes cover its houses, as in real life."""

    name: str
    locality: str
    postcodes: tuple[str, ...]


def make_streets(rng: Random, districts: tuple[str, ...], count: int) -> list[Street]:
    """Streets with names unique in the neighbourhood and 1-3 postcodes each."""
    seen: set[str] = set()
    streets: list[Street] = []
    while len(streets) < count:
        name = f"{choose(rng, names.STREET_STEMS)} {choose(rng, names.STREET_SUFFIXES)}"
        if name in seen and len(seen) < 2000:
            continue
        seen.add(name)
        outward = choose(rng, districts)
        codes = tuple(dict.fromkeys(postcode(outward, rng) for _ in range(between(rng, 1, 3))))
        locality = choose(rng, names.LOCALITIES) if rng.random() < 0.25 else ""
        streets.append(Street(name, locality, codes))
    return streets


def make_address(ctx: LaContext, rng: Random, streets: list[Street], town: str) -> Address:
    """A house or flat on one of the given streets."""
    street = streets[below(rng, len(streets))]
    saon = f"Flat {between(rng, 1, 24)}" if rng.random() < 0.12 else ""
    paon = choose(rng, names.HOUSE_NAMES) if rng.random() < 0.03 else str(between(rng, 1, 180))
    code = street.postcodes[below(rng, len(street.postcodes))]
    return Address(saon, paon, street.name, street.locality, town, ctx.la.county, code, ctx.uprn(rng))
