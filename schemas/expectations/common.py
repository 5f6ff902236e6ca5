"""What every feed's batch contract shares: the profile's columns, the verdict, and the expectation builders.

A suite is declared as data: a tuple of plain expectation configurations (``type``, ``kwargs``, ``meta``)
that serialise, diff and version like any other config. ``meta`` carries what the hub adds to Great
Expectations: a stable ``check`` name, the sentence a sender reads when the check fails (``reason``, a
``str.format`` template), and ``min_sample``, the fewest rows a rate needs before it is judged at all.
Nothing here imports Great Expectations; ``build_suite`` does, when called.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

PROFILE_COLUMNS = ("row_number", "outcome", "nhs_number_valid", "upn_valid", "age_years", "source_key")
OUTCOMES = ("loaded", "warned", "quarantined", "withheld")
# Rows whose record was staged: only they carry an age, identifiers and a key the hub trusts.
KEPT_OUTCOMES = ("loaded", "warned")
# A rate over a handful of rows says nothing about the extract: one typo in a three-pupil file is 33%.
MIN_SAMPLE = 20

ExpectationConfig = dict[str, Any]

_KEPT_ROWS = {"type": "comparison", "column": {"name": "outcome"}, "operator": "IN",
              "parameter": list(KEPT_OUTCOMES)}


class BatchCheckError(RuntimeError):
    """The hub could not check a file (its own fault, not the sender's): fail the task, keep the file."""


@dataclass(frozen=True)
class FileVerdict:
    """What the batch contract made of one file."""

    passed: bool
    reasons: list[str] = field(default_factory=list)  # one short sentence per failed check, for the receipt
    results: dict[str, Any] = field(default_factory=dict)  # check name -> expectation, success, observed


def profile_columns() -> ExpectationConfig:
    """The profile holds every column the other checks read (a missing one is a hub fault)."""
    return {
        "type": "expect_table_columns_to_match_set",
        "kwargs": {"column_set": list(PROFILE_COLUMNS), "exact_match": False},
        "meta": {"check": "profile_columns", "describe": "the profile has every column the checks read",
                 "reason": "the hub could not profile the file"},
    }


def row_count(*, noun: str | None = None, shrink_limit: float = 0.5, min_previous: int = MIN_SAMPLE
              ) -> ExpectationConfig:
    """At least one row; for a full snapshot (``noun`` given), at least ``shrink_limit`` of the previous file.

    The bound is the suite parameter ``min_rows``, set per file from the sender's previous file. A
    previous file under ``min_previous`` rows sets no bound: a roll of six losing four is not a pattern.
    """
    meta: dict[str, Any] = {"check": "row_count", "reason_empty": "the file holds no rows"}
    if noun is None:
        meta.update(describe="the file holds at least one row (a delta may be any size)",
                    reason="the file holds no rows")
    else:
        meta.update(
            describe=f"the {noun} holds at least {shrink_limit:.0%} of the rows of the sender's previous file",
            reason=f"the {noun} shrank from {{previous}} rows in the previous file to {{observed}}",
            shrink_limit=shrink_limit, min_previous=min_previous,
        )
    return {"type": "expect_table_row_count_to_be_between",
            "kwargs": {"min_value": {"$PARAMETER": "min_rows"}}, "meta": meta}


def quarantined_share(at_most: float, *, check: str = "quarantined_share", min_rows: int = 1,
                      reason: str = "{bad} of {n} rows could not be loaded ({bad_pct}); the extract looks broken",
                      ) -> ExpectationConfig:
    """At most ``at_most`` of the rows read are quarantined (withheld rows count as read).

    A stricter share (another ``check`` name) gives no second reason when the general one failed too.
    """
    meta: dict[str, Any] = {"check": check, "min_sample": min_rows, "reason": reason,
                            "describe": f"at most {at_most:.0%} of rows quarantined"
                                        + (f" (judged from {min_rows} rows)" if min_rows > 1 else "")}
    if check != "quarantined_share":
        meta["covered_by"] = "quarantined_share"
    return {
        "type": "expect_column_values_to_not_be_in_set",
        "kwargs": {"column": "outcome", "value_set": ["quarantined"], "mostly": round(1 - at_most, 6)},
        "meta": meta,
    }


def identifier_valid(column: str, label: str, at_least: float) -> ExpectationConfig:
    """Of the loaded rows that send the identifier, at least ``at_least`` pass its check.

    A single typo is the row rule's business (loaded without it, with a warning); a low rate across
    the file means a systematic fault, such as a shifted column or local ids in the identifier's place.
    """
    return {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": column, "value_set": [True], "mostly": at_least, "row_condition": _KEPT_ROWS},
        "meta": {"check": column, "min_sample": MIN_SAMPLE,
                 "describe": f"{label} valid in at least {at_least:.0%} of loaded rows that send one",
                 "reason": f"{label} valid in {{good_pct}} of rows that send one (expected at least {{mostly_pct}})"},
    }


def age_between(low: float, high: float, *, mostly: float = 0.95) -> ExpectationConfig:
    """Most loaded rows give an age (at the hub's today) the feed's service can plausibly hold."""
    return {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "age_years", "min_value": low, "max_value": high, "mostly": mostly,
                   "row_condition": _KEPT_ROWS},
        "meta": {"check": "age_years", "min_sample": MIN_SAMPLE,
                 "describe": f"at least {mostly:.0%} of loaded rows aged {low:g} to {high:g}",
                 "reason": f"{{bad}} of {{sample}} loaded rows give an age outside {low:g} to {high:g} years "
                           f"({{bad_pct}}; expected at most {{allowed_pct}})"},
    }


def unique_loaded_keys() -> ExpectationConfig:
    """A full snapshot lists each child once: no source key twice among the loaded rows."""
    return {
        "type": "expect_column_values_to_be_unique",
        "kwargs": {"column": "source_key", "row_condition": _KEPT_ROWS},
        "meta": {"check": "unique_source_key", "describe": "each child appears once among loaded rows",
                 "reason": "{bad} loaded rows name a child another row also names; "
                           "a full snapshot lists each child once"},
    }


def build_suite(name: str, expectations: Iterable[ExpectationConfig]) -> ExpectationSuite:
    """Turn declared expectation configurations into a Great Expectations suite (imports GX)."""
    from great_expectations import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    suite = ExpectationSuite(name=name)
    for config in expectations:
        suite.add_expectation(ExpectationConfiguration(**config).to_domain_obj())
    return suite
