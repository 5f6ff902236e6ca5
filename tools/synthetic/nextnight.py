"""``next_night``: the files every feed sends the day after a generated night, about the same children.

Night one's folder is read as data (``children.csv``, ``ground_truth.csv`` and ``inbound/``), never
regenerated, so night two follows from whatever night one holds. A next night has new children
(births into existing households, arrivals with a new address), changes (a household moves, a pupil
changes school, a child changes GP practice, a child's family name changes) and leavers (left
England, died, taken off a school roll). Each feed sends what its sender would (feed spec,
``docs/feeds.md``):

- school: every school resends its full roll. An unchanged pupil's element is copied byte for byte
  (a school's system resends the same record, typing errors and all); a pupil who left is missing; a
  changed pupil's identifying elements are rewritten from the truth; a pupil who joined is appended
  (a transfer carries the element the old school held, with its school history extended).
- connexions: a full snapshot per LA: unchanged rows copied, changed rows edited, leavers gone.
- gp: a delta: only adds (new children, a new practice), updates (moves, names) and deregistrations.
- ics, ecaf: event feeds: tonight's events only. Some involvements and assessments open at night
  one close (all of a child who left England or died), and a few new ones open.

Extract times are on the next day and every sequence is night one's plus one, so the hub's
precedence rules see night two as later. The work is done one local authority at a time (night
one's files, ground truth and ``children.csv`` all run in LA order), so memory is bounded by the
largest LA, not by the population.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from pathlib import Path
from random import Random
from typing import IO
from xml.sax.saxutils import escape, unescape

from schemas.identifiers import nhs_check_digit
from tools.synthetic import names
from tools.synthetic.csvfeeds import _MIN_AGE, _SERVICES, GP_COLUMNS, ICS_COLUMNS, SENSITIVE_SERVICES
from tools.synthetic.dropzone import (
    FEEDS,
    GROUND_TRUTH_COLUMNS,
    DropZone,
    FeedFile,
    RowWriter,
    file_name,
    file_stamp,
)
from tools.synthetic.faults import FaultInjector, RowPerson
from tools.synthetic.generator import CHILDREN_COLUMNS
from tools.synthetic.idgen import NHS_BODIES, NHS_SYNTHETIC_BASE, below, between, choose, upn
from tools.synthetic.places import (
    Address,
    LaContext,
    LocalAuthority,
    Street,
    all_local_authorities,
    ascii_fold,
    make_address,
    make_streets,
)
from tools.synthetic.population import (
    FAMILY,
    _carers,
    _given,
    _middle,
    academic_year_start,
    age_on,
)

# Column positions in children.csv (CHILDREN_COLUMNS).
(ID, GIVEN, MIDDLE, FAMILY_NAME, FORMER, DOB, GENDER, LINE1, TOWN, POSTCODE, OLD_POSTCODE, NHS, UPN, ULN,
 HOUSEHOLD, TWIN, LA, SCHOOL, PRACTICE, GP_REGISTERED, CARE_LEAVER, RESTRICTED) = range(len(CHILDREN_COLUMNS))
# GP columns (GP_COLUMNS).
G_NHS, G_FAMILY, G_GIVEN, G_OTHER, G_DOB, G_GENDER, G_A1, G_A2, G_A3, G_A4, G_POSTCODE = range(11)
G_PRACTICE, G_PRACTICE_NAME, G_PRACTICE_PHONE, G_REGISTERED, G_DEREG_DATE, G_DEREG_REASON = range(11, 17)
G_RESTRICTED, G_ACTION = 17, 18
# Connexions columns this module edits.
C_FAMILY, C_ADDRESS_1, C_ADDRESS_2, C_TOWN, C_POSTCODE = 3, 7, 8, 9, 10

_NAME = re.compile(r"^(?P<feed>[a-z]+)_(?P<sender>[A-Za-z0-9]+)_(?P<stamp>\d{8})T\d{6}_(?P<seq>\d+)\.(?P<ext>\w+)$")
_CASE_BASICS = re.compile(r"<(Ethnicity|Languages|MedicalFlag|Disabilities|PreferredForename)>.*?</\1>")
_POSTCODE_FAULTS = frozenset(("postcode_case", "bad_postcode"))
_P = "      "  # indentation of a Pupil's children, as ctf.py writes them
_MOVE, _SCHOOL, _GP, _NAME_CHANGE = "move", "school", "gp", "name"
# How the changed rows split between kinds (a move takes the whole household with it).
CHANGE_MIX = {_MOVE: 0.4, _SCHOOL: 0.2, _GP: 0.2, _NAME_CHANGE: 0.2}
# Night one's files may have been ingested already (``contactpoint ingest DIR`` moves them on).
NIGHT_ONE_PLACES = ("inbound", "processed", "rejected")
UPRN_OFFSET = 60_000_000  # night one hands out far fewer UPRNs per LA than this
# Per night: the share of open involvements / assessments that close, and of children a new one opens for.
P_CLOSE = 0.04
P_OPEN = 0.0006
_ICS_EVENT, _ICS_DATE, _ICS_NHS, _ICS_UPN, _ICS_FAMILY, _ICS_GIVEN = 1, 2, 4, 5, 6, 7
_ICS_ADDRESS, _ICS_TOWN, _ICS_POSTCODE, _ICS_TEAM, _ICS_SERVICE = 10, 11, 12, 14, 17
_NOTIFICATION_END = "  </Notification>\n"


@dataclass(frozen=True)
class NextNightSummary:
    """What one ``next_night`` call wrote, and the true changes behind it."""

    children: int  # the population after the night (night one's plus the new children)
    new_children: int
    births: int
    arrivals: int
    moved_children: int
    school_changes: int
    gp_changes: int
    name_changes: int
    left_england: int
    deaths: int
    off_roll: int  # left a school roll but stayed in England (e.g. home education)
    files: dict[str, int]
    rows: dict[str, int]
    faulty_rows: dict[str, int]
    as_of: date
    out_dir: Path


@dataclass(slots=True)
class Change:
    """What happened to one existing child tonight (the truth row is updated in place as well)."""

    moved_to: Address | None = None
    old_address: tuple[str, str, str] = ("", "", "")  # line 1, town, postcode before the move
    school_from: str = ""
    school_to: str = ""
    practice_from: str = ""
    practice_to: str = ""
    renamed_from: str = ""
    leaves: str = ""  # "", "left_england", "death" or "off_roll"


@dataclass(slots=True)
class LaPlan:
    """Tonight's changes in one LA: per existing child, the new children, and who joins which roll."""

    changes: dict[str, Change] = field(default_factory=dict)
    new_rows: list[list[str]] = field(default_factory=list)
    new_kind: dict[str, str] = field(default_factory=dict)  # child_id -> "birth" or "arrival"
    addresses: dict[str, Address] = field(default_factory=dict)  # child_id -> full address, when new
    joiners: dict[str, list[str]] = field(default_factory=dict)  # school sender id -> child_ids


