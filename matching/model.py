"""Train, save, load and run the probabilistic model with Splink (DuckDB by default, Spark by config).

The trained model is a JSON document (Splink's settings with m and u), versioned by name; scoring
loads it, so every later run compares with the same weights until a steward lead promotes a new one.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from matching.features import column as column_of
from matching.features import column_names
from matching.settings import (
    COMPARED_COLUMNS,
    ESTIMATED_VERSION,
    MODEL_VERSION,
    V2_DETERMINISTIC_KEYS,
    V2_FALLBACK_TRAINING_KEYS,
    V2_TRAINING_KEYS,
    V4_TRAINING_KEYS,
    WEIGHED_AS_DIFFERENT,
    blocks,
    settings_dict,
    structure_of,
    with_parameters,
)
from matching.twins import evidence_of_frame
from warehouse.model_versions import promoted_model

log = logging.getLogger(__name__)
# Splink warns at every predict() that some m values of a delta are the model's defaults ("m values not fully
# trained"): expected with a promoted model, and noise on a data team's screen. Its errors still show.
SPLINK_LOG_LEVEL = logging.ERROR
BUNDLED_MODEL = Path(__file__).resolve().parent / "models" / f"{MODEL_VERSION}.json"
SCORE_COLUMNS = ("unique_id_l", "unique_id_r", "match_weight", "match_probability")
# The forenames themselves travel with a scored pair: a rule reads one as the other's initial, and the other
# given names as another child's (``matching.decide``).
KEPT_NAMES = ("forename_l", "forename_r", "given_names_l", "given_names_r")
# So do the homes: a pair across a move the family is known to have made is read as one home (``matching.moves``).
KEPT_HOMES = ("postcode_l", "postcode_r", "house_number_l", "house_number_r")


def db_api(backend: str = "duckdb") -> Any:
    """A Splink database API: DuckDB in-process, or a local Spark session (``backend='spark'``)."""
    if backend == "spark":
        from pyspark.sql import SparkSession
        from splink import SparkAPI
        from splink.backends.spark import similarity_jar_location

        from contactpoint.settings import get_settings

        settings = get_settings()
        # Python workers (the pair rules and the clustering run in them) use this interpreter and its venv.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # The jar shipped with Splink provides jaro_winkler and friends as Spark functions; PostgreSQL's JDBC
        # driver (when installed) lets the Spark link step read the store in partitions.
        jdbc = settings.spark_jdbc_jar
        jars = [similarity_jar_location()] + ([str(jdbc)] if jdbc.exists() else [])
        spark = (SparkSession.builder.master(settings.spark_master).appName("contactpoint-linker")
                 .config("spark.jars", ",".join(jars)).config("spark.driver.memory", settings.spark_driver_memory)
                 .config("spark.sql.shuffle.partitions", "16").getOrCreate())
        # Splink breaks long lineages with checkpoints, which Spark keeps on disk.
        spark.sparkContext.setCheckpointDir(str(settings.data_dir / "spark-checkpoints"))
        return SparkAPI(spark_session=spark)
    from splink import DuckDBAPI

    return DuckDBAPI()


TF_COLUMNS = ("forename", "surname")
TF_KEY = "contactpoint_term_frequencies"  # ours, not Splink's: removed before Splink sees the model


def term_frequencies(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """How common each forename and surname is, for term-frequency adjustment."""
    return {column: {str(k): float(v) for k, v in frame[column].dropna().value_counts(normalize=True).items()}
            for column in TF_COLUMNS}


def _fresh(name: str) -> str:
    """A table name of its own: a Spark session outlives a scoring (a second one in the same process would find
    the first's table under a fixed name)."""
    return f"{name}_{uuid.uuid4().hex[:12]}"


def _registrable(frame: Any, backend: str) -> Any:
    """DuckDB reads an Arrow table in place; Spark is given pandas."""
    return frame.to_pandas() if backend == "spark" and hasattr(frame, "to_batches") else frame


def _linker(frame: Any, model: dict[str, Any] | None, backend: str) -> Any:
    from splink import Linker

    api = db_api(backend)
    table = api.register(_registrable(frame, backend), dataset_display_name="records", table_name=_fresh("records"))
    if model is None:
        return Linker(table, settings_dict(_dialect(backend), ESTIMATED_VERSION), log_level=SPLINK_LOG_LEVEL)
    linker = Linker(table, _splink_settings(model, backend), log_level=SPLINK_LOG_LEVEL)
    _register_term_frequencies(linker, model, api)
    return linker


def _dialect(backend: str) -> str:
    return "spark" if backend == "spark" else "duckdb"


def _splink_settings(model: dict[str, Any], backend: str) -> dict[str, Any]:
    return with_parameters(settings_dict(_dialect(backend), structure_of(model)), model)


# Below this share of records carrying it, an identifier's block cannot teach m of the name and date comparisons
# (FEBRL has no NHS number): without any such identifier the fallback block of name + home teaches them instead.
IDENTIFIER_COVERAGE = 0.2
ESTIMATION_KEY = "contactpoint_estimation"  # ours: what was estimated, and from how much
TWINS_KEY = "contactpoint_twins_seen"  # ours: whether the population estimated on holds twins (``matching.twins``)


def twins_seen(model: dict[str, Any]) -> bool:
    """Whether the twin rules hold for a model's population: yes unless its estimate found none (the bundled
    model, and any model estimated before the estimate existed, were estimated on children)."""
    return bool(model.get(TWINS_KEY, True))


def coverage(frame: Any, columns: tuple[str, ...]) -> float:
    """The share of records carrying a value in any of ``columns``."""
    present = [c for c in columns if c in column_names(frame)]
    if not len(frame) or not present:
        return 0.0
    values = [column_of(frame, c) for c in present]
    return sum(1 for row in zip(*values, strict=True) if any(row)) / len(frame)


def training_keys(frame: Any) -> tuple[tuple[str, ...], ...]:
    """EM blocks for ``frame``: forename + date of birth, then each identifier enough records carry (the UPN adds
    nothing after the NHS number), or name + home when none does."""
    carried = tuple(k for k in V2_TRAINING_KEYS[1:] + V4_TRAINING_KEYS if coverage(frame, k) >= IDENTIFIER_COVERAGE)
    return V2_TRAINING_KEYS[:1] + (carried or V2_FALLBACK_TRAINING_KEYS)


def train(frame: pd.DataFrame, *, backend: str = "duckdb", max_pairs: float = 3e5, seed: int = 1) -> dict[str, Any]:
    """Estimate the model (structure v4) from the data itself: the prior from deterministic rules, u by
    random sampling, m by EM on blocks that cannot hold twins; term frequencies, and whether the population
    holds twins (``matching.twins``), from the same records."""
    linker = _linker(frame, None, backend)
    training = linker.training
    training.estimate_probability_two_random_records_match(blocks(V2_DETERMINISTIC_KEYS), recall=0.8)
    prior = linker._settings_obj._probability_two_random_records_match
    # One pass over the sample: Splink's chunked early stopping costs more than it saves at this size.
    training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed, num_chunks=1, min_count_per_level=None)
    keys = list(training_keys(frame))
    # Where an identifier's block stops, the name and date comparisons would keep Splink's defaults (only those
    # blocks teach their m): the next block that can teach them is tried instead.
    stand_ins = [k for k in ((("upn",),) if coverage(frame, ("upn",)) >= IDENTIFIER_COVERAGE else ())
                 + V2_FALLBACK_TRAINING_KEYS if k not in keys]
    from splink.internals.exceptions import EMTrainingException

    failed = []
    for key in keys:  # a stand-in appended below is tried in turn
        # A session takes the comparisons its block fixes out of the linker's own settings and puts them back
        # only when it ends well: one that stops would leave the model without them (seen: EM on the NHS number
        # stopped on a 100k population and the estimated model had no NHS number comparison to score with).
        before = linker._settings_obj.core_model_settings.copy()
        try:
            training.estimate_parameters_using_expectation_maximisation(blocks((key,))[0], fix_u_probabilities=True)
        # Splink refuses an m that underflows (a level with almost no match in it) and an empty block.
        except (ValueError, EMTrainingException) as error:
            log.warning("EM on %s stopped: %s", "+".join(key), error)
            failed.append("+".join(key))
            linker._settings_obj.core_model_settings = before
            if key != keys[0] and stand_ins:
                keys.append(stand_ins.pop(0))
    model: dict[str, Any] = linker.misc.save_model_to_json()
    # The prior is the deterministic rules' estimate: an EM session that stopped part-way may have moved it.
    model["probability_two_random_records_match"] = prior
    model["linker_uid"] = ESTIMATED_VERSION
    # Frequencies of the training population, not of whatever batch is scored: a small batch (one
    # school, one night's delta) would otherwise make its own names look common and its links weak.
    model[TF_KEY] = term_frequencies(frame)
    weigh_as_different(model)
    twins = evidence_of_frame(frame)
    model[TWINS_KEY] = twins.twins_seen
    # A comparison whose columns no record fills has nothing to learn from: said once, not level by level.
    absent = [c["output_column_name"] for c in model["comparisons"]
              if coverage(frame, COMPARED_COLUMNS.get(c["output_column_name"], (c["output_column_name"],))) == 0]
    model[ESTIMATION_KEY] = {"records": len(frame),
                             "identifier_coverage": round(coverage(frame, ("nhs_number", "upn")), 4),
                             "em_blocks": ["+".join(k) for k in keys], "em_blocks_failed": failed,
                             "not_in_the_data": absent,
                             "too_little_evidence": too_little_evidence(model, skip=absent), "twins": twins.report()}
    return with_probability_floor(model, m_floor=M_FLOOR, unseen_u=1 / max_pairs)


