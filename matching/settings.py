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


def _level(sql: str, label: str, *, null: bool = False, tf: str | None = None) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    if tf:
        level["tf_adjustment_column"] = tf
        level["tf_adjustment_weight"] = 1.0
    return level


ELSE = {"sql_condition": "ELSE", "label_for_charts": "all other"}

COMPARISONS: list[dict[str, Any]] = [
    {
        "output_column_name": "forename",
        "comparison_description": "first forename (nicknames mapped), against all given names",
        "comparison_levels": [
            _level('"forename_l" IS NULL OR "forename_r" IS NULL', "null", null=True),
            _level('"forename_l" = "forename_r"', "exact", tf="forename"),
            _level('"forename_formal_l" = "forename_formal_r"', "same formal name (nickname)"),
            _level('len(list_intersect("given_names_l", "given_names_r")) > 0', "a given name in common"),
            _level('jaro_winkler_similarity("forename_l", "forename_r") >= 0.88', "jaro-winkler >= 0.88"),
            ELSE,
        ],
    },
    {
        "output_column_name": "surname",
        "comparison_description": "surname, against former and preferred surnames",
        "comparison_levels": [
            _level('"surname_l" IS NULL OR "surname_r" IS NULL', "null", null=True),
            _level('"surname_l" = "surname_r"', "exact", tf="surname"),
            _level('len(list_intersect("surname_parts_l", "surname_parts_r")) > 0', "a surname part in common"),
            _level('jaro_winkler_similarity("surname_l", "surname_r") >= 0.88', "jaro-winkler >= 0.88"),
            ELSE,
        ],
    },
    {
        "output_column_name": "dob",
        "comparison_description": "date of birth: exact, day and month swapped, one character off",
        "comparison_levels": [
            _level('"dob_l" IS NULL OR "dob_r" IS NULL', "null", null=True),
            _level('"dob_l" = "dob_r"', "exact"),
            _level('"dob_l" = "dob_transposed_r"', "day and month swapped"),
            _level('levenshtein("dob_l", "dob_r") <= 1', "one character off"),
            _level('substr("dob_l", 1, 7) = substr("dob_r", 1, 7)', "same year and month"),
            ELSE,
        ],
    },
    {
        "output_column_name": "household",
        "comparison_description": "postcode and address as one household",
        "comparison_levels": [
            _level('"postcode_l" IS NULL OR "postcode_r" IS NULL', "null", null=True),
            _level('"postcode_l" = "postcode_r" AND "house_number_l" = "house_number_r"', "same home"),
            _level('"postcode_l" = "postcode_r"', "same postcode"),
            _level('"postcode_sector_l" = "postcode_sector_r"', "same sector"),
            _level('"postcode_district_l" = "postcode_district_r"', "same district"),
            ELSE,
        ],
    },
    {
        "output_column_name": "gender",
        "comparison_description": "gender (M/F; not known and indeterminate are null)",
        "comparison_levels": [
            _level('"gender_l" IS NULL OR "gender_r" IS NULL', "null", null=True),
            _level('"gender_l" = "gender_r"', "exact"),
            ELSE,
        ],
    },
    {
        "output_column_name": "nhs_number",
        "comparison_description": "valid NHS number",
        "comparison_levels": [
            _level('"nhs_number_l" IS NULL OR "nhs_number_r" IS NULL', "null", null=True),
            _level('"nhs_number_l" = "nhs_number_r"', "exact"),
            ELSE,
        ],
    },
    {
        "output_column_name": "upn",
        "comparison_description": "valid UPN",
        "comparison_levels": [
            _level('"upn_l" IS NULL OR "upn_r" IS NULL', "null", null=True),
            _level('"upn_l" = "upn_r"', "exact"),
            ELSE,
        ],
    },
]

# Candidate pairs: each rule misses only records with two faults at once (e.g. a mistyped surname
# AND a swapped date of birth), and none compares a whole birth cohort with itself.
BLOCKING_RULES: list[str] = [
    'l."nhs_number" = r."nhs_number"',
    'l."upn" = r."upn"',
    'l."dob" = r."dob" AND l."forename_formal" = r."forename_formal"',
    'l."dob" = r."dob" AND l."surname" = r."surname"',
    'l."dob" = r."dob" AND l."postcode_sector" = r."postcode_sector"',
    'l."forename_formal" = r."forename_formal" AND l."surname" = r."surname" AND l."birth_year" = r."birth_year"',
]
# Blocks for estimating m by EM: none can hold twins (different forenames, or one identifier).
TRAINING_BLOCKS: list[str] = [
    'l."forename_formal" = r."forename_formal" AND l."dob" = r."dob"',
    'l."nhs_number" = r."nhs_number"',
    'l."upn" = r."upn"',
]
# Pairs agreeing on these are (almost) surely one child: used to estimate the prior match rate.
DETERMINISTIC_BLOCKS: list[str] = [
    'l."nhs_number" = r."nhs_number" AND l."dob" = r."dob"',
    'l."upn" = r."upn" AND l."dob" = r."dob"',
]


def settings_dict() -> dict[str, Any]:
    """The untrained model's Splink settings."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "comparisons": COMPARISONS,
        "blocking_rules_to_generate_predictions": [{"blocking_rule": r} for r in BLOCKING_RULES],
        "retain_intermediate_calculation_columns": True,
        "retain_matching_columns": True,
        "additional_columns_to_retain": [],
        "max_iterations": 25,
        "em_convergence": 0.0001,
    }
