"""A family moves together: a child's records at the old and the new home join once a link of the family shows
that move, even where full name and birth date alone fall short, as they do among millions of children
(``matching.moves``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from matching.decide import LINK, REVIEW, decide_pairs
from matching.features import features_frame
from matching.files import read_canonical
from matching.linkage import link_frames
from matching.model import score_within, train
from matching.moves import (
    ACROSS_A_KNOWN_MOVE,
    across_known_moves,
    known_moves,
    moves_of_children,
    same_home_weight,
    scoring_floor,
)
from matching.settings import THRESHOLDS

pytestmark = pytest.mark.unit

OLD_HOME = {"postcode": "LS6 2QT", "address_line_1": "12 Mill Lane"}
NEW_HOME = {"postcode": "BD7 1AB", "address_line_1": "7 Hyde Park Road"}
FAMILY = {"family_name": "Okonkwo"}
# The girl: her GP record still gives the old home, her school record the new one; they share no identifier.
ADAEZE = [{**FAMILY, **OLD_HOME, "record_id": "adaeze-gp", "given_name": "Adaeze", "date_of_birth": "2014-03-09",
           "gender": "F", "nhs_number": "9990000077"},
          {**FAMILY, **NEW_HOME, "record_id": "adaeze-school", "given_name": "Adaeze", "date_of_birth": "2014-03-09",
           "gender": "F", "upn": "E999000000041"}]
# Her brother: his previous school's last roll at the old home and his new school's at the new one carry one UPN.
CHIDI = [{**FAMILY, **OLD_HOME, "record_id": "chidi-previous-school", "given_name": "Chidi",
          "date_of_birth": "2011-10-30", "gender": "M", "upn": "G999000000052"},
         {**FAMILY, **NEW_HOME, "record_id": "chidi-school", "given_name": "Chidi", "date_of_birth": "2011-10-30",
          "gender": "M", "upn": "G999000000052"}]
Beside = Callable[[Path, list[dict[str, str]]], Path]  # the fixture ``beside_population``
NATIONAL = 1_000  # a population a thousand times the test's: the prior of two records matching, that much lower


def _frame(beside_population: Beside, rows: list[dict[str, str]],
           tmp_path: Path) -> pd.DataFrame:
    return features_frame(list(read_canonical([beside_population(tmp_path / "records.csv", rows)])))


def _as_if_national(model: dict[str, Any]) -> dict[str, Any]:
    return {**model, "probability_two_random_records_match": model["probability_two_random_records_match"] / NATIONAL}


def test_a_girl_s_records_at_the_old_and_new_home_join_when_her_brother_s_show_the_family_s_move(
        tmp_path: Path, beside_population: Beside) -> None:
    frame = _frame(beside_population, ADAEZE + CHIDI, tmp_path)
    group = link_frames(frame, _as_if_national(train(frame))).clustering.group_of

    assert group["chidi-previous-school"] == group["chidi-school"]
    assert group["adaeze-gp"] == group["adaeze-school"] != group["chidi-school"]


def test_without_a_known_move_her_records_at_two_homes_stay_apart_among_millions(
        tmp_path: Path, beside_population: Beside) -> None:
    frame = _frame(beside_population, ADAEZE, tmp_path)
    model = _as_if_national(train(frame))
    group = link_frames(frame, model).clustering.group_of

    assert group["adaeze-gp"] != group["adaeze-school"]
    # They were scored below the review floor: only a known move could have lifted them.
    assert scoring_floor(model, THRESHOLDS.review) < THRESHOLDS.review


def test_a_pair_across_a_known_move_is_weighed_as_one_home_and_decided_by_the_rules_again() -> None:
    weight_of_same_home = 15.0
    pairs = pd.DataFrame({
        "unique_id_l": ["brother-old", "sister-old", "stranger-old"],
        "unique_id_r": ["brother-new", "sister-new", "stranger-new"],
        "postcode_l": ["LS62QT", "LS62QT", "M11AA"], "house_number_l": ["12", "12", "3"],
        "postcode_r": ["BD71AB", "BD71AB", "BD71AB"], "house_number_r": ["7", "7", "7"],
        "match_weight": [30.0, 4.0, 4.0], "match_probability": [1.0, 0.94, 0.94],
        "mw_household": [-4.0, -4.0, -4.0], "gamma_household": [0, 0, 0],
        "gamma_forename": [4, 4, 4], "gamma_surname": [3, 3, 3], "gamma_dob": [4, 4, 4], "gamma_gender": [1, 1, 1],
        "gamma_nhs_number": [-1, -1, -1], "gamma_upn": [1, -1, -1]})
    decided = decide_pairs(pairs)
    assert list(decided["decision"]) == [LINK, REVIEW, REVIEW]

    lifted = across_known_moves(decided, known_moves(decided, weight_of_same_home), weight_of_same_home)

    sister = lifted.iloc[1]
    assert (sister["decision"], sister["rule"]) == (LINK, ACROSS_A_KNOWN_MOVE)
    assert sister["match_weight"] == pytest.approx(4.0 + 4.0 + 15.0)
    assert (sister["gamma_household"], sister["mw_household"]) == (4, weight_of_same_home)
    # The stranger's old home is another: no move of the family's says anything about him.
    assert lifted.iloc[2]["decision"] == REVIEW
    assert lifted.iloc[0]["rule"] == "identifier and date of birth"


def _across_two_homes(*pairs: tuple[str, str, int, int]) -> pd.DataFrame:
    """Weight-decided pairs between one old and one new home: (record at the old, at the new, forename gamma,
    birth date gamma), each scored as name and birth date would be at two homes."""
    rows = [{"unique_id_l": a, "unique_id_r": b, "postcode_l": "LS62QT", "house_number_l": "12",
             "postcode_r": "BD71AB", "house_number_r": "7", "match_weight": 4.0 if dob == 4 else -8.0,
             "match_probability": 0.5, "mw_household": -4.0, "gamma_household": 0, "gamma_forename": forename,
             "gamma_surname": 3, "gamma_dob": dob, "gamma_gender": 1, "gamma_nhs_number": -1, "gamma_upn": -1}
            for a, b, forename, dob in pairs]
    return decide_pairs(pd.DataFrame(rows))


def _at_one_home(a: str, b: str, postcode: str, house_number: str) -> pd.DataFrame:
    """A pair of one child's records at one home, linked on the weight."""
    return decide_pairs(pd.DataFrame([{
        "unique_id_l": a, "unique_id_r": b, "postcode_l": postcode, "house_number_l": house_number,
        "postcode_r": postcode, "house_number_r": house_number, "match_weight": 30.0, "match_probability": 1.0,
        "mw_household": 15.0, "gamma_household": 4, "gamma_forename": 4, "gamma_surname": 3, "gamma_dob": 4,
        "gamma_gender": 1, "gamma_nhs_number": -1, "gamma_upn": -1}]))


