"""The stewards' pages: the review queue, a pair, an identity, and the actions taken from them.

Routes only wire: the work is ``matching.stewardship`` (the same functions ``contactpoint review`` uses).
Every page and action needs a steward (others get 403). A pair or child touching a shielded child shows
its details only to a steward entitled to shielded children; anyone else sees that it exists and needs
an entitled steward, and cannot act on it. Opening a pair or an identity is audited (ids only), as the
directory's reads are.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from connectors.feeds import FEEDS as REGISTRY
from directory_api.console import session
from directory_api.console.session import ConsoleUser, StewardDep
from directory_api.console.waterfall import waterfall_svg
from directory_api.deps import ConsoleConnDep
from matching import lifecycle, stewardship
from matching.settings import THRESHOLDS
from warehouse.console_reads import console_call

router = APIRouter()
PER_PAGE = 50
FEEDS = tuple(REGISTRY)  # the queue's feed filter offers every feed of the registry
SHIELDED_ONLY = stewardship.SHIELDED_ONLY

Reason = Annotated[str, Form()]
Csrf = Annotated[str, Form()]


def _audit_view(conn: Connection, user: ConsoleUser, action: str, cp_ids: list[str], **detail: Any) -> None:
    """Audited under the session's own user: the database takes the session, never a name."""
    console_call(conn, "console.audit_view(:s, :a, :c, CAST(:d AS jsonb))",
                 {"s": user.session_token, "a": action, "c": cp_ids, "d": json.dumps(detail)})


def _as(user: ConsoleUser) -> dict[str, Any]:
    """Who acts, as the database takes it: the user's own session (on the console's login, no table)."""
    return {"session": user.session_token}


def _refused(request: Request, user: ConsoleUser, message: str, back: str, code: int = 409,
             *, not_entitled: bool = False) -> Response:
    if not_entitled or message == stewardship.SHIELDED_ONLY:
        code = status.HTTP_403_FORBIDDEN  # the database refused: the steward is not entitled
    return session.render(request, "steward/refused.html", {"user": user, "message": message, "back": back,
                                                            "nav": "review"}, status_code=code)


