"""The steward lead's model pages: precision and recall per model version from stewards' decisions, the
comparison of a retrained model with the current one, its promotion, and the match-weight distribution.

Stewards only (there is no separate "lead" role in the store: every steward may promote, and every
promotion is audited with who did it). Pairs are shown by record id and weight, never by name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import Response

from contactpoint.settings import get_settings
from directory_api.console.ops_charts import WeightBin, weight_histogram
from directory_api.console.session import ConsoleUser, NavLink, StewardDep, add_nav_link, check_csrf, render
from directory_api.deps import ConsoleConnDep
from matching import lifecycle
from warehouse.db import transaction
from warehouse.publish import publish_directory

router = APIRouter(prefix="/model")
# Scoring every blocked pair of the store takes seconds (3.4 s at 20,000 children) and its answer changes
# only when the records, the model or the thresholds do: one distribution is kept per process.
_distribution: dict[tuple[Any, ...], lifecycle.WeightDistribution] = {}
add_nav_link(NavLink("model", "Linkage model", "/console/model/", stewards_only=True))
add_nav_link(NavLink("weights", "Match weights", "/console/model/weights", stewards_only=True))


def _versions(conn: ConsoleConnDep, user: ConsoleUser, version: str) -> None:
    if version not in {v.version for v in lifecycle.model_versions(conn, session=user.session_token)}:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no model version {version!r}")


@router.get("/")
def models(request: Request, conn: ConsoleConnDep, user: StewardDep) -> Response:
    """Every model version with its live confusion matrix against the stewards' labels."""
    versions = lifecycle.model_versions(conn, session=user.session_token)
    matrices = lifecycle.confusion_by_version(conn, backend=get_settings().link_backend, session=user.session_token)
    return render(request, "ops/model.html", {
        "user": user, "nav": "model", "versions": versions,
        "matrices": dict(zip([v.version for v in versions], matrices, strict=True)),
        "labels": len(lifecycle.labelled_pairs(conn, session=user.session_token)), "decisions": lifecycle.DECISIONS,
        "label_names": {lifecycle.MATCH: "one child (must-link)", lifecycle.NON_MATCH: "two children (cannot-link)"}})


@router.get("/compare")
def compare(request: Request, conn: ConsoleConnDep, user: StewardDep, candidate: str) -> Response:
    """What promoting ``candidate`` would change: decisions per pair and examples to inspect."""
    _versions(conn, user, candidate)
    current = lifecycle.current_version(conn, session=user.session_token)
    comparison = None if candidate == current else lifecycle.compare_models(
        conn, candidate, current=current, backend=get_settings().link_backend, session=user.session_token)
    # A held or shielded child's ID is not shown to a steward not entitled to it: the database leaves it out.
    children = {} if comparison is None else lifecycle.children_of(
        conn, [r for c in comparison.examples for r in (c.record_a, c.record_b)], session=user.session_token)
    return render(request, "ops/model_compare.html", {
        "user": user, "nav": "model", "candidate": candidate, "current": current,
        "comparison": comparison, "decisions": lifecycle.DECISIONS, "children": children})


@router.post("/promote")
def promote(request: Request, conn: ConsoleConnDep, user: StewardDep, version: Annotated[str, Form()],
            reason: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    """Promote a version (audited), re-link every record with it and publish what changed."""
    check_csrf(csrf_token, user)
    _versions(conn, user, version)
    run_id = f"promote-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    try:
        # The promotion is the database's, for the steward's session (identity.steward_promote); the full
        # re-link and the publish after it are the pipeline's work, which writes every table: they run on the
        # store owner's connection, in one transaction with the promotion (a failed re-link leaves the old
        # model current). The console's own login could not do them, and no page read goes that way.
        with transaction() as pipeline_conn:
            promotion = lifecycle.promote(pipeline_conn, version, session=user.session_token, reason=reason,
                                          run_id=run_id, backend=get_settings().link_backend)
            published = publish_directory(pipeline_conn)
    except (ValueError, PermissionError) as refused:
        return render(request, "ops/model_promoted.html", {
            "user": user, "nav": "model", "error": str(refused), "version": version},
            status_code=status.HTTP_400_BAD_REQUEST)
    return render(request, "ops/model_promoted.html", {
        "user": user, "nav": "model", "promotion": promotion, "published": published,
        "version": version})


@router.get("/weights")
def weights(request: Request, conn: ConsoleConnDep, user: StewardDep) -> Response:
    """The current model's match weights over every blocked pair, both thresholds marked, and threshold moves."""
    key = lifecycle.store_fingerprint(conn, session=user.session_token)
    if key not in _distribution:
        _distribution.clear()
        _distribution[key] = lifecycle.store_distribution(conn, backend=get_settings().link_backend,
                                                          session=user.session_token)
    shown = _distribution[key]
    bins = [WeightBin(low, counts) for low, counts in shown.bins]
    chart = weight_histogram(bins, shown.bin_width, {"review": shown.thresholds.review, "link": shown.thresholds.link})
    return render(request, "ops/weights.html", {
        "user": user, "nav": "weights", "shown": shown, "chart": chart,
        "decisions": lifecycle.DECISIONS})
