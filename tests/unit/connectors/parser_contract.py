"""The parsers' reliability contract, driven as each feed's loader drives its parser and validator, and the
valid files (factory-built and synthetic-generated) the fuzzing starts from.
"""

from __future__ import annotations

import io
import tempfile
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from connectors.feeds import FEEDS as REGISTRY
from connectors.feeds import parse_file_name
from connectors.parsers import FileRejected, ParsedRow
from connectors.parsers.csv_feed import read_csv
from connectors.parsers.ecaf_xml import NOTIFICATION, read_ecaf
from connectors.parsers.school_xml import PUPIL, read_ctf
from connectors.parsers.xml_safety import Shape
from schemas.child import RowIssue, RowOutcome, SourceRecord
from schemas.connexions import CONNEXIONS_COLUMNS, validate_connexions_row
from schemas.ecaf import validate_ecaf_row
from schemas.gp import GP_COLUMNS, validate_gp_row
from schemas.ics import ICS_COLUMNS, validate_ics_row
from schemas.school import validate_pupil
from tests.factories import (
    connexions_row,
    csv_file,
    ctf,
    ecaf_file,
    gp_row,
    ics_row,
    notification,
    pupil,
    valid_nhs_number,
    valid_uln,
    valid_upn,
)
from tools.synthetic import generate

TODAY = date(2026, 11, 25)


FEED_NAMES = tuple(REGISTRY)


XML_FEEDS = ("school", "ecaf")


Validator = Callable[[ParsedRow], RowOutcome]


def _open_school(content: bytes, sender: str) -> tuple[Iterable[ParsedRow], Validator]:
    ctf_file = read_ctf(io.BytesIO(content))
    return ctf_file.rows, lambda row: validate_pupil(row.values, ctf_file.header, TODAY)


def _open_ecaf(content: bytes, sender: str) -> tuple[Iterable[ParsedRow], Validator]:
    ecaf = read_ecaf(io.BytesIO(content))
    return ecaf.rows, lambda row: validate_ecaf_row(row.values, sender, TODAY)


def _csv_opener(
    columns: tuple[str, ...], validate: Callable[[dict[str, Any], str, date], RowOutcome]
) -> Callable[[bytes, str], tuple[Iterable[ParsedRow], Validator]]:
    def open_csv(content: bytes, sender: str) -> tuple[Iterable[ParsedRow], Validator]:
        return read_csv(io.BytesIO(content), columns), lambda row: validate(row.values, sender, TODAY)
    return open_csv


def _shape_names(shape: Shape) -> set[str]:
    names: set[str] = set()
    for name, sub in shape.items():
        names.add(name)
        if isinstance(sub, tuple):
            names |= _shape_names(sub[0])
        elif isinstance(sub, dict):
            names |= _shape_names(sub)
    return names


@dataclass(frozen=True)
class Feed:
    """A feed as the loader drives it, the sender of its default files, and the names its fields go by."""

    name: str
    open: Callable[[bytes, str], tuple[Iterable[ParsedRow], Validator]]
    sender: str
    field_names: frozenset[str]

    def names_a_field(self, issue: RowIssue) -> bool:
        """Whether an issue names a spec field (an XML path's every step is one of the spec's elements)."""
        if not issue.field or not issue.reason.strip():
            return False
        if issue.field in self.field_names:
            return True
        return all(step in self.field_names for step in issue.field.split("/"))


FEEDS: dict[str, Feed] = {
    "school": Feed("school", _open_school, "3722001", frozenset(_shape_names(PUPIL))),
    "gp": Feed("gp", _csv_opener(GP_COLUMNS, validate_gp_row), "13V", frozenset(GP_COLUMNS)),
    "connexions": Feed("connexions", _csv_opener(CONNEXIONS_COLUMNS, validate_connexions_row), "372",
                       frozenset(CONNEXIONS_COLUMNS)),
    "ecaf": Feed("ecaf", _open_ecaf, "372", frozenset(_shape_names(NOTIFICATION))),
    "ics": Feed("ics", _csv_opener(ICS_COLUMNS, validate_ics_row), "372", frozenset(ICS_COLUMNS)),
}


@dataclass
class Verdict:
    """What became of a file: rejected with a reason, or one outcome per row read."""

    rejected: str | None
    outcomes: list[RowOutcome]


def run_contract(feed: Feed, content: bytes, sender: str | None = None) -> Verdict:
    """Parse and validate ``content`` as the loader does, asserting the contract; other exceptions escape."""
    read = 0
    outcomes: list[RowOutcome] = []
    try:
        rows, validate = feed.open(content, sender or feed.sender)
        for row in rows:
            read += 1
            assert isinstance(row, ParsedRow), row
            assert row.row_number == read, f"row {read} is numbered {row.row_number}"
            outcomes.append(validate(row))
    except FileRejected as exc:
        assert str(exc).strip(), "FileRejected without a reason"
        return Verdict(str(exc), [])
    check_outcomes(feed, read, outcomes)
    return Verdict(None, outcomes)


