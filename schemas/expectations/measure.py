"""The suites' expectations measured with vectorised pandas, in Great Expectations' result format.

Great Expectations stays the contract: the suites are declared for it (``<feed>.py``), it can still
run them (``check_file(..., engine="gx")``), and a differential test holds the two to the same
verdicts. What it costs is fixed per file, not per row (building its metric graph took ~40-60 ms of CPU
a file here, more than parsing a school's roll), so files are checked here: a few column operations.

Only the expectation types the suites declare are measured; another one is a hub fault until added.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schemas.expectations.common import ExpectationConfig

if TYPE_CHECKING:
    import pandas as pd

Measured = tuple[bool, dict[str, Any]]  # success, GX's BASIC "result"


def measure(config: ExpectationConfig, frame: pd.DataFrame, parameters: dict[str, Any]) -> dict[str, Any]:
    """One expectation's validation result as GX's ``to_json_dict()`` gives it (the fields the hub reads)."""
    kind = config["type"]
    outcome: dict[str, Any] = {
        "expectation_config": {"type": kind, "kwargs": copy.deepcopy(config["kwargs"]), "meta": config["meta"]},
        "exception_info": {"raised_exception": False, "exception_traceback": None, "exception_message": None},
    }
    if kind not in _MEASURES:
        raise ValueError(f"no vectorised measure for expectation type {kind!r}")
    try:
        success, result = _MEASURES[kind](frame, config["kwargs"], parameters)
    except (KeyError, TypeError, ValueError) as exc:  # a column missing, text where a number belongs: not run
        outcome.update(success=False, result={}, exception_info={
            "raised_exception": True, "exception_traceback": None, "exception_message": f"{type(exc).__name__}: {exc}"})
        return outcome
    outcome.update(success=success, result=result)
    return outcome


def _parameter(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


def _columns_match_set(frame: pd.DataFrame, kwargs: dict[str, Any], _: dict[str, Any]) -> Measured:
    observed = sorted(str(column) for column in frame.columns)  # GX reports them sorted
    missing = [column for column in kwargs["column_set"] if column not in observed]
    extra = [column for column in observed if column not in kwargs["column_set"]] if kwargs.get("exact_match") else []
    result: dict[str, Any] = {"observed_value": observed}
    if missing or extra:
        result["details"] = {"mismatched": {"missing": missing, "unexpected": extra}}
    return not missing and not extra, result


def _row_count_between(frame: pd.DataFrame, kwargs: dict[str, Any], parameters: dict[str, Any]) -> Measured:
    rows = len(frame)
    low, high = _parameter(kwargs.get("min_value"), parameters), _parameter(kwargs.get("max_value"), parameters)
    return (low is None or rows >= low) and (high is None or rows <= high), {"observed_value": rows}


def _domain(frame: pd.DataFrame, kwargs: dict[str, Any]) -> pd.Series:
    """The column the expectation reads, on the rows its condition selects."""
    condition = kwargs.get("row_condition")
    if condition:
        if condition.get("type") != "comparison" or condition.get("operator") != "IN":
            raise ValueError(f"unsupported row condition {condition!r}")
        frame = frame[frame[condition["column"]["name"]].isin(condition["parameter"]).to_numpy(dtype=bool)]
    series: pd.Series = frame[kwargs["column"]]
    return series


def _map_result(kwargs: dict[str, Any], elements: int, nonnull: int, unexpected: int) -> Measured:
    """Success and counts exactly as GX's map expectations report them (``_format_map_output``, BASIC)."""
    missing = elements - nonnull
    mostly = kwargs.get("mostly")
    success = True if elements == 0 or nonnull == 0 else (nonnull - unexpected) / nonnull >= (
        1.0 if mostly is None else mostly)
    total_pct = unexpected / elements * 100 if elements else None
    nonmissing_pct = unexpected / nonnull * 100 if elements and nonnull else None
    return success, {
        "element_count": elements, "unexpected_count": unexpected, "unexpected_percent": nonmissing_pct,
        "partial_unexpected_list": [], "missing_count": missing,
        "missing_percent": missing / elements * 100 if elements else None,
        "unexpected_percent_total": total_pct, "unexpected_percent_nonmissing": nonmissing_pct,
    }


def _map(unexpected: Callable[[pd.Series, dict[str, Any]], Any]) -> Callable[..., Measured]:
    def run(frame: pd.DataFrame, kwargs: dict[str, Any], _: dict[str, Any]) -> Measured:
        series = _domain(frame, kwargs)
        values = series[series.notna().to_numpy(dtype=bool)]
        return _map_result(kwargs, len(series), len(values), int(unexpected(values, kwargs).sum()))
    return run


def _between(values: pd.Series, kwargs: dict[str, Any]) -> Any:
    import pandas as pd
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    inside = pd.Series(True, index=values.index)
    if low is not None:
        inside &= values >= low
    if high is not None:
        inside &= values <= high
    return ~inside


_MEASURES: dict[str, Callable[..., Measured]] = {
    "expect_table_columns_to_match_set": _columns_match_set,
    "expect_table_row_count_to_be_between": _row_count_between,
    "expect_column_values_to_be_in_set": _map(lambda values, kw: ~values.isin(kw["value_set"])),
    "expect_column_values_to_not_be_in_set": _map(lambda values, kw: values.isin(kw["value_set"])),
    "expect_column_values_to_be_between": _map(_between),
    "expect_column_values_to_be_unique": _map(lambda values, _: values.duplicated(keep=False)),
}
