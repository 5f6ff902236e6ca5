"""The true population: households of children with their carers, addresses and identifiers.

One call builds one neighbourhood. Its random stream depends only on (seed, LA, neighbourhood),
never on which feeds are written, so the same children appear whatever the feed selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random

from tools.synthetic.idgen import NhsAllocator, UlnAllocator, Weighted, between, choose, temporary_upn, upn
from tools.synthetic.people import Carer, pick_carers, pick_family, pick_given, pick_middle
from tools.synthetic.places import Address, LaContext, Practice, School, Street, make_address, make_streets

_GAPS = (1, 2, 2, 2, 3, 3, 4, 5, 7)
# Siblings are younger than the eldest, so the eldest leans older to keep ages 0-17 roughly flat.
_ELDEST_AGE = Weighted(
    [str(age) for age in range(20)], [1 + max(0, age - 11) / 10 if age < 18 else 0.7 for age in range(20)]
)
_SIZES = Weighted(["1", "2", "3", "4"], [40, 38, 15, 7])
P_TWINS = 0.023  # of households with two or more children: gives about 1.5% of children twins
P_MOVED = 0.08
P_RESTRICTED = 0.005
P_CARE_LEAVER = 0.004


@dataclass(slots=True)
class Household:
    """Children at one address with their carers; ``old_address`` is set when the family moved."""

    household_id: str
    family: str
    address: Address
    old_address: Address | None
    carers: list[Carer]
    practice: Practice
    restricted: bool
    lag: float  # how slow the family is to tell services it moved (0..1)
    primary: School[Child] | None = None
    secondary: School[Child] | None = None

    def address_known_to(self, stale_share: float) -> Address:
        """The address a service holds: the old one if the family moved and has not told it yet.

        One draw per household, so siblings (and twins) always share the address a feed holds.
        """
        if self.old_address is not None and self.lag < stale_share:
            return self.old_address
        return self.address


@dataclass(slots=True)
class Child:
    """One true child: what every feed's row about them is derived from."""

    child_id: str
    index: int
    given: str
    middle: str
    family: str
    former_family: str
    gender: str
    dob: date
    age: int
    school_age: int  # age on 31 August before this academic year; reception is 4
    household: Household
    twin_of: str = ""
    nhs: str = ""
    upn: str = ""
    uln: str = ""
    school: School[Child] | None = None
    first_school: School[Child] | None = None
    gp_registered: bool = True
    care_leaver: bool = False


@dataclass(slots=True)
class Neighbourhood:
    """The unit of generation: released (and garbage-collected) once written."""

    ctx: LaContext
    index: int
    town: str
    households: list[Household] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    schools: list[School] = field(default_factory=list)


