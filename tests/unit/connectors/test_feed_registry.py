"""The feed registry's contract: a feed is added by one entry in ``connectors/feeds.py`` plus its parser and row
contract. Every entry names a reader, a row contract, its columns (a CSV feed) and a batch-check suite that
exist, and a file the synthetic generator writes for it is read and judged through the entry alone (loaded:
``tests/integration/test_feed_registry.py``)."""

from __future__ import annotations

import io
import tempfile
from functools import cache
from pathlib import Path

import pytest

from connectors.feeds import FEEDS, Feed, parse_file_name
from connectors.parsers import ParsedFile, ParsedRow
from schemas.child import RowOutcome, SourceRecord
from schemas.expectations import SUITES, expectations
from tools.synthetic import FEEDS as GENERATED_FEEDS
from tools.synthetic import generate

ENTRIES = list(FEEDS.values())


@cache
def example_files() -> dict[str, tuple[str, bytes]]:
    """One file per feed (name and bytes), from a small fault-free synthetic population."""
    examples: dict[str, tuple[str, bytes]] = {}
    with tempfile.TemporaryDirectory(prefix="cp-registry-") as folder:
        generate(Path(folder), children=60, seed=5, fault_rate=0.0, population_file=False)
        for path in sorted(Path(folder, "inbound").glob("*/*")):
            examples.setdefault(path.parent.name, (path.name, path.read_bytes()))
    return examples


@pytest.mark.unit
@pytest.mark.parametrize("feed", ENTRIES, ids=lambda f: f.name)
def test_every_entry_names_a_reader_a_row_contract_columns_and_a_suite_that_exist(feed: Feed) -> None:
    assert callable(feed.read()) and callable(feed.contract())
    if feed.extension == "csv":
        assert feed.header() and all(isinstance(column, str) and column for column in feed.header())
    else:
        assert feed.header() == ()
    assert feed.suite in SUITES and expectations(feed.suite)
    assert feed.name in GENERATED_FEEDS, f"the synthetic generator writes no {feed.name} files"


@pytest.mark.unit
@pytest.mark.parametrize("feed", ENTRIES, ids=lambda f: f.name)
def test_a_generated_file_of_every_feed_is_read_and_judged_through_its_entry(feed: Feed) -> None:
    name, content = example_files()[feed.name]
    parsed_name = parse_file_name(name)
    assert parsed_name.feed == feed.name and name.endswith(f".{feed.extension}")
    parsed = feed.read()(io.BytesIO(content), parsed_name.sender, feed.header())
    assert isinstance(parsed, ParsedFile)
    contract = feed.contract()
    outcomes = [contract(row.values, parsed.context, parsed_name.extract_time.date(), None) for row in parsed.rows
                if isinstance(row, ParsedRow)]
    assert outcomes and all(isinstance(o, RowOutcome) for o in outcomes)
    assert any(isinstance(o.record, SourceRecord) for o in outcomes)
