"""The feed registry's contract, with a store: a file the synthetic generator writes for each feed loads through
the pipeline, which knows the feed only by its registry entry (``connectors/feeds.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.feeds import Feed
from pipeline.steps import run_feed
from tests.factories import drop
from tests.unit.connectors.test_feed_registry import ENTRIES, example_files

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("feed", ENTRIES, ids=lambda f: f.name)
def test_a_generated_file_of_every_feed_loads_through_the_pipeline(feed: Feed, store: Path) -> None:
    name, content = example_files()[feed.name]
    drop(store, feed.name, name, content)
    [outcome] = run_feed(feed.name, "registry-contract")
    assert outcome.status in ("accepted", "accepted_with_errors"), outcome.reason
    assert outcome.loaded > 0
