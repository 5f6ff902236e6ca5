"""The parsers never crash: whatever bytes arrive, a file ends rejected with a reason or as row outcomes.

The reliability contract (``docs/architecture.md``) says hostile files end rejected or quarantined with a
reason, within bounded time and memory, and that the parsers never crash. For each feed this module
drives the feed's parser and row validator exactly as its loader (``connectors/<feed>.py``) does, on

* arbitrary bytes, and arbitrary bytes after a valid prologue (header row, root element);
* valid files (factory-built and synthetic-generated) mutated by byte flips, truncations, deletions
  and insertions of hostile snippets (``<!DOCTYPE``, entities, NUL bytes, invalid UTF-8, huge fields);
* structurally valid files whose field values are arbitrary text (so the validators see everything);
* endless streams (one endless CSV line, one endless XML text node, endless nesting),

and checks that each file either raises ``FileRejected`` with a non-empty reason or yields rows
numbered 1..n, each of which the validator turns into a ``RowOutcome`` that is loaded (a record, no
errors), quarantined (no record, at least one error naming a spec field) or withheld; and that rows
read = loaded + quarantined + withheld. Any other exception is a crash.

Findings: the three crashes this module found first (an undeclared namespace prefix in either XML
feed; an over-long optional detail or a non-ASCII digit contact ``Order`` in a CTF) each keep a
regression property below, seeded with the minimal failing input as an explicit example.

Runs are deterministic (``derandomize=True``, no example database); ``CP_FUZZ_SCALE`` multiplies the
number of examples for a longer local hunt (``CP_FUZZ_SCALE=20 pytest this_file``).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connectors.feeds import FEEDS as REGISTRY
from connectors.feeds import parse_file_name
from connectors.parsers import FileRejected, ParsedRow
from connectors.parsers.csv_feed import MAX_ROW_CHARS, read_csv
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

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 25)
SCALE = float(os.environ.get("CP_FUZZ_SCALE", "1"))
FEED_NAMES = tuple(REGISTRY)
XML_FEEDS = ("school", "ecaf")


def fuzz_settings(examples: int) -> settings:
    """Deterministic, database-less settings: the same examples on every run and every machine."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


# --- Driving a feed's parser and validator as its loader does ------------------------------------

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


# --- Valid files to start from -------------------------------------------------------------------

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
        "connexions": csv_file([connexions_row(**_connexions_ids(1)), connexions_row(**_connexions_ids(2))]),
        "ecaf": ecaf_file([notification(**_ecaf_ids(1)), notification(**_ecaf_ids(2), Event="closed")]),
        "ics": csv_file([ics_row(**_ics_ids(1)),
                         ics_row(**_ics_ids(2), service_type="mental_health", consent_sensitive="N")]),
    }


@cache
def seeds() -> dict[str, tuple[Seed, ...]]:
    """Every valid starting file per feed: factory-built first, then generated."""
    factory = _factory_files()
    return {feed: (Seed("factory", factory[feed], FEEDS[feed].sender), *generated_seeds()[feed])
            for feed in FEED_NAMES}


# Serial-derived values the factories would otherwise take from a session-wide counter: fixed here so
# that a run's examples do not depend on which tests ran before.
def _connexions_ids(i: int) -> dict[str, str]:
    return {"client_id": f"CX372{i:06d}", "upn": valid_upn(serial=i), "uln": valid_uln(100_000_000 + 7 * i)}


def _ics_ids(i: int) -> dict[str, str]:
    return {"event_id": f"ICS372-{i:07d}", "nhs_number": valid_nhs_number(999_000_000 + 11 * i),
            "date_of_birth": f"2012-01-{i:02d}"}


def _ecaf_ids(i: int) -> dict[str, str]:
    return {"NotificationId": f"CAF-{i:07d}", "NHSNumber": valid_nhs_number(999_000_000 + 11 * i),
            "DateOfBirth": f"2014-02-{i:02d}"}


# --- Strategies ----------------------------------------------------------------------------------

