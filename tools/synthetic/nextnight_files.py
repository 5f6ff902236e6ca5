"""What every feed's resend on a next night shares: children.csv's columns, tonight's changes, night
one's files and ground truth, and the night's own files (see ``tools.synthetic.nextnight``)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import IO

from tools.synthetic.dropzone import GROUND_TRUTH_COLUMNS, DropZone, FeedFile, file_name, file_stamp
from tools.synthetic.faults import FaultInjector, RowPerson
from tools.synthetic.generator import CHILDREN_COLUMNS
from tools.synthetic.places import Address, LaContext, ascii_fold

# Column positions in children.csv (CHILDREN_COLUMNS).
(ID, GIVEN, MIDDLE, FAMILY_NAME, FORMER, DOB, GENDER, LINE1, TOWN, POSTCODE, OLD_POSTCODE, NHS, UPN, ULN,
 HOUSEHOLD, TWIN, LA, SCHOOL, PRACTICE, GP_REGISTERED, CARE_LEAVER, RESTRICTED) = range(len(CHILDREN_COLUMNS))

_NAME = re.compile(r"^(?P<feed>[a-z]+)_(?P<sender>[A-Za-z0-9]+)_(?P<stamp>\d{8})T\d{6}_(?P<seq>\d+)\.(?P<ext>\w+)$")
POSTCODE_FAULTS = frozenset(("postcode_case", "bad_postcode"))
MOVE, SCHOOL_CHANGE, GP_CHANGE, NAME_CHANGE = "move", "school", "gp", "name"
# How the changed rows split between kinds (a move takes the whole household with it).
CHANGE_MIX = {MOVE: 0.4, SCHOOL_CHANGE: 0.2, GP_CHANGE: 0.2, NAME_CHANGE: 0.2}
# Night one's files may have been ingested already (``contactpoint ingest DIR`` moves them on).
NIGHT_ONE_PLACES = ("inbound", "processed", "rejected")
# Per night: the share of open involvements / assessments that close, and of children a new one opens for.
P_CLOSE = 0.04
P_OPEN = 0.0006


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


def night_one_file(first: Path, feed: str, name: str) -> Path:
    """Where night one's file is: still in ``inbound/``, or where the hub's ingest moved it."""
    for place in NIGHT_ONE_PLACES:
        path = first / place / feed / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"{first}: the ground truth names {feed}/{name}, which is in none of {NIGHT_ONE_PLACES}")

def night_one_date(first: Path) -> date:
    """Night one's extract date, read from its file names (every sender stamps the same day)."""
    for path in sorted(p for place in NIGHT_ONE_PLACES for p in (first / place).glob("*/*")):
        match = _NAME.match(path.name)
        if match:
            stamp = match.group("stamp")
            return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
    raise FileNotFoundError(f"{first / 'inbound'} holds no feed files to follow")


class Truth:
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


def sender_file(feed: str, old_name: str) -> tuple[str, int]:
    match = _NAME.match(old_name)
    if match is None or match.group("feed") != feed:
        raise ValueError(f"ground truth names a file that is not a {feed} feed file: {old_name!r}")
    return match.group("sender"), int(match.group("seq"))


class Night:
    """What stays the same all night: where night one is, tonight's drop zone, the seed and the date."""

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


def _fault_after_rename(fault: str, written_given: str, true_given: str) -> str:
    """The row's fault once its family name is rewritten: a fault that was in the family name is gone."""
    if fault == "surname_change":
        return ""
    if fault == "empty_name" and written_given:
        return ""
    if fault == "typo" and ascii_fold(written_given).casefold() == ascii_fold(true_given).casefold():
        return ""
    return fault


def row_person(row: list[str], *, nhs: bool = False, upn_: bool = False, uln: bool = False,
            postcode: bool = True) -> RowPerson:
    return RowPerson(
        given=row[GIVEN], middle=row[MIDDLE], family=row[FAMILY_NAME], former_family=row[FORMER], dob=row[DOB],
        gender=row[GENDER], postcode=row[POSTCODE] if postcode else "", nhs=row[NHS] if nhs else "",
        upn=row[UPN] if upn_ else "", uln=row[ULN] if uln else "",
    )


def fault_after_change(fault: str, change: Change, written_given: str, true_given: str) -> str:
    """The row's fault once the row is rewritten for tonight's change: a postcode fault goes with the old
    postcode on a move, a fault in the family name with the old name."""
    if change.moved_to is not None and fault in POSTCODE_FAULTS:
        fault = ""
    if change.renamed_from:
        fault = _fault_after_rename(fault, written_given, true_given)
    return fault


def closing_tonight(
    still_open: Iterable[tuple[str, tuple[list[str], str]]], plan: LaPlan, rng: Random,
) -> Iterator[tuple[str, list[str], str, Change | None]]:
    """(child_id, the open record, its fault, tonight's change) for the involvements that close tonight:
    every one of a child who left England or died, ``P_CLOSE`` of the others."""
    for child_id, (record, fault) in still_open:
        change = plan.changes.get(child_id)
        leaving = change is not None and change.leaves in ("left_england", "death")
        if leaving or rng.random() < P_CLOSE:
            yield child_id, record, fault, change


def opening_tonight(rows: list[list[str]], plan: LaPlan, rng: Random) -> Iterator[list[str]]:
    """The truth rows of the children a new involvement opens for tonight: ``P_OPEN`` of those who stay."""
    for row in rows:
        change = plan.changes.get(row[ID])
        if (change is None or not change.leaves) and rng.random() < P_OPEN:
            yield row


class NightOneFile:
    """Night one's files of one feed for an LA, opened in turn as its ground truth rows name them."""

    def __init__(self, first: Path, feed: str) -> None:
        self.first = first
        self.feed = feed
        self.name = ""
        self.sequence = 0  # of the file open now: tonight's file of the sender takes the next one
        self.handle: IO[str] | None = None

    def follow(self, name: str, newline: str | None = None) -> bool:
        """Open night one's file ``name`` unless it is the one open already; whether it opened it."""
        if name == self.name:
            return False
        self.close()
        self.name = name
        _, self.sequence = sender_file(self.feed, name)
        self.handle = open(night_one_file(self.first, self.feed, name), encoding="utf-8", newline=newline)
        return True

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class NightOneCsv(NightOneFile):
    """Night one's CSV files of one feed for an LA, read a data row per ground truth row."""

    def __init__(self, first: Path, feed: str) -> None:
        super().__init__(first, feed)
        self.rows: Iterator[list[str]] = iter(())
        self.number = 0  # data rows read from the file open now

    def next_row(self, name: str) -> list[str] | None:
        """The next data row of night one's file ``name`` (None past its end)."""
        if self.follow(name, newline=""):
            assert self.handle is not None
            self.rows = csv.reader(self.handle)
            next(self.rows)  # the header
            self.number = 0
        self.number += 1
        return next(self.rows, None)