class _NhsNumbers:
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


def next_night(
    first_night_dir: Path,
    out_dir: Path,
    *,
    seed: int,
    new_share: float = 0.01,
    change_share: float = 0.02,
    leaver_share: float = 0.004,
    fault_rate: float = 0.05,
    progress: Callable[[int], None] | None = None,
) -> NextNightSummary:
    """Write to ``out_dir`` the files every feed sends the day after ``first_night_dir``'s night.

    ``new_share``, ``change_share`` and ``leaver_share`` are shares of night one's children: new
    children (half births into an existing household, half arrivals), changed children (see
    ``CHANGE_MIX``; a move counts once per household but changes every child in it) and leavers.
    ``fault_rate`` is the share of newly written rows given one fault; copied rows keep night
    one's. ``out_dir`` gets ``inbound/<feed>/``, ``children.csv`` (the population after the night),
    ``ground_truth.csv`` (tonight's rows, night one's format) and ``ground_truth_all.csv`` (night
    one's rows followed by tonight's). Same arguments, same bytes. ``progress`` gets the number of
    night one's children handled so far. Night one's files are read from ``inbound/``, or from
    ``processed/`` or ``rejected/`` once ``contactpoint ingest`` has taken them in.
    """
    first = Path(first_night_dir)
    out_dir = Path(out_dir)
    for share, label in ((new_share, "new_share"), (change_share, "change_share"), (leaver_share, "leaver_share"),
                         (fault_rate, "fault_rate")):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{label} must be between 0 and 1, not {share}")
    if leaver_share + change_share * (1 - CHANGE_MIX[_MOVE]) > 1.0:
        raise ValueError("leaver_share plus the per-child change shares exceed 1")
    for needed in ("children.csv", "ground_truth.csv"):
        if not (first / needed).is_file():
            raise FileNotFoundError(f"{first / needed} is missing: next_night reads a folder `generate` wrote")
    inbound = out_dir / "inbound"
    if (out_dir / "ground_truth.csv").exists() or (inbound.exists() and any(inbound.rglob("*"))):
        raise FileExistsError(f"{out_dir} already holds generated files; use an empty directory")
    night_one = _night_one_date(first)
    as_of = night_one + timedelta(days=1)
    sent = {feed for feed in FEEDS if any(folder.is_dir() and any(folder.iterdir()) for folder in
                                          (first / place / feed for place in NIGHT_ONE_PLACES))}
    nhs = _NhsNumbers(seed)
    children, last_index = _survey(first / "children.csv", nhs)
    authorities = {la.code: la for la in all_local_authorities()}
    zone = DropZone(out_dir, seed, as_of)
    night = _Night(first, zone, seed, as_of, fault_rate, sent)
    counts = {key: 0 for key in ("births", "arrivals", "moved", _SCHOOL, _GP, _NAME_CHANGE, "left_england",
                                 "death", "off_roll")}
    done = 0
    handled: set[str] = set()
    try:
        with (open(first / "children.csv", encoding="utf-8", newline="") as people_in,
              open(first / "ground_truth.csv", encoding="utf-8", newline="") as truth_in,
              open(out_dir / "children.csv", "w", encoding="utf-8", newline="") as people_out):
            people = csv.reader(people_in)
            header = next(people)
            if tuple(header) != CHILDREN_COLUMNS:
                raise ValueError(f"{first / 'children.csv'} row 1: header is not children.csv's columns")
            writer = csv.writer(people_out, lineterminator="\n")
            writer.writerow(CHILDREN_COLUMNS)
            truth = _Truth(csv.reader(truth_in), first / "ground_truth.csv")
            for la_code, group in groupby(people, key=lambda row: row[LA]):
                rows = list(group)
                la = authorities.get(la_code)
                if la is None:
                    raise ValueError(f"{first / 'children.csv'}: unknown la_code {la_code!r}")
                if la_code in handled:  # an LA's files are written once: its children must be together
                    raise ValueError(f"{first / 'children.csv'}: la_code {la_code} appears again after other LAs")
                handled.add(la_code)
                plan = _plan(rows, la, seed, as_of, nhs, (new_share, change_share, leaver_share), last_index)
                last_index += len(plan.new_rows)
                night.local_authority(la, rows, plan, truth)
                for row in rows:
                    writer.writerow(row)
                for row in plan.new_rows:
                    writer.writerow(row)
                _count(counts, plan)
                done += len(rows)
                if progress is not None:
                    progress(done)
            truth.expect_end()
    finally:
        zone.close()
    _cumulative_truth(first, out_dir)
    wanted = [feed for feed in FEEDS if zone.files[feed]]
    new = counts["births"] + counts["arrivals"]
    return NextNightSummary(
        children=children + new, new_children=new, births=counts["births"], arrivals=counts["arrivals"],
        moved_children=counts["moved"], school_changes=counts[_SCHOOL], gp_changes=counts[_GP],
        name_changes=counts[_NAME_CHANGE], left_england=counts["left_england"], deaths=counts["death"],
        off_roll=counts["off_roll"], files={f: zone.files[f] for f in wanted}, rows={f: zone.rows[f] for f in wanted},
        faulty_rows={f: zone.faulty[f] for f in wanted}, as_of=as_of, out_dir=out_dir,
    )


