"""A realistic next night: the same children the day after, as every feed's sender would send them.

Night one is the package's shared generation run (8,000 children); night two is written from its
folder. The checks read the files independently of how they were written (``feedfiles``) and parse
every file with the hub's own parsers and validators.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from connectors.parsers.csv_feed import read_csv
from connectors.parsers.ecaf_xml import read_ecaf
from connectors.parsers.school_xml import read_ctf
from schemas.connexions import CONNEXIONS_COLUMNS, validate_connexions_row
from schemas.ecaf import validate_ecaf_row
from schemas.gp import GP_COLUMNS, validate_gp_row
from schemas.ics import ICS_COLUMNS, validate_ics_row
from schemas.identifiers import nhs_check_digit, upn_check_letter
from schemas.school import validate_pupil
from tests.unit.synthetic import test_feed_files as night_one_checks
from tests.unit.synthetic.feedfiles import (
    NAME,
    data_files,
    files_of,
    ics_rows,
    open_involvements,
    pupils_by_child,
    read_children,
    read_rows,
    read_truth,
    roll_members,
)
from tools.synthetic import FEEDS, ROW_FAULTS, GenerationSummary
from tools.synthetic.nextnight import NextNightSummary, next_night

NIGHT_TWO = date(2026, 11, 2)


CSV_FEEDS = {"gp": (GP_COLUMNS, validate_gp_row), "connexions": (CONNEXIONS_COLUMNS, validate_connexions_row),
             "ics": (ICS_COLUMNS, validate_ics_row)}


@pytest.fixture(scope="module")
def nights(run: tuple[Path, GenerationSummary], tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, Path, NextNightSummary]:
    """Night one (the shared run) and the next night written from it."""
    first, _ = run
    second = tmp_path_factory.mktemp("next") / "night2"
    return first, second, next_night(first, second, seed=70)


@pytest.mark.unit
def test_each_sender_sends_what_its_feed_sends_the_next_day_and_later_than_night_one(
        nights: tuple[Path, Path, NextNightSummary]) -> None:
    first, second, summary = nights
    # Full snapshots: every school and every Connexions service resends; the GP delta and the
    # event feeds come from senders with something to send tonight.
    assert files_of(second, "school").keys() == files_of(first, "school").keys()
    assert files_of(second, "connexions").keys() == files_of(first, "connexions").keys()
    for feed in ("gp", "ecaf", "ics"):
        assert files_of(second, feed) and files_of(second, feed).keys() <= files_of(first, feed).keys()
    assert summary.files == {feed: len(files_of(second, feed)) for feed in FEEDS}
    for feed in FEEDS:
        before = files_of(first, feed)
        for sender, path in files_of(second, feed).items():
            new, old = NAME.match(path.name), NAME.match(before[sender].name)
            assert new and old
            assert datetime.strptime(new.group(3), "%Y%m%dT%H%M%S").date() == NIGHT_TWO
            assert new.group(3) > old.group(3) and int(new.group(4)) == int(old.group(4)) + 1
    assert summary.as_of == NIGHT_TWO


@pytest.mark.unit
def test_every_file_passes_its_feeds_parser_and_the_ground_truth_names_every_row(
        nights: tuple[Path, Path, NextNightSummary]) -> None:
    _, second, summary = nights
    assert_parsed_and_named(second, summary, NIGHT_TWO)


def assert_parsed_and_named(folder: Path, summary: NextNightSummary, today: date) -> None:
    """Every file parses and validates with the hub's code; a row is quarantined exactly when its
    ground truth fault is a row fault; the ground truth names every row and no other."""
    truth = read_truth(folder)
    faults = {(t["file_name"], int(t["row_number"])): t["fault"] for t in truth}
    for path in data_files(folder):
        feed = path.parent.name
        with open(path, "rb") as stream:
            sender = NAME.match(path.name).group(2)  # type: ignore[union-attr]
            if feed == "school":
                ctf = read_ctf(stream)
                outcomes = [validate_pupil(r.values, ctf.header, today) for r in ctf.rows]
            elif feed == "ecaf":
                outcomes = [validate_ecaf_row(r.values, sender, today) for r in read_ecaf(stream).rows]
            else:
                columns, validate = CSV_FEEDS[feed]
                outcomes = [validate(r.values, sender, today) for r in read_csv(stream, columns)]
        assert outcomes, path.name
        for number, outcome in enumerate(outcomes, start=1):
            fault = faults.pop((path.name, number))
            # Withheld rows (a sensitive service without consent) are kept out by law, not quarantined.
            quarantined = outcome.record is None and not outcome.withheld
            assert quarantined == (fault in ROW_FAULTS), (path.name, number, fault, outcome.errors)
    assert faults == {}  # no ground truth row without a data row
    assert Counter(t["feed"] for t in truth) == Counter(summary.rows)
    assert Counter(t["feed"] for t in truth if t["fault"]) == Counter(
        {feed: n for feed, n in summary.faulty_rows.items() if n})


@pytest.mark.unit
def test_rows_agree_with_the_children_after_the_night_except_where_a_fault_says(
        nights: tuple[Path, Path, NextNightSummary]) -> None:
    _, second, _ = nights
    # Night one's own checks, applied to night two's files and its children.csv.
    night_one_checks.test_identifiers_and_fields_are_valid_except_where_a_fault_says((second, None))  # type: ignore[arg-type]
    night_one_checks.test_rows_agree_with_the_true_child_except_for_linkage_faults((second, None))  # type: ignore[arg-type]


@pytest.mark.unit
def test_the_night_brings_new_children_moves_new_schools_new_practices_names_and_leavers(
        nights: tuple[Path, Path, NextNightSummary]) -> None:
    first, second, summary = nights
    before, after = read_children(first), read_children(second)
    assert len(before) == 8000 and len(after) == summary.children == 8000 + summary.new_children
    assert all(after[c]["date_of_birth"] == before[c]["date_of_birth"] for c in before)  # the same children

    new = [after[c] for c in after if c not in before]
    assert len(new) == summary.new_children == summary.births + summary.arrivals
    # New children have valid identifiers nobody held before, and are on a list or roll.
    old_nhs = {c["nhs_number"] for c in before.values() if c["nhs_number"]}
    old_upn = {c["upn"] for c in before.values() if c["upn"]}
    for child in new:
        assert child["nhs_number"] and child["nhs_number"] not in old_nhs
        assert nhs_check_digit(child["nhs_number"][:9]) == int(child["nhs_number"][9])
        if child["upn"]:
            assert child["upn"] not in old_upn and upn_check_letter(child["upn"][1:]) == child["upn"][0]
    assert len({c["nhs_number"] for c in after.values() if c["nhs_number"]}) == sum(
        1 for c in after.values() if c["nhs_number"])
    assert sum(1 for c in new if c["upn"]) > summary.arrivals / 3  # school-age arrivals join a roll

    truth = read_truth(second)
    rows = {(r.file, r.number): r for r in read_rows(second)}
    rows_of: dict[str, list[tuple[str, object]]] = {}
    for t in truth:
        rows_of.setdefault(t["child_id"], []).append((t["feed"], rows[(t["file_name"], int(t["row_number"]))]))
    for child in new:  # every new child is in tonight's GP registrations (births) or on a roll too
        assert "gp" in {feed for feed, _ in rows_of.get(child["child_id"], [])}, child

    movers = [c for c in before if after[c]["postcode"] != before[c]["postcode"]]
    assert len(movers) == summary.moved_children > 0
    for child in movers:
        assert after[child]["old_postcode"] == before[child]["postcode"]
        assert after[child]["household_id"] == before[child]["household_id"]
    # A household moves together: no household has a mover and a stayer.
    moved_households = {after[c]["household_id"] for c in movers}
    assert all(after[c]["postcode"] != before[c]["postcode"] for c in before
               if after[c]["household_id"] in moved_households)

    on_roll = roll_members(second)
    on_old_roll = roll_members(first)
    changed_school = [c for c in before if before[c]["school"] and after[c]["school"]
                      and after[c]["school"] != before[c]["school"]]
    assert len(changed_school) == summary.school_changes > 0
    for child in changed_school:  # on the new roll, off the old one
        assert child in on_roll[after[child]["school"]] and child in on_old_roll[before[child]["school"]]
        assert child not in on_roll[before[child]["school"]]

    left = [c for c in before if before[c]["school"] and not after[c]["school"]]
    assert len(left) >= summary.off_roll > 0
    for child in left:
        assert child not in on_roll[before[child]["school"]]
    assert all(child in on_roll[after[child]["school"]] for child in after if after[child]["school"])

    changed_gp = [c for c in before if before[c]["practice_code"] and after[c]["practice_code"]
                  and after[c]["practice_code"] != before[c]["practice_code"]]
    assert len(changed_gp) == summary.gp_changes > 0
    renamed = [c for c in before if after[c]["family_name"] != before[c]["family_name"]]
    assert len(renamed) == summary.name_changes > 0
    assert all(after[c]["former_family_name"] == before[c]["family_name"] for c in renamed)

    gp_actions = Counter()
    for path in files_of(second, "gp").values():
        with open(path, encoding="utf-8", newline="") as handle:
            for r in csv.DictReader(handle):
                gp_actions[r["record_action"], r["deregistration_reason"]] += 1
    assert gp_actions["deregister", "left_england"] > 0 and gp_actions["add", ""] > 0
    assert gp_actions["update", ""] > 0 and gp_actions["deregister", "other"] > 0

    # Social care: a child who left England or died has every open involvement closed tonight; a
    # few other involvements close and a few new ones open.
    gone = {c for c in before if before[c]["practice_code"] and not after[c]["practice_code"]}
    open_before = open_involvements(first)
    events = Counter()
    closed = set()
    for t, r in ics_rows(second):
        events[r["event"]] += 1
        if r["event"] == "close":
            assert (t["child_id"], r["service_type"], r["team_name"]) in open_before
            closed.add((t["child_id"], r["service_type"], r["team_name"]))
    assert {key for key in open_before if key[0] in gone} <= closed
    assert events["open"] > 0 and events["close"] > len({key for key in open_before if key[0] in gone})


@pytest.mark.unit
def test_unchanged_pupils_are_resent_byte_for_byte_and_delta_feeds_send_only_changes(
        nights: tuple[Path, Path, NextNightSummary]) -> None:
    first, second, _ = nights
    before, after = read_children(first), read_children(second)
    unchanged = {cid for cid, c in before.items() if after[cid] == c}
    old = pupils_by_child(first)
    same = differ = 0
    for (sender, child), element in pupils_by_child(second).items():
        if child in unchanged:
            same += element == old[sender, child]
            differ += element != old[sender, child]
    assert same > 4000 and differ == 0
    gp_rows = sum(1 for t in read_truth(second) if t["feed"] == "gp")
    changed = sum(1 for cid in after if cid not in before or after[cid] != before[cid])
    assert 0 < gp_rows < 2 * changed  # only changes, never the whole list


@pytest.mark.unit
def test_a_third_night_follows_the_second(nights: tuple[Path, Path, NextNightSummary], tmp_path: Path) -> None:
    _, second, night_two = nights
    third = tmp_path / "night3"
    summary = next_night(second, third, seed=72)
    assert summary.as_of == date(2026, 11, 3) and summary.children == night_two.children + summary.new_children
    assert files_of(third, "school").keys() == files_of(second, "school").keys()
    assert files_of(third, "ics") and files_of(third, "ecaf")
    assert_parsed_and_named(third, summary, date(2026, 11, 3))
    night_one_checks.test_rows_agree_with_the_true_child_except_for_linkage_faults((third, None))  # type: ignore[arg-type]
    everything = (third / "ground_truth_all.csv").read_bytes()
    assert everything.startswith((second / "ground_truth_all.csv").read_bytes())


@pytest.mark.unit
def test_rates_are_within_tolerance(nights: tuple[Path, Path, NextNightSummary]) -> None:
    _, _, summary = nights
    n = 8000
    assert 0.006 < summary.new_children / n < 0.014  # new_share 1%
    changed = summary.school_changes + summary.gp_changes + summary.name_changes
    assert 0.008 < changed / n < 0.016  # 60% of change_share 2% is per child
    assert 0.004 < summary.moved_children / n < 0.014  # 40% of 2%, by household
    leavers = summary.left_england + summary.deaths + summary.off_roll
    assert 0.002 < leavers / n < 0.007  # leaver_share 0.4%


@pytest.mark.unit
def test_same_seed_same_bytes_and_the_truth_is_appended_to_night_ones(
        nights: tuple[Path, Path, NextNightSummary], tmp_path: Path) -> None:
    first, second, _ = nights
    again = tmp_path / "again"
    other = tmp_path / "other"
    next_night(first, again, seed=70)
    next_night(first, other, seed=71)

    def contents(folder: Path) -> dict[Path, bytes]:
        return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    assert contents(again) == contents(second)
    assert contents(other) != contents(second)
    assert not any(p.name.endswith(".part") for p in contents(second))
    everything = (second / "ground_truth_all.csv").read_bytes()
    tonight = (second / "ground_truth.csv").read_bytes()
    assert everything == (first / "ground_truth.csv").read_bytes() + tonight.split(b"\n", 1)[1]
