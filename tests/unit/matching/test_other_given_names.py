"""Two records whose middle names are both given and wholly different are two children, whatever else agrees:
twins named Afua Efua and Akua Yaa, or two boys called Theodore Morris born on one day (``matching.decide``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from matching.decide import other_given_names_differ

pytestmark = pytest.mark.unit

Link = Callable[[Path, list[dict[str, str]]], dict[str, str]]  # the fixture ``link_beside_population``


@pytest.mark.parametrize(("one", "other", "differ"), [
    (["theodore", "henry"], ["theodore", "oliver"], True),
    (["afua", "efua"], ["akua", "yaa"], True),
    # One record took the other's middle name for its forename, or gave no middle name at all.
    (["lauren", "ivy"], ["ivy", "lauren"], False),
    (["theodore", "henry"], ["theodore"], False),
    # A slip, a spelling two letters off, a short form, or one of two middle names given.
    (["henry", "james"], ["henry", "jmaes"], False),
    (["ali", "mohammed"], ["ali", "muhammad"], False),
    (["ella", "alexandra"], ["ella", "alex"], False),
    (["noah", "james", "oliver"], ["noah", "oliver"], False),
    (None, ["noah", "oliver"], False),
])
def test_other_given_names_differ_only_where_no_name_beyond_the_forename_is_near_another(
        one: list[str] | None, other: list[str], differ: bool) -> None:
    assert other_given_names_differ(one, other) is differ


def test_two_boys_of_one_name_born_on_one_day_stay_two_when_their_middle_names_differ(
        tmp_path: Path, link_beside_population: Link) -> None:
    boy = {"given_name": "Theodore", "family_name": "Morris", "date_of_birth": "2023-09-20", "gender": "M",
           "postcode": "HD1 4FJ", "address_line_1": "96 Church Lane"}
    group = link_beside_population(tmp_path / "records.csv", [
        {**boy, "record_id": "henry-gp", "middle_names": "Henry", "nhs_number": "9990000077"},
        {**boy, "record_id": "oliver-gp", "middle_names": "Oliver"}])

    # Name, birth date and home agree, and the weight alone would link them; a record without a middle name would
    # still join either boy (the clustering does not hold such pairs apart: D22).
    assert group["henry-gp"] != group["oliver-gp"]
