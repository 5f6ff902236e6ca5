"""The batch contract: each feed's Great Expectations suite over a file's profile, told as stories."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from connectors.feeds import FEEDS
from schemas.child import RowIssue, SourceRecord
from schemas.expectations import (
    PROFILE_COLUMNS,
    SUITES,
    BatchCheckError,
    ProfileCollector,
    age_in_years,
    check_file,
    expectations,
    suite_for,
)

pytestmark = pytest.mark.unit
ALL_FEEDS = tuple(FEEDS)
# The identifier each feed is expected to send, and so is judged on.
IDENTIFIERS = {"school": "upn_valid", "gp": "nhs_number_valid", "connexions": "upn_valid",
               "ecaf": "nhs_number_valid", "ics": "nhs_number_valid"}


@dataclass
class File:
    """A file's rows, by what happened to them; everything not named is clean."""

    rows: int = 100
    quarantined: int = 0
    withheld: int = 0
    bad_upn: int = 0
    bad_nhs: int = 0
    age: float = 15.0  # inside every feed's band
    odd_ages: int = 0
    odd_age: float = 23.5
    duplicates: int = 0

    def profile(self) -> pd.DataFrame:
        """The profile the loader would collect: bad rows last, kept rows first."""
        kept = self.rows - self.quarantined - self.withheld
        outcome = ["loaded"] * kept + ["quarantined"] * self.quarantined + ["withheld"] * self.withheld
        gone = self.rows - kept
        return pd.DataFrame({
            "row_number": range(1, self.rows + 1),
            "outcome": outcome,
            "nhs_number_valid": [False] * self.bad_nhs + [True] * (kept - self.bad_nhs) + [None] * gone,
            "upn_valid": [False] * self.bad_upn + [True] * (kept - self.bad_upn) + [None] * gone,
            "age_years": [self.odd_age] * self.odd_ages + [self.age] * (kept - self.odd_ages) + [None] * gone,
            "source_key": ["k0"] * self.duplicates + [f"k{i}" for i in range(self.duplicates, kept)] + [None] * gone,
        })


def check(feed: str, file: File, previous_rows: int | None = None, **kwargs: Any) -> tuple[bool, list[str]]:
    verdict = check_file(feed, file.profile(), previous_rows=previous_rows, **kwargs)
    return verdict.passed, verdict.reasons


@pytest.mark.parametrize("feed", ALL_FEEDS)
def test_a_clean_file_passes_for_every_feed(feed: str) -> None:
    verdict = check_file(feed, File(rows=812).profile(), previous_rows=800)

    assert (verdict.passed, verdict.reasons) == (True, [])
    assert all(result["success"] for result in verdict.results.values())
    assert verdict.results["row_count"]["observed"] == 812


@pytest.mark.parametrize("feed", ALL_FEEDS)
def test_a_file_where_nine_rows_in_ten_are_quarantined_is_a_broken_extract(feed: str) -> None:
    assert check(feed, File(rows=10, quarantined=9)) == (
        False, ["9 of 10 rows could not be loaded (90%); the extract looks broken"])


STORIES: list[tuple[str, str, File, int | None, list[str]]] = [
    # description, feed, file, previous file's rows, reasons (empty: passes)
    ("half quarantined is not most", "gp", File(rows=10, quarantined=5), None, []),
    ("two of three quarantined", "school", File(rows=3, quarantined=2), None,
     ["2 of 3 rows could not be loaded (66.7%); the extract looks broken"]),
    ("withheld rows count as read, not as broken", "ics", File(rows=10, quarantined=4, withheld=6), None, []),
    ("a quarter of a roll quarantined ends a quarter of its pupils", "school", File(rows=100, quarantined=25), None,
     ["25 of 100 pupils could not be loaded (25%; at most 20% in a full roll): "
      "each would be taken to have left the school"]),
    ("a quarter of a delta quarantined: the good rows load", "gp", File(rows=100, quarantined=25), None, []),
    ("a small roll with one bad row is judged by the general rule only", "school", File(rows=3, quarantined=1),
     None, []),
    ("the roll shrank by more than half", "school", File(rows=120), 812,
     ["the roll shrank from 812 rows in the previous file to 120"]),
    ("the roll shrank to exactly half", "school", File(rows=406), 812, []),
    ("one row fewer than half", "school", File(rows=405), 812,
     ["the roll shrank from 812 rows in the previous file to 405"]),
    ("a connexions caseload shrank", "connexions", File(rows=30), 100,
     ["the caseload shrank from 100 rows in the previous file to 30"]),
    ("a tiny roll may lose most of its pupils", "school", File(rows=1), 3, []),
    ("the sender's first roll", "school", File(rows=5), None, []),
    ("a delta feed with few rows", "gp", File(rows=3), 5000, []),
    ("a delta feed with one row", "ics", File(rows=1), 40_000, []),
    ("an empty file", "ecaf", File(rows=0), None, ["the file holds no rows"]),
    ("an empty roll", "school", File(rows=0), 812, ["the file holds no rows"]),
    ("the same pupil twice in a roll", "school", File(rows=50, duplicates=2), None,
     ["2 loaded rows name a child another row also names; a full snapshot lists each child once"]),
    ("the same young person twice in a caseload", "connexions", File(rows=50, duplicates=3), None,
     ["3 loaded rows name a child another row also names; a full snapshot lists each child once"]),
    ("a delta may name a child twice (an open and a close)", "ics", File(rows=50, duplicates=2), None, []),
    ("UPNs mostly invalid in a roll", "school", File(rows=100, bad_upn=59), None,
     ["UPN valid in 41% of rows that send one (expected at least 90%)"]),
    ("UPN valid in exactly 90%", "school", File(rows=100, bad_upn=10), None, []),
    ("NHS numbers valid in 90% of GP rows", "gp", File(rows=100, bad_nhs=10), None,
     ["NHS number valid in 90% of rows that send one (expected at least 95%)"]),
    ("NHS numbers valid in 94.6%", "gp", File(rows=1000, bad_nhs=54), None,
     ["NHS number valid in 94.6% of rows that send one (expected at least 95%)"]),
    ("a few rows are too few to judge a rate", "gp", File(rows=5, bad_nhs=4), None, []),
    ("eCAF judges both identifiers", "ecaf", File(rows=100, bad_upn=30), None,
     ["UPN valid in 70% of rows that send one (expected at least 80%)"]),
    ("pupils aged 23", "school", File(rows=100, odd_ages=30), None,
     ["30 of 100 loaded rows give an age outside 2 to 20 years (30%; expected at most 5%)"]),
    ("five in a hundred pupils outside the band", "school", File(rows=100, odd_ages=5), None, []),
    ("eight-year-olds in a connexions caseload", "connexions", File(rows=40, odd_ages=10, odd_age=8.0), None,
     ["10 of 40 loaded rows give an age outside 12 to 25 years (25%; expected at most 5%)"]),
    ("a 23-year-old care leaver is no surprise", "ics", File(rows=40, odd_ages=10), None, []),
]