def describe(summary: NextNightSummary) -> str:
    """The night's true changes and what each feed sent, for a terminal."""
    lines = [
        f"  {summary.new_children:,} new children ({summary.births:,} births, {summary.arrivals:,} arrivals); "
        f"{summary.children:,} children in all",
        f"  {summary.moved_children:,} moved, {summary.school_changes:,} changed school, {summary.gp_changes:,} "
        f"changed GP practice, {summary.name_changes:,} changed family name",
        f"  {summary.left_england:,} left England, {summary.deaths:,} died, {summary.off_roll:,} left a school roll",
    ]
    for feed, files in summary.files.items():
        lines.append(f"  {feed:<11} {files:>6,} files {summary.rows[feed]:>10,} rows "
                     f"{summary.faulty_rows[feed]:>8,} faulty")
    return "\n".join(lines)


def night_one_file(first: Path, feed: str, name: str) -> Path:
    """Where night one's file is: still in ``inbound/``, or where the hub's ingest moved it."""
    for place in NIGHT_ONE_PLACES:
        path = first / place / feed / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"{first}: the ground truth names {feed}/{name}, which is in none of {NIGHT_ONE_PLACES}")


def _night_one_date(first: Path) -> date:
    """Night one's extract date, read from its file names (every sender stamps the same day)."""
    for path in sorted(p for place in NIGHT_ONE_PLACES for p in (first / place).glob("*/*")):
        match = _NAME.match(path.name)
        if match:
            stamp = match.group("stamp")
            return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
    raise FileNotFoundError(f"{first / 'inbound'} holds no feed files to follow")


def _survey(path: Path, nhs: _NhsNumbers) -> tuple[int, int]:
    """Count night one's children, mark their NHS numbers as used, find the highest child index."""
    count = highest = 0
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        for row in rows:
            count += 1
            nhs.mark(row[NHS])
            highest = max(highest, int(row[ID][1:]))
    return count, highest


def _count(counts: dict[str, int], plan: LaPlan) -> None:
    for kind in plan.new_kind.values():
        counts["births" if kind == "birth" else "arrivals"] += 1
    for change in plan.changes.values():
        counts["moved"] += change.moved_to is not None
        counts[_SCHOOL] += bool(change.school_to)
        counts[_GP] += bool(change.practice_to)
        counts[_NAME_CHANGE] += bool(change.renamed_from)
        if change.leaves:
            counts[change.leaves] += 1


def _cumulative_truth(first: Path, out_dir: Path) -> None:
    """``ground_truth_all.csv``: every night so far, then tonight's rows (without a second header)."""
    earlier = first / "ground_truth_all.csv"
    if not earlier.is_file():
        earlier = first / "ground_truth.csv"
    part = out_dir / "ground_truth_all.csv.part"
    with open(part, "wb") as out:
        with open(earlier, "rb") as before:
            shutil.copyfileobj(before, out, 1 << 20)
        with open(out_dir / "ground_truth.csv", "rb") as tonight:
            tonight.readline()
            shutil.copyfileobj(tonight, out, 1 << 20)
    part.replace(out_dir / "ground_truth_all.csv")


# ---------------------------------------------------------------------------------------------
# Planning: who changes tonight, drawn from the truth one LA at a time.


def _school_age(dob: date, august: date) -> int:
    return age_on(dob, august)


