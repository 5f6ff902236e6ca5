"""Train, save, load and run the probabilistic model with Splink (DuckDB by default, Spark by config).

The trained model is a JSON document (Splink's settings with m and u), versioned by name; scoring
loads it, so every later run compares with the same weights until a steward lead promotes a new one.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from matching.settings import (
    DETERMINISTIC_KEYS,
    MODEL_VERSION,
    TRAINING_KEYS,
    blocks,
    settings_dict,
    with_parameters,
)

log = logging.getLogger(__name__)
# Splink warns at every predict() that some m values of a delta are the model's defaults ("m values not fully
# trained"): expected with a promoted model, and noise on a data team's screen. Its errors still show.
SPLINK_LOG_LEVEL = logging.ERROR
BUNDLED_MODEL = Path(__file__).resolve().parent / "models" / f"{MODEL_VERSION}.json"
SCORE_COLUMNS = ("unique_id_l", "unique_id_r", "match_weight", "match_probability")


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


def _registrable(frame: Any, backend: str) -> Any:
    """DuckDB reads an Arrow table in place; Spark is given pandas."""
    return frame.to_pandas() if backend == "spark" and hasattr(frame, "to_batches") else frame


def _linker(frame: Any, model: dict[str, Any] | None, backend: str) -> Any:
    from splink import Linker

    api = db_api(backend)
    table = api.register(_registrable(frame, backend), dataset_display_name="records")
    if model is None:
        return Linker(table, settings_dict(_dialect(backend)), log_level=SPLINK_LOG_LEVEL)
    linker = Linker(table, _splink_settings(model, backend), log_level=SPLINK_LOG_LEVEL)
    _register_term_frequencies(linker, model, api)
    return linker


def _dialect(backend: str) -> str:
    return "spark" if backend == "spark" else "duckdb"


def _splink_settings(model: dict[str, Any], backend: str) -> dict[str, Any]:
    return with_parameters(settings_dict(_dialect(backend)), model)


def train(frame: pd.DataFrame, *, backend: str = "duckdb", max_pairs: float = 2e6, seed: int = 1) -> dict[str, Any]:
    """Estimate the model from the data itself: prior from identifier matches, u by sampling, m by EM."""
    linker = _linker(frame, None, backend)
    training = linker.training
    training.estimate_probability_two_random_records_match(blocks(DETERMINISTIC_KEYS), recall=0.8)
    training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for block in blocks(TRAINING_KEYS):
        training.estimate_parameters_using_expectation_maximisation(block, fix_u_probabilities=True)
    model: dict[str, Any] = linker.misc.save_model_to_json()
    model["linker_uid"] = MODEL_VERSION
    # Frequencies of the training population, not of whatever batch is scored: a small batch (one
    # school, one night's delta) would otherwise make its own names look common and its links weak.
    model[TF_KEY] = term_frequencies(frame)
    return with_probability_floor(model)


def with_probability_floor(model: dict[str, Any], floor: float = 1e-6) -> dict[str, Any]:
    """Replace m or u probabilities of 0 (a level never seen in training) with a tiny floor.

    A zero makes the level's weight -inf: one disagreeing field would veto a pair whatever else agrees.
    """
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability"):
                if level.get(key) is not None and level[key] < floor:
                    level[key] = floor
    return model


def save_model(model: dict[str, Any], path: Path) -> None:
    """Write a trained model as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model, indent=2, sort_keys=True))


def load_model(path: Path = BUNDLED_MODEL) -> dict[str, Any]:
    """Read a trained model."""
    model: dict[str, Any] = json.loads(path.read_text())
    return model


def score_within(frame: Any, model: dict[str, Any], *, threshold: float,
                 backend: str = "duckdb") -> pd.DataFrame:
    """Every blocked pair within ``frame`` scoring at least ``threshold``, with per-comparison weights."""
    if len(frame) < 2:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    linker = _linker(frame, model, backend)
    predictions = linker.inference.predict(threshold_match_weight=threshold)
    return _compact(predictions.as_pandas_dataframe())


def score_between(existing: Any, new: Any, model: dict[str, Any], *, threshold: float,
                  backend: str = "duckdb") -> pd.DataFrame:
    """Blocked pairs of new records with existing ones and among themselves (a nightly delta)."""
    if len(new) == 0:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    from splink import Linker

    api = db_api(backend)
    old_table = api.register(_registrable(existing, backend), dataset_display_name="existing")
    new_table = api.register(_registrable(new, backend), dataset_display_name="new")
    linker = Linker(old_table, _splink_settings(model, backend), log_level=SPLINK_LOG_LEVEL)
    _register_term_frequencies(linker, model, api)
    between = linker.inference.predict_between(old_table, new_table, threshold_match_weight=threshold,
                                               warning_mode="never")
    within = linker.inference.predict_within(new_table, threshold_match_weight=threshold, warning_mode="never")
    return pd.concat([_compact(between.as_pandas_dataframe()), _compact(within.as_pandas_dataframe())],
                     ignore_index=True)


def _register_term_frequencies(linker: Any, model: dict[str, Any], api: Any) -> None:
    for column, table in model.get(TF_KEY, {}).items():
        lookup = pd.DataFrame({column: list(table), f"tf_{column}": list(table.values())})
        linker.table_management.register_term_frequency_lookup(api.register(lookup), column)


def _compact(predictions: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in predictions.columns if c in SCORE_COLUMNS or c.startswith(("mw_", "gamma_"))]
    return predictions[keep].reset_index(drop=True)