@pytest.mark.parametrize(("feed", "file", "previous_rows", "reasons"),
                         [story[1:] for story in STORIES], ids=[story[0] for story in STORIES])
def test_stories(feed: str, file: File, previous_rows: int | None, reasons: list[str]) -> None:
    assert check(feed, file, previous_rows) == (not reasons, reasons)


def test_a_rate_over_too_few_rows_is_recorded_as_not_judged() -> None:
    verdict = check_file("gp", File(rows=5, bad_nhs=4).profile(), previous_rows=None)

    assert verdict.results["nhs_number_valid"] == {
        "expectation": "expect_column_values_to_be_in_set", "success": True, "judged": False,
        "observed": {"unexpected": 4, "of": 5, "percent": 80.0}}


def test_the_data_docs_page_is_written_self_contained_and_names_every_expectation(tmp_path: Path) -> None:
    file = File(rows=100, bad_upn=59)
    verdict = check_file("school", file.profile(), previous_rows=812, docs_dir=tmp_path / "docs",
                         file_label="school_3722001_20261101T100000_1.xml")

    path = Path(verdict.results["docs_path"])
    assert path == tmp_path / "docs" / "school_3722001_20261101T100000_1.xml.html"
    page = path.read_text(encoding="utf-8")
    for config in expectations("school"):
        assert config["type"] in page and config["meta"]["check"] in page
    assert "UPN valid in 41% of rows that send one (expected at least 90%)" in page
    assert "the roll shrank from 812 rows in the previous file to 100" in page
    assert "rejected" in page
    # Self-contained: loads nothing (no scripts, styles or links elsewhere), and forbids it too.
    assert "default-src 'none'" in page and "src=" not in page and "href=" not in page
    assert json.dumps(verdict.results)  # the summary is JSON, for XCom and receipts
    assert [p.name for p in (tmp_path / "docs").iterdir()] == [path.name]  # no temporary file left


def test_an_accepted_file_s_page_carries_its_real_name_and_no_rejection_heading(tmp_path: Path) -> None:
    verdict = check_file("gp", File(rows=100).profile(), previous_rows=None, docs_dir=tmp_path / "docs",
                         file_label="gp_13R_17", file_name="gp_13R_20261101T100000_1.csv")
    assert verdict.passed
    page = Path(verdict.results["docs_path"]).read_text(encoding="utf-8")
    assert Path(verdict.results["docs_path"]).name == "gp_13R_17.html"  # where the console finds it
    assert "<title>gp_13R_20261101T100000_1.csv: data-quality checks passed</title>" in page
    assert "Why the file was rejected" not in page and "Every check passed." in page


def test_a_file_label_cannot_write_outside_the_docs_folder(tmp_path: Path) -> None:
    verdict = check_file("gp", File(rows=3).profile(), previous_rows=None, docs_dir=tmp_path / "docs",
                         file_label="../../etc/<script>passwd")

    path = Path(verdict.results["docs_path"])
    assert path.parent == tmp_path / "docs" and path.name == "_.._etc__script_passwd.html"
    assert "<script>" not in path.read_text(encoding="utf-8")


