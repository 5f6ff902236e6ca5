"""Why true pairs were missed and false pairs made: every pair of interest scored and decided again."""

from __future__ import annotations

import copy
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from random import Random
from typing import Any

from benchmarks.linkage_measure import Truth

TOP = 15


# --- Diagnosis -------------------------------------------------------------------------------------

_EQUALITY = re.compile(r'l\."(\w+)"\s*=\s*r\."\1"')


def blocking_columns(rules: Sequence[str]) -> list[list[str]]:
    """The columns each blocking rule equates (every production rule is such a conjunction)."""
    out = []
    for rule in rules:
        columns = _EQUALITY.findall(rule)
        rest = re.sub(r"[()\s]|AND", "", _EQUALITY.sub("", rule))
        if not columns or rest:
            raise ValueError(f"blocking rule not understood by the benchmark: {rule}")
        out.append(columns)
    return out


def production_settings(model: dict[str, Any]) -> dict[str, Any]:
    """The Splink settings the linker scores with: ``matching.model._splink_settings`` where it exists
    (structure from ``matching.settings``, parameters from the model), else the model itself."""
    import matching.model

    build = getattr(matching.model, "_splink_settings", None)
    if build is None:
        return {k: v for k, v in model.items() if k != getattr(matching.model, "TF_KEY", "")}
    try:
        settings: dict[str, Any] = build(model, "duckdb")
    except TypeError:  # an older signature: (model)
        settings = build(model)
    return settings


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Comparison → gamma value → level label (Splink numbers non-null levels from the bottom, null is -1)."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        names = {len(levels) - 1 - i: str(lv["label_for_charts"]) for i, lv in enumerate(levels)}
        names[-1] = "null"
        labels[comparison["output_column_name"]] = names
    return labels


def untrained_levels(model: dict[str, Any]) -> list[str]:
    """Levels whose m or u probability the model leaves unset (Splink then falls back to a default)."""
    out = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            for key in ("m_probability", "u_probability"):
                if level.get(key) is None:
                    out.append(f"{comparison['output_column_name']} / {level['label_for_charts']}: {key} unset")
    return out


def score_pairs_of_interest(frame: Any, model: dict[str, Any]) -> Any:
    """Every pair of records with the same true child or the same ContactPoint child, scored by the model.

    Same settings and term-frequency lookups as the linker's own scoring (``matching.model``); only the
    blocking differs: ``true_child`` and ``cp_id`` columns instead of the production rules, and no threshold.
    """
    from splink import Linker

    import matching.model

    settings = copy.deepcopy(production_settings(model))
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": 'l."true_child" = r."true_child"', "sql_dialect": "duckdb"},
        {"blocking_rule": 'l."cp_id" = r."cp_id"', "sql_dialect": "duckdb"},
    ]
    api = matching.model.db_api("duckdb")
    linker = Linker(api.register(frame, dataset_display_name="diagnosis"), settings, log_level=logging.ERROR)
    register = getattr(matching.model, "_register_term_frequencies", None)
    if register is not None and getattr(matching.model, "TF_KEY", None) in model:
        register(linker, model, api)
    return linker.inference.predict().as_pandas_dataframe()


def _pair_kind(a: str, b: str) -> str:
    return "+".join(sorted((a or "clean", b or "clean")))


