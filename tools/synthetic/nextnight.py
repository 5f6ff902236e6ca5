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

The parts: ``nextnight_plan`` draws the night's changes, ``nextnight_files`` holds what every resend
shares, and ``nextnight_school``, ``nextnight_connexions``, ``nextnight_gp``, ``nextnight_ics`` and
``nextnight_ecaf`` write each feed's files.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from pathlib import Path
from random import Random

from tools.synthetic.dropzone import FEEDS, DropZone
from tools.synthetic.generator import CHILDREN_COLUMNS
from tools.synthetic.nextnight_connexions import ConnexionsSnapshot
from tools.synthetic.nextnight_ecaf import EcafReader, ecaf_events
from tools.synthetic.nextnight_files import (
    CHANGE_MIX,
    GP_CHANGE,
    ID,
    LA,
    MOVE,
    NAME_CHANGE,
    NHS,
    NIGHT_ONE_PLACES,
    SCHOOL_CHANGE,
    LaPlan,
    Night,
    Truth,
    night_one_date,
    sender_file,
)
from tools.synthetic.nextnight_gp import GpReader, gp_delta
from tools.synthetic.nextnight_ics import IcsReader, ics_events
from tools.synthetic.nextnight_plan import NhsNumbers, plan_la
from tools.synthetic.nextnight_school import SchoolRoll
from tools.synthetic.places import LaContext, LocalAuthority, all_local_authorities


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
    if leaver_share + change_share * (1 - CHANGE_MIX[MOVE]) > 1.0:
        raise ValueError("leaver_share plus the per-child change shares exceed 1")
    for needed in ("children.csv", "ground_truth.csv"):
        if not (first / needed).is_file():
            raise FileNotFoundError(f"{first / needed} is missing: next_night reads a folder `generate` wrote")
    inbound = out_dir / "inbound"
    if (out_dir / "ground_truth.csv").exists() or (inbound.exists() and any(inbound.rglob("*"))):
        raise FileExistsError(f"{out_dir} already holds generated files; use an empty directory")
    night_one = night_one_date(first)
    as_of = night_one + timedelta(days=1)
    sent = {feed for feed in FEEDS if any(folder.is_dir() and any(folder.iterdir()) for folder in
                                          (first / place / feed for place in NIGHT_ONE_PLACES))}
    nhs = NhsNumbers(seed)
    children, last_index = _survey(first / "children.csv", nhs)
    authorities = {la.code: la for la in all_local_authorities()}
    zone = DropZone(out_dir, seed, as_of)
    night = Night(first, zone, seed, as_of, fault_rate, sent)
    counts = {key: 0 for key in ("births", "arrivals", "moved", SCHOOL_CHANGE, GP_CHANGE, NAME_CHANGE, "left_england",
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
            truth = Truth(csv.reader(truth_in), first / "ground_truth.csv")
            for la_code, group in groupby(people, key=lambda row: row[LA]):
                rows = list(group)
                la = authorities.get(la_code)
                if la is None:
                    raise ValueError(f"{first / 'children.csv'}: unknown la_code {la_code!r}")
                if la_code in handled:  # an LA's files are written once: its children must be together
                    raise ValueError(f"{first / 'children.csv'}: la_code {la_code} appears again after other LAs")
                handled.add(la_code)
                plan = plan_la(rows, la, seed, as_of, nhs, (new_share, change_share, leaver_share), last_index)
                last_index += len(plan.new_rows)
                _resend(night, la, rows, plan, truth)
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
        moved_children=counts["moved"], school_changes=counts[SCHOOL_CHANGE], gp_changes=counts[GP_CHANGE],
        name_changes=counts[NAME_CHANGE], left_england=counts["left_england"], deaths=counts["death"],
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



def _survey(path: Path, nhs: NhsNumbers) -> tuple[int, int]:
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
        counts[SCHOOL_CHANGE] += bool(change.school_to)
        counts[GP_CHANGE] += bool(change.practice_to)
        counts[NAME_CHANGE] += bool(change.renamed_from)
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


def _resend(night: Night, la: LocalAuthority, rows: list[list[str]], plan: LaPlan, truth: Truth) -> None:
    """Resend the LA's snapshots, collect its GP rows, and write its GP delta."""
    night.ctx = LaContext(la, night.seed)
    by_id = {row[ID]: row for row in rows}
    by_id.update((row[ID], row) for row in plan.new_rows)
    schools: dict[str, SchoolRoll] = {}
    connexions: ConnexionsSnapshot | None = None
    gp = GpReader(night.first)
    ics = IcsReader(night.first)
    ecaf = EcafReader(night.first)
    transfers: dict[str, list[str]] = {}  # child_id -> the Pupil element the old school held
    rolls: dict[str, SchoolRoll] = {}  # by night one's file name: a roll's rows need not be together
    try:
        for feed, name, number, key, child_id, fault in truth.take(set(by_id)):
            if feed == "school":
                roll = rolls.get(name)
                if roll is None:
                    sender, sequence = sender_file(feed, name)
                    roll = rolls[name] = schools[sender] = SchoolRoll(night, name, sender, sequence + 1)
                roll.pupil(int(number), key, child_id, fault, plan, by_id, transfers)
            elif feed == "connexions":
                if connexions is None or connexions.old_name != name:
                    if connexions is not None:
                        connexions.close()
                    connexions = ConnexionsSnapshot(night, name)
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
    if "gp" in night.sent:
        gp_delta(night, la, rows, plan, gp)
    rng = Random(f"{night.seed}/next/events/{la.code}")
    if "ics" in night.sent:
        ics_events(night, la, rows, plan, ics, rng)
    if "ecaf" in night.sent:
        ecaf_events(night, la, rows, plan, ecaf, rng)