def _plan(
    rows: list[list[str]], la: LocalAuthority, seed: int, as_of: date, nhs: _NhsNumbers,
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

    per_child_change = change_share * (1 - CHANGE_MIX[_MOVE])
    household, moving_to = "", None
    for row in rows:
        child_id = row[ID]
        if row[HOUSEHOLD] != household:  # a household moves together
            household = row[HOUSEHOLD]
            moves = rng.random() < change_share * CHANGE_MIX[_MOVE]
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
    share_school = CHANGE_MIX[_SCHOOL] / (1 - CHANGE_MIX[_MOVE])
    share_gp = CHANGE_MIX[_GP] / (1 - CHANGE_MIX[_MOVE])
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
    sibling: list[str], index: int, rng: Random, as_of: date, nhs: _NhsNumbers, practices: list[str]
) -> list[str]:
    """A baby born into ``sibling``'s household, registered with its GP practice in the last weeks."""
    gender = "M" if rng.random() < 0.5 else "F"
    dob = as_of - timedelta(days=between(rng, 10, 42))
    practice = sibling[PRACTICE] or (choose(rng, practices) if practices else "")
    row = [""] * len(CHILDREN_COLUMNS)
    row[ID], row[GIVEN], row[MIDDLE], row[FAMILY_NAME] = f"T{index:07d}", _given(rng, gender), _middle(rng, gender), \
        sibling[FAMILY_NAME]
    row[DOB], row[GENDER], row[LINE1], row[TOWN], row[POSTCODE] = (
        dob.isoformat(), gender, sibling[LINE1], sibling[TOWN], sibling[POSTCODE])
    row[NHS], row[HOUSEHOLD], row[LA] = nhs.next(), sibling[HOUSEHOLD], sibling[LA]
    if not row[NHS]:  # the synthetic range ran out: the baby is not yet registered anywhere
        practice = ""
    row[PRACTICE], row[GP_REGISTERED] = practice, "Y" if practice else "N"
    row[CARE_LEAVER], row[RESTRICTED] = "N", sibling[RESTRICTED]
    return row


def _arrival(
    la: LocalAuthority, address: Address, index: int, rng: Random, as_of: date, august: date, nhs: _NhsNumbers,
    practices: list[str], schools: dict[bool, list[str]], serials: dict[str, int], start: int, yesterday: date,
) -> list[str]:
    """A child who arrived in the LA with a new family: a GP registration and, of school age, a roll."""
    roll = rng.random()
    gender = "M" if roll < 0.5 else "F"
    age = between(rng, 0, 17)
    dob = as_of - timedelta(days=max(30, int((age + rng.random()) * 365.25)))
    row = [""] * len(CHILDREN_COLUMNS)
    family = FAMILY.pick(rng)
    row[ID], row[GIVEN], row[MIDDLE], row[FAMILY_NAME] = f"T{index:07d}", _given(rng, gender), _middle(rng, gender), \
        family
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


# ---------------------------------------------------------------------------------------------
# Writing: night one's files as the senders resend them, driven by night one's ground truth.


class _Truth:
    """Night one's ground truth, read one row ahead so that an LA's rows can be taken as a group."""

    def __init__(self, rows: Iterator[list[str]], path: Path) -> None:
        self.path = path
        self.rows = rows
        header = next(rows, None)
        if header is None or tuple(header) != GROUND_TRUTH_COLUMNS:
            raise ValueError(f"{path} row 1: header is not the ground truth's columns")
        self.line = 1
        self.ahead: list[str] | None = next(rows, None)

    def take(self, child_ids: set[str]) -> Iterator[list[str]]:
        """The rows about these children, up to the first row about anyone else."""
        while self.ahead is not None and self.ahead[4] in child_ids:
            row, self.ahead = self.ahead, next(self.rows, None)
            self.line += 1
            yield row

    def expect_end(self) -> None:
        """Every row was about a child of ``children.csv``, in its LA order."""
        if self.ahead is not None:
            raise ValueError(
                f"{self.path} row {self.line + 1}: child {self.ahead[4]} is not in children.csv or out of LA order")


def _sender_file(feed: str, old_name: str) -> tuple[str, int]:
    match = _NAME.match(old_name)
    if match is None or match.group("feed") != feed:
        raise ValueError(f"ground truth names a file that is not a {feed} feed file: {old_name!r}")
    return match.group("sender"), int(match.group("seq"))


