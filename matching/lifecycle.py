"""The linkage model's lifecycle: stewards' decisions as labels, precision and recall per model version,
a comparison before a retrained model is promoted, the promotion itself, and the weight distribution.

Labels are the stewards' decisions that stand (the newest per pair, not undone): must-link says the two
records are one child, cannot-link says they are not. A model version is judged by what it decides
about each labelled pair when it scores the pair now, on its own, with no steward constraint: the
linker would link, send to review, or keep apart. A pair the blocking rules never bring together is
kept apart, as the linker would. Nothing here returns a name: pairs are record ids and weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, RowMapping

from matching.decide import APART, LINK, REVIEW, decide_pairs
from matching.features import features_frame
from matching.link import LinkSummary, relink_all
from matching.model import load_model, score_within
from matching.settings import MODEL_VERSION, THRESHOLDS, Thresholds
from warehouse import audit, steward_actions
from warehouse.console_reads import rows as read_rows
from warehouse.console_reads import value as read_value

MATCH, NON_MATCH = "match", "non_match"
LABEL_OF = {"must_link": MATCH, "cannot_link": NON_MATCH}
DECISIONS = (LINK, REVIEW, APART)
PROMOTIONS_KEY = "contactpoint_promotions"  # ours, in the stored model document; Splink never reads it
Pair = tuple[int, int]


@dataclass(frozen=True)
class ModelVersion:
    """A model the linker can run: the bundled one, or one trained and kept in ``identity.model``."""

    version: str
    trained_at: Any
    promoted_at: Any
    current: bool
    stored: bool
    promotions: tuple[dict[str, Any], ...] = ()  # who promoted it, when, over which version, and why


# Every read below is the database's (``warehouse/sql/functions/13_console_model.sql``): with ``session`` (the
# console) through the steward's session, which the database checks; without it (the hub's own tools, as the
# store's owner) the statement directly.

def model_versions(conn: Connection, *, session: str | None = None) -> list[ModelVersion]:
    """Every version, newest trained first, the bundled model last; exactly one is current."""
    rows = read_rows(conn, session, "model_versions(:session)", "model_version_rows()", {})
    current = current_version(conn, session=session)
    versions = [ModelVersion(r["version"], r["trained_at"], r["promoted_at"], r["version"] == current, True,
                             tuple(r["promotions"] or ())) for r in rows]
    if not any(v.version == MODEL_VERSION for v in versions):
        versions.append(ModelVersion(MODEL_VERSION, None, None, current == MODEL_VERSION, False))
    return versions


def _current(conn: Connection, session: str | None) -> RowMapping | None:
    found = read_rows(conn, session, "current_model(:session)", "current_model_rows()", {})
    return found[0] if found else None


def current_version(conn: Connection, *, session: str | None = None) -> str:
    """The version the linker runs (``matching.link.current_model``): the latest promoted, else the bundled."""
    promoted = _current(conn, session)
    return str(promoted["version"]) if promoted else MODEL_VERSION


def current_model_of(conn: Connection, session: str | None = None) -> dict[str, Any]:
    """The model the linker runs (``matching.link.current_model``), read through ``session`` when given."""
    promoted = _current(conn, session)
    return dict(promoted["model"]) if promoted else load_model()


def model_of(conn: Connection, version: str, *, session: str | None = None) -> dict[str, Any]:
    """A version's trained model; KeyError when there is no such version."""
    stored = read_value(conn, session, "model(:session, :v)", "model_document(:v)", {"v": version})
    if stored is not None:
        return dict(stored)
    if version == MODEL_VERSION:
        return load_model()
    raise KeyError(f"no model version {version!r}")


@dataclass(frozen=True)
class LabelledPair:
    """Two records a steward decided about, and what the decision says they are."""

    record_a: int
    record_b: int
    label: str


def labelled_pairs(conn: Connection, *, session: str | None = None) -> list[LabelledPair]:
    """The decisions that stand as labels: each pair's newest decision that was not undone."""
    rows = read_rows(conn, session, "labels(:session)", "label_rows()", {})
    return [LabelledPair(int(r["record_a"]), int(r["record_b"]), LABEL_OF[r["decision"]]) for r in rows]


@dataclass(frozen=True)
class ScoredPair:
    """What one model decides about one pair: its match weight (None: never compared) and the decision."""

    weight: float | None
    decision: str
    rule: str


NOT_COMPARED = ScoredPair(None, APART, "no blocking key in common")


def canonical_records(conn: Connection, record_ids: list[int] | None, *, session: str | None = None
                      ) -> list[dict[str, Any]]:
    """Records in ``matching.link``'s canonical columns (None: every staged record), as the models score them."""
    return [dict(r) for r in read_rows(conn, session, "canonical_records(:session, :ids)", "canonical_rows(:ids)",
                                       {"ids": record_ids})]


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
    decided = decide_pairs(scored, thresholds)
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
        (int(r["record_a"]), int(r["record_b"])): int(r["pair_id"])
        for r in read_rows(conn, session, "review_pair_index(:session)", "review_pair_keys()", {})}
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


def children_of(conn: Connection, record_ids: Iterable[int], *, session: str | None = None) -> dict[int, str]:
    """The ContactPoint ID each record is linked to now (records not yet linked are left out). Through a
    steward's ``session``, a held or shielded child is left out unless the steward is entitled to it."""
    return {int(r["record_id"]): str(r["cp_id"]) for r in read_rows(
        conn, session, "children_of(:session, :r)", "record_children(:r, true)", {"r": sorted(set(record_ids))})}


