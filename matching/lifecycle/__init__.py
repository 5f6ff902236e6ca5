"""The linkage model's lifecycle: stewards' decisions as labels, precision and recall per model version,
a comparison before a retrained model is promoted, the promotion itself, and the weight distribution.

Labels are the stewards' decisions that stand (the newest per pair, not undone): must-link says the two
records are one child, cannot-link says they are not. A model version is judged by what it decides
about each labelled pair when it scores the pair now, on its own, with no steward constraint: the
linker would link, send to review, or keep apart. A pair the blocking rules never bring together is
kept apart, as the linker would. Nothing here returns a name: pairs are record ids and weights.

``versions`` (the versions and labels the store keeps), ``compare`` (scoring, confusion, comparison),
``promote`` (the audited promotion and its re-link), ``distribution`` (weights and thresholds).
"""

from matching.lifecycle.compare import (
    NOT_COMPARED,
    Comparison,
    Confusion,
    PairChange,
    ScoredPair,
    compare_models,
    confusion,
    confusion_by_version,
    score_pairs,
)
from matching.lifecycle.distribution import (
    ThresholdMove,
    WeightDistribution,
    distribution,
    store_distribution,
    store_fingerprint,
)
from matching.lifecycle.promote import Promotion, promote
from matching.lifecycle.versions import (
    DECISIONS,
    LABEL_OF,
    MATCH,
    NON_MATCH,
    PROMOTIONS_KEY,
    LabelledPair,
    ModelVersion,
    Pair,
    canonical_records,
    children_of,
    current_model_of,
    current_version,
    labelled_pairs,
    model_of,
    model_versions,
)

__all__ = ["DECISIONS", "LABEL_OF", "MATCH", "NON_MATCH", "NOT_COMPARED", "PROMOTIONS_KEY", "Comparison", "Confusion",
           "LabelledPair", "ModelVersion", "Pair", "PairChange", "Promotion", "ScoredPair", "ThresholdMove",
           "WeightDistribution", "canonical_records", "children_of", "compare_models", "confusion",
           "confusion_by_version", "current_model_of", "current_version", "distribution", "labelled_pairs",
           "model_of", "model_versions", "promote", "score_pairs", "store_distribution", "store_fingerprint"]
