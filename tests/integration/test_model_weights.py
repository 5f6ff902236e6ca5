"""The model's match weights: the distribution counts what each threshold move would send to review, the
store's distribution marks both thresholds and moves only one way, and the chart draws one bar per decision
and band.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from directory_api.console import ops_charts
from directory_api.console.ops_charts import WeightBin, weight_histogram
from matching.decide import APART, LINK, REVIEW
from matching.lifecycle import distribution, store_distribution
from tests.integration.model_lifecycle import load_population
from warehouse.db import transaction


@pytest.mark.unit
def test_the_weight_distribution_counts_what_each_threshold_move_would_send_to_review() -> None:
    # No rule applies (every comparison null): the weight alone decides.
    weights = [1.5, 2.5, 4.5, 5.5, 9.0]
    pairs = pd.DataFrame({"match_weight": weights, **{f"gamma_{c}": [-1] * 5 for c in
                                                        ("forename", "surname", "dob", "household", "nhs_number",
                                                         "upn")}})
    shown = distribution(pairs, "v", bin_width=1.0, low=0.0, high=12.0)

    assert shown.by_decision == {APART: 1, REVIEW: 2, LINK: 2}
    assert {low: counts for low, counts in shown.bins if counts} == {
        1.0: {APART: 1}, 2.0: {REVIEW: 1}, 4.0: {REVIEW: 1}, 5.0: {LINK: 1}, 9.0: {LINK: 1}}
    moves = {(m.threshold, m.delta): (m.to_review, m.from_review) for m in shown.moves}
    assert moves == {("link", 1.0): (1, 0), ("link", -1.0): (0, 1), ("review", 1.0): (0, 1), ("review", -1.0): (1, 0)}


@pytest.mark.postgres
def test_the_store_weight_distribution_marks_both_thresholds_and_moves_only_one_way(store: Path) -> None:
    load_population(store)
    with transaction() as conn:
        shown = store_distribution(conn)
        open_reviews = conn.execute(text("SELECT count(*) FROM identity.review_pair")).scalar_one()
    assert shown.pairs == sum(sum(c.values()) for _, c in shown.bins) > 0
    assert shown.by_decision[LINK] > 0
    # Pairwise, before clustering and stewards: every pair in the queue is among them (a review, or a link
    # the clustering refused).
    assert shown.by_decision[REVIEW] + shown.by_decision[LINK] >= open_reviews
    moves = {(m.threshold, m.delta): m for m in shown.moves}
    assert moves[("link", 1.0)].from_review == moves[("link", -1.0)].to_review == 0
    assert moves[("review", -1.0)].from_review == moves[("review", 1.0)].to_review == 0
    assert moves[("link", 1.0)].to_review > 0


@pytest.mark.unit
def test_the_weight_chart_marks_both_thresholds_and_draws_one_bar_per_decision_and_band() -> None:
    bins = [WeightBin(float(low), counts) for low, counts in
            ((0, {APART: 3}), (1, {}), (2, {REVIEW: 2, APART: 1}), (3, {REVIEW: 1}), (4, {LINK: 400}))]
    svg = str(weight_histogram(bins, 1.0, {"review": 2.0, "link": 4.0}))

    assert svg.count("<rect") == 5
    thresholds = re.findall(r'<line x1="([\d.]+)" y1="[\d.]+" x2="[\d.]+" y2="[\d.]+" stroke="#0b0c0c"', svg)
    left, right = ops_charts.LEFT, ops_charts.WIDTH - ops_charts.RIGHT
    span = right - left
    assert [float(x) for x in thresholds] == pytest.approx([left + span * 2 / 5, left + span * 4 / 5])
    assert re.search(r"<title>weight 4 to 5: 400 link</title>", svg)
    # Log scale up to 1,000: 400 links stand under the 1,000 line, 1 review well above the axis.
    heights = {title: float(h) for h, title in re.findall(r'height="([\d.]+)" fill="[^"]+"><title>([^<]+)', svg)}
    assert heights["weight 3 to 4: 1 review"] > 0.05 * heights["weight 4 to 5: 400 link"]
