"""The probabilistic model as data: comparisons, blocking rules, training blocks and thresholds.

Fellegi–Sunter via Splink. Lessons written into the design (``shared/DESIGN.md``):
- postcode and address are ONE household comparison, or a household's evidence counts twice and
  siblings chain together;
- a forename is also compared against the other's middle and preferred names, after nicknames map to
  their formal form; surnames against former and preferred surnames (any part agreeing);
- m is estimated on blocks that cannot hold twins (forename + date of birth, NHS number, UPN);
- twins are caught by an explicit rule (``matching.decide``), not by the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MODEL_VERSION = "child_linkage_v1"


@dataclass(frozen=True)
class Thresholds:
    """Match weights: at or above ``link`` links; from ``review`` up to it goes to a steward; below, apart."""

    link: float = 6.0
    review: float = 2.0


THRESHOLDS = Thresholds()


def _comparison(name: str, description: str, levels: list[Any]) -> Any:
    import splink.comparison_library as cl

    return cl.CustomComparison(comparison_levels=levels, output_column_name=name,
                               comparison_description=description)


def comparisons() -> list[Any]:
    """The comparisons, built with Splink's level creators so each backend gets its own SQL dialect."""
    import splink.comparison_level_library as cll

    def custom(sql: str, label: str) -> Any:
        # Plain lower-case identifiers and functions every backend knows: the same SQL on DuckDB and Spark.
        return cll.CustomLevel(sql, label_for_charts=label)

    def simple(column: str, description: str) -> Any:
        return _comparison(column, description,
                           [cll.NullLevel(column), cll.ExactMatchLevel(column), cll.ElseLevel()])

    return [
        _comparison("forename", "first forename (nicknames mapped), against all given names", [
            cll.NullLevel("forename"),
            cll.ExactMatchLevel("forename", term_frequency_adjustments=True),
            custom("forename_formal_l = forename_formal_r", "same formal name (nickname)"),
            cll.ArrayIntersectLevel("given_names", min_intersection=1),
            cll.JaroWinklerLevel("forename", 0.88),
            cll.ElseLevel(),
        ]),
        _comparison("surname", "surname, against former and preferred surnames", [
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname", term_frequency_adjustments=True),
            cll.ArrayIntersectLevel("surname_parts", min_intersection=1),
            cll.JaroWinklerLevel("surname", 0.88),
            cll.ElseLevel(),
        ]),
        _comparison("dob", "date of birth: exact, day and month swapped, one character off", [
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            custom("dob_l = dob_transposed_r", "day and month swapped"),
            cll.LevenshteinLevel("dob", 1),
            custom("substr(dob_l, 1, 7) = substr(dob_r, 1, 7)", "same year and month"),
            cll.ElseLevel(),
        ]),
        _comparison("household", "postcode and address as one household", [
            cll.NullLevel("postcode"),
            custom("postcode_l = postcode_r AND house_number_l = house_number_r", "same home"),
            custom("postcode_l = postcode_r", "same postcode"),
            custom("postcode_sector_l = postcode_sector_r", "same sector"),
            custom("postcode_district_l = postcode_district_r", "same district"),
            cll.ElseLevel(),
        ]),
        simple("gender", "gender (M/F; not known and indeterminate are null)"),
        simple("nhs_number", "valid NHS number"),
        simple("upn", "valid UPN"),
    ]


# Candidate pairs: each rule misses only records with two faults at once (e.g. a mistyped surname
# AND a swapped date of birth), and none compares a whole birth cohort with itself.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("nhs_number",), ("upn",), ("dob", "forename_formal"), ("dob", "surname"), ("dob", "postcode_sector"),
    ("forename_formal", "surname", "birth_year"),
)
# Blocks for estimating m by EM: none can hold twins (different forenames, or one identifier).
TRAINING_KEYS: tuple[tuple[str, ...], ...] = (("forename_formal", "dob"), ("nhs_number",), ("upn",))
# Pairs agreeing on these are (almost) surely one child: used to estimate the prior match rate.
DETERMINISTIC_KEYS: tuple[tuple[str, ...], ...] = (("nhs_number", "dob"), ("upn", "dob"))


def blocks(keys: tuple[tuple[str, ...], ...]) -> list[Any]:
    """Splink blocking rules for key tuples."""
    from splink import block_on

    return [block_on(*k) for k in keys]


def settings_dict(sql_dialect: str = "duckdb") -> dict[str, Any]:
    """The untrained model's Splink settings, with SQL for ``sql_dialect`` (duckdb or spark)."""
    from splink import SettingsCreator

    creator = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocks(BLOCKING_KEYS),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        max_iterations=25,
        em_convergence=0.0001,
    )
    settings: dict[str, Any] = creator.create_settings_dict(sql_dialect)
    return settings


def with_parameters(settings: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
    """``settings`` (any dialect) carrying a trained model's prior and m/u per level.

    A model is its structure (this module) plus its parameters: levels are matched by comparison name
    and position, so a model trained on DuckDB scores identically on Spark.
    """
    out = dict(settings)
    out["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    by_name = {c["output_column_name"]: c["comparison_levels"] for c in trained["comparisons"]}
    comparisons_out = []
    for comparison in settings["comparisons"]:
        levels = by_name[comparison["output_column_name"]]
        if len(levels) != len(comparison["comparison_levels"]):
            raise ValueError(f"model does not fit comparison {comparison['output_column_name']}")
        comparisons_out.append({**comparison, "comparison_levels": [
            {**level, **{k: trained_level[k] for k in ("m_probability", "u_probability") if k in trained_level}}
            for level, trained_level in zip(comparison["comparison_levels"], levels, strict=True)]})
    out["comparisons"] = comparisons_out
    return out