def weigh_as_different(model: dict[str, Any]) -> dict[str, Any]:
    """Give the levels of ``WEIGHED_AS_DIFFERENT`` their comparison's last level's m and u."""
    for comparison in model["comparisons"]:
        label = WEIGHED_AS_DIFFERENT.get(comparison["output_column_name"])
        if label is None:
            continue
        *levels, last = comparison["comparison_levels"]
        for level in levels:
            if level.get("label_for_charts") == label:
                level["m_probability"], level["u_probability"] = last.get("m_probability"), last.get("u_probability")
    return model


def too_little_evidence(model: dict[str, Any], skip: list[str] | None = None) -> list[str]:
    """Levels whose m or u the data could not estimate (Splink falls back to a default for them), but those of
    the comparisons ``skip`` names."""
    out = []
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] in (skip or ()):
            continue
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            missing = [k[0] for k in ("m_probability", "u_probability") if level.get(k) is None]
            if missing:
                out.append(f"{comparison['output_column_name']}: {level.get('label_for_charts')} "
                           f"({' and '.join(missing)} not estimated)")
    return out


def describe(model: dict[str, Any]) -> list[str]:
    """What a model holds, a line per comparison: each level's match weight (log2 m/u)."""
    import math

    lines = [f"structure {structure_of(model)}, prior {model['probability_two_random_records_match']:.3g}"]
    for comparison in model["comparisons"]:
        weights = []
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if level.get("is_null_level"):
                continue
            weight = "?" if not m or not u else f"{math.log2(m / u):+.1f}"
            weights.append(f"{level.get('label_for_charts')} {weight}")
        lines.append(f"{comparison['output_column_name']}: " + "; ".join(weights))
    return lines


