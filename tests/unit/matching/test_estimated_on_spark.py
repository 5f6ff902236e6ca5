"""A model estimated on the data given (structure v4) scores on Spark exactly as on DuckDB: a data team that
promotes one and links at national scale gets the same pairs, levels and weights."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from matching import spark_linkage
from matching.cluster import UNCHECKED
from matching.features import features_frame
from matching.files import read_canonical
from matching.model import db_api, score_within, train
from matching.settings import ESTIMATED_VERSION
from tools.independent_population.generate import generate

pytestmark = pytest.mark.unit


def test_an_estimated_model_scores_the_same_pairs_and_levels_on_spark_as_on_duckdb(tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="the spark extra: EXTRAS=dev,spark scripts/setup.sh")
    written = generate(tmp_path / "independent", children=800, seed=3)
    frame = features_frame(list(read_canonical([written.records])))
    model = train(frame)
    assert model["linker_uid"] == ESTIMATED_VERSION

    duckdb = score_within(frame, model, threshold=2.0)
    spark = score_within(frame, model, threshold=2.0, backend="spark")

    national = spark_linkage.score(db_api("spark"), frame, model, 2.0).toPandas()

    def scored(pairs: pd.DataFrame) -> dict[tuple[str, str], tuple[int, float, bool, bool]]:
        return {(str(a), str(b)): (int(level), round(float(weight), 6), bool(common_l), bool(common_r))
                for a, b, level, weight, common_l, common_r in zip(
                    pairs["unique_id_l"], pairs["unique_id_r"], pairs["gamma_forename"], pairs["match_weight"],
                    pairs["forename_common_l"], pairs["forename_common_r"], strict=True)}

    assert scored(spark) == scored(duckdb) == scored(national)
    # The v3 level (forenames that differ beside a shared middle name) is among what both backends computed, and
    # so are common forenames and rare ones.
    assert 8 in {level for level, *_ in scored(duckdb).values()}
    assert {common for *_, common, _ in scored(duckdb).values()} == {True, False}


def test_a_population_linked_with_an_estimated_model_on_spark_gives_duckdb_s_children_and_review_pairs(
        tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="the spark extra: EXTRAS=dev,spark scripts/setup.sh")
    from matching.linkage import link_frames
    from matching.model import db_api
    from matching.spark_linkage import link_records

    # This population holds records with temporary UPNs (a placeholder from v2 on) beside a child's permanent one,
    # and links through a middle name at one home and birth date, which only an identifier can check; beside it,
    # twins named Safa and Sana where both names are common (namesakes at other homes).
    written = generate(tmp_path / "independent", children=1_500, seed=7)
    home = {"family_name": "Butt", "date_of_birth": "2025-06-06", "gender": "F", "postcode": "PE1 1ZS",
            "address_line_1": "12 Lincoln Road"}
    twins = [{**home, "record_id": "safa-gp", "given_name": "Safa", "nhs_number": "9990000077"},
             {**home, "record_id": "sana-visit", "given_name": "Sana", "middle_names": "Hafsa"}]
    namesakes = [{"record_id": f"{name}-{i}", "given_name": name, "family_name": f"Family{i}", "gender": "F",
                  "date_of_birth": f"20{10 + i}-0{1 + i}-1{i}", "postcode": f"B{10 + i} {i}AA"}
                 for name in ("Safa", "Sana") for i in range(6)]
    frame = features_frame([*read_canonical([written.records]), *twins, *namesakes])
    frame["unique_id"] = [str(i + 1) for i in range(len(frame))]  # Spark's clustering keys records by number
    model = train(frame)
    on_duckdb = link_frames(frame, model)
    api = db_api("spark")
    on_spark = link_records(api, api.spark.createDataFrame(frame.assign(record_id=frame["unique_id"].astype("int64"))),
                            model)

    def children(group_of: dict[str, str]) -> set[frozenset[str]]:
        members: dict[str, set[str]] = {}
        for record, group in group_of.items():
            members.setdefault(group, set()).add(record)
        return {frozenset(m) for m in members.values()}

    def asked(review: list[dict[str, object]]) -> set[tuple[object, object, object]]:
        return {(p["record_a"], p["record_b"], p["reason"]) for p in review}

    spark_groups = {str(r.record_id): str(r.group_id) for r in on_spark.groups.toLocalIterator()}
    assert children(spark_groups) == children(on_duckdb.clustering.group_of)
    assert asked(on_spark.review) == asked(on_duckdb.review)
    assert any(p["reason"] == f"would link, but {UNCHECKED}" for p in on_duckdb.review)
    assert any(p["reason"] == "twins or siblings named near alike" for p in on_duckdb.review)