class _Night:
    """Writes one LA at a time; holds what stays the same all night."""

    def __init__(self, first: Path, zone: DropZone, seed: int, as_of: date, fault_rate: float,
                 sent: set[str]) -> None:
        self.first = first
        self.zone = zone
        self.seed = seed
        self.as_of = as_of
        self.yesterday = as_of - timedelta(days=1)
        self.fault_rate = fault_rate
        self.sent = sent
        self.ctx: LaContext | None = None

    def open(self, feed: str, sender: str, sequence: int, ext: str) -> FeedFile:
        """Tonight's file for ``sender``: stamped on the next day, sequence after night one's."""
        stamp, _ = file_stamp(self.seed, feed, sender, self.as_of)
        folder = self.zone.out_dir / "inbound" / feed
        folder.mkdir(parents=True, exist_ok=True)
        return FeedFile(self.zone, feed, folder / file_name(feed, sender, stamp, sequence, ext), stamp)

    def faults(self, feed: str, sender: str) -> FaultInjector:
        return FaultInjector(self.fault_rate, Random(f"{self.seed}/next/{feed}/{sender}/faults"), self.as_of)

    def local_authority(self, la: LocalAuthority, rows: list[list[str]], plan: LaPlan, truth: _Truth) -> None:
        """Resend the LA's snapshots, collect its GP rows, and write its GP delta."""
        self.ctx = LaContext(la, self.seed)
        by_id = {row[ID]: row for row in rows}
        by_id.update((row[ID], row) for row in plan.new_rows)
        schools: dict[str, _SchoolRoll] = {}
        connexions: _ConnexionsSnapshot | None = None
        gp = _GpReader(self.first)
        ics = _IcsReader(self.first)
        ecaf = _EcafReader(self.first)
        transfers: dict[str, list[str]] = {}  # child_id -> the Pupil element the old school held
        rolls: dict[str, _SchoolRoll] = {}  # by night one's file name: a roll's rows need not be together
        try:
            for feed, name, number, key, child_id, fault in truth.take(set(by_id)):
                if feed == "school":
                    roll = rolls.get(name)
                    if roll is None:
                        sender, sequence = _sender_file(feed, name)
                        roll = rolls[name] = schools[sender] = _SchoolRoll(self, name, sender, sequence + 1)
                    roll.pupil(int(number), key, child_id, fault, plan, by_id, transfers)
                elif feed == "connexions":
                    if connexions is None or connexions.old_name != name:
                        if connexions is not None:
                            connexions.close()
                        connexions = _ConnexionsSnapshot(self, name)
                    connexions.row(int(number), key, child_id, fault, plan, by_id)
                elif feed == "gp":
                    gp.row(name, int(number), child_id, fault, plan)
                elif feed == "ics":
                    ics.row(name, int(number), child_id, fault)
                elif feed == "ecaf":
                    ecaf.row(name, int(number), child_id, fault)
            for roll in rolls.values():
                roll.finish_reading()
            for school, joiners in sorted(plan.joiners.items()):
                target = schools.get(school)
                if target is None:
                    continue  # night one sent no school files
                for child_id in joiners:
                    target.join(by_id[child_id], plan, transfers.get(child_id))
        finally:
            for roll in schools.values():
                roll.close()
            if connexions is not None:
                connexions.close()
            gp.close()
            ics.close()
            ecaf.close()
        if "gp" in self.sent:
            self.gp_delta(la, rows, plan, gp)
        rng = Random(f"{self.seed}/next/events/{la.code}")
        if "ics" in self.sent:
            self.ics_events(la, rows, plan, ics, rng)
        if "ecaf" in self.sent:
            self.ecaf_events(la, rows, plan, ecaf, rng)

    def ics_events(self, la: LocalAuthority, rows: list[list[str]], plan: LaPlan, ics: _IcsReader,
                   rng: Random) -> None:
        """Tonight's social care events: some open involvements close, a few new ones open."""
        out: FeedFile | None = None
        writer: RowWriter | None = None
        faults = self.faults("ics", la.code)
        serial = 0
        by_id = {row[ID]: row for row in rows}
        events: list[tuple[list[str], str, str]] = []  # (row, child_id, fault)
        for child_id, (values, fault) in ics.still_open():
            change = plan.changes.get(child_id)
            leaving = change is not None and change.leaves in ("left_england", "death")
            if not leaving and rng.random() >= P_CLOSE:
                continue
            closed = list(values)
            closed[_ICS_EVENT], closed[_ICS_DATE] = "close", self.yesterday.isoformat()
            if change is not None:
                fault = _edit_event_row(closed, by_id[child_id], change, fault)
            events.append((closed, child_id, fault))
        for row in rows:
            change = plan.changes.get(row[ID])
            if (change is not None and change.leaves) or rng.random() >= P_OPEN:
                continue
            age = age_on(date.fromisoformat(row[DOB]), self.as_of)
            if row[CARE_LEAVER] == "Y":
                service, team = "social_care", names.LEAVING_CARE_TEAM
            elif age < 18:
                service = _SERVICES.pick(rng)
                if age < _MIN_AGE.get(service, 0):
                    service = "social_care"
                team = choose(rng, names.ICS_TEAMS[service])
            else:
                continue
            assert self.ctx is not None
            worker = self.ctx.workers[below(rng, len(self.ctx.workers))]
            person = _person(row, nhs=rng.random() < 0.85, upn_=rng.random() < 0.5)
            fault = faults.maybe(person, date.fromisoformat(row[DOB]), row[POSTCODE])
            consent = service in SENSITIVE_SERVICES and rng.random() < 0.6
            events.append(([
                "", "open", self.yesterday.isoformat(), la.code, person.nhs, person.upn, person.family, person.given,
                person.dob, person.gender, row[LINE1], row[TOWN], person.postcode, worker.name, team, worker.phone,
                worker.email, service, "Y" if consent else "N", "Y" if rng.random() < 0.4 else "N",
                "Y" if row[CARE_LEAVER] == "Y" else "N"], row[ID], fault))
        for values, child_id, fault in events:
            if out is None:
                out = self.open("ics", la.code, ics.sequence + 1, "csv")
                writer = csv.writer(out.handle)
                writer.writerow(ICS_COLUMNS)
            assert writer is not None
            serial += 1
            values[0] = f"ICS{la.code}-N{self.as_of:%m%d}{serial:04d}"
            writer.writerow(values)
            out.record(values[0], child_id, fault)
        if out is not None:
            out.close()

    def ecaf_events(self, la: LocalAuthority, rows: list[list[str]], plan: LaPlan, ecaf: _EcafReader,
                    rng: Random) -> None:
        """Tonight's CAF notifications: some open assessments close, a few new ones are completed."""
        faults = self.faults("ecaf", la.code)
        by_id = {row[ID]: row for row in rows}
        notes: list[tuple[list[str], str, str]] = []  # (lines without id, child_id, fault)
        for child_id, (lines, fault) in ecaf.still_open():
            change = plan.changes.get(child_id)
            leaving = change is not None and change.leaves in ("left_england", "death")
            if not leaving and rng.random() >= P_CLOSE:
                continue
            closed = [_EVENT.sub("<Event>closed</Event>", line) for line in lines]
            closed = [_EVENT_DATE.sub(f"<EventDate>{self.yesterday.isoformat()}</EventDate>", line) for line in closed]
            if change is not None and (change.moved_to is not None or change.renamed_from):
                closed, fault = _edit_notification(closed, by_id[child_id], change, fault)
            notes.append((closed, child_id, fault))
        for row in rows:
            change = plan.changes.get(row[ID])
            if (change is not None and change.leaves) or rng.random() >= P_OPEN:
                continue
            if age_on(date.fromisoformat(row[DOB]), self.as_of) >= 18:
                continue
            assert self.ctx is not None
            staff = self.ctx.practitioners[below(rng, len(self.ctx.practitioners))]
            person = _person(row, nhs=rng.random() < 0.7, upn_=rng.random() < 0.6)
            fault = faults.maybe(person, date.fromisoformat(row[DOB]), row[POSTCODE])
            notes.append((_notification(person, row, staff.name, staff.role, staff.organisation, staff.phone,
                                        staff.email, rng.random() < 0.6, self.yesterday), row[ID], fault))
        if not notes:
            return
        out = self.open("ecaf", la.code, ecaf.sequence + 1, "xml")
        out.handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<CAFNotifications>\n')
        for serial, (lines, child_id, fault) in enumerate(notes, start=1):
            notification_id = f"CAF{la.code}-N{self.as_of:%m%d}{serial:04d}"
            lines = [_NOTIFICATION_ID.sub(f"<NotificationId>{notification_id}</NotificationId>", line)
                     for line in lines]
            out.handle.write("".join(lines))
            out.record(notification_id, child_id, fault)
        out.handle.write("</CAFNotifications>\n")
        out.close()

    def gp_delta(self, la: LocalAuthority, rows: list[list[str]], plan: LaPlan, gp: _GpReader) -> None:
        """Tonight's GP registrations for the LA: changes in child order, then the new children."""
        sender = la.ccg_code
        out: FeedFile | None = None
        writer: RowWriter | None = None
        faults = self.faults("gp", sender)
        for row in rows + plan.new_rows:
            change = plan.changes.get(row[ID])
            new = row[ID] in plan.new_kind
            if change is None and not new:
                continue
            for gp_row, fault in self._gp_rows(row, change, plan, gp, faults):
                if out is None:
                    out = self.open("gp", sender, gp.sequence + 1, "csv")
                    writer = csv.writer(out.handle)
                    writer.writerow(GP_COLUMNS)
                assert writer is not None
                writer.writerow(gp_row)
                out.record(gp_row[G_NHS], row[ID], fault)
        if out is not None:
            out.close()

    def _gp_rows(
        self, row: list[str], change: Change | None, plan: LaPlan, gp: _GpReader, faults: FaultInjector,
    ) -> Iterator[tuple[list[str], str]]:
        yesterday = self.yesterday.isoformat()
        old = gp.held.get(row[ID])
        if change is None:  # a new child: an add at the practice, built from the truth
            if row[GP_REGISTERED] != "Y" or not row[NHS]:
                return
            gp_row, fault = self._fresh_gp_row(row, plan.addresses.get(row[ID]), faults)
            registered = max(date.fromisoformat(row[DOB]) + timedelta(days=7), self.yesterday - timedelta(days=5))
            gp_row[G_REGISTERED] = min(registered, self.yesterday).isoformat()
            yield self._at_practice(gp_row, row[PRACTICE], gp), fault
            return
        if old is None or old[0][G_ACTION] == "deregister":
            return  # the practice does not hold the child (never registered, or left before tonight)
        held, held_fault = old
        if change.leaves in ("left_england", "death"):
            gone = list(held)
            gone[G_DEREG_DATE], gone[G_DEREG_REASON], gone[G_ACTION] = yesterday, change.leaves, "deregister"
            yield gone, held_fault
            return
        if not (change.moved_to is not None or change.practice_to or change.renamed_from):
            return
        current, fault = list(held), held_fault
        if change.moved_to is not None:
            _gp_address(current, change.moved_to)
            fault = "" if fault in _POSTCODE_FAULTS else fault
        if change.renamed_from:
            current[G_FAMILY] = row[FAMILY_NAME].upper() if held[G_FAMILY].isupper() else row[FAMILY_NAME]
            fault = _fault_after_rename(fault, current[G_GIVEN], row[GIVEN])
        if change.practice_to:
            gone = list(held)
            gone[G_DEREG_DATE], gone[G_DEREG_REASON], gone[G_ACTION] = yesterday, "other", "deregister"
            yield gone, held_fault
            current = self._at_practice(current, change.practice_to, gp)
            current[G_REGISTERED], current[G_ACTION] = yesterday, "add"
        else:
            current[G_ACTION] = "update"
        current[G_DEREG_DATE] = current[G_DEREG_REASON] = ""
        yield current, fault

    def _fresh_gp_row(
        self, row: list[str], address: Address | None, faults: FaultInjector
    ) -> tuple[list[str], str]:
        person = _person(row, nhs=True)
        fault = faults.maybe(person, date.fromisoformat(row[DOB]), row[POSTCODE])
        gp_row = [""] * len(GP_COLUMNS)
        gp_row[G_NHS], gp_row[G_FAMILY], gp_row[G_GIVEN], gp_row[G_OTHER] = (
            person.nhs, person.family, person.given, person.middle)
        gp_row[G_DOB], gp_row[G_GENDER], gp_row[G_POSTCODE] = person.dob, person.gender, person.postcode
        if address is not None:
            _gp_address(gp_row, address)
            gp_row[G_POSTCODE] = person.postcode
        else:
            gp_row[G_A1], gp_row[G_A2] = row[LINE1], row[TOWN]
        gp_row[G_RESTRICTED], gp_row[G_ACTION] = row[RESTRICTED] or "N", "add"
        return gp_row, fault

    def _at_practice(self, gp_row: list[str], code: str, gp: _GpReader) -> list[str]:
        name, phone = gp.practices.get(code, ("", ""))
        gp_row[G_PRACTICE], gp_row[G_PRACTICE_NAME], gp_row[G_PRACTICE_PHONE] = code, name, phone
        return gp_row


