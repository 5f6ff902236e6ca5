"""Tonight's changes to the population, drawn one LA at a time: movers, school and practice changes,
new family names, leavers, births and arrivals (see ``tools.synthetic.nextnight``)."""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

from schemas.identifiers import nhs_check_digit
from tools.synthetic.generator import CHILDREN_COLUMNS
from tools.synthetic.idgen import NHS_BODIES, NHS_SYNTHETIC_BASE, between, choose, upn
from tools.synthetic.nextnight_files import (
    CARE_LEAVER,
    CHANGE_MIX,
    DOB,
    FAMILY_NAME,
    FORMER,
    GENDER,
    GIVEN,
    GP_CHANGE,
    GP_REGISTERED,
    HOUSEHOLD,
    ID,
    LA,
    LINE1,
    MIDDLE,
    MOVE,
    NHS,
    OLD_POSTCODE,
    POSTCODE,
    PRACTICE,
    RESTRICTED,
    SCHOOL,
    SCHOOL_CHANGE,
    TOWN,
    UPN,
    Change,
    LaPlan,
)
from tools.synthetic.people import FAMILY, pick_given, pick_middle
from tools.synthetic.places import Address, LaContext, LocalAuthority, Street, make_address, make_streets
from tools.synthetic.population import academic_year_start, age_on

UPRN_OFFSET = 60_000_000  # night one hands out far fewer UPRNs per LA than this


class NhsNumbers:
    """Valid NHS numbers from the synthetic range that nobody holds yet, in a seeded order."""

    def __init__(self, seed: int) -> None:
        self.used = bytearray(NHS_BODIES)
        self._offset = Random(f"{seed}/next/nhs").randrange(NHS_BODIES)
        self._cursor = 0

    def mark(self, nhs: str) -> None:
        """Note a number night one already gave a child."""
        if len(nhs) == 10 and nhs.isdigit():
            body = int(nhs[:9]) - NHS_SYNTHETIC_BASE
            if 0 <= body < NHS_BODIES:
                self.used[body] = 1

    def next(self) -> str:
        """An unused valid number, or "" once the range is exhausted (an arrival not yet registered)."""
        while self._cursor < NHS_BODIES:
            body = (self._cursor * 7919 + self._offset) % NHS_BODIES
            self._cursor += 1
            if self.used[body]:
                continue
            check = nhs_check_digit(str(NHS_SYNTHETIC_BASE + body))
            if check is not None:
                self.used[body] = 1
                return f"{NHS_SYNTHETIC_BASE + body}{check}"
        return ""


def _school_age(dob: date, august: date) -> int:
    return age_on(dob, august)