def test_two_children_each_found_at_both_homes_show_the_family_s_move_one_child_does_not() -> None:
    sister_and_brother = _across_two_homes(("adaeze-gp", "adaeze-school", 4, 4), ("chidi-gp", "chidi-school", 4, 4))
    # One girl's two records at each home: still one child's coincidence, if a coincidence it is.
    one_girl = pd.concat([
        _across_two_homes(("a-gp", "a-school", 4, 4), ("a-gp", "a-connexions", 4, 4), ("a-ics", "a-school", 4, 4),
                          ("a-ics", "a-connexions", 4, 4)),
        _at_one_home("a-gp", "a-ics", "LS62QT", "12"), _at_one_home("a-school", "a-connexions", "BD71AB", "7")],
        ignore_index=True)
    # Two families, each with a Ruksana and a Jannat born on other days: names alone are no evidence of a move.
    namesakes = _across_two_homes(("ruksana-1", "ruksana-2", 4, 0), ("jannat-1", "jannat-2", 4, 0))

    assert known_moves(sister_and_brother, 15.0) == {("BD71AB|7", "LS62QT|12")}
    assert known_moves(one_girl, 15.0) == set()
    assert known_moves(namesakes, 15.0) == set()


def test_an_existing_child_s_records_at_two_homes_are_a_known_move_for_a_delta() -> None:
    existing = pd.DataFrame({"unique_id": ["1", "2", "3"], "postcode": ["LS62QT", "BD71AB", "M11AA"],
                             "house_number": ["12", "7", None]})

    assert moves_of_children(existing, {"1": "CP-1", "2": "CP-1", "3": "CP-2"}) == {("BD71AB|7", "LS62QT|12")}


def test_the_bundled_model_knows_the_weight_of_one_home() -> None:
    from matching.model import load_model

    weight = same_home_weight(load_model())
    assert weight is not None and weight > 5


def test_spark_lifts_the_same_pairs_across_known_moves_as_duckdb(tmp_path: Path, population: Path) -> None:
    pytest.importorskip("pyspark", reason="the spark extra: EXTRAS=dev,spark scripts/setup.sh")
    from matching import spark_linkage
    from matching.model import db_api

    frame = features_frame(list(read_canonical([population / "records.csv"])))
    model = _as_if_national(train(frame))
    floor = THRESHOLDS.review
    decided = decide_pairs(score_within(frame, model, threshold=scoring_floor(model, floor)), twins_seen=True)
    moves = known_moves(decided, same_home_weight(model))
    on_duckdb = across_known_moves(decided, moves, same_home_weight(model))
    on_duckdb = on_duckdb[on_duckdb["match_weight"] >= floor]
    spark = db_api("spark").spark
    on_spark = spark_linkage.across_moves(spark_linkage.decide(spark.createDataFrame(decided.drop(
        columns=["decision", "rule"])), twins=True), model, THRESHOLDS, twins=True, floor=floor).toPandas()

    def outcome(pairs: pd.DataFrame) -> dict[tuple[str, str], tuple[str, str, float]]:
        return {(str(a), str(b)): (d, r, round(float(w), 6)) for a, b, d, r, w in zip(
            pairs["unique_id_l"], pairs["unique_id_r"], pairs["decision"], pairs["rule"], pairs["match_weight"],
            strict=True) if d != "apart"}

    assert outcome(on_spark) == outcome(on_duckdb)
    # The population's movers meet the rule: the comparison is not between two empty sets.
    assert (on_duckdb["rule"] == ACROSS_A_KNOWN_MOVE).sum() > 0
