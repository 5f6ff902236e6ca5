"""The weight distribution: every scored pair's weight and decision under the current thresholds, and what
moving a threshold would do to the review queue."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from matching.decide import REVIEW, decide_pairs
from matching.features import features_frame
from matching.lifecycle.versions import canonical_records, current_version, model_of
from matching.model import score_within, twins_seen
from matching.settings import THRESHOLDS, Thresholds
from warehouse.model_versions import record_fingerprint


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
                 bin_width: float = 1.0, low: float | None = None, high: float | None = None,
                 twins: bool = True) -> WeightDistribution:
    """Bin scored pairs (``match_weight`` and gamma columns) by weight and decision; try each threshold ±1.

    Weights outside [low, high) are counted in the first or last bin, so the chart stays readable.
    """
    low = thresholds.review - 2 if low is None else low
    high = thresholds.link + 8 if high is None else high
    if pairs.empty:
        return WeightDistribution(version, thresholds, 0, Counter(), [], bin_width, [])
    decided = decide_pairs(pairs, thresholds, twins_seen=twins)
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
            now_review = decide_pairs(pairs, moved, twins_seen=twins)["decision"] == REVIEW
            moves.append(ThresholdMove(name, delta, getattr(moved, name), int((now_review & ~in_review).sum()),
                                       int((in_review & ~now_review).sum())))
    return WeightDistribution(version, thresholds, len(decided), Counter(decided["decision"].tolist()),
                              [(edge, dict(c)) for edge, c in zip(edges, counts, strict=True)], bin_width, moves)


def store_fingerprint(conn: Connection, thresholds: Thresholds = THRESHOLDS, *,
                      session: str | None = None) -> tuple[Any, ...]:
    """What the store's weight distribution depends on: the current model, the thresholds, and the staged
    records (how many, the newest change). Equal fingerprints give equal distributions."""
    found = record_fingerprint(conn, session)
    return current_version(conn, session=session), thresholds, int(found["records"]), found["changed"]


def store_distribution(conn: Connection, *, thresholds: Thresholds = THRESHOLDS,
                       backend: str = "duckdb", session: str | None = None) -> WeightDistribution:
    """The current model's weights over every blocked pair of staged records, down to one below the review
    threshold (so a lower review threshold can be judged too)."""
    version = current_version(conn, session=session)
    rows = canonical_records(conn, None, session=session)
    floor = min(thresholds.review, thresholds.link) - 1
    frame = features_frame(rows)
    model = model_of(conn, version, session=session)
    pairs = score_within(frame, model, threshold=floor, backend=backend) if len(rows) > 1 else pd.DataFrame()
    return distribution(pairs, version, thresholds=thresholds, twins=twins_seen(model))
