"""The fast path against the reference path, on generated files of every feed (with their faults).

The fast path is what the loaders run: XML readers that let lxml filter events in C, and batch
checks measured with vectorised pandas. The reference path is how files were read before (every
start and end event through Python, the spec shape read by its general walk; kept here) and Great
Expectations running the suites. For every generated file, and for XML files given hostile or odd
structure, both paths must read the same rows (numbers, values, dropped names), name the same
dropped elements, reject the same files, and give every row the same outcome and staged record, and
every file the same batch-check verdict.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from connectors.feeds import FEEDS, parse_file_name
from connectors.parsers import FileRejected, ParsedRow
from connectors.parsers.csv_feed import read_csv
from connectors.parsers.ecaf_xml import NOTIFICATION, read_ecaf
from connectors.parsers.school_xml import HEADER, PUPIL, REQUIRED_HEADER, read_ctf
from connectors.parsers.xml_safety import Shape, check_root, free, localname, xml_events
from schemas.child import RowOutcome
from schemas.ecaf import validate_ecaf_row
from schemas.expectations import ProfileCollector, check_file
from schemas.school import validate_pupil
from tools.synthetic import generate

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 25)
CSV = {feed.name: (feed.header(), feed.contract()) for feed in FEEDS.values() if feed.extension == "csv"}


# --- The reference readers: every event through Python, as the readers worked before ----------------

def reference_shape(element: Any, shape: Shape, path: str, dropped: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = localname(child)
        sub = shape.get(name, ...)
        where = f"{path}/{name}" if path else name
        if sub is ...:
            dropped.append(where)
        elif sub is None:
            out[name] = (child.text.strip() or None) if child.text is not None else None
        elif isinstance(sub, tuple):
            out.setdefault(name, []).append(reference_shape(child, sub[0], where, dropped))
        else:
            out[name] = reference_shape(child, sub, where, dropped)
    return out


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        flat.update(_flatten(value, f"{prefix}{key}/") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return flat


def reference_ctf(stream: io.BytesIO) -> tuple[dict[str, Any], list[str], Iterator[ParsedRow]]:
    events = xml_events(stream)
    header: dict[str, Any] | None = None
    header_dropped: list[str] = []
    for event, element in events:
        if event == "start" and element.getparent() is None:
            check_root(element, "CTfile")
        elif event == "end" and localname(element) == "Header":
            header = _flatten(reference_shape(element, HEADER, "Header", header_dropped))
            element.clear()
            break
        elif event == "start" and localname(element) == "Pupil":
            raise FileRejected("pupil data before the Header")
    if header is None:
        raise FileRejected("missing Header")
    if [name for name in REQUIRED_HEADER if not header.get(name)]:
        raise FileRejected("Header lacks")

    def pupils() -> Iterator[ParsedRow]:
        number = 0
        for event, element in events:
            if event == "end" and localname(element) == "Pupil":
                number += 1
                dropped: list[str] = []
                yield ParsedRow(number, reference_shape(element, PUPIL, "", dropped), dropped)
                free(element)
    return header, header_dropped, pupils()


def reference_ecaf(stream: io.BytesIO, file_dropped: list[str]) -> Iterator[ParsedRow]:
    events = xml_events(stream)
    for event, element in events:
        if event == "start":
            check_root(element, "CAFNotifications")
            break
    else:
        raise FileRejected("no root element")

    def notifications() -> Iterator[ParsedRow]:
        depth, number = 1, 0
        for event, element in events:
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if depth != 1:
                continue
            if localname(element) == "Notification":
                number += 1
                dropped: list[str] = []
                yield ParsedRow(number, reference_shape(element, NOTIFICATION, "", dropped), dropped)
            else:
                file_dropped.append(localname(element))
            free(element)
    return notifications()


# --- Running one file through either path ----------------------------------------------------------

@dataclass
class Reading:
    """Everything a loader takes from one file, in comparable form."""

    rejected: bool = False
    rows: list[tuple[int, dict[str, Any], list[str]]] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    verdict: dict[str, Any] | None = None


def describe(outcome: RowOutcome) -> str:
    """An outcome with every value and its type (``repr``), so "1" and 1, or True and 1, differ."""
    record = None if outcome.record is None else outcome.record.model_dump()
    return repr((record, outcome.warnings, outcome.errors, outcome.withheld, outcome.withdraws))


def read(feed: str, content: bytes, sender: str, extracted: date, fast: bool) -> Reading:
    reading = Reading()
    profile = ProfileCollector(TODAY)
    stream = io.BytesIO(content)
    try:
        if feed == "school":
            if fast:
                ctf = read_ctf(stream)
                header, header_dropped, rows = ctf.header, ctf.header_dropped, ctf.rows
            else:
                header, header_dropped, rows = reference_ctf(stream)
            reading.dropped = header_dropped

            def validate(row: ParsedRow) -> RowOutcome:
                return validate_pupil(row.values, header, TODAY, extracted)
        elif feed == "ecaf":
            if fast:
                ecaf = read_ecaf(stream)
                rows, reading.dropped = ecaf.rows, ecaf.dropped
            else:
                rows = reference_ecaf(stream, reading.dropped)

            def validate(row: ParsedRow) -> RowOutcome:
                return validate_ecaf_row(row.values, sender, TODAY, extracted)
        else:
            columns, validator = CSV[feed]
            rows = read_csv(stream, columns)

            def validate(row: ParsedRow) -> RowOutcome:
                return validator(row.values, sender, TODAY, extracted)
        for row in rows:
            reading.rows.append((row.row_number, row.values, row.dropped))
            outcome = validate(row)
            reading.outcomes.append(describe(outcome))
            if outcome.withheld:
                profile.add(row.row_number, "withheld")
            elif outcome.record is None:
                profile.add(row.row_number, "quarantined")
            else:
                profile.add(row.row_number, "warned" if outcome.warnings else "loaded", outcome.record,
                            outcome.warnings)
    except FileRejected:
        reading.rejected = True
        return reading
    verdict = check_file(feed, profile.frame(), previous_rows=None, engine="pandas" if fast else "gx")
    reading.verdict = {"passed": verdict.passed, "reasons": verdict.reasons, "results": verdict.results}
    return reading


# --- The files -------------------------------------------------------------------------------------

ODD_XML = {
    "school": [
        (b"<Surname>", b"<Surname>&nbsp;", 1),  # an undefined entity
        (b"</CTFpupilData>", b"<Pupil><UPN>", 1),  # broken after some pupils
        (b"<CTFpupilData>", b"<CTFpupilData><!-- a comment --><?pi x?>", 1),
        (b"</Header>", b"</Header><Extra><Pupil><Surname>Hidden</Surname></Pupil></Extra>", 1),
        (b"<Pupil>", b"<Pupil><Pupil><Surname>Inner</Surname></Pupil>", 1),  # a pupil in a pupil
        (b"<CTfile>", b'<CTfile xmlns="urn:ctf">', 1),  # a default namespace
        (b"<Surname>", b"<x:Surname>", 1),  # an undeclared prefix
    ],
    "ecaf": [
        (b"<FamilyName>", b"<FamilyName>&eacute;", 1),
        (b"<Notification>", b"<Batch>7</Batch><Notification>", 1),  # a root-level stranger
        (b"</Notification>", b"</Notification><Wrap><Notification><Event>x</Event></Notification></Wrap>", 1),
        (b"</CAFNotifications>", b"<Trailer/></CAFNotifications>", 1),
        (b"<CAFNotifications>", b'<CAFNotifications xmlns="urn:ecaf">', 1),
        (b"</CAFNotifications>", b"<Notification><Event>", 1),
        (b"<Child>", b"<a:Child>", 1),
    ],
}


@cache
def generated() -> tuple[tuple[str, str, bytes, str, date], ...]:
    """Every generated file (faults, case data and case-note columns included), and odd XML variants."""
    files: list[tuple[str, str, bytes, str, date]] = []
    with tempfile.TemporaryDirectory(prefix="cp-fast-path-") as folder:
        generate(Path(folder), children=1000, seed=11, fault_rate=0.3, case_note_columns=True,
                 population_file=False)
        varied: set[str] = set()
        for path in sorted(Path(folder, "inbound").glob("*/*")):
            name = parse_file_name(path.name)
            feed, content = path.parent.name, path.read_bytes()
            files.append((feed, path.name, content, name.sender, name.extract_time.date()))
            odd = ODD_XML.get(feed, []) if feed not in varied else []
            varied.add(feed)  # the first file of each XML feed, in every odd variant
            for number, (old, new, count) in enumerate(odd):
                files.append((feed, f"{path.name} variant {number}", content.replace(old, new, count),
                              name.sender, name.extract_time.date()))
    return tuple(files)


@pytest.mark.parametrize("feed", list(FEEDS))
def test_the_fast_path_reads_judges_and_checks_every_generated_file_as_the_reference_does(feed: str) -> None:
    files = [f for f in generated() if f[0] == feed]
    assert files, f"no {feed} file was generated"
    seen = {"rows": 0, "quarantined": 0, "rejected": 0}
    for _, label, content, sender, extracted in files:
        fast = read(feed, content, sender, extracted, fast=True)
        reference = read(feed, content, sender, extracted, fast=False)

        assert fast.rejected == reference.rejected, label
        assert fast.rows == reference.rows, label
        assert fast.outcomes == reference.outcomes, label
        assert sorted(fast.dropped) == sorted(reference.dropped), label
        assert fast.verdict == reference.verdict, label
        seen["rows"] += len(fast.rows)
        seen["quarantined"] += sum(outcome.startswith("(None,") for outcome in fast.outcomes)
        seen["rejected"] += fast.rejected
    # The comparison covered real work: rows read, some of them quarantined for their faults.
    assert seen["rows"] > 15 and seen["quarantined"] > 0, seen
    if feed in ODD_XML:
        assert seen["rejected"] > 0, seen  # the hostile variants were refused by both paths
