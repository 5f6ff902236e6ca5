"""The vectorised batch checks against Great Expectations running the same suites: same verdicts, same counts.

Files are checked with vectorised pandas measures for speed; Great Expectations remains the contract.
For every feed's suite, profiles of every shape a loader can produce (empty, tiny, all quarantined,
withheld rows, invalid identifiers, ages missing or outside the band, repeated keys, a roll that shrank)
are judged by both engines, which must agree on the verdict, every reason and every check's figures.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pandas as pd
import pytest

from connectors.feeds import FEEDS
from schemas.child import RowIssue, SourceRecord
from schemas.expectations import OUTCOMES, BatchCheckError, ProfileCollector, check_file

pytestmark = pytest.mark.unit
TODAY = date(2026, 11, 25)
SHAPES = 25  # random profiles per feed; each is checked by both engines


def random_profile(rng: random.Random) -> tuple[pd.DataFrame, int | None]:
    """A profile as the loader's collector builds it, and the sender's previous row count."""
    collector = ProfileCollector(TODAY)
    rows = rng.choice([0, 1, 3, 19, 20, 21, 50, rng.randint(1, 400)])
    bias = rng.random()  # some files are mostly broken, most are mostly fine
    keys = max(1, int(rows * rng.choice([0.5, 0.95, 1.0, 1.0])))
    for number in range(1, rows + 1):
        outcome = rng.choices(OUTCOMES, weights=[1 - bias, 0.3, bias, 0.1])[0]
        if outcome == "withheld":
            collector.add(number, outcome)
            continue
        born = date(rng.randint(TODAY.year - 26, TODAY.year), rng.randint(1, 12), rng.randint(1, 28))
        record = SourceRecord(
            source_key=f"k{rng.randrange(keys)}", given_name="A", family_name="B", date_of_birth=born, gender="U",
            nhs_number=rng.choice([None, "9434765919"]), upn=rng.choice([None, "A123456789012"]))
        warnings = [RowIssue(name, "fails its check") for name in ("nhs_number", "UPN", "Child/NHSNumber")
                    if rng.random() < bias * 0.5]
        if outcome == "quarantined":
            collector.add(number, outcome, record if rng.random() < 0.5 else None)
        else:
            collector.add(number, outcome, record, warnings)
    previous = rng.choice([None, 0, 5, rows, rows * 2 + 1, rng.randint(0, 500)])
    return collector.frame(), previous


def comparable(verdict: Any) -> dict[str, Any]:
    return {"passed": verdict.passed, "reasons": verdict.reasons, "results": verdict.results}


@pytest.mark.parametrize("feed", tuple(FEEDS))
def test_every_feed_gets_the_same_verdict_reasons_and_figures_from_both_engines(feed: str) -> None:
    rng = random.Random(f"batch-engines-{feed}")
    verdicts = set()
    for _ in range(SHAPES):
        frame, previous = random_profile(rng)
        fast = check_file(feed, frame, previous_rows=previous)
        reference = check_file(feed, frame, previous_rows=previous, engine="gx")
        assert comparable(fast) == comparable(reference), (len(frame), previous)
        verdicts.add(fast.passed)
    assert verdicts == {True, False}  # the shapes exercise both accepted and rejected files


@pytest.mark.parametrize("engine", ["pandas", "gx"])
def test_both_engines_call_a_check_that_cannot_run_the_hubs_fault(engine: str) -> None:
    frame, _ = random_profile(random.Random(3))
    frame = frame.assign(age_years="old")
    with pytest.raises(BatchCheckError, match="check age_years of a school file could not run"):
        check_file("school", frame, previous_rows=None, engine=engine)


def test_an_unknown_engine_is_refused() -> None:
    frame, _ = random_profile(random.Random(4))
    with pytest.raises(ValueError, match="unknown batch check engine"):
        check_file("gp", frame, previous_rows=None, engine="spark")