@router.get("/review")
def review_queue(request: Request, conn: ConsoleConnDep, user: StewardDep,
                 feed: Annotated[str | None, Query()] = None, la: Annotated[str | None, Query()] = None,
                 page: Annotated[int, Query(ge=1)] = 1) -> Response:
    """One entry per pair of children, most pressing first (``stewardship.review_entries``), with counts."""
    flt = stewardship.QueueFilter(feed=feed or None, local_authority=(la or "").strip() or None)
    queue = stewardship.review_entries(conn, flt, page=page, per_page=PER_PAGE, may_see_shielded=user.may_see_shielded,
                                       session=user.session_token)
    pages = max(1, -(-queue.total // PER_PAGE))
    return session.render(request, "steward/review.html", {
        "user": user, "nav": "review", "queue": queue, "filter": flt, "page": page, "pages": pages,
        "feeds": FEEDS, "thresholds": THRESHOLDS, "done": request.query_params.get("done")})


def _differences(records: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for name in fields:
        values = [r.get(name) for r in records]
        shown = ["" if v is None else str(v) for v in values]
        if any(shown):
            rows.append({"field": name, "cells": shown, "differs": len(set(shown)) > 1})
    return rows


@router.get("/review/{pair_id}")
def pair_page(request: Request, pair_id: int, conn: ConsoleConnDep, user: StewardDep) -> Response:
    """Both records side by side, differences marked, standardised values, the waterfall and the siblings."""
    pair = stewardship.pair_detail(conn, pair_id, session=user.session_token)
    if pair is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such pair")
    ids = [int(pair["record_a"]), int(pair["record_b"])]
    records = [pair["records"][r] for r in ids]
    shielded = any(r["shielded"] for r in records)
    if shielded and not user.may_see_shielded:
        _audit_view(conn, user, "console_view_pair_refused", [], pair_id=pair_id)
        return session.render(request, "steward/pair_shielded.html",
                              {"user": user, "nav": "review", "pair": pair}, status_code=status.HTTP_403_FORBIDDEN)
    _audit_view(conn, user, "console_view_pair", sorted({r["cp_id"] for r in records if r["cp_id"]}),
                pair_id=pair_id, record_ids=ids)
    bars = stewardship.waterfall(dict(pair["explanation"] or {}), lifecycle.current_model_of(conn, user.session_token),
                                 float(pair["match_weight"]))
    features = [dict(r.get("features") or {}) for r in records]
    feature_names = tuple(sorted({k for f in features for k in f}))
    return session.render(request, "steward/pair.html", {
        "user": user, "nav": "review", "pair": pair, "records": records, "shielded": shielded,
        "fields": _differences(records, ("feed", "sender", "cp_id", *stewardship.RECORD_FIELDS)),
        "standardised": _differences(features, feature_names),
        "bars": bars, "chart": waterfall_svg(bars, link_threshold=THRESHOLDS.link,
                                            review_threshold=THRESHOLDS.review),
        "siblings": [pair["siblings"][r] for r in ids], "thresholds": THRESHOLDS})


def _guard_pair(conn: Connection, user: ConsoleUser, pair_id: int) -> None:
    pair = stewardship.pair_detail(conn, pair_id, session=user.session_token)
    if pair is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such pair")
    if any(r["shielded"] for r in pair["records"].values()) and not user.may_see_shielded:
        raise HTTPException(status.HTTP_403_FORBIDDEN, SHIELDED_ONLY)


def _guard_child(conn: Connection, user: ConsoleUser, cp_id: str) -> dict[str, Any]:
    child = stewardship.identity_history(conn, cp_id, session=user.session_token)
    if child is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such child")
    if child["shielded"] and not user.may_see_shielded:
        raise HTTPException(status.HTTP_403_FORBIDDEN, SHIELDED_ONLY)
    return child


def _act(request: Request, user: ConsoleUser, back: str, after: str,
         action: Callable[[], stewardship.ActionOutcome], *, to_child: bool = True) -> Response:
    """Take a steward's action and go on: to the child it kept (``to_child``, not after keeping apart), else to
    ``after``, marked done; a refusal shows why (403 when the database says the steward is not entitled: a
    shielded or held child), with a way ``back``."""
    try:
        outcome = action()
    except stewardship.StewardshipError as refused:
        return _refused(request, user, str(refused), back, not_entitled=isinstance(refused, stewardship.NotEntitled))
    target = after
    if to_child and outcome.kept_cp_id and outcome.kind != "keep_apart":
        target = f"/console/identity/{outcome.kept_cp_id}"
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}done={outcome.action_id}", status_code=status.HTTP_303_SEE_OTHER)


def _decide(request: Request, pair_id: int, decision: str, conn: Connection, user: ConsoleUser, reason: str,
            csrf_token: str) -> Response:
    """A decision on the whole review entry: every pair between the two children."""
    session.check_csrf(csrf_token, user)
    _guard_pair(conn, user, pair_id)
    return _act(request, user, f"/console/review/{pair_id}", "/console/review",
                lambda: stewardship.decide_entry(conn, pair_id, decision, reason=reason, **_as(user))[0])


@router.post("/review/{pair_id}/link")
def link(request: Request, pair_id: int, conn: ConsoleConnDep, user: StewardDep, reason: Reason = "",
         csrf_token: Csrf = "") -> Response:
    """The pair is one child: must-link, and the two children merge now (older ID kept)."""
    return _decide(request, pair_id, "link", conn, user, reason, csrf_token)


@router.post("/review/{pair_id}/keep-apart")
def keep_apart(request: Request, pair_id: int, conn: ConsoleConnDep, user: StewardDep, reason: Reason = "",
               csrf_token: Csrf = "") -> Response:
    """The pair is two children: cannot-link, honoured by every later run."""
    return _decide(request, pair_id, "keep_apart", conn, user, reason, csrf_token)


@router.post("/records/{record_id}/split")
def split(request: Request, record_id: int, conn: ConsoleConnDep, user: StewardDep, reason: Reason = "",
          csrf_token: Csrf = "") -> Response:
    """The record is not the child it is linked to: it gets an ID of its own."""
    session.check_csrf(csrf_token, user)
    records = stewardship.source_records(conn, [record_id], session=user.session_token)
    if record_id not in records:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such record")
    if records[record_id]["shielded"] and not user.may_see_shielded:
        raise HTTPException(status.HTTP_403_FORBIDDEN, SHIELDED_ONLY)
    back = f"/console/identity/{records[record_id]['cp_id']}"
    return _act(request, user, back, back,
                lambda: stewardship.split_record(conn, record_id, reason=reason, **_as(user)))


@router.post("/identity/{cp_id}/merge")
def merge(request: Request, cp_id: str, conn: ConsoleConnDep, user: StewardDep,
          other_cp_id: Annotated[str, Form()] = "", reason: Reason = "", csrf_token: Csrf = "") -> Response:
    """This child and another are one: the older ID is kept, the other retired."""
    session.check_csrf(csrf_token, user)
    other = other_cp_id.strip().upper()
    _guard_child(conn, user, cp_id)
    back = f"/console/identity/{cp_id}"
    if stewardship.identity_history(conn, other, session=user.session_token) is None:
        return _refused(request, user, f"there is no child {other or '(none given)'}", back, code=404)
    _guard_child(conn, user, other)
    return _act(request, user, back, back,
                lambda: stewardship.merge_children(conn, cp_id, other, reason=reason, **_as(user)))


@router.post("/actions/{action_id}/undo")
def undo(request: Request, action_id: int, conn: ConsoleConnDep, user: StewardDep, reason: Reason = "",
         csrf_token: Csrf = "", back: Annotated[str, Form()] = "/console/review") -> Response:
    """Undo an earlier action: its decisions are withdrawn and what it changed is put back."""
    session.check_csrf(csrf_token, user)
    back = back if back.startswith("/console/") and not back.startswith("//") else "/console/review"
    for cp_id in stewardship.action_cp_ids(conn, action_id, session=user.session_token):
        _guard_child(conn, user, cp_id)
    return _act(request, user, back, back,
                lambda: stewardship.undo_action(conn, action_id, reason=reason, **_as(user)), to_child=False)


@router.get("/identity/{cp_id}")
def identity_page(request: Request, cp_id: str, conn: ConsoleConnDep, user: StewardDep) -> Response:
    """One child: records by feed, the history of links, merges and splits, and who decided each."""
    child = stewardship.identity_history(conn, cp_id.strip().upper(), session=user.session_token)
    if child is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such child")
    if child["shielded"] and not user.may_see_shielded:
        _audit_view(conn, user, "console_view_identity_refused", [child["cp_id"]])
        return session.render(request, "steward/identity_shielded.html", {"user": user, "nav": "review",
                                                                          "child": child},
                              status_code=status.HTTP_403_FORBIDDEN)
    _audit_view(conn, user, "console_view_identity", [child["cp_id"]])
    record_count = sum(len(v) for v in child["by_feed"].values())
    return session.render(request, "steward/identity.html", {
        "user": user, "nav": "review", "child": child, "record_count": record_count,
        "done": request.query_params.get("done")})