def plan_la(
    rows: list[list[str]], la: LocalAuthority, seed: int, as_of: date, nhs: NhsNumbers,
    shares: tuple[float, float, float], last_index: int,
) -> LaPlan:
    """Draw tonight's changes for one LA's children and update their truth rows in place."""
    new_share, change_share, leaver_share = shares
    rng = Random(f"{seed}/next/{la.code}")
    ctx = LaContext(la, seed)
    ctx.next_uprn += UPRN_OFFSET + (as_of.toordinal() % 100) * 200_000
    start = academic_year_start(as_of)
    august = date(start, 8, 31)
    yesterday = as_of - timedelta(days=1)
    plan = LaPlan()
    schools = _schools_by_phase(rows, august)
    practices = sorted({row[PRACTICE] for row in rows if row[PRACTICE]})
    serials = _upn_serials(rows, start)
    streets: dict[str, list[Street]] = {}
    towns = dict(la.towns)

    def new_address(town: str, avoid: str) -> Address:
        if town not in towns:
            town = la.towns[0][0]
        if town not in streets:
            streets[town] = make_streets(rng, towns[town], 40)
        address = make_address(ctx, rng, streets[town], town)
        while address.postcode == avoid:
            address = make_address(ctx, rng, streets[town], town)
        return address

    per_child_change = change_share * (1 - CHANGE_MIX[MOVE])
    household, moving_to = "", None
    for row in rows:
        child_id = row[ID]
        if row[HOUSEHOLD] != household:  # a household moves together
            household = row[HOUSEHOLD]
            moves = rng.random() < change_share * CHANGE_MIX[MOVE]
            moving_to = new_address(row[TOWN], row[POSTCODE]) if moves else None
        change = Change()
        if moving_to is not None:
            change.moved_to = moving_to
            change.old_address = (row[LINE1], row[TOWN], row[POSTCODE])
            row[LINE1], row[TOWN], row[OLD_POSTCODE], row[POSTCODE] = (
                moving_to.line1, moving_to.town, row[POSTCODE], moving_to.postcode)
        roll = rng.random()
        pick = rng.random()
        if roll < leaver_share:
            _leave(row, change, pick)
        elif roll < leaver_share + per_child_change:
            _individual_change(row, change, pick, rng, schools, practices, august)
        if change.moved_to is not None or change.leaves or change.school_to or change.practice_to \
                or change.renamed_from:
            plan.changes[child_id] = change
        if change.school_to:
            plan.joiners.setdefault(change.school_to, []).append(child_id)
        if change.moved_to is not None:
            plan.addresses[child_id] = change.moved_to
        if rng.random() < new_share:
            last_index += 1
            birth = rng.random() < 0.5 and row[LINE1] != "" and not change.leaves
            if birth:
                new = _newborn(row, last_index, rng, as_of, nhs, practices)
                plan.new_kind[new[ID]] = "birth"
                if change.moved_to is not None:
                    plan.addresses[new[ID]] = change.moved_to
            else:
                address = new_address(row[TOWN], "")
                new = _arrival(la, address, last_index, rng, as_of, august, nhs, practices, schools, serials, start,
                               yesterday)
                plan.new_kind[new[ID]] = "arrival"
                plan.addresses[new[ID]] = address
                if new[SCHOOL]:
                    plan.joiners.setdefault(new[SCHOOL], []).append(new[ID])
            plan.new_rows.append(new)
    return plan


def _schools_by_phase(rows: list[list[str]], august: date) -> dict[bool, list[str]]:
    """The LA's schools with a roll, split by phase (a school with any pupil over 10 is secondary)."""
    oldest: dict[str, int] = {}
    for row in rows:
        if row[SCHOOL]:
            age = _school_age(date.fromisoformat(row[DOB]), august)
            oldest[row[SCHOOL]] = max(oldest.get(row[SCHOOL], 0), age)
    phases: dict[bool, list[str]] = {False: [], True: []}
    for school in sorted(oldest):
        phases[oldest[school] > 10].append(school)
    return phases


def _upn_serials(rows: list[list[str]], start: int) -> dict[str, int]:
    """Per school (sender id), the highest serial of a permanent UPN it issued this academic year."""
    year = f"{start % 100:02d}"
    highest: dict[str, int] = {}
    for row in rows:
        value = row[UPN]
        if len(value) == 13 and value[-1].isdigit() and value[8:10] == year:
            school = value[1:8]
            highest[school] = max(highest.get(school, 0), int(value[10:13]))
    return highest


def _leave(row: list[str], change: Change, pick: float) -> None:
    """A leaver: most leave England (off every roll and list), a few die, some leave only a school roll."""
    if pick < 0.05:
        change.leaves = "death"
    elif pick < 0.5 or not row[SCHOOL]:
        change.leaves = "left_england"
    else:
        change.leaves = "off_roll"
    if row[SCHOOL]:
        change.school_from, row[SCHOOL] = row[SCHOOL], ""
    if change.leaves != "off_roll" and row[GP_REGISTERED] == "Y":
        change.practice_from, row[PRACTICE], row[GP_REGISTERED] = row[PRACTICE], "", "N"