def diagnose(records: list[dict[str, Any]], truth: dict[str, Truth], cp_of: dict[str, str],
             household: dict[str, str], twin_of: dict[str, str], model: dict[str, Any],
             review: set[tuple[str, str]]) -> dict[str, Any]:
    """Why true pairs were missed and false pairs made: fault kinds, the linker's reason, the comparisons."""
    import pandas as pd

    from matching.decide import LINK, REVIEW, decide_pairs
    from matching.features import features_frame

    frame = features_frame(records)
    frame["true_child"] = [truth[u].child_id for u in frame["unique_id"]]
    frame["cp_id"] = [cp_of.get(u) for u in frame["unique_id"]]
    scored = score_pairs_of_interest(frame, model)
    decided = decide_pairs(scored).reset_index(drop=True)
    left: list[str] = decided["unique_id_l"].astype(str).tolist()
    right: list[str] = decided["unique_id_r"].astype(str).tolist()
    labels = level_labels(production_settings(model))
    comparisons = [c for c in labels if f"gamma_{c}" in decided.columns]
    gammas: dict[str, list[int]] = {c: [int(g) for g in decided[f"gamma_{c}"].tolist()] for c in comparisons}
    decision: list[str] = decided["decision"].astype(str).tolist()
    rule: list[str] = decided["rule"].astype(str).tolist()
    weight: list[float] = [float(w) for w in decided["match_weight"].tolist()]
    indexed = frame.set_index("unique_id")
    blocked = pd.Series(False, index=decided.index)
    rules = [r["blocking_rule"] if isinstance(r, dict) else str(r)
             for r in production_settings(model)["blocking_rules_to_generate_predictions"]]
    for columns in blocking_columns(rules):
        agree = pd.Series(True, index=decided.index)
        for column in columns:
            lv = decided["unique_id_l"].astype(str).map(indexed[column])
            rv = decided["unique_id_r"].astype(str).map(indexed[column])
            agree &= lv.notna() & rv.notna() & (lv.astype(str) == rv.astype(str))
        blocked |= agree
    is_blocked: list[bool] = [bool(b) for b in blocked.tolist()]
    pairs = range(len(decided))
    same_child = [truth[left[i]].child_id == truth[right[i]].child_id for i in pairs]
    same_cp = [left[i] in cp_of and cp_of.get(left[i]) == cp_of.get(right[i]) for i in pairs]

    def outcome(i: int) -> str:
        if not is_blocked[i]:
            return "never blocked (no candidate pair)"
        if decision[i] == LINK:
            return "decided link, refused or overruled by the clustering"
        if decision[i] == REVIEW:
            queued = (left[i], right[i]) in review or (right[i], left[i]) in review
            return f"review: {rule[i]}" + ("" if queued else " (not queued)")
        if rule[i] == "match weight":
            return "apart: weight below review threshold"
        return f"apart: {rule[i]}"

    def disagreement(i: int) -> str:
        parts = [f"{c}={labels[c][gammas[c][i]]}" for c in comparisons if gammas[c][i] not in (-1, max(labels[c]))]
        return "; ".join(parts) or "(all agree or null)"

    def kinds(i: int) -> str:
        return _pair_kind(truth[left[i]].fault, truth[right[i]].fault)

    missed = [i for i in pairs if same_child[i] and not same_cp[i]]
    false = [i for i in pairs if same_cp[i] and not same_child[i]]
    per_comparison: dict[str, Counter[str]] = {c: Counter() for c in comparisons}
    for i in missed:
        for c in comparisons:
            per_comparison[c][labels[c][gammas[c][i]]] += 1
    faults_missed = Counter(kinds(i) for i in missed)
    faults_all = Counter(kinds(i) for i in pairs if same_child[i])
    outcomes = Counter(outcome(i) for i in missed)
    cross = Counter(f"{kinds(i)} | {outcome(i)}" for i in missed)
    signatures = Counter(disagreement(i) for i in missed)
    missed_weights = sorted(weight[i] for i in missed)

    def relation(i: int) -> str:
        a, b = truth[left[i]].child_id, truth[right[i]].child_id
        if twin_of.get(a) == b:
            return "twins"
        if household.get(a) == household.get(b):
            return "same household (siblings)"
        return "unrelated"

    example_columns = ["forename", "surname", "dob", "postcode", "house_number", "gender", "nhs_number", "upn"]

    def example(i: int) -> dict[str, Any]:
        a, b = left[i], right[i]
        return {"records": [a, b], "faults": [truth[a].fault or "clean", truth[b].fault or "clean"],
                "match_weight": round(weight[i], 2), "outcome": outcome(i), "disagree": disagreement(i),
                "left": {c: _plain(indexed.at[a, c]) for c in example_columns},
                "right": {c: _plain(indexed.at[b, c]) for c in example_columns}}

    rng = Random(0)
    return {
        "pairs_scored_for_diagnosis": len(decided),
        "true_pairs_seen": sum(same_child),
        "missed_pairs": len(missed),
        "missed_by_fault_kinds": dict(faults_missed.most_common()),
        "true_pairs_by_fault_kinds": dict(faults_all.most_common()),
        "missed_share_by_fault_kinds": {k: round(faults_missed[k] / n, 4) for k, n in faults_all.most_common()
                                        if faults_missed[k]},
        "missed_by_outcome": dict(outcomes.most_common()),
        "missed_by_fault_and_outcome": dict(cross.most_common(TOP * 2)),
        "missed_by_disagreeing_comparisons": dict(signatures.most_common(TOP * 2)),
        "missed_levels_per_comparison": {c: dict(v.most_common()) for c, v in per_comparison.items()},
        "missed_weight_quantiles": ({str(q): round(missed_weights[int(q * (len(missed_weights) - 1))], 2)
                                     for q in (0.1, 0.5, 0.9)} if missed_weights else {}),
        "missed_examples": [example(i) for i in rng.sample(missed, min(8, len(missed)))],
        "false_pairs": len(false),
        "false_by_relation": dict(Counter(relation(i) for i in false).most_common()),
        "false_by_fault_kinds": dict(Counter(kinds(i) for i in false).most_common()),
        "false_by_direct_decision": dict(Counter(f"{decision[i]} ({rule[i]})" for i in false).most_common()),
        "false_examples": [example(i) for i in rng.sample(false, min(8, len(false)))],
    }


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return str(value)