def age_on(dob: date, day: date) -> int:
    """Completed years of age on ``day``."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def academic_year_start(as_of: date) -> int:
    """Calendar year in which the academic year containing ``as_of`` began (September)."""
    return as_of.year if as_of.month >= 9 else as_of.year - 1


def _dob(rng: Random, age: int, as_of: date) -> date:
    days = int((age + rng.random()) * 365.25)
    return as_of - timedelta(days=max(days, 1))


def build_neighbourhood(
    ctx: LaContext, index: int, size: int, first_index: int, nhs: NhsAllocator, as_of: date
) -> Neighbourhood:
    """``size`` children in households, with streets, schools and GP practices to serve them."""
    rng = Random(f"{ctx.seed}/population/{ctx.la.code}/{index}")
    town, districts = ctx.la.towns[index % len(ctx.la.towns)]
    districts = tuple(rng.sample(districts, min(4, len(districts))))
    nb = Neighbourhood(ctx, index, town)
    streets = make_streets(rng, districts, max(3, size // 25))
    practices = [ctx.practice(rng, town) for _ in range(max(1, round(size / 1500)))]
    start = academic_year_start(as_of)
    august = date(start, 8, 31)
    while len(nb.children) < size:
        household = _household(ctx, rng, nb, streets, practices)
        nb.households.append(household)
        care_leaver = rng.random() < P_CARE_LEAVER
        if care_leaver:
            dobs = [_dob(rng, between(rng, 18, 24), as_of)]
            household.carers.clear()  # a young adult living alone, known to the leaving-care team
        else:
            dobs = [_dob(rng, int(_ELDEST_AGE.pick(rng)), as_of)]
            for _ in range(int(_SIZES.pick(rng)) - 1):
                # Siblings at least ~10 months apart: gap years minus a little, plus up to 0.8 years.
                gap = choose(rng, _GAPS) - 0.2 + 0.8 * rng.random()
                younger = dobs[-1] + timedelta(days=int(gap * 365.25))
                if younger >= as_of:
                    break
                dobs.append(younger)
        twins = len(dobs) > 1 and rng.random() < P_TWINS
        for position, dob in enumerate(dobs[: size - len(nb.children)]):
            child = _child(rng, household, first_index + len(nb.children), dob, as_of, august)
            if twins and position == 1:
                elder = nb.children[-1]
                child.dob, child.age, child.school_age = elder.dob, elder.age, elder.school_age
                child.family, child.twin_of, elder.twin_of = elder.family, elder.child_id, child.child_id
                while child.given == elder.given:
                    child.given = pick_given(rng, child.gender)
            child.care_leaver = care_leaver
            nb.children.append(child)
    _identify(nb, rng, nhs, as_of)
    _enrol(ctx, nb, rng, town, start)
    return nb


def _household(
    ctx: LaContext, rng: Random, nb: Neighbourhood, streets: list[Street], practices: list[Practice]
) -> Household:
    family = pick_family(rng)
    address = make_address(ctx, rng, streets, nb.town)
    old = None
    if rng.random() < P_MOVED:
        old = make_address(ctx, rng, streets, nb.town)
        while old.postcode == address.postcode and len(streets) > 1:
            old = make_address(ctx, rng, streets, nb.town)
    household_id = f"H{ctx.la.code}{nb.index:03d}{len(nb.households):05d}"
    return Household(
        household_id, family, address, old, pick_carers(ctx, rng, family), choose(rng, practices),
        rng.random() < P_RESTRICTED, rng.random(),
    )


def _child(rng: Random, household: Household, index: int, dob: date, as_of: date, august: date) -> Child:
    roll = rng.random()
    gender = "M" if roll < 0.4995 else "F" if roll < 0.999 else "I"
    family = household.family if rng.random() < 0.93 else pick_family(rng)
    former = pick_family(rng) if rng.random() < 0.02 else ""
    child = Child(
        child_id=f"T{index + 1:07d}", index=index, given=pick_given(rng, gender), middle=pick_middle(rng, gender),
        family=family, former_family=former, gender=gender, dob=dob, age=age_on(dob, as_of),
        school_age=age_on(dob, august), household=household,
    )
    return child


def _identify(nb: Neighbourhood, rng: Random, nhs: NhsAllocator, as_of: date) -> None:
    ulns = UlnAllocator(nb.ctx.seed)
    newborn = as_of - timedelta(days=21)
    for child in nb.children:
        newly_arrived = rng.random() < 0.007  # from abroad: no NHS number yet, not registered
        child.nhs = "" if newly_arrived else nhs.next(rng)
        child.gp_registered = not newly_arrived and child.dob < newborn and rng.random() < 0.987
        if child.school_age >= 14:
            child.uln = ulns.for_index(child.index)


def _enrol(ctx: LaContext, nb: Neighbourhood, rng: Random, town: str, start: int) -> None:
    """Schools sized to the neighbourhood's roll; siblings share a school; UPNs from the first school."""
    primary_age = sum(1 for c in nb.children if 4 <= c.school_age <= 10)
    secondary_age = sum(1 for c in nb.children if 11 <= c.school_age <= 17)
    primaries = [ctx.school(rng, town, False) for _ in range(max(1, round(primary_age / 210)))]
    secondaries = [ctx.school(rng, town, True) for _ in range(max(1, round(secondary_age / 700)))]
    if not any(s.sixth_form for s in secondaries):
        secondaries[0].sixth_form = True
    nb.schools = primaries + secondaries
    serials: dict[tuple[int, int], int] = {}
    for household in nb.households:
        household.primary = choose(rng, primaries)
        household.secondary = choose(rng, secondaries)
    for child in nb.children:
        household = child.household
        if child.school_age < 4 or rng.random() < 0.012:  # too young, or never on a roll in England
            continue
        first = household.primary
        assert first is not None and household.secondary is not None
        entry = start - (child.school_age - 4)
        key = (first.estab, entry)
        serials[key] = serials.get(key, 0) + 1
        child.first_school = first
        child.upn = upn(ctx.la.code, first.estab, entry, serials[key])
        if child.school_age <= 10:
            child.school = first
        elif child.school_age <= 15:
            child.school = household.secondary
        elif child.school_age <= 17 and household.secondary.sixth_form and rng.random() < 0.6:
            child.school = household.secondary  # stayed on in the sixth form
        if child.school is not None:
            child.school.pupils.append(child)
            if rng.random() < 0.01:  # new arrival: the school issued a temporary UPN
                temp_key = (child.school.estab, -start)
                serials[temp_key] = serials.get(temp_key, 0) + 1
                child.upn = temporary_upn(ctx.la.code, child.school.estab, start, serials[temp_key])