# An estimated model never lets one field veto a pair: a level no match showed in training keeps this m.
M_FLOOR = 1e-3


def with_probability_floor(model: dict[str, Any], floor: float = 1e-6, m_floor: float | None = None,
                           unseen_u: float | None = None) -> dict[str, Any]:
    """Replace m or u probabilities of 0 (a level never seen in training) with a floor (``m_floor`` for m
    when given); with ``unseen_u``, a u the random sample never met (None) becomes that (one in the sample).

    A zero makes the level's weight -inf: one disagreeing field would veto a pair whatever else agrees.
    """
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if unseen_u is not None and not level.get("is_null_level") and level.get("u_probability") is None:
                level["u_probability"] = unseen_u
            for key in ("m_probability", "u_probability"):
                low = m_floor if key == "m_probability" and m_floor is not None else floor
                if level.get(key) is not None and level[key] < low:
                    level[key] = low
    return model


def save_model(model: dict[str, Any], path: Path) -> None:
    """Write a trained model as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model, indent=2, sort_keys=True))


def load_model(path: Path = BUNDLED_MODEL) -> dict[str, Any]:
    """Read a trained model."""
    model: dict[str, Any] = json.loads(path.read_text())
    return model


def current_model(conn: Connection) -> dict[str, Any]:
    """The promoted model in the store, else the bundled one."""
    return promoted_model(conn) or load_model()


def score_within(frame: Any, model: dict[str, Any], *, threshold: float,
                 backend: str = "duckdb") -> pd.DataFrame:
    """Every blocked pair within ``frame`` scoring at least ``threshold``, with per-comparison weights."""
    if len(frame) < 2:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    linker = _linker(frame, model, backend)
    return _compact_predictions(linker.inference.predict(threshold_match_weight=threshold), backend, model)


def score_between(existing: Any, new: Any, model: dict[str, Any], *, threshold: float,
                  backend: str = "duckdb") -> pd.DataFrame:
    """Blocked pairs of new records with existing ones and among themselves (a nightly delta)."""
    if len(new) == 0:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    from splink import Linker

    api = db_api(backend)
    old_table = api.register(_registrable(existing, backend), dataset_display_name="existing",
                             table_name=_fresh("existing"))
    new_table = api.register(_registrable(new, backend), dataset_display_name="new", table_name=_fresh("new"))
    linker = Linker(old_table, _splink_settings(model, backend), log_level=SPLINK_LOG_LEVEL)
    _register_term_frequencies(linker, model, api)
    between = linker.inference.predict_between(old_table, new_table, threshold_match_weight=threshold,
                                               warning_mode="never")
    within = linker.inference.predict_within(new_table, threshold_match_weight=threshold, warning_mode="never")
    return pd.concat([_compact_predictions(between, backend, model), _compact_predictions(within, backend, model)],
                     ignore_index=True)


def _register_term_frequencies(linker: Any, model: dict[str, Any], api: Any) -> None:
    for column, table in model.get(TF_KEY, {}).items():
        lookup = pd.DataFrame({column: list(table), f"tf_{column}": list(table.values())})
        linker.table_management.register_term_frequency_lookup(api.register(lookup), column)


def kept_columns(columns: list[str]) -> list[str]:
    """The scored pairs' columns the decisions read (DuckDB and Spark keep the same)."""
    return [c for c in columns
            if c in SCORE_COLUMNS or c in KEPT_NAMES or c in KEPT_HOMES or c.startswith(("mw_", "gamma_"))]