_EVENT = re.compile(r"<Event>\w+</Event>")
_EVENT_DATE = re.compile(r"<EventDate>[^<]*</EventDate>")
_NOTIFICATION_ID = re.compile(r"<NotificationId>[^<]*</NotificationId>")
_C = "      "  # indentation inside a notification's Child and Practitioner, as ecaf.py writes them


def _edit_event_row(values: list[str], truth: list[str], change: Change, fault: str) -> str:
    """An ICS row of a child who moved or changed name, as the LA's system now holds the child."""
    if change.moved_to is not None:
        compact = " " not in values[_ICS_POSTCODE].strip()
        values[_ICS_ADDRESS], values[_ICS_TOWN] = change.moved_to.line1, change.moved_to.town
        code = change.moved_to.postcode
        values[_ICS_POSTCODE] = code.replace(" ", "") if compact else code
        fault = "" if fault in _POSTCODE_FAULTS else fault
    if change.renamed_from:
        upper = values[_ICS_FAMILY].isupper()
        values[_ICS_FAMILY] = truth[FAMILY_NAME].upper() if upper else truth[FAMILY_NAME]
        fault = _fault_after_rename(fault, values[_ICS_GIVEN], truth[GIVEN])
    return fault


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
    if change.renamed_from:
        family = truth[FAMILY_NAME]
        fault = _fault_after_rename(fault, text_of.get("GivenName", ""), truth[GIVEN])
    postcode = text_of.get("Postcode", "")
    address = [a for a in (text_of.get("AddressLine1", ""), text_of.get("AddressLine2", ""),
                           text_of.get("AddressLine3", ""))]
    if change.moved_to is not None:
        moved = change.moved_to
        address = [moved.line1, moved.locality, moved.town]
        postcode = moved.postcode.replace(" ", "") if postcode and " " not in postcode.strip() else moved.postcode
        fault = "" if fault in _POSTCODE_FAULTS else fault
    person = RowPerson(given=text_of.get("GivenName", ""), middle="", family=family, former_family="",
                       dob=text_of.get("DateOfBirth", ""), gender=text_of.get("Gender", ""), postcode=postcode,
                       nhs="", upn="", uln="")
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{_C}<FamilyName>"))
    end = next(i for i, line in enumerate(lines) if line.startswith(f"{_C}<Postcode>"))
    return lines[:start] + _child_lines(person, address) + lines[end + 1:], fault


