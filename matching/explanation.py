"""Why the model scored a pair as it did: the prior and each comparison's match weight, as a waterfall."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

PROBABILITY_FLOOR = 1e-6
"""As ``matching.model.with_probability_floor``: an m or u of 0 would make a weight infinite."""


def _log2_ratio(m: float | None, u: float | None) -> float:
    return math.log2(max(m or 0.0, PROBABILITY_FLOOR) / max(u or 0.0, PROBABILITY_FLOOR))


LevelWeights = dict[str, dict[int, tuple[float, str]]]


def _json_weights(model: dict[str, Any]) -> tuple[float, LevelWeights]:
    """Prior and per-level weights from the model's own m and u (gamma counts down from the first
    non-null level); a level the model never trained gets the probability floor."""
    lam = float(model.get("probability_two_random_records_match") or 0.5)
    weights: LevelWeights = {}
    for comparison in model.get("comparisons", []):
        levels = [level for level in comparison.get("comparison_levels", []) if not level.get("is_null_level")]
        weights[comparison["output_column_name"]] = {
            len(levels) - 1 - i: (_log2_ratio(level.get("m_probability"), level.get("u_probability")),
                                  str(level.get("label_for_charts", "")))
            for i, level in enumerate(levels)}
    return math.log2(lam / (1 - lam)), weights


@lru_cache(maxsize=4)
def _splink_weights(model_json: str) -> tuple[float, LevelWeights]:
    """Prior and per-level weights exactly as Splink scores with this model, defaults for untrained
    levels included (they differ from the floor ``_json_weights`` assumes). Built once per model: a
    Linker costs most of a second. Reads Splink's settings object, which is not public API."""
    from matching.features import as_frame, record_features
    from matching.model import _linker

    sample = as_frame([record_features({"record_id": 0, "given_name": "A", "family_name": "B",
                                        "date_of_birth": "2015-01-01", "gender": "F"})])
    settings = _linker(sample, json.loads(model_json), "duckdb")._settings_obj
    lam = float(settings._probability_two_random_records_match)
    weights: LevelWeights = {
        comparison.output_column_name: {
            int(level.comparison_vector_value): (float(level._log2_bayes_factor), str(level.label_for_charts))
            for level in comparison.comparison_levels if not level.is_null_level}
        for comparison in settings.comparisons}
    return math.log2(lam / (1 - lam)), weights


def model_weights(model: dict[str, Any]) -> tuple[float, LevelWeights]:
    """The prior and, per comparison, each agreement level's match weight and label."""
    try:
        return _splink_weights(json.dumps(model, sort_keys=True))
    except Exception:  # Splink internals moved: the model's own m and u still explain the pair
        return _json_weights(model)


def comparison_weights(explanation: dict[str, Any], model: dict[str, Any]) -> tuple[float, list[dict[str, Any]]]:
    """The prior and each comparison's match weight and level label for a pair's explanation.

    The explanation's own weights (Splink's ``mw_`` columns at scoring time, term frequencies included)
    are used when it has any. Pairs stored before the linker kept them (every weight 0) are explained
    from the model at each comparison's agreement level (gamma; -1 is null: no evidence); term-frequency
    adjustments are then not recomputed: ``waterfall`` shows what the stored total leaves over as its own bar.
    """
    prior, levels = model_weights(model)
    stored_any = any(float(v.get("weight") or 0.0) != 0.0 for v in explanation.values() if isinstance(v, dict))
    steps = []
    for name, by_gamma in levels.items():
        evidence = explanation.get(name)
        if not isinstance(evidence, dict):
            continue
        gamma = int(evidence.get("gamma", -1))
        weight, label = by_gamma.get(gamma, (0.0, f"{name} is missing"))
        if stored_any and evidence.get("weight") is not None:
            weight = float(evidence["weight"])
        steps.append({"name": name, "gamma": gamma, "weight": weight, "label": label})
    return prior, steps


def waterfall(explanation: dict[str, Any], model: dict[str, Any], total: float) -> list[dict[str, Any]]:
    """Bars of a match-weight waterfall (as Splink draws one): the prior, then each comparison's weight,
    each bar starting where the previous ended, then whatever the stored ``total`` adds beyond them
    (term-frequency adjustments, or a model changed since scoring), and the total itself."""
    prior, steps = comparison_weights(explanation, model)
    bars = [{"name": "prior", "weight": prior, "start": 0.0, "end": prior, "gamma": None,
             "label": "two records picked at random"}]
    running = prior
    for step in steps:
        bars.append({**step, "start": running, "end": running + step["weight"]})
        running += step["weight"]
    rest = total - running
    if abs(rest) >= 0.005:
        bars.append({"name": "adjustments", "weight": rest, "start": running, "end": total, "gamma": None,
                     "label": "term frequencies, and what the model above does not explain"})
    bars.append({"name": "total", "weight": total, "start": 0.0, "end": total, "gamma": None, "label": ""})
    return bars
