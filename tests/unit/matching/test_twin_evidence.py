"""Whether a population holds twins is estimated on its own records (``matching.twins``): a register of adults whose
duplicates carry another forename but the same identifier is linked on the weight, while children whose twins
each carry their own identifier keep the twin rules."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pandas as pd
import pytest

from matching.decide import LINK, REVIEW, decide_pairs
from matching.files import CANONICAL_COLUMNS, link_files
from matching.twins import FEWEST_PAIRS, TwinEvidence, twin_evidence, wholly_different

pytestmark = pytest.mark.unit

FORENAMES = ["michaela", "courtney", "elton", "mitchell", "joshua", "jessica", "lachlan", "chloe", "brodie", "tahlia",
             "kayla", "riley", "declan", "imogen", "harrison", "matilda", "jasper", "phoebe", "angus", "bridget"]
SURNAMES = ["neumann", "painter", "maxon", "white", "campbell", "ryan", "nguyen", "odonnell", "papadopoulos",
            "kowalski", "mcdonald", "stathopoulos", "brennan", "fitzgerald", "haddad", "tran", "leclerc", "morgan"]
STREETS = ["stanley street", "pinkerton circuit", "edkins street", "light street", "banksia avenue", "ord street"]
TOWNS = ["winston hills", "richlands", "windermere", "north ryde", "bega", "glenelg", "toowong", "fremantle"]


def _register(path: Path, *, other_forename_is_another_person: bool, people: int = 400) -> tuple[Path, list[tuple]]:
    """Two records per person (the second with another forename for one person in three). The pairs with
    another forename: one person's records sharing one identifier, or, when ``other_forename_is_another_person``,
    a brother or sister born the same day at the same address with an identifier of their own."""
    rng = random.Random(7)
    rows, other_forename_pairs = [], []
    for n in range(people):
        person = {"given_name": rng.choice(FORENAMES), "family_name": rng.choice(SURNAMES),
                  "date_of_birth": f"{rng.randint(1940, 1990)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                  "address_line_1": f"{rng.randint(1, 200)} {rng.choice(STREETS)}", "town": rng.choice(TOWNS),
                  "other_identifier": str(rng.randint(1_000_000, 9_999_999))}
        second = dict(person)
        if n % 3 == 0:
            second["given_name"] = rng.choice([f for f in FORENAMES if f[:3] != person["given_name"][:3]])
            if other_forename_is_another_person:
                second["other_identifier"] = str(rng.randint(1_000_000, 9_999_999))
            other_forename_pairs.append((f"a{n}", f"b{n}"))
        rows += [{**person, "record_id": f"a{n}"}, {**second, "record_id": f"b{n}"}]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CANONICAL_COLUMNS)
        writer.writeheader()
        writer.writerows({c: row.get(c, "") for c in CANONICAL_COLUMNS} for row in rows)
    return path, other_forename_pairs


def test_a_register_whose_duplicates_carry_another_forename_holds_no_twins_and_links_them(tmp_path: Path) -> None:
    path, pairs = _register(tmp_path / "register.csv", other_forename_is_another_person=False)

    linkage = link_files([path])

    assert linkage.estimated is not None and linkage.estimated["twins"]["twins_seen"] is False
    assert "other_identifier" in linkage.estimated["em_blocks"]
    # What the files never carry is said once, not listed level by level as too little evidence.
    assert linkage.estimated["not_in_the_data"] == ["gender", "nhs_number", "upn"]
    weak = linkage.estimated["too_little_evidence"]
    assert not any(line.startswith(("gender", "nhs_number", "upn")) for line in weak)
    group_of = linkage.clustering.group_of
    assert sum(group_of[a] == group_of[b] for a, b in pairs) >= 0.95 * len(pairs)
    assert len(set(group_of.values())) <= 400 * 1.02


def test_twins_born_the_same_day_at_one_home_with_identifiers_of_their_own_keep_the_twin_rules(tmp_path: Path) -> None:
    path, pairs = _register(tmp_path / "children.csv", other_forename_is_another_person=True)

    linkage = link_files([path])

    assert linkage.estimated is not None and linkage.estimated["twins"]["twins_seen"] is True
    group_of = linkage.clustering.group_of
    assert not any(group_of[a] == group_of[b] for a, b in pairs)


def _record(forename: str, identifier: str, given: tuple[str, ...] = ()) -> dict[str, object]:
    return {"surname": "ofori", "dob": "2019-04-17", "forename_formal": forename, "given_names": [forename, *given],
            "nhs_number": identifier, "upn": None, "other_identifier": None}


def test_too_few_pairs_to_tell_means_twins_are_assumed() -> None:
    few = [_record("yaa", "9990000018"), _record("akua", "9990000018")]
    assert twin_evidence(few) == TwinEvidence(0, 0, 1, 1)
    assert TwinEvidence(FEWEST_PAIRS - 1, FEWEST_PAIRS - 1, 100, 100).twins_seen
    assert not TwinEvidence(FEWEST_PAIRS, FEWEST_PAIRS, 100, 90).twins_seen
    assert TwinEvidence(FEWEST_PAIRS, FEWEST_PAIRS, 100, 40).twins_seen


@pytest.mark.parametrize(("one", "other", "given", "different"), [
    ("yaa", "akua", (), True),
    ("ivy", "iyv", (), False),             # two letters swapped
    ("j", "james", (), False),             # an initial
    ("lauren", "ivy", ("lauren",), False),  # a middle name taken for the forename
    ("anaya", "aaya", (), False),          # one letter dropped
])
def test_only_wholly_different_forenames_count_as_the_twin_pattern(one: str, other: str, given: tuple[str, ...],
                                                                   different: bool) -> None:
    assert wholly_different(_record(one, "1"), _record(other, "1", given)) is different


def test_without_twins_a_pair_with_another_forename_is_decided_on_its_weight() -> None:
    pair = pd.DataFrame([{"gamma_forename": 0, "gamma_surname": 3, "gamma_dob": 4, "gamma_household": 4,
                          "gamma_gender": -1, "gamma_nhs_number": -1, "gamma_upn": -1, "match_weight": 14.0}])

    assert decide_pairs(pair)["decision"].item() == REVIEW
    assert decide_pairs(pair, twins_seen=False)["decision"].item() == LINK


def test_an_identifier_hundreds_of_records_carry_is_a_placeholder_not_evidence(tmp_path: Path) -> None:
    path, _ = _register(tmp_path / "register.csv", other_forename_is_another_person=False)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    strangers = [{**row, "record_id": f"s{n}", "given_name": FORENAMES[n % 20], "family_name": SURNAMES[n % 18],
                  "date_of_birth": "1970-01-01", "other_identifier": "0000000"} for n, row in enumerate(rows[:300])]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CANONICAL_COLUMNS)
        writer.writeheader()
        writer.writerows([*rows, *strangers])

    linkage = link_files([path])

    group_of = linkage.clustering.group_of
    # Same name and birth date: one person to the linker, whatever else; never all 300 joined by the placeholder.
    named = {(s["given_name"], s["family_name"]) for s in strangers}
    assert len({group_of[s["record_id"]] for s in strangers}) >= len(named)