@dataclass(frozen=True)
class Promotion:
    """A promotion done: which version replaced which, the re-link that followed, and its audit entry."""

    version: str
    previous: str
    relink: LinkSummary
    audit_entry_id: int


def promote(conn: Connection, version: str, *, reason: str, run_id: str, steward: str | None = None,
            session: str | None = None, backend: str = "duckdb") -> Promotion:
    """Make ``version`` the linker's model, audit it, and re-link every record (IDs carry over).

    The promotion itself is the database's (``identity.steward_promote``: the session's steward, checked
    there, is who promoted it); ``steward`` names one instead for the hub's own tools. One transaction: a
    failed re-link leaves the old model current. The reason is kept with the model (``identity.model``), not
    in the audit entry: it is free text, and the audit holds codes and counts only.
    """
    if not reason or not reason.strip():
        raise ValueError("a promotion needs a reason")
    if version == current_version(conn, session=session):
        raise ValueError(f"{version} is already the current model")
    model = model_of(conn, version, session=session)  # KeyError for an unknown version, before anything is written
    try:
        who = steward_actions.promote_model(conn, version, model, reason=reason, run_id=run_id,
                                            bundled=MODEL_VERSION, session=session, steward=steward)
    except steward_actions.NotEntitled as refused:
        raise PermissionError(f"{refused}: only stewards promote a model") from None
    except steward_actions.StewardshipError as refused:
        raise ValueError(str(refused)) from None
    summary = relink_all(conn, run_id, backend=backend)
    entry = audit.append(conn, username=who["username"], role=who["role"], action="model_promoted", detail={
        "version": version, "previous": who["previous"], "relink_run": run_id, "records": summary.records,
        "records_moved": summary.records_moved, "children_merged": summary.children_merged,
        "new_children": summary.new_children})
    return Promotion(version, who["previous"], summary, entry)


@dataclass(frozen=True)
class ThresholdMove:
    """What moving one threshold by ``delta`` would do to the review queue (pairwise, before clustering)."""

    threshold: str
    delta: float
    moved_to: float
    to_review: int
    from_review: int

    @property
    def net(self) -> int:
        """Change in the number of pairs for review."""
        return self.to_review - self.from_review


@dataclass
class WeightDistribution:
    """Every scored pair's weight and decision under the current thresholds, and the effect of moving them."""

    version: str
    thresholds: Thresholds
    pairs: int
    by_decision: Counter[str]
    bins: list[tuple[float, dict[str, int]]]
    bin_width: float
    moves: list[ThresholdMove]


def distribution(pairs: pd.DataFrame, version: str, *, thresholds: Thresholds = THRESHOLDS,
                 bin_width: float = 1.0, low: float | None = None, high: float | None = None) -> WeightDistribution:
    """Bin scored pairs (``match_weight`` and gamma columns) by weight and decision; try each threshold ±1.

    Weights outside [low, high) are counted in the first or last bin, so the chart stays readable.
    """
    low = thresholds.review - 2 if low is None else low
    high = thresholds.link + 8 if high is None else high
    if pairs.empty:
        return WeightDistribution(version, thresholds, 0, Counter(), [], bin_width, [])
    decided = decide_pairs(pairs, thresholds)
    edges = [low + i * bin_width for i in range(int((high - low) / bin_width))]
    counts: list[Counter[str]] = [Counter() for _ in edges]
    for weight, decision in zip(decided["match_weight"].tolist(), decided["decision"].tolist(), strict=True):
        index = min(len(edges) - 1, max(0, int((float(weight) - low) // bin_width)))
        counts[index][str(decision)] += 1
    in_review = decided["decision"] == REVIEW
    moves = []
    for name in ("link", "review"):
        for delta in (1.0, -1.0):
            moved = Thresholds(**{**vars(thresholds), name: getattr(thresholds, name) + delta})
            now_review = decide_pairs(pairs, moved)["decision"] == REVIEW
            moves.append(ThresholdMove(name, delta, getattr(moved, name), int((now_review & ~in_review).sum()),
                                       int((in_review & ~now_review).sum())))
    return WeightDistribution(version, thresholds, len(decided), Counter(decided["decision"].tolist()),
                              [(edge, dict(c)) for edge, c in zip(edges, counts, strict=True)], bin_width, moves)


def store_fingerprint(conn: Connection, thresholds: Thresholds = THRESHOLDS, *,
                      session: str | None = None) -> tuple[Any, ...]:
    """What the store's weight distribution depends on: the current model, the thresholds, and the staged
    records (how many, the newest change). Equal fingerprints give equal distributions."""
    found = read_rows(conn, session, "store_fingerprint(:session)", "record_fingerprint()", {})[0]
    return current_version(conn, session=session), thresholds, int(found["records"]), found["changed"]


def store_distribution(conn: Connection, *, thresholds: Thresholds = THRESHOLDS,
                       backend: str = "duckdb", session: str | None = None) -> WeightDistribution:
    """The current model's weights over every blocked pair of staged records, down to one below the review
    threshold (so a lower review threshold can be judged too)."""
    version = current_version(conn, session=session)
    rows = canonical_records(conn, None, session=session)
    floor = min(thresholds.review, thresholds.link) - 1
    frame = features_frame(rows)
    pairs = score_within(frame, model_of(conn, version, session=session), threshold=floor, backend=backend) \
        if len(rows) > 1 else pd.DataFrame()
    return distribution(pairs, version, thresholds=thresholds)