HOSTILE: tuple[bytes, ...] = (
    b"<!DOCTYPE x>",
    b'<!DOCTYPE CTfile [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b"&x;", b"&b;", b"&#0;", b"&#x1;", b"&amp;", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?pi x?>",
    b"<", b">", b"</", b"/>", b"<x>", b"</x>", b"<Pupil>", b"</Pupil>", b"<Notification>", b"</Notification>",
    b'<x xmlns="urn:other">', b"<p:x/>", b"<p:", b"xmlns:p='urn:p'",
    b'<?xml version="1.0" encoding="UTF-16"?>', b'<?xml version="1.1"?>',
    b"\x00", b"\x00\x00\x00\x00", b"\xff", b"\xfe\xff", b"\xef\xbb\xbf", b"\xc3", b"\xc3(", b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x1b[0m", b"\x0b", b"\x0c", b"\x1c", b"\x85", "\u2028".encode(),
    b'"', b'""', b",", b",,,,,,", b"\n", b"\r", b"\r\n", b"\r\n\r\n", b"\t",
    "²".encode(), "١٢٣".encode(), "Zoë".encode(), "\U0001f600".encode(), "\u202e".encode(),
    b"2026-02-29", b"2026-11-26", b"1999-01-01", b"0000-00-00", b"9" * 30, b"-1", b"M", b"X", b"Y", b"maybe",
    b"../../etc/passwd", b"BFPO 123", b"ZZ99 3VZ",
    b"A" * 101, b"A" * 201, b"1" * 5000, b"x" * (MAX_ROW_CHARS + 1), b"x" * 1_000_000,
)
MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 30), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 30)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 30), st.integers(1, 300)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 30),
              st.one_of(st.sampled_from(HOSTILE), st.binary(min_size=1, max_size=24))),
)


def mutate(content: bytes, mutations: list[tuple[Any, ...]]) -> bytes:
    """Apply byte flips, truncations, deletions and insertions, each at a position within the file."""
    data = bytearray(content)
    for kind, position, *rest in mutations:
        at = position % (len(data) + 1)
        if kind == "flip" and at < len(data):
            data[at] ^= rest[0]
        elif kind == "truncate":
            del data[at:]
        elif kind == "delete":
            del data[at: at + rest[0]]
        elif kind == "insert":
            data[at:at] = rest[0]
    return bytes(data)


# Text that XML 1.0 can carry (no controls, surrogates or non-characters), so structured files stay well formed.
XML_TEXT_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
INTERESTING_VALUES = (
    "", " ", "  \t ", "x" * 101, "x" * 201, "x" * 5000, "²", "١٢", "Zoë", "O'Brien", "Smith-Jones",
    "2026-02-29", "2024-02-29", "2026-11-25", "2026-11-26", "2001-11-25", "2001-11-24", "2026-13-01",
    "26-11-2026", "2026-1-1", "M", "f", "U", "I", "X", "Y", "N", "true", "FALSE", "1", "0", "maybe",
    "add", "UPDATE", "deregister", "death", "left_england", "open", "close", "completed", "closed",
    "social_care", "sexual_health", "mental_health", "substance_misuse", "other", "unknown_service",
    "372", "919", "37", "3721", "S60 1AA", "s601aa", "BFPO 123", "ZZ99 3VZ", "GIR 0AA", "C84001", "c84001",
    "9990000018", "999 000 0018", "9990000017", "A372200125001", "5634616009", "PAR", "car", "XYZ",
)
FIELD_TEXT = st.one_of(
    st.sampled_from(INTERESTING_VALUES),
    st.text(XML_TEXT_CHARS, max_size=30),
    st.text(XML_TEXT_CHARS, min_size=95, max_size=260),
)


def _overrides(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names), FIELD_TEXT, max_size=5)


PUPIL_FIELDS = ("UPN", "Surname", "Forename", "DOB", "Sex", "MiddleNames", "PostCode", "PAON", "Street", "Town")
PUPIL_EXTRAS = (
    "", "<Gender>F</Gender>", "<UniqueLearnerNumber>5634616009</UniqueLearnerNumber>",
    "<BasicDetails><PreferredSurname>Lee</PreferredSurname><FormerSurname>Ng</FormerSurname></BasicDetails>",
    "<SchoolHistory><School><LEA>372</LEA><Estab>2001</Estab><EntryDate>2020-13-01</EntryDate></School>"
    "</SchoolHistory>",
    "<Address><AddressLines><AddressLine1>1 Oak Road</AddressLine1></AddressLines><PostCode>ZZ99 3VZ</PostCode>"
    "</Address>",
    "<StageAssessments><StageAssessment><Result>CANARY</Result></StageAssessment></StageAssessments>",
)
CONTACT_FIELDS = ("Order", "Title", "Surname", "Forename", "Relationship", "Responsibility", "PhoneNo", "Email")


def _contact_xml(values: dict[str, str]) -> str:
    phone = values.pop("PhoneNo", "01709 123456")
    body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in values.items())
    return f"<Contacts><Contact>{body}<Phones><Phone><PhoneNo>{escape(phone)}</PhoneNo></Phone></Phones>" \
           "</Contact></Contacts>"


@st.composite
def school_files(draw: st.DrawFn) -> bytes:
    """A well-formed CTF whose pupils' and contacts' values are arbitrary text."""
    pupils = []
    for i in range(draw(st.integers(1, 3))):
        contact = {"Order": "1", "Surname": "Smith", "Relationship": "PAR", **draw(_overrides(CONTACT_FIELDS))}
        extra = draw(st.sampled_from(PUPIL_EXTRAS))
        values = {"UPN": valid_upn(serial=i), **draw(_overrides(PUPIL_FIELDS))}
        pupils.append(pupil(**values, contact=None, extra_xml=_contact_xml(contact) + extra))
    return ctf(pupils)