def _fault_after_rename(fault: str, written_given: str, true_given: str) -> str:
    """The row's fault once its family name is rewritten: a fault that was in the family name is gone."""
    if fault == "surname_change":
        return ""
    if fault == "empty_name" and written_given:
        return ""
    if fault == "typo" and ascii_fold(written_given).casefold() == ascii_fold(true_given).casefold():
        return ""
    return fault


def _gp_address(gp_row: list[str], address: Address) -> None:
    lines = [line for line in (address.line1, address.locality, address.town, address.county) if line]
    lines += [""] * (4 - len(lines))
    compact = bool(gp_row[G_POSTCODE]) and " " not in gp_row[G_POSTCODE].strip()
    gp_row[G_A1], gp_row[G_A2], gp_row[G_A3], gp_row[G_A4] = lines
    gp_row[G_POSTCODE] = address.postcode.replace(" ", "") if compact else address.postcode


def _person(row: list[str], *, nhs: bool = False, upn_: bool = False, uln: bool = False,
            postcode: bool = True) -> RowPerson:
    return RowPerson(
        given=row[GIVEN], middle=row[MIDDLE], family=row[FAMILY_NAME], former_family=row[FORMER], dob=row[DOB],
        gender=row[GENDER], postcode=row[POSTCODE] if postcode else "", nhs=row[NHS] if nhs else "",
        upn=row[UPN] if upn_ else "", uln=row[ULN] if uln else "",
    )