# A forename is common, a name in its own right, when at least this share of the population the model learnt from
# gives it, and at least this many of its records: a clerk's slip makes a spelling few records share. 2 in 10,000 is
# 38 records of 190,000 (100,000 children); the count keeps a small population's every spelling from counting.
COMMON_FORENAME_SHARE, COMMON_FORENAME_RECORDS = 2e-4, 5


def common_forename_floor(model: dict[str, Any]) -> float | None:
    """The share of records from which a forename is common by ``model``'s term frequencies (its rarest forename is
    one record's); None when it holds none (Splink would count a scored batch's own names)."""
    table = model.get(TF_KEY, {}).get("forename")
    if not table:
        return None
    return max(COMMON_FORENAME_SHARE, COMMON_FORENAME_RECORDS * min(table.values()))


def forename_commonness(model: dict[str, Any], columns: list[str]) -> list[str]:
    """SQL expressions (DuckDB's and Spark's alike) of whether each record's forename is common: the scored pairs'
    ``forename_common_l`` and ``forename_common_r``, from Splink's term-frequency columns (``matching.decide`` reads
    two common names a letter apart as two names)."""
    floor = common_forename_floor(model)
    expressions = []
    for side in ("l", "r"):
        frequency = f"tf_forename_{side}"
        common = f"coalesce({frequency} >= {floor:.12f}, false)" if floor is not None and frequency in columns \
            else "false"
        expressions.append(f"{common} AS forename_common_{side}")
    return expressions


def scored_columns(model: dict[str, Any], columns: list[str], quote: str) -> list[str]:
    """SQL expressions of what a scored pair keeps: the columns the decisions read (names quoted with ``quote``,
    DuckDB's '"' or Spark's '`') and whether each forename is common."""
    return [*(f"{quote}{c}{quote}" for c in kept_columns(columns)), *forename_commonness(model, columns)]


def _compact_predictions(predictions: Any, backend: str, model: dict[str, Any]) -> pd.DataFrame:
    """Splink's scored pairs as pandas, only the columns the decisions read and whether each forename is common: the
    other columns (every record's matched values, Bayes factors, term frequencies) never leave the database."""
    if backend != "duckdb":
        frame = predictions.as_spark_dataframe()
        return frame.selectExpr(*scored_columns(model, list(frame.columns), "`")).toPandas().reset_index(drop=True)
    relation = predictions.as_duckdbpyrelation()
    return relation.project(", ".join(scored_columns(model, list(relation.columns), '"'))).df().reset_index(drop=True)