def test_a_profile_missing_a_column_is_the_hubs_fault_not_a_rejected_file() -> None:
    with pytest.raises(BatchCheckError, match="lacks column.*upn_valid"):
        check_file("school", File(rows=30).profile().drop(columns=["upn_valid"]), previous_rows=None)


def test_a_check_that_cannot_run_is_the_hubs_fault_even_on_a_file_too_small_to_judge() -> None:
    profile = File(rows=3).profile().assign(age_years=["old", "young", "new"])

    with pytest.raises(BatchCheckError, match="check age_years of a gp file could not run"):
        check_file("gp", profile, previous_rows=None)


def test_an_unknown_feed_has_no_contract() -> None:
    with pytest.raises(ValueError, match="no batch contract"):
        check_file("os", File(rows=3).profile(), previous_rows=None)


def test_checks_print_no_progress_bars(capfd: pytest.CaptureFixture[str]) -> None:
    check_file("gp", File(rows=1000).profile(), previous_rows=None)

    assert capfd.readouterr().err == ""


def test_every_feed_in_the_registry_has_a_suite_and_no_other() -> None:
    assert sorted(SUITES) == sorted(FEEDS)


@pytest.mark.parametrize("feed", ALL_FEEDS)
def test_each_suite_matches_the_feed_registry(feed: str) -> None:
    checks = [config["meta"]["check"] for config in expectations(feed)]
    row_count = next(c for c in expectations(feed) if c["meta"]["check"] == "row_count")

    assert len(checks) == len(set(checks)) and "profile_columns" in checks and IDENTIFIERS[feed] in checks
    snapshot = FEEDS[feed].full_snapshot
    assert ("shrink_limit" in row_count["meta"]) is snapshot
    assert ("unique_source_key" in checks) is snapshot
    suite = suite_for(feed)
    assert suite.name == feed and len(suite.expectations) == len(checks)


def test_importing_the_contract_imports_neither_great_expectations_nor_pandas() -> None:
    code = ("import sys, schemas.expectations, schemas.expectations.school; "
            "print(sorted(m for m in ('great_expectations', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[3])
    assert out.stdout.strip() == "[]"


def record(key: str, born: date = date(2016, 3, 4), **fields: Any) -> SourceRecord:
    return SourceRecord(source_key=key, given_name="Alfie", family_name="Smith", date_of_birth=born, gender="M",
                        **fields)


def test_the_collector_profiles_each_outcome_and_keeps_nothing_of_a_withheld_row() -> None:
    collector = ProfileCollector(today=date(2026, 11, 25))
    collector.add(1, "loaded", record("k1", nhs_number="9990000018", upn="A372200125001"))
    collector.add(2, "warned", record("k2"), [RowIssue("Child/NHSNumber", "fails"), RowIssue("upn", "fails")])
    collector.add(3, "quarantined", None, [])
    collector.add(4, "withheld", record("k4", nhs_number="9990000026"))
    collector.add(5, "quarantined", record("k1"))  # a second row for the child of row 1

    frame = collector.frame()

    assert tuple(frame.columns) == PROFILE_COLUMNS and len(collector) == 5
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    assert rows == [
        {"row_number": 1, "outcome": "loaded", "nhs_number_valid": True, "upn_valid": True,
         "age_years": pytest.approx(10 + 266 / 365), "source_key": "k1"},
        {"row_number": 2, "outcome": "warned", "nhs_number_valid": False, "upn_valid": False,
         "age_years": pytest.approx(10 + 266 / 365), "source_key": "k2"},
        {"row_number": 3, "outcome": "quarantined", "nhs_number_valid": None, "upn_valid": None,
         "age_years": None, "source_key": None},
        {"row_number": 4, "outcome": "withheld", "nhs_number_valid": None, "upn_valid": None,
         "age_years": None, "source_key": None},
        {"row_number": 5, "outcome": "quarantined", "nhs_number_valid": None, "upn_valid": None,
         "age_years": None, "source_key": "k1"},
    ]
    # Two of five quarantined is not most; the repeated child was quarantined, so no loaded row repeats.
    assert check_file("school", frame, previous_rows=None).passed


def test_a_collected_profile_checks_like_a_built_one() -> None:
    collector = ProfileCollector(today=date(2026, 11, 25))
    for row in range(1, 101):
        collector.add(row, "loaded", record(f"k{row}", upn="A372200125001"))
    collector.add(101, "quarantined")

    verdict = check_file("school", collector.frame(), previous_rows=100)

    assert (verdict.passed, verdict.reasons) == (True, [])


@pytest.mark.parametrize(("born", "today", "age"), [
    (date(2001, 11, 25), date(2026, 11, 25), 25.0),  # the oldest date of birth the row rule accepts
    (date(2016, 3, 4), date(2016, 3, 4), 0.0),
    (date(2016, 3, 4), date(2026, 3, 3), pytest.approx(9 + 364 / 365)),
    (date(2012, 2, 29), date(2026, 2, 28), pytest.approx(13 + 364 / 365)),  # birthday on 1 March
    (date(2012, 2, 29), date(2026, 3, 1), 14.0),
])
def test_age_in_years_counts_birthdays(born: date, today: date, age: float) -> None:
    assert age_in_years(born, today) == age