class _GpReader:
    """Night one's GP file of an LA, read alongside its ground truth: practices, and changed children's rows."""

    def __init__(self, first: Path) -> None:
        self.first = first
        self.name = ""
        self.sequence = 0
        self.practices: dict[str, tuple[str, str]] = {}
        self.held: dict[str, tuple[list[str], str]] = {}  # child_id -> (night one's row, its fault)
        self._handle: IO[str] | None = None
        self._rows: Iterator[list[str]] = iter(())
        self._number = 0

    def row(self, name: str, number: int, child_id: str, fault: str, plan: LaPlan) -> None:
        if name != self.name:
            self.close()
            self.name = name
            _, self.sequence = _sender_file("gp", name)
            self._handle = open(night_one_file(self.first, "gp", name), encoding="utf-8", newline="")
            self._rows = csv.reader(self._handle)
            next(self._rows)
            self._number = 0
        gp_row = next(self._rows, None)
        self._number += 1
        if gp_row is None or number != self._number:
            raise ValueError(f"{name}: ground truth row {number} does not match the file")
        if len(gp_row) >= len(GP_COLUMNS):
            self.practices.setdefault(gp_row[G_PRACTICE], (gp_row[G_PRACTICE_NAME], gp_row[G_PRACTICE_PHONE]))
            if child_id in plan.changes:
                self.held[child_id] = (gp_row[: len(GP_COLUMNS)], fault)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class _IcsReader:
    """Night one's ICS file of an LA: the last event of each involvement (child, service, team)."""

    def __init__(self, first: Path) -> None:
        self.first = first
        self.name = ""
        self.sequence = 0
        self.last: dict[tuple[str, str, str], tuple[list[str], str, str]] = {}
        self._handle: IO[str] | None = None
        self._rows: Iterator[list[str]] = iter(())

    def row(self, name: str, number: int, child_id: str, fault: str) -> None:
        if name != self.name:
            self.close()
            self.name = name
            _, self.sequence = _sender_file("ics", name)
            self._handle = open(night_one_file(self.first, "ics", name), encoding="utf-8", newline="")
            self._rows = csv.reader(self._handle)
            next(self._rows)
        values = next(self._rows, None)
        if values is None:
            raise ValueError(f"{name}: ground truth row {number} does not match the file")
        if len(values) >= len(ICS_COLUMNS):
            key = (child_id, values[_ICS_SERVICE], values[_ICS_TEAM])
            self.last.pop(key, None)  # keep the order of the last events
            self.last[key] = (values[: len(ICS_COLUMNS)], child_id, fault)

    def still_open(self) -> Iterator[tuple[str, tuple[list[str], str]]]:
        """(child_id, (the open event's row, its fault)) for every involvement not closed yet."""
        for values, child_id, fault in self.last.values():
            if values[_ICS_EVENT] == "open":
                yield child_id, (values, fault)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class _EcafReader:
    """Night one's eCAF file of an LA: each child's last notification (one assessment per child)."""

    def __init__(self, first: Path) -> None:
        self.first = first
        self.name = ""
        self.sequence = 0
        self.last: dict[str, tuple[list[str], str]] = {}
        self._handle: IO[str] | None = None

    def row(self, name: str, number: int, child_id: str, fault: str) -> None:
        if name != self.name:
            self.close()
            self.name = name
            _, self.sequence = _sender_file("ecaf", name)
            self._handle = open(night_one_file(self.first, "ecaf", name), encoding="utf-8")
        assert self._handle is not None
        lines: list[str] = []
        for line in self._handle:
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

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class _ConnexionsSnapshot:
    """An LA's Connexions snapshot resent: unchanged rows as they were, changed rows edited, leavers gone."""

    def __init__(self, night: _Night, old_name: str) -> None:
        self.night = night
        self.old_name = old_name
        sender, sequence = _sender_file("connexions", old_name)
        self._in = open(night_one_file(night.first, "connexions", old_name), encoding="utf-8", newline="")
        self._rows = csv.reader(self._in)
        self.out = night.open("connexions", sender, sequence + 1, "csv")
        self.writer = csv.writer(self.out.handle)
        self.writer.writerow(next(self._rows))
        self._number = 0

    def row(self, number: int, key: str, child_id: str, fault: str, plan: LaPlan, by_id: dict[str, list[str]]) -> None:
        values = next(self._rows, None)
        self._number += 1
        if values is None or number != self._number:
            raise ValueError(f"{self.old_name}: ground truth row {number} does not match the file")
        change = plan.changes.get(child_id)
        if change is not None:
            if change.leaves in ("left_england", "death"):
                return
            truth = by_id[child_id]
            if change.moved_to is not None:
                address = change.moved_to
                compact = " " not in values[C_POSTCODE].strip()
                values[C_ADDRESS_1], values[C_ADDRESS_2], values[C_TOWN] = address.line1, address.locality, address.town
                values[C_POSTCODE] = address.postcode.replace(" ", "") if compact else address.postcode
                fault = "" if fault in _POSTCODE_FAULTS else fault
            if change.renamed_from:
                upper = values[C_FAMILY].isupper()
                values[C_FAMILY] = truth[FAMILY_NAME].upper() if upper else truth[FAMILY_NAME]
                fault = _fault_after_rename(fault, values[4], truth[GIVEN])
        self.writer.writerow(values)
        self.out.record(key, child_id, fault)

    def close(self) -> None:
        if next(self._rows, None) is not None:
            raise ValueError(f"{self.old_name}: the file has more rows than the ground truth names")
        self._in.close()
        self.out.close()


class _SchoolRoll:
    """A school's CTF resent: header restamped, pupils copied, edited or dropped, joiners appended."""

    def __init__(self, night: _Night, old_name: str, sender: str, sequence: int) -> None:
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
        person = _person(truth, upn_=True, uln=uln and bool(truth[ULN]), postcode=moved is not None)
        if change.renamed_from:
            person.former_family = change.renamed_from
        new_fault = self.faults.maybe(person, date.fromisoformat(truth[DOB]), truth[POSTCODE])
        if moved is None and fault in _POSTCODE_FAULTS and not new_fault:
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
        person = _person(truth, upn_=True)
        fault = self.faults.maybe(person, date.fromisoformat(truth[DOB]), truth[POSTCODE])
        rng = Random(f"{self.night.seed}/next/carers/{truth[ID]}")
        assert self.night.ctx is not None
        contacts = [f"{_P}<Contacts>\n"]
        for order, carer in enumerate(_carers(self.night.ctx, rng, truth[FAMILY_NAME]), start=1):
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