@st.composite
def csv_files(draw: st.DrawFn, feed: str) -> bytes:
    """A CSV file of the feed's columns (sometimes with case-note columns) whose values are arbitrary text."""
    build, columns, ids = {
        "gp": (gp_row, GP_COLUMNS, lambda i: {"nhs_number": valid_nhs_number(999_000_000 + 11 * i)}),
        "connexions": (connexions_row, CONNEXIONS_COLUMNS, _connexions_ids),
        "ics": (ics_row, ICS_COLUMNS, _ics_ids),
    }[feed]
    extra = draw(st.sampled_from(((), ("notes",), ("notes", "diagnosis"))))
    rows = [build(**{**ids(i), **{name: "case" for name in extra}, **draw(_overrides(columns))})
            for i in range(1, draw(st.integers(1, 4)) + 1)]
    return csv_file(rows, columns + extra)


ECAF_FIELDS = ("NotificationId", "Event", "EventDate", "NHSNumber", "UPN", "FamilyName", "GivenName", "DateOfBirth",
               "Gender", "AddressLine1", "AddressLine2", "Postcode", "Name", "Role", "Organisation", "Phone", "Email",
               "LeadProfessional")


@st.composite
def ecaf_files(draw: st.DrawFn) -> bytes:
    """A well-formed eCAF file whose notifications' values are arbitrary text."""
    return ecaf_file([notification(**{**_ecaf_ids(i), **draw(_overrides(ECAF_FIELDS))})
                      for i in range(1, draw(st.integers(1, 3)) + 1)])


def structured_files(feed: str) -> st.SearchStrategy[bytes]:
    """Well-formed files of ``feed`` with arbitrary field values."""
    if feed == "school":
        return school_files()
    if feed == "ecaf":
        return ecaf_files()
    return csv_files(feed)


PROLOGUES = {
    "school": b'<?xml version="1.0" encoding="UTF-8"?><CTfile><Header><DateTime>2026-11-01T10:00:00</DateTime>'
              b"<SourceSchool><LEA>372</LEA><Estab>2001</Estab></SourceSchool></Header><CTFpupilData><Pupil>",
    "gp": ",".join(GP_COLUMNS).encode() + b"\r\n",
    "connexions": ",".join(CONNEXIONS_COLUMNS).encode() + b"\r\n",
    "ecaf": b'<?xml version="1.0" encoding="UTF-8"?><CAFNotifications><Notification>',
    "ics": ",".join(ICS_COLUMNS).encode() + b"\r\n",
}


# --- The properties ------------------------------------------------------------------------------

def test_every_starting_file_is_valid_so_mutations_start_from_the_spec() -> None:
    for feed in FEED_NAMES:
        assert len(seeds()[feed]) >= 2, feed
        for seed in seeds()[feed]:
            verdict = run_contract(FEEDS[feed], seed.content, seed.sender)
            assert verdict.rejected is None and verdict.outcomes, (feed, seed.label, verdict.rejected)
            assert any(outcome.record is not None for outcome in verdict.outcomes), (feed, seed.label)


