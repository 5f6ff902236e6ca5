"""Judging a model version: what it decides about each labelled or reviewed pair when it scores the pair now,
on its own, with no steward constraint (link, review, or keep apart), its confusion matrix against the
stewards' labels, and a comparison of two versions before one is promoted.

A pair the blocking rules never bring together is kept apart, as the linker would. Nothing here returns a
name: pairs are record ids and weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from matching.decide import APART, LINK, REVIEW, decide_pairs
from matching.features import features_frame
from matching.lifecycle.versions import (
    DECISIONS,
    MATCH,
    NON_MATCH,
    LabelledPair,
    Pair,
    canonical_records,
    current_version,
    labelled_pairs,
    model_of,
    model_versions,
)
from matching.model import score_within, twins_seen
from matching.settings import THRESHOLDS, Thresholds
from warehouse.model_versions import review_pair_keys


@dataclass(frozen=True)
class ScoredPair:
    """What one model decides about one pair: its match weight (None: never compared) and the decision."""

    weight: float | None
    decision: str
    rule: str


NOT_COMPARED = ScoredPair(None, APART, "no blocking key in common")


def score_pairs(conn: Connection, model: dict[str, Any], pairs: Iterable[Pair], *,
                thresholds: Thresholds = THRESHOLDS, backend: str = "duckdb",
                session: str | None = None) -> dict[Pair, ScoredPair]:
    """Each pair (record ids, smaller first) as ``model`` alone would decide it today."""
    wanted = {(min(a, b), max(a, b)) for a, b in pairs}
    records = sorted({r for pair in wanted for r in pair})
    if not records:
        return {}
    rows = canonical_records(conn, records, session=session)
    scored = score_within(features_frame(rows), model, threshold=-1e9, backend=backend)
    out = dict.fromkeys(wanted, NOT_COMPARED)
    if scored.empty:
        return out
    decided = decide_pairs(scored, thresholds, twins_seen=twins_seen(model))
    for a, b, weight, decision, rule in zip(decided["unique_id_l"].tolist(), decided["unique_id_r"].tolist(),
                                            decided["match_weight"].tolist(), decided["decision"].tolist(),
                                            decided["rule"].tolist(), strict=True):
        key = (min(int(a), int(b)), max(int(a), int(b)))
        if key in out:
            out[key] = ScoredPair(round(float(weight), 3), str(decision), str(rule))
    return out


@dataclass
class Confusion:
    """A model's decisions (link, review, apart) against the stewards' labels (match, non-match)."""

    version: str
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def count(self, decision: str, label: str) -> int:
        """Labelled pairs the model decides ``decision`` that stewards labelled ``label``."""
        return self.counts[(decision, label)]

    @property
    def labelled(self) -> int:
        """How many labelled pairs the matrix counts."""
        return sum(self.counts.values())

    @property
    def precision(self) -> float | None:
        """Of the pairs the model links on its own, the share stewards say are one child (None: it links none)."""
        linked = self.count(LINK, MATCH) + self.count(LINK, NON_MATCH)
        return self.count(LINK, MATCH) / linked if linked else None

    @property
    def recall(self) -> float | None:
        """Of the pairs stewards say are one child, the share the model links on its own (None: no such label)."""
        matches = sum(self.count(d, MATCH) for d in DECISIONS)
        return self.count(LINK, MATCH) / matches if matches else None

    @property
    def review_share(self) -> float | None:
        """Share of labelled pairs the model would still send to a steward."""
        return sum(self.count(REVIEW, label) for label in (MATCH, NON_MATCH)) / self.labelled if self.labelled else None


def confusion(version: str, labels: Sequence[LabelledPair], decisions: dict[Pair, ScoredPair]) -> Confusion:
    """The confusion matrix of one version's decisions against the labels."""
    matrix = Confusion(version)
    for pair in labels:
        matrix.counts[(decisions.get((pair.record_a, pair.record_b), NOT_COMPARED).decision, pair.label)] += 1
    return matrix


def confusion_by_version(conn: Connection, *, backend: str = "duckdb", session: str | None = None) -> list[Confusion]:
    """The live confusion matrix of every model version, in :func:`model_versions` order."""
    labels = labelled_pairs(conn, session=session)
    pairs = [(p.record_a, p.record_b) for p in labels]
    return [confusion(v.version, labels, score_pairs(conn, model_of(conn, v.version, session=session), pairs,
                                                     backend=backend, session=session))
            for v in model_versions(conn, session=session)]


@dataclass(frozen=True)
class PairChange:
    """One pair the candidate decides differently from the current model (record ids and weights only)."""

    record_a: int
    record_b: int
    label: str | None
    current: ScoredPair
    candidate: ScoredPair
    pair_id: int | None = None  # the review pair, when the linker ever asked a steward about these records


@dataclass
class Comparison:
    """What promoting ``candidate`` over ``current`` would change, on labelled and reviewed pairs."""

    current: str
    candidate: str
    pairs: int
    transitions: Counter[tuple[str, str]]
    examples: list[PairChange]
    current_confusion: Confusion
    candidate_confusion: Confusion

    @property
    def changed(self) -> int:
        """Pairs whose decision differs between the two models."""
        return sum(n for (before, after), n in self.transitions.items() if before != after)


def compare_models(conn: Connection, candidate: str, *, current: str | None = None, examples_per_change: int = 5,
                   backend: str = "duckdb", session: str | None = None) -> Comparison:
    """Score every labelled pair and every pair ever sent to review with both models and count the changes.

    Examples are listed per kind of change (e.g. review → link), labelled pairs first, then the pairs
    nearest a threshold, so a steward lead inspects the changes that matter most.
    """
    current = current or current_version(conn, session=session)
    labels = labelled_pairs(conn, session=session)
    label_of: dict[Pair, str] = {(p.record_a, p.record_b): p.label for p in labels}
    review_pair_of: dict[Pair, int] = {
        (int(r["record_a"]), int(r["record_b"])): int(r["pair_id"]) for r in review_pair_keys(conn, session)}
    pairs = sorted(set(label_of) | set(review_pair_of))
    before = score_pairs(conn, model_of(conn, current, session=session), pairs, backend=backend, session=session)
    after = score_pairs(conn, model_of(conn, candidate, session=session), pairs, backend=backend, session=session)
    transitions: Counter[tuple[str, str]] = Counter((before[p].decision, after[p].decision) for p in pairs)
    changes: dict[tuple[str, str], list[PairChange]] = {}
    for p in pairs:
        if before[p].decision != after[p].decision:
            changes.setdefault((before[p].decision, after[p].decision), []).append(
                PairChange(p[0], p[1], label_of.get(p), before[p], after[p], review_pair_of.get(p)))

    def importance(change: PairChange) -> tuple[int, float, int, int]:
        nearest = min(abs((change.candidate.weight or 0.0) - t) for t in (THRESHOLDS.link, THRESHOLDS.review))
        return (change.label is None, nearest, change.record_a, change.record_b)

    examples = [c for key in sorted(changes) for c in sorted(changes[key], key=importance)[:examples_per_change]]
    return Comparison(current, candidate, len(pairs), transitions, examples,
                      confusion(current, labels, before), confusion(candidate, labels, after))