def check_outcomes(feed: Feed, read: int, outcomes: list[RowOutcome]) -> None:
    """Every outcome is exactly one of loaded, quarantined (with a field-naming reason) or withheld."""
    loaded = quarantined = withheld = 0
    for number, outcome in enumerate(outcomes, start=1):
        assert isinstance(outcome, RowOutcome), (number, outcome)
        for issue in outcome.warnings + outcome.errors:
            assert isinstance(issue, RowIssue) and issue.field and issue.reason, (number, issue)
        if outcome.withheld:
            assert outcome.record is None, f"row {number} is withheld but carries a record"
            withheld += 1
        elif outcome.record is not None:
            assert isinstance(outcome.record, SourceRecord), (number, outcome.record)
            assert not outcome.errors, f"row {number} is loaded with errors {outcome.errors}"
            loaded += 1
        else:
            assert outcome.errors, f"row {number} is quarantined without a reason"
            assert any(feed.names_a_field(issue) for issue in outcome.errors), (
                f"row {number} of a {feed.name} file: no error names a spec field: {outcome.errors}")
            quarantined += 1
    assert loaded + quarantined + withheld == read == len(outcomes)


@dataclass(frozen=True)
class Seed:
    """A valid file of a feed and the sender named in its file name."""

    label: str
    content: bytes
    sender: str


def _first_records(content: bytes, record: bytes, closing: bytes, keep: int) -> bytes:
    """An XML file cut after its ``keep``-th record, closed again."""
    end = -1
    for _ in range(keep):
        found = content.find(b"</" + record + b">", end + 1)
        if found < 0:
            break
        end = found
    return content[: end + len(record) + 3] + closing if end >= 0 else content


def _first_lines(content: bytes, keep: int) -> bytes:
    return b"".join(content.splitlines(keepends=True)[: keep + 1])


@cache
def generated_seeds() -> dict[str, tuple[Seed, ...]]:
    """Small files of every feed from the synthetic generator (with its faults and case data)."""
    seeds: dict[str, list[Seed]] = {feed: [] for feed in FEED_NAMES}
    with tempfile.TemporaryDirectory(prefix="cp-fuzz-") as folder:
        generate(Path(folder), children=600, seed=7, fault_rate=0.3, case_note_columns=True, population_file=False)
        for path in sorted(Path(folder, "inbound").glob("*/*")):
            feed, content = path.parent.name, path.read_bytes()
            if feed == "school":
                content = _first_records(content, b"Pupil", b"\n  </CTFpupilData>\n</CTfile>\n", 4)
            elif feed == "ecaf":
                content = _first_records(content, b"Notification", b"\n</CAFNotifications>\n", 5)
            else:
                content = _first_lines(content, 6)
            seeds[feed].append(Seed(f"generated {path.name}", content, parse_file_name(path.name).sender))
    return {feed: tuple(found[:2]) for feed, found in seeds.items()}


def _factory_files() -> dict[str, bytes]:
    return {
        "school": ctf([pupil(UPN=valid_upn(serial=1)), pupil(UPN=valid_upn(serial=2), Forename="Zoë", Sex="F")]),
        "gp": csv_file([gp_row(nhs_number=valid_nhs_number(999_000_000)),
                        gp_row(nhs_number=valid_nhs_number(999_000_100), record_action="deregister",
                               deregistration_date="2026-10-01", deregistration_reason="left_england")],
                       GP_COLUMNS),
        "connexions": csv_file([connexions_row(**connexions_ids(1)), connexions_row(**connexions_ids(2))]),
        "ecaf": ecaf_file([notification(**ecaf_ids(1)), notification(**ecaf_ids(2), Event="closed")]),
        "ics": csv_file([ics_row(**ics_ids(1)),
                         ics_row(**ics_ids(2), service_type="mental_health", consent_sensitive="N")]),
    }


@cache
def seeds() -> dict[str, tuple[Seed, ...]]:
    """Every valid starting file per feed: factory-built first, then generated."""
    factory = _factory_files()
    return {feed: (Seed("factory", factory[feed], FEEDS[feed].sender), *generated_seeds()[feed])
            for feed in FEED_NAMES}


# Serial-derived values the factories would otherwise take from a session-wide counter: fixed here so
# that a run's examples do not depend on which tests ran before.
def connexions_ids(i: int) -> dict[str, str]:
    return {"client_id": f"CX372{i:06d}", "upn": valid_upn(serial=i), "uln": valid_uln(100_000_000 + 7 * i)}


def ics_ids(i: int) -> dict[str, str]:
    return {"event_id": f"ICS372-{i:07d}", "nhs_number": valid_nhs_number(999_000_000 + 11 * i),
            "date_of_birth": f"2012-01-{i:02d}"}


def ecaf_ids(i: int) -> dict[str, str]:
    return {"NotificationId": f"CAF-{i:07d}", "NHSNumber": valid_nhs_number(999_000_000 + 11 * i),
            "DateOfBirth": f"2014-02-{i:02d}"}


def peak_memory_reading(rows: Callable[[], Iterable[object]]) -> int:
    """The peak memory traced while a parser is opened (``rows()``) and every row it yields is read: a parser
    that streams keeps it flat however long the file."""
    tracemalloc.start()
    for _ in rows():
        pass
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top
