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
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from connectors.parsers import FileRejected, ParsedRow
from connectors.parsers.csv_feed import read_csv
from connectors.parsers.ecaf_xml import read_ecaf
from connectors.parsers.school_xml import read_ctf
from schemas.gp import GP_COLUMNS
from schemas.ics import ICS_COLUMNS
from tests.factories import ctf, pupil, valid_upn
from tests.unit.connectors.hostile_files import (
    HOSTILE,
    MUTATION,
    PROLOGUES,
    contact_xml,
    fuzz_settings,
    mutate,
    structured_files,
)
from tests.unit.connectors.parser_contract import FEED_NAMES, FEEDS, XML_FEEDS, run_contract, seeds

pytestmark = pytest.mark.unit


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
                             extra_xml=contact_xml({"Order": "1", field.split()[1]: value}))])
    else:
        content = ctf([pupil(UPN=valid_upn(serial=1), **{field: value})])
    [outcome] = run_contract(FEEDS["school"], content).outcomes
    assert outcome.record is not None and outcome.warnings, outcome  # a detail, not the child's identity


@fuzz_settings(20)
@example(order="²")
@given(order=st.sampled_from("²³¹⁴⁵⁶⁷⁸⁹⁰₀₁₂①⑴"))
def test_a_non_ascii_digit_contact_order_falls_back_to_the_position_not_a_crash(order: str) -> None:
    content = ctf([pupil(UPN=valid_upn(serial=1), contact=None, extra_xml=contact_xml({"Order": order}))])
    [outcome] = run_contract(FEEDS["school"], content).outcomes
    assert outcome.record is not None and outcome.record.contacts[0].contact_order == 1