def _individual_change(
    row: list[str], change: Change, pick: float, rng: Random, schools: dict[bool, list[str]],
    practices: list[str], august: date,
) -> None:
    """A new school, a new practice or a new family name; a name change when the others cannot apply."""
    share_school = CHANGE_MIX[SCHOOL_CHANGE] / (1 - CHANGE_MIX[MOVE])
    share_gp = CHANGE_MIX[GP_CHANGE] / (1 - CHANGE_MIX[MOVE])
    if pick < share_school and row[SCHOOL]:
        secondary = _school_age(date.fromisoformat(row[DOB]), august) > 10
        others = [s for s in schools[secondary] if s != row[SCHOOL]]
        if others:
            change.school_from, change.school_to = row[SCHOOL], choose(rng, others)
            row[SCHOOL] = change.school_to
            return
    elif share_school <= pick < share_school + share_gp and row[GP_REGISTERED] == "Y":
        others = [p for p in practices if p != row[PRACTICE]]
        if others:
            change.practice_from, change.practice_to = row[PRACTICE], choose(rng, others)
            row[PRACTICE] = change.practice_to
            return
    new = FAMILY.pick(rng)
    while new.casefold() == row[FAMILY_NAME].casefold():
        new = FAMILY.pick(rng)
    change.renamed_from = row[FAMILY_NAME]
    row[FORMER], row[FAMILY_NAME] = row[FAMILY_NAME], new


def _newborn(
    sibling: list[str], index: int, rng: Random, as_of: date, nhs: NhsNumbers, practices: list[str]
) -> list[str]:
    """A baby born into ``sibling``'s household, registered with its GP practice in the last weeks."""
    gender = "M" if rng.random() < 0.5 else "F"
    dob = as_of - timedelta(days=between(rng, 10, 42))
    practice = sibling[PRACTICE] or (choose(rng, practices) if practices else "")
    row = [""] * len(CHILDREN_COLUMNS)
    row[ID], row[GIVEN], row[MIDDLE], row[FAMILY_NAME] = (
        f"T{index:07d}", pick_given(rng, gender), pick_middle(rng, gender), sibling[FAMILY_NAME])
    row[DOB], row[GENDER], row[LINE1], row[TOWN], row[POSTCODE] = (
        dob.isoformat(), gender, sibling[LINE1], sibling[TOWN], sibling[POSTCODE])
    row[NHS], row[HOUSEHOLD], row[LA] = nhs.next(), sibling[HOUSEHOLD], sibling[LA]
    if not row[NHS]:  # the synthetic range ran out: the baby is not yet registered anywhere
        practice = ""
    row[PRACTICE], row[GP_REGISTERED] = practice, "Y" if practice else "N"
    row[CARE_LEAVER], row[RESTRICTED] = "N", sibling[RESTRICTED]
    return row


def _arrival(
    la: LocalAuthority, address: Address, index: int, rng: Random, as_of: date, august: date, nhs: NhsNumbers,
    practices: list[str], schools: dict[bool, list[str]], serials: dict[str, int], start: int, yesterday: date,
) -> list[str]:
    """A child who arrived in the LA with a new family: a GP registration and, of school age, a roll."""
    roll = rng.random()
    gender = "M" if roll < 0.5 else "F"
    age = between(rng, 0, 17)
    dob = as_of - timedelta(days=max(30, int((age + rng.random()) * 365.25)))
    row = [""] * len(CHILDREN_COLUMNS)
    family = FAMILY.pick(rng)
    row[ID], row[GIVEN], row[MIDDLE], row[FAMILY_NAME] = (
        f"T{index:07d}", pick_given(rng, gender), pick_middle(rng, gender), family)
    row[DOB], row[GENDER], row[LINE1], row[TOWN], row[POSTCODE] = (
        dob.isoformat(), gender, address.line1, address.town, address.postcode)
    row[NHS], row[LA] = nhs.next(), la.code
    row[HOUSEHOLD] = f"H{la.code}N{yesterday:%y%m%d}{index % 100000:05d}"
    practice = choose(rng, practices) if practices else ""
    row[PRACTICE], row[GP_REGISTERED] = practice, "Y" if practice and row[NHS] else "N"
    if not row[NHS]:
        row[PRACTICE] = ""
    row[CARE_LEAVER], row[RESTRICTED] = "N", "N"
    school_age = _school_age(dob, august)
    if 4 <= school_age <= 15:
        choices = schools[school_age > 10]
        if choices:
            school = choose(rng, choices)
            serial = serials.get(school, 0) + 1
            if serial <= 999:  # a UPN serial has three digits
                serials[school] = serial
                row[SCHOOL], row[UPN] = school, upn(la.code, int(school[3:]), start, serial)
    return row
