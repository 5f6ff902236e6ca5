"""Check one file's profile against its feed's suite, and say in plain words what failed.

The suites are Great Expectations suites, declared as data. Each file is measured by
``measure`` (vectorised pandas, in GX's result format, about a millisecond a file) unless
``engine="gx"`` asks GX itself to run the suite: that engine is the reference the differential test
holds the measures to. GX costs ~40-60 ms of CPU a file whatever its size (building its metric graph),
more than parsing a school's roll, and seconds to import.

For the GX engine, importing GX and building a context happen once per process, lazily, on the first
check: one ephemeral context, one pandas data source with one whole-dataframe batch definition, and
each feed's suite built once. The cached batch definition is shared, so GX checks are serialised by a
lock (a worker checks one file at a time anyway).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.expectations.common import (
    PROFILE_COLUMNS,
    BatchCheckError,
    ExpectationConfig,
    FileVerdict,
    build_suite,
)
from schemas.expectations.measure import measure

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations import ExpectationSuite

SUITES = ("school", "gp", "connexions", "ecaf", "ics")
ENGINES = ("pandas", "gx")  # feeds with a batch contract: one module each
# Counts only: the partial lists of unexpected values would put row data into results and docs.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


@dataclass(frozen=True)
class _Gx:
    batch_definition: Any
    version: str
    suites: dict[str, ExpectationSuite] = field(default_factory=dict)


_lock = threading.Lock()
_gx: _Gx | None = None


def expectations(feed: str) -> tuple[ExpectationConfig, ...]:
    """The declared expectations of ``feed`` (``schemas/expectations/<feed>.py``); ValueError if unknown."""
    if feed not in SUITES:
        raise ValueError(f"no batch contract for feed {feed!r}")
    declared: tuple[ExpectationConfig, ...] = importlib.import_module(f"schemas.expectations.{feed}").EXPECTATIONS
    return declared


def suite_for(feed: str) -> ExpectationSuite:
    """The feed's Great Expectations suite, built once per process (a suite needs a context to exist)."""
    expectations(feed)  # refuse an unknown feed before importing a module named after it
    with _lock:
        return _suite(_context(), feed)


def _suite(gx_objects: _Gx, feed: str) -> ExpectationSuite:
    if feed not in gx_objects.suites:
        gx_objects.suites[feed] = build_suite(feed, expectations(feed))
    return gx_objects.suites[feed]


def _quiet(logger_name: str = "great_expectations") -> None:
    # GX logs hundreds of INFO lines while it registers itself; keep them out of pipeline logs unless
    # an operator set a level for it on purpose.
    logger = logging.getLogger(logger_name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def _context() -> _Gx:
    """The process's cached context objects, created on first use (call with ``_lock`` held)."""
    global _gx
    if _gx is None:
        _quiet()
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            # Without this every check prints tqdm bars to stderr, into every task log.
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False,
        )
        context = gx.get_context(mode="ephemeral", project_config=config)
        asset = context.data_sources.add_pandas("contactpoint_profiles").add_dataframe_asset("file_profile")
        _gx = _Gx(asset.add_batch_definition_whole_dataframe("whole_file"), gx.__version__)
    return _gx


def minimum_rows(configs: tuple[ExpectationConfig, ...], previous_rows: int | None) -> int:
    """The ``min_rows`` suite parameter: 1, or a share of the previous file's rows for a full snapshot."""
    for config in configs:
        meta = config["meta"]
        limit, floor = meta.get("shrink_limit"), meta.get("min_previous", 1)
        if meta["check"] == "row_count" and limit and previous_rows and previous_rows >= floor:
            return max(1, math.ceil(previous_rows * limit))
    return 1


