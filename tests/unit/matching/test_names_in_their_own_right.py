"""Two common names a letter apart are two names, not a slip: twins named Safa and Sana wait for a steward, while a
slip that makes a rare spelling, or a spelling of one name (Noor, Nour), still joins a child's records
(``matching.decide``'s "twins or siblings named near alike", ``matching.model.forename_commonness``)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from matching.decide import sound_key, two_names
from matching.files import link_files
from matching.linkage import Linkage
from matching.model import COMMON_FORENAME_RECORDS, COMMON_FORENAME_SHARE, TF_KEY, common_forename_floor

pytestmark = pytest.mark.unit

Beside = Callable[[Path, list[dict[str, str]]], Path]  # the fixture ``beside_population``
NAMED_NEAR = "twins or siblings named near alike"


def namesakes(*names: str, each: int = 6) -> list[dict[str, str]]:
    """Girls given these names in other families, other homes and other years: what makes a name common."""
    rows = []
    for n, name in enumerate(names):
        for i in range(each):
            rows.append({"record_id": f"{name.lower()}-{i}", "given_name": name, "family_name": f"Family{n}x{i}",
                         "date_of_birth": f"20{10 + i:02d}-0{1 + n % 9}-1{i}", "gender": "F",
                         "postcode": f"B{n + 10} {i}AA", "address_line_1": f"{i + 1} Other Road"})
    return rows


def link(path: Path, beside: Beside, rows: list[dict[str, str]]) -> Linkage:
    return link_files([beside(path, rows)])


BUTT_HOME = {"family_name": "Butt", "date_of_birth": "2025-06-06", "gender": "F", "postcode": "PE1 1ZS",
             "address_line_1": "12 Lincoln Road"}


def test_twins_named_safa_and_sana_wait_for_a_steward_where_both_names_are_common(
        tmp_path: Path, beside_population: Beside) -> None:
    linkage = link(tmp_path / "records.csv", beside_population, [
        *namesakes("Safa", "Sana"),
        {**BUTT_HOME, "record_id": "safa-gp", "given_name": "Safa", "nhs_number": "9990000077"},
        # Sana's only record: a health visitor's, no number to tell her from her sister.
        {**BUTT_HOME, "record_id": "sana-visit", "given_name": "Sana", "middle_names": "Hafsa"}])
    group = linkage.clustering.group_of

    assert group["safa-gp"] != group["sana-visit"]
    asked = {frozenset((e["record_a"], e["record_b"])): e["reason"] for e in linkage.review}
    assert asked[frozenset(("safa-gp", "sana-visit"))] == NAMED_NEAR


def test_a_slip_that_makes_a_rare_spelling_still_joins_her_records(tmp_path: Path, beside_population: Beside) -> None:
    linkage = link(tmp_path / "records.csv", beside_population, [
        *namesakes("Safa", "Sana"),
        {**BUTT_HOME, "record_id": "sana-gp", "given_name": "Sana", "nhs_number": "9990000077"},
        # "Sama": one letter from Sana, and no other record gives it.
        {**BUTT_HOME, "record_id": "sana-visit", "given_name": "Sama"}])

    assert linkage.clustering.group_of["sana-gp"] == linkage.clustering.group_of["sana-visit"]


def test_two_spellings_of_one_name_both_common_still_join_her_records(
        tmp_path: Path, beside_population: Beside) -> None:
    linkage = link(tmp_path / "records.csv", beside_population, [
        *namesakes("Noor", "Nour"),
        {**BUTT_HOME, "record_id": "noor-gp", "given_name": "Noor", "nhs_number": "9990000077"},
        {**BUTT_HOME, "record_id": "noor-school", "given_name": "Nour"}])

    assert linkage.clustering.group_of["noor-gp"] == linkage.clustering.group_of["noor-school"]


def test_without_namesakes_twins_a_letter_apart_are_read_as_a_slip_as_before(
        tmp_path: Path, beside_population: Beside, population: Path) -> None:
    # The control: the same twins in a population where neither name is common link, as a slip would (what the
    # rule changes is the reading of common names, nothing else).
    with (population / "records.csv").open() as handle:
        background = [r["given_name"].lower() for r in list(csv.DictReader(handle))[:600]]
    assert background.count("safa") + background.count("sana") < COMMON_FORENAME_RECORDS
    linkage = link(tmp_path / "records.csv", beside_population, [
        {**BUTT_HOME, "record_id": "safa-gp", "given_name": "Safa", "nhs_number": "9990000077"},
        {**BUTT_HOME, "record_id": "sana-visit", "given_name": "Sana", "middle_names": "Hafsa"}])

    assert linkage.clustering.group_of["safa-gp"] == linkage.clustering.group_of["sana-visit"]


@pytest.mark.parametrize(("one", "other"), [("mohamed", "muhammad"), ("noor", "nour"), ("hanna", "hannah"),
                                            ("ayan", "ayaan"), ("sahra", "sara"), ("sophia", "sofia"),
                                            ("abdul", "abdullah")])
def test_spellings_of_one_name_sound_alike(one: str, other: str) -> None:
    assert sound_key(one) == sound_key(other)


@pytest.mark.parametrize(("one", "other"), [("safa", "sana"), ("rahim", "fahim"), ("aisha", "alishba"),
                                            ("alfie", "albie"), ("vihaan", "vivaan"), ("afua", "akua")])
def test_names_a_letter_apart_sound_different(one: str, other: str) -> None:
    assert sound_key(one) != sound_key(other)
    assert two_names(one, other)


@pytest.mark.parametrize(("one", "other"), [("louis", "louie"), ("francis", "frankie"), ("priyanka", "priya")])
def test_a_pet_or_short_form_begins_as_the_name_does_and_is_not_another_name(one: str, other: str) -> None:
    assert sound_key(one) != sound_key(other)
    assert not two_names(one, other)


def test_a_name_is_common_from_a_share_of_the_population_and_never_below_a_few_of_its_records() -> None:
    large = {TF_KEY: {"forename": {"rare": 1 / 190_000, "safa": 468 / 190_000}}}
    small = {TF_KEY: {"forename": {"rare": 1 / 2_000, "safa": 40 / 2_000}}}

    assert common_forename_floor(large) == COMMON_FORENAME_SHARE
    assert common_forename_floor(small) == pytest.approx(COMMON_FORENAME_RECORDS / 2_000)
    assert common_forename_floor({"comparisons": []}) is None


def test_a_night_s_delta_sends_twins_named_near_alike_to_a_steward_as_the_full_link_does(
        tmp_path: Path, beside_population: Beside) -> None:
    from matching.features import features_frame
    from matching.files import read_canonical
    from matching.linkage import link_frames
    from matching.model import train

    directory = features_frame(list(read_canonical([beside_population(tmp_path / "directory.csv",
                                                                      namesakes("Safa", "Sana"))])))
    model = train(directory)
    children = {str(record): f"child-{record}" for record in directory["unique_id"]}
    tonight = features_frame([
        {**BUTT_HOME, "record_id": "safa-gp", "given_name": "Safa", "nhs_number": "9990000077"},
        {**BUTT_HOME, "record_id": "sana-visit", "given_name": "Sana", "middle_names": "Hafsa"}])

    linkage = link_frames(tonight, model, existing=directory, children=children)

    assert linkage.clustering.group_of["safa-gp"] != linkage.clustering.group_of["sana-visit"]
    asked = {frozenset((e["record_a"], e["record_b"])): e["reason"] for e in linkage.review}
    assert asked[frozenset(("safa-gp", "sana-visit"))] == NAMED_NEAR
