"""What a data team reads in a task log: one line per file naming the feed, the file, what became of its rows
and how long it took; a rejected file gives the reason instead."""

from __future__ import annotations

import logging

import pytest

from pipeline.steps import describe_file_outcome, log_file_outcome
from warehouse.intake import FileCounts

pytestmark = pytest.mark.unit


def test_an_accepted_file_is_one_line_with_every_count_and_the_duration() -> None:
    counts = FileCounts(read=1_200, loaded=1_150, quarantined=40, withheld=10, warned=3)
    line = describe_file_outcome("gp", "gp_13R_20261101T100000_1.csv", "accepted_with_errors", counts, None, 2.345)
    assert line == ("gp file gp_13R_20261101T100000_1.csv: accepted_with_errors, 1,200 rows read, 1,150 loaded, "
                    "40 quarantined, 10 withheld, 0 out of scope, 3 loaded with warnings, in 2.3 s")


def test_a_rejected_file_says_why_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pipeline.loading"):
        log_file_outcome("school", "school_3722001_20261101T100000_1.xml", "rejected", FileCounts(),
                         "UPN valid in 41% of rows", 0.4)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == ("school file school_3722001_20261101T100000_1.xml: rejected in 0.4 s: "
                                   "UPN valid in 41% of rows")