@pytest.mark.parametrize("feed", FEED_NAMES)
@fuzz_settings(200)
@given(content=st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash(feed: str, content: bytes) -> None:
    run_contract(FEEDS[feed], content)


@pytest.mark.parametrize("feed", FEED_NAMES)
@fuzz_settings(200)
@given(tail=st.one_of(st.binary(max_size=1024), st.lists(st.sampled_from(HOSTILE), max_size=6).map(b"".join)))
def test_bytes_after_a_valid_prologue_never_crash(feed: str, tail: bytes) -> None:
    run_contract(FEEDS[feed], PROLOGUES[feed] + tail)


@pytest.mark.parametrize("feed", FEED_NAMES)
@fuzz_settings(200)
@given(data=st.data(), mutations=st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_valid_files_never_crash(feed: str, data: st.DataObject, mutations: list[tuple[Any, ...]]) -> None:
    seed = data.draw(st.sampled_from(seeds()[feed]), label="seed")
    run_contract(FEEDS[feed], mutate(seed.content, mutations), seed.sender)


@pytest.mark.parametrize("feed", FEED_NAMES)
@fuzz_settings(150)
@given(data=st.data())
def test_arbitrary_field_values_never_crash_the_validators(feed: str, data: st.DataObject) -> None:
    content = data.draw(structured_files(feed), label="file")
    verdict = run_contract(FEEDS[feed], content)
    # A well-formed file is never refused as a whole, whatever its values.
    assert verdict.rejected is None and verdict.outcomes, verdict.rejected


class EndlessStream(io.RawIOBase):
    """``head``, then ``body`` repeated forever; fails the test if more than ``limit`` bytes are read."""

    def __init__(self, head: bytes, body: bytes, limit: int) -> None:
        self.head, self.body, self.limit, self.served = head, body, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        assert self.served < self.limit, f"read {self.served} bytes of an endless stream: unbounded"
        chunk = (self.head + self.body * (len(view) // len(self.body) + 1))[: len(view)] if self.served == 0 \
            else (self.body * (len(view) // len(self.body) + 1))[: len(view)]
        view[: len(chunk)] = chunk
        self.served += len(chunk)
        return len(chunk)


@pytest.mark.parametrize(("feed", "head", "body"), [
    ("gp", PROLOGUES["gp"], b"x"),  # one endless row
    ("ics", PROLOGUES["ics"], b'"'),  # one endless quoted field
    ("ecaf", PROLOGUES["ecaf"] + b"<Event>", b"a"),  # one endless text node
    ("school", PROLOGUES["school"] + b"<Surname>", b"&amp;"),
    ("ecaf", PROLOGUES["ecaf"], b"<Child>"),  # endless nesting
    ("school", PROLOGUES["school"][:-len(b"<Pupil>")], b"<Pupil><Address>"),
])
def test_an_endless_stream_is_rejected_after_a_bounded_read(feed: str, head: bytes, body: bytes) -> None:
    stream = io.BufferedReader(EndlessStream(head, body, limit=64 * 1024 * 1024))
    with pytest.raises(FileRejected) as rejected:
        if feed in XML_FEEDS:
            rows: Iterable[ParsedRow] = read_ecaf(stream).rows if feed == "ecaf" else read_ctf(stream).rows
        else:
            rows = read_csv(stream, GP_COLUMNS if feed == "gp" else ICS_COLUMNS)
        for _ in rows:
            pass
    assert str(rejected.value).strip()


# --- Regressions: the crashes this module found first ---------------------------------------------

def _insert_after(content: bytes, marker: bytes, snippet: bytes, occurrence: int) -> bytes:
    at = -1
    for _ in range(occurrence + 1):
        found = content.find(marker, at + 1)
        if found < 0:
            break
        at = found
    at = at + len(marker) if at >= 0 else 0
    return content[:at] + snippet + content[at:]


@pytest.mark.parametrize("feed", XML_FEEDS)
@fuzz_settings(20)
@example(seed=-1, prefix="a", occurrence=0).via("minimal: the whole file is <a:b/>")
@given(seed=st.integers(0, 2), prefix=st.from_regex(r"\A[a-z][a-z0-9]{0,5}\Z"), occurrence=st.integers(0, 8))
def test_an_undeclared_namespace_prefix_is_rejected_not_a_crash(
    feed: str, seed: int, prefix: str, occurrence: int
) -> None:
    if seed < 0:
        content = f"<{prefix}:b/>".encode()
    else:
        start = seeds()[feed][seed % len(seeds()[feed])].content
        content = _insert_after(start, b">", f"<{prefix}:Extra>1</{prefix}:Extra>".encode(), occurrence)
    assert run_contract(FEEDS[feed], content).rejected  # not namespace-well-formed: the whole file is refused


@fuzz_settings(20)
@example(field="PostCode", length=201)
@given(field=st.sampled_from(("PostCode", "PAON", "Street", "Town", "contact Surname", "contact PhoneNo")),
       length=st.integers(201, 5000))
def test_an_over_long_school_detail_is_dropped_with_a_warning_not_a_crash(field: str, length: int) -> None:
    value = "x" * length
    if field.startswith("contact "):
        content = ctf([pupil(UPN=valid_upn(serial=1), contact=None,
                             extra_xml=_contact_xml({"Order": "1", field.split()[1]: value}))])
    else:
        content = ctf([pupil(UPN=valid_upn(serial=1), **{field: value})])
    [outcome] = run_contract(FEEDS["school"], content).outcomes
    assert outcome.record is not None and outcome.warnings, outcome  # a detail, not the child's identity


@fuzz_settings(20)
@example(order="²")
@given(order=st.sampled_from("²³¹⁴⁵⁶⁷⁸⁹⁰₀₁₂①⑴"))
def test_a_non_ascii_digit_contact_order_falls_back_to_the_position_not_a_crash(order: str) -> None:
    content = ctf([pupil(UPN=valid_upn(serial=1), contact=None, extra_xml=_contact_xml({"Order": order}))])
    [outcome] = run_contract(FEEDS["school"], content).outcomes
    assert outcome.record is not None and outcome.record.contacts[0].contact_order == 1