def check_file(feed: str, profile: pd.DataFrame, *, previous_rows: int | None,
               docs_dir: Path | None = None, file_label: str = "", file_name: str | None = None,
               engine: str = "pandas") -> FileVerdict:
    """Check one file's profile against its feed's suite.

    ``previous_rows``: rows read in the sender's previous accepted file of this feed (None if there
    is none); a full snapshot may not fall below half of it. With ``docs_dir``, the result is also
    written as a self-contained HTML page, ``docs_dir/<file_label>.html`` titled with ``file_name`` (the
    sender's name for the file; ``file_label`` when not given), its path in
    ``results["docs_path"]``. Raises ``BatchCheckError`` when the hub cannot check the file (a
    profile column missing, a check that could not run): that is the hub's fault, not the sender's.
    ``engine``: ``"pandas"`` (the vectorised measures) or ``"gx"`` (Great Expectations runs the suite).
    """
    configs = expectations(feed)
    if engine not in ENGINES:
        raise ValueError(f"unknown batch check engine {engine!r}")
    parameters = {"min_rows": minimum_rows(configs, previous_rows)}
    if engine == "gx":
        validation, version = _validate_with_gx(feed, profile, parameters)
    else:
        results_json = [measure(config, profile, parameters) for config in configs]
        validation = {"success": all(r["success"] for r in results_json), "results": results_json,
                      "engine": "vectorised pandas measures of the Great Expectations suite"}
        version = _gx_version()
    by_check = {r["expectation_config"]["meta"]["check"]: r for r in validation["results"]}
    if not by_check["profile_columns"]["success"]:
        details = by_check["profile_columns"]["result"].get("details", {}).get("mismatched", {})
        missing = details.get("missing") or [c for c in PROFILE_COLUMNS if c not in profile.columns]
        raise BatchCheckError(f"the profile of a {feed} file lacks column(s) {', '.join(missing)}")

    reasons: list[str] = []
    results: dict[str, Any] = {}
    for config in configs:
        meta = config["meta"]
        result = by_check[meta["check"]]
        error = _raised(result["exception_info"])
        if error is not None:
            raise BatchCheckError(f"check {meta['check']} of a {feed} file could not run: {error}")
        facts = _facts(result, previous_rows)
        judged = facts.get("sample", 1) >= meta.get("min_sample", 1)
        success = bool(result["success"]) or not judged
        results[meta["check"]] = {"expectation": config["type"], "success": success, "judged": judged,
                                  "observed": facts["observed"]}
        covered = results.get(meta.get("covered_by", ""), {}).get("success") is False
        if not success and not covered:
            template = meta["reason_empty"] if facts["observed"] == 0 and "reason_empty" in meta else meta["reason"]
            reasons.append(template.format(**facts))
    verdict = FileVerdict(passed=not reasons, reasons=reasons, results=results)
    if docs_dir is not None:
        from schemas.expectations.docs import write_docs

        results["docs_path"] = str(write_docs(
            docs_dir, feed=feed, file_label=file_label, file_name=file_name, verdict=verdict, configs=configs,
            validation=validation, previous_rows=previous_rows, gx_version=version))
    return verdict


def _validate_with_gx(feed: str, profile: pd.DataFrame, parameters: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The suite's validation result as GX returns it (JSON form), and GX's version."""
    with _lock:
        gx_objects = _context()
        suite = _suite(gx_objects, feed)
        batch = gx_objects.batch_definition.get_batch(batch_parameters={"dataframe": profile})
        outcome = batch.validate(suite, expectation_parameters=parameters, result_format=RESULT_FORMAT)
    validation: dict[str, Any] = outcome.to_json_dict()
    return validation, gx_objects.version


def _gx_version() -> str:
    try:
        return importlib.metadata.version("great_expectations")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _raised(info: dict[str, Any]) -> str | None:
    """The message of an exception GX caught while checking, or None.

    GX reports an expectation's own failure flat (``raised_exception``), and a failed metric nested
    under the metric's id; either way the check did not run, and must not pass as "not judged".
    """
    for part in (info, *(v for v in info.values() if isinstance(v, dict))):
        if part.get("raised_exception"):
            return str(part.get("exception_message") or "unknown error")[:300]
    return None


def _facts(result: dict[str, Any], previous_rows: int | None) -> dict[str, Any]:
    """The numbers a reason template may name, from one expectation's JSON result."""
    kwargs, found = result["expectation_config"]["kwargs"], result["result"]
    facts: dict[str, Any] = {"previous": previous_rows, "min": kwargs.get("min_value"),
                             "max": kwargs.get("max_value")}
    mostly = kwargs.get("mostly")
    if mostly is not None:
        facts.update(mostly_pct=_pct(100 * mostly), allowed_pct=_pct(100 * (1 - mostly)))
    if "element_count" not in found:  # a table-level check: one observed value
        facts["observed"] = found.get("observed_value")
        return facts
    n, missing, bad = found["element_count"], found.get("missing_count") or 0, found.get("unexpected_count") or 0
    sample = n - missing
    bad_share = 100 * bad / sample if sample else 0.0
    facts.update(n=n, sample=sample, bad=bad, bad_pct=_pct(bad_share, math.ceil),
                 good_pct=_pct(100 - bad_share, math.floor),
                 observed={"unexpected": bad, "of": sample, "percent": round(bad_share, 2)})
    return facts


def _pct(value: float, rounding: Callable[[float], int] = round) -> str:
    """41 -> "41%", 66.67 -> "66.7%"; a failed share is rounded away from its bound (89.97% -> "89.9%")."""
    tenths = rounding(round(value * 10, 6)) / 10
    return f"{tenths:.0f}%" if tenths == int(tenths) else f"{tenths:.1f}%"
