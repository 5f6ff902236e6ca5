"""Steward decisions and actions: what a steward decides, how it changes identities, and how it is undone.

A *decision* names two source records (ordered) as must-link or cannot-link; the newest decision for a
pair that is not undone wins, and the linker honours it on every later run, delta and full
(``matching.link.steward_constraints``). An *action* (``identity.steward_action``, migration 0007) is
what a steward did in one go, with a required reason: link or keep apart a review pair, split a record
out of a child, merge two children, or undo an earlier action. An action writes its decisions, and a
merge or a split changes ``identity`` at once, so the next publish shows it without waiting for a full
re-link. What it changed is kept in ``steward_action.changes`` (record ids and ContactPoint IDs only),
so an undo puts back exactly that: IDs end as they began.

Every action is audited (``warehouse.audit``, action ``steward_<kind>``) with ids only, never the reason
(free text may name a child); the database audits each decision row itself (migration 0004's trigger,
which writes the decision's id and kind only). Merges, splits and their undos signal the change feed.

The actions themselves are definer functions in the database that take the steward's session, not a name
(``warehouse.steward_actions``, migration 0014): they check role and entitlement whoever calls. The console
and the ``contactpoint review`` commands call these wrappers; none of them commits.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, text

from matching.settings import THRESHOLDS
from warehouse.steward_actions import ActionOutcome, NotEntitled, StewardshipError, act

__all__ = ["ActionOutcome", "NotEntitled", "StewardshipError"]

DECISIONS = ("must_link", "cannot_link")
ACTIONS = ("link", "keep_apart", "split", "merge", "undo")
STEWARD_METHOD = "steward"
"""``identity.link.method`` (and ``link_history.method``) of a record moved by a steward's action."""

SHIELDED_ONLY = "this concerns a shielded child: it needs a steward entitled to see shielded children"

SHIELDED_CHILD_SQL = """(
    {c}.status = 'held'
    OR EXISTS (SELECT 1 FROM identity.link sl JOIN staging.source_record sr ON sr.record_id = sl.record_id
               WHERE sl.cp_id = {c}.cp_id AND sr.restricted)
    OR EXISTS (SELECT 1 FROM identity.child sk
               WHERE sk.cp_id = {c}.superseded_by AND (sk.status = 'held' OR EXISTS (
                   SELECT 1 FROM identity.link sl JOIN staging.source_record sr ON sr.record_id = sl.record_id
                   WHERE sl.cp_id = sk.cp_id AND sr.restricted))))"""
"""Whether the child ``{c}`` (an ``identity.child`` alias) is shielded for stewards: any of its records is
restricted, or it is *held* (it might be a shielded child: the linker holds it until a steward answers,
so a held child is treated exactly as a shielded one), or it was merged into such a child."""


def shielded_ids(conn: Connection, cp_ids: list[str]) -> set[str]:
    """Those of ``cp_ids`` that are shielded or held (``SHIELDED_CHILD_SQL``)."""
    if not cp_ids:
        return set()
    return {str(c) for c in conn.execute(text(f"""
        SELECT c.cp_id FROM identity.child c WHERE c.cp_id = ANY(:c) AND {SHIELDED_CHILD_SQL.format(c="c")}"""),
        {"c": sorted(set(cp_ids))}).scalars()}


def may_see_shielded(conn: Connection, steward: str) -> bool:
    """Whether ``steward`` names an enabled steward entitled to shielded children (the database says)."""
    return bool(conn.execute(text("""
        SELECT may_see_shielded AND role = 'steward' AND NOT disabled FROM access.app_user WHERE username = :u"""),
        {"u": steward}).scalar())


def _reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise StewardshipError("a steward's action needs a reason")
    return reason.strip()


def record_decision(conn: Connection, record_a: int, record_b: int, decision: str, *, steward: str,
                    reason: str, action_id: int | None = None) -> int:
    """Store a decision about two records; returns its id. A reason is required.

    The review pair it answers, if any, is closed.
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}")
    if record_a == record_b:
        raise ValueError("a decision needs two different records")
    a, b = sorted((record_a, record_b))
    decision_id = int(conn.execute(text("""
        INSERT INTO identity.steward_decision (record_a, record_b, decision, steward, reason, action_id)
        VALUES (:a, :b, :d, :s, :r, :action) RETURNING decision_id"""),
        {"a": a, "b": b, "d": decision, "s": steward, "r": _reason(reason), "action": action_id}).scalar_one())
    conn.execute(text("UPDATE identity.review_pair SET status = 'decided' WHERE record_a = :a AND record_b = :b"),
                 {"a": a, "b": b})
    return decision_id


def undo_decision(conn: Connection, decision_id: int) -> None:
    """Withdraw one decision; the linker decides that pair again on its next run."""
    conn.execute(text("UPDATE identity.steward_decision SET undone_at = now() WHERE decision_id = :d"),
                 {"d": decision_id})


# --- who is older, who is where --------------------------------------------------------------------------

def older_first(conn: Connection, cp_a: str, cp_b: str) -> tuple[str, str]:
    """The two IDs, the one made first (the one a merge keeps) first.

    IDs carry no sequence (``matching.identity``): which child is older is ``identity.child.seq``.
    """
    seqs: dict[str, int] = {str(r.cp_id): int(r.seq) for r in conn.execute(
        text("SELECT cp_id, seq FROM identity.child WHERE cp_id IN (:a, :b)"), {"a": cp_a, "b": cp_b})}
    for cp_id in (cp_a, cp_b):
        if cp_id not in seqs:
            raise StewardshipError(f"no child {cp_id}")
    return (cp_a, cp_b) if seqs[cp_a] < seqs[cp_b] else (cp_b, cp_a)




def _records_of(conn: Connection, cp_id: str) -> list[int]:
    return [int(r) for r in conn.execute(text(
        "SELECT record_id FROM identity.link WHERE cp_id = :c ORDER BY record_id"), {"c": cp_id}).scalars()]



# --- the actions: definer functions that take the session (warehouse.steward_actions) -------------------
# ``session``: the console's signed-in session token. ``steward``: the hub's own tools (command line,
# scripts), which run as the store's owner, name the steward instead and get a short session for them.
# Either way the database resolves who acts and checks role and entitlement itself.

def link_pair(conn: Connection, pair_id: int, *, reason: str, steward: str | None = None,
              session: str | None = None, role: str | None = None) -> ActionOutcome:
    """The two records of a review pair are one child: a must-link, and their two children merge now.

    The merge keeps the older ContactPoint ID; the other is retired, superseded by it; must-links bind
    all the merged child's records (a full re-link must not part them again).
    """
    outcome: ActionOutcome = act(conn, "link", session=session, steward=steward, role=role, a=pair_id, r=reason)
    return outcome


def keep_apart(conn: Connection, pair_id: int, *, reason: str, steward: str | None = None,
               session: str | None = None, role: str | None = None) -> ActionOutcome:
    """The two records of a review pair are different children: a cannot-link; their children stay apart."""
    outcome: ActionOutcome = act(conn, "keep_apart", session=session, steward=steward, role=role, a=pair_id,
                                 r=reason)
    return outcome


def decide_entry(conn: Connection, pair_id: int, decision: str, *, reason: str, steward: str | None = None,
                 session: str | None = None, role: str | None = None) -> list[ActionOutcome]:
    """Answer the entry ``pair_id`` belongs to (``decision``: ``link`` or ``keep_apart``) on every open record
    pair between its two children, ``pair_id`` first, then nearest the link threshold."""
    outcomes: list[ActionOutcome] = act(conn, "entry", session=session, steward=steward, role=role, a=pair_id,
                                        b=decision, r=reason, t=THRESHOLDS.link)
    return outcomes


def split_record(conn: Connection, record_id: int, *, reason: str, steward: str | None = None,
                 session: str | None = None, role: str | None = None) -> ActionOutcome:
    """A record is not the child it is linked to: it gets a new ContactPoint ID of its own, with a
    cannot-link to each of that child's other records, so no later run puts it back."""
    outcome: ActionOutcome = act(conn, "split", session=session, steward=steward, role=role, a=record_id, r=reason)
    return outcome


def merge_children(conn: Connection, cp_a: str, cp_b: str, *, reason: str, steward: str | None = None,
                   session: str | None = None, role: str | None = None) -> ActionOutcome:
    """Two children are one: the older ID is kept, the other retired (superseded by it), its records moved,
    with must-links binding all their records for every later run. A held or shielded child on either side
    needs a steward entitled to shielded children; the hold and the restricted records go with the records."""
    outcome: ActionOutcome = act(conn, "merge", session=session, steward=steward, role=role, a=cp_a, b=cp_b,
                                 r=reason)
    return outcome


def undo_action(conn: Connection, action_id: int, *, reason: str, steward: str | None = None,
                session: str | None = None, role: str | None = None) -> ActionOutcome:
    """Undo an earlier action: withdraw its decisions and put back exactly what it changed.

    A merge's records go back to the retired ID, which is current again; a split's record goes back to
    its child and the ID the split made is retired into it (IDs are never reused); a decided pair is
    open for review again; a child released from its hold is held again. Refused when a later change
    (another action, a re-link) moved those records since: undo that first.
    """
    outcome: ActionOutcome = act(conn, "undo", session=session, steward=steward, role=role, a=action_id, r=reason)
    return outcome


# --- what the console and the CLI read ---------------------------------------------------------------------

LOCAL_AUTHORITY_SQL = """CASE WHEN {s}.feed IN ('connexions', 'ics') THEN {s}.sender
                              WHEN {s}.upn IS NOT NULL THEN substr({s}.upn, 2, 3) END"""
"""A record's local authority: the sender of the LA-sent feeds, else the LA code inside its UPN
(characters 2-4, feeds/README.md); GP and CAF records without a UPN have none."""


@dataclass(frozen=True)
class QueueFilter:
    """What a steward narrowed the review queue to (None: everything)."""

    feed: str | None = None
    local_authority: str | None = None


@dataclass(frozen=True)
class QueueEntry:
    """One open pair in the queue; ``shielded`` pairs show only ids to stewards not entitled to them."""

    pair_id: int
    record_a: int
    record_b: int
    cp_a: str
    cp_b: str
    feed_a: str
    feed_b: str
    match_weight: float
    reason: str
    shielded: bool
    distance: float


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue with the counts a steward plans by."""

    entries: list[QueueEntry]
    total: int
    shielded: int
    by_feed: dict[str, int]
    by_local_authority: dict[str, int]


_QUEUE_BASE = f"""
    WITH shielded_child AS (
        SELECT DISTINCT l.cp_id FROM staging.source_record s JOIN identity.link l ON l.record_id = s.record_id
        WHERE s.restricted
        UNION SELECT cp_id FROM identity.child WHERE status = 'held'),
    open_pair AS (
        SELECT p.pair_id, p.record_a, p.record_b, p.match_weight, p.reason, la.cp_id AS cp_a, lb.cp_id AS cp_b,
               sa.feed AS feed_a, sb.feed AS feed_b,
               {LOCAL_AUTHORITY_SQL.format(s="sa")} AS la_a, {LOCAL_AUTHORITY_SQL.format(s="sb")} AS la_b,
               (la.cp_id IN (SELECT cp_id FROM shielded_child) OR lb.cp_id IN (SELECT cp_id FROM shielded_child))
                   AS shielded,
               abs(p.match_weight - :link_threshold) AS distance
        FROM identity.review_pair p
        JOIN identity.link la ON la.record_id = p.record_a JOIN identity.link lb ON lb.record_id = p.record_b
        JOIN staging.source_record sa ON sa.record_id = p.record_a
        JOIN staging.source_record sb ON sb.record_id = p.record_b
        WHERE p.status = 'open' AND la.cp_id <> lb.cp_id),
    wanted AS (
        SELECT * FROM open_pair
        WHERE (CAST(:feed AS text) IS NULL OR :feed IN (feed_a, feed_b))
          AND (CAST(:la AS text) IS NULL OR :la IN (la_a, la_b))
          -- A filter must not tell a steward without the entitlement what the list hides of a shielded pair.
          AND (CAST(:all_shielded AS boolean) OR NOT shielded
               OR (CAST(:feed AS text) IS NULL AND CAST(:la AS text) IS NULL)))
"""


def review_queue(conn: Connection, flt: QueueFilter = QueueFilter(), *, page: int = 1,
                 per_page: int = 50, may_see_shielded: bool = True) -> QueuePage:
    """Open review pairs, most pressing first, with counts for the filters.

    Order: pairs touching a shielded child first: until a steward answers, the other child is held out
    of the directory (``matching.link`` holds it), so a child may be missing for practitioners, and only
    some stewards may answer them. Then by how close the match weight is to the *link* threshold
    (``matching.settings.THRESHOLDS.link``), nearest first: those pairs are the ones the model nearly
    linked (or would have linked but for a constraint), so they are the likeliest to be one child shown
    twice, which splits a child's services across two directory entries; pairs near the review floor
    are the likeliest to be two children, who are already apart. Ties by pair id, so pages are stable.
    Pairs whose records are now in one child (an action since) are no longer questions and are left out.

    For a steward not entitled to shielded children (``may_see_shielded=False``) a shielded pair (one
    touching a shielded or held child) counts only in the unfiltered totals: it is never in a filtered
    list nor in the per-feed and per-authority counts, which would tell where a shielded child is known.
    """
    params = {"link_threshold": THRESHOLDS.link, "feed": flt.feed, "la": flt.local_authority,
              "all_shielded": may_see_shielded}
    rows = conn.execute(text(_QUEUE_BASE + """
        SELECT pair_id, record_a, record_b, cp_a, cp_b, feed_a, feed_b, match_weight, reason, shielded, distance
        FROM wanted ORDER BY shielded DESC, distance, pair_id LIMIT :limit OFFSET :offset"""),
        {**params, "limit": per_page, "offset": max(page - 1, 0) * per_page}).fetchall()
    counts = conn.execute(text(_QUEUE_BASE + """,
        counted AS (SELECT * FROM wanted WHERE CAST(:all_shielded AS boolean) OR NOT shielded)
        SELECT 'total' AS kind, NULL AS key, count(*) AS n FROM wanted
        UNION ALL SELECT 'shielded', NULL, count(*) FROM wanted WHERE shielded
        UNION ALL SELECT 'feed', f, count(*) FROM (SELECT feed_a AS f FROM counted UNION ALL
                                                   SELECT feed_b FROM counted WHERE feed_b <> feed_a) x GROUP BY f
        UNION ALL SELECT 'la', a, count(*) FROM (SELECT la_a AS a FROM counted WHERE la_a IS NOT NULL UNION ALL
            SELECT la_b FROM counted WHERE la_b IS NOT NULL AND la_b IS DISTINCT FROM la_a) y GROUP BY a"""),
        params).fetchall()
    total = next(int(r.n) for r in counts if r.kind == "total")
    shielded = next(int(r.n) for r in counts if r.kind == "shielded")
    return QueuePage(
        entries=[QueueEntry(int(r.pair_id), int(r.record_a), int(r.record_b), r.cp_a, r.cp_b, r.feed_a, r.feed_b,
                            float(r.match_weight), r.reason, bool(r.shielded), float(r.distance)) for r in rows],
        total=total, shielded=shielded,
        by_feed=dict(sorted((str(r.key), int(r.n)) for r in counts if r.kind == "feed")),
        by_local_authority=dict(sorted((str(r.key), int(r.n)) for r in counts if r.kind == "la")))


@dataclass(frozen=True)
class ReviewEntry:
    """One question for a steward: are these two children one child? Every open record pair between them
    (either order) stands behind it; ``lead`` is the pair nearest the link threshold, whose number names it."""

    lead: QueueEntry
    pairs: list[QueueEntry]
    cp_a: str
    cp_b: str
    feeds: list[str]
    shielded: bool

    @property
    def pair_id(self) -> int:
        """The entry's number: its lead pair's (``contactpoint review decide`` and the console take it)."""
        return self.lead.pair_id


@dataclass(frozen=True)
class EntryPage:
    """A page of the grouped queue; every count is of entries (pairs of children), not record pairs."""

    entries: list[ReviewEntry]
    total: int
    shielded: int
    record_pairs: int
    by_feed: dict[str, int]
    by_local_authority: dict[str, int]


_ENTRY_BASE = _QUEUE_BASE + """,
    entry AS (
        -- Every open pair between the same two children is one entry; the filter picks entries by any of them.
        SELECT least(cp_a, cp_b) AS child_1, greatest(cp_a, cp_b) AS child_2, bool_or(shielded) AS shielded,
               min(distance) AS distance, count(*) AS record_pairs,
               array_agg(pair_id ORDER BY distance, pair_id) AS pair_ids,
               array_agg(feed_a) || array_agg(feed_b) AS feeds, array_agg(la_a) || array_agg(la_b) AS las
        FROM open_pair GROUP BY 1, 2
        HAVING bool_or((CAST(:feed AS text) IS NULL OR :feed IN (feed_a, feed_b))
                       AND (CAST(:la AS text) IS NULL OR :la IN (la_a, la_b)))
           -- As for record pairs: a filter must not tell an unentitled steward where a shielded child is known.
           AND (CAST(:all_shielded AS boolean) OR NOT bool_or(shielded)
                OR (CAST(:feed AS text) IS NULL AND CAST(:la AS text) IS NULL)))
"""


def review_entries(conn: Connection, flt: QueueFilter = QueueFilter(), *, page: int = 1,
                   per_page: int = 50, may_see_shielded: bool = True) -> EntryPage:
    """The review queue as stewards answer it: one entry per pair of children, in ``review_queue``'s order.

    A pair of children often has several open record pairs (twins on five feeds: school, GP, ...; both
    directions A/B and B/A). They are one question, so they are one entry: ordered by its most pressing
    record pair (shielded first, then nearest the link threshold), showing every open record pair between
    the two children. The filter picks entries by any of their record pairs; an entry shows and decides all.

    For a steward not entitled to shielded children a shielded entry counts only in the unfiltered totals,
    as in ``review_queue``.
    """
    params = {"link_threshold": THRESHOLDS.link, "feed": flt.feed, "la": flt.local_authority,
              "all_shielded": may_see_shielded, "limit": per_page, "offset": max(page - 1, 0) * per_page}
    # One statement: the entries are computed once (a CTE read several times is materialised) for the page
    # and for every count.
    result = conn.execute(text(_ENTRY_BASE + """
        SELECT 'row' AS kind, NULL AS key, position AS n, child_1, child_2, shielded, pair_ids FROM (
            SELECT row_number() OVER (ORDER BY shielded DESC, distance, pair_ids[1]) AS position, *
            FROM entry ORDER BY shielded DESC, distance, pair_ids[1] LIMIT :limit OFFSET :offset) page
        UNION ALL SELECT 'total', NULL, count(*), NULL, NULL, NULL, NULL FROM entry
        UNION ALL SELECT 'shielded', NULL, count(*), NULL, NULL, NULL, NULL FROM entry WHERE shielded
        UNION ALL SELECT 'record_pairs', NULL, coalesce(sum(record_pairs), 0), NULL, NULL, NULL, NULL FROM entry
        UNION ALL SELECT 'feed', f, count(*), NULL, NULL, NULL, NULL
                  FROM (SELECT DISTINCT child_1, child_2, f FROM entry, unnest(feeds) f
                        WHERE CAST(:all_shielded AS boolean) OR NOT shielded) x GROUP BY f
        UNION ALL SELECT 'la', a, count(*), NULL, NULL, NULL, NULL
                  FROM (SELECT DISTINCT child_1, child_2, a FROM entry, unnest(las) a
                        WHERE a IS NOT NULL AND (CAST(:all_shielded AS boolean) OR NOT shielded)) y
                  GROUP BY a"""), params).all()
    leads = sorted((r for r in result if r.kind == "row"), key=lambda r: int(r.n))
    counts = [r for r in result if r.kind != "row"]
    wanted_ids = [int(p) for r in leads for p in r.pair_ids]
    pairs: dict[int, QueueEntry] = {}
    if wanted_ids:
        # Only this page's pairs, by key: the queue's common table is not evaluated a third time.
        for r in conn.execute(text("""
                SELECT p.pair_id, p.record_a, p.record_b, la.cp_id AS cp_a, lb.cp_id AS cp_b, sa.feed AS feed_a,
                       sb.feed AS feed_b, p.match_weight, p.reason, abs(p.match_weight - :link_threshold) AS distance
                FROM identity.review_pair p
                JOIN identity.link la ON la.record_id = p.record_a JOIN identity.link lb ON lb.record_id = p.record_b
                JOIN staging.source_record sa ON sa.record_id = p.record_a
                JOIN staging.source_record sb ON sb.record_id = p.record_b
                WHERE p.pair_id = ANY(:ids)"""), {"link_threshold": THRESHOLDS.link, "ids": wanted_ids}).all():
            pairs[int(r.pair_id)] = QueueEntry(int(r.pair_id), int(r.record_a), int(r.record_b), r.cp_a, r.cp_b,
                                               r.feed_a, r.feed_b, float(r.match_weight), r.reason, False,
                                               float(r.distance))
    entries = []
    for r in leads:
        behind = [replace(pairs[int(p)], shielded=bool(r.shielded)) for p in r.pair_ids]
        entries.append(ReviewEntry(lead=behind[0], pairs=behind, cp_a=r.child_1, cp_b=r.child_2,
                                   feeds=sorted({f for p in behind for f in (p.feed_a, p.feed_b)}),
                                   shielded=bool(r.shielded)))

    def count(kind: str) -> int:
        return next((int(c.n) for c in counts if c.kind == kind), 0)

    return EntryPage(entries=entries, total=count("total"), shielded=count("shielded"),
                     record_pairs=count("record_pairs"),
                     by_feed=dict(sorted((str(c.key), int(c.n)) for c in counts if c.kind == "feed")),
                     by_local_authority=dict(sorted((str(c.key), int(c.n)) for c in counts if c.kind == "la")))


RECORD_FIELDS = ("given_name", "middle_names", "family_name", "preferred_given_name", "preferred_family_name",
                 "former_family_name", "date_of_birth", "gender", "address_line_1", "address_line_2",
                 "address_line_3", "address_line_4", "address_line_5", "postcode", "nhs_number", "upn", "uln")


def source_records(conn: Connection, record_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Source records with feed, sender, child, shielding and standardised values (``record_features``).

    ``shielded``: the record is restricted, or its child is shielded or held (``SHIELDED_CHILD_SQL``)."""
    rows = conn.execute(text(f"""
        SELECT s.record_id, s.feed, s.sender, s.restricted, s.extract_time, l.cp_id,
               {", ".join(f"s.{c}" for c in RECORD_FIELDS)}, to_jsonb(f) - 'record_id' AS features,
               (s.restricted OR coalesce({SHIELDED_CHILD_SQL.format(c="c")}, false)) AS shielded
        FROM staging.source_record s LEFT JOIN identity.link l ON l.record_id = s.record_id
        LEFT JOIN identity.child c ON c.cp_id = l.cp_id
        LEFT JOIN identity.record_features f ON f.record_id = s.record_id
        WHERE s.record_id = ANY(:ids)"""), {"ids": record_ids}).mappings()
    return {int(r["record_id"]): dict(r) for r in rows}


def pair_detail(conn: Connection, pair_id: int) -> dict[str, Any] | None:
    """A review pair with its two records, the model's explanation, and each child's other records."""
    pair = conn.execute(text("""SELECT pair_id, record_a, record_b, match_weight, reason, explanation, status,
                                       run_id, created_at
                                FROM identity.review_pair WHERE pair_id = :p"""), {"p": pair_id}).mappings().first()
    if pair is None:
        return None
    records = source_records(conn, [int(pair["record_a"]), int(pair["record_b"])])
    siblings: dict[int, list[dict[str, Any]]] = {}
    for record_id in (int(pair["record_a"]), int(pair["record_b"])):
        cp_id = records[record_id]["cp_id"]
        others = [r for r in _records_of(conn, cp_id) if r != record_id] if cp_id else []
        siblings[record_id] = list(source_records(conn, others).values())
    actions = conn.execute(text("""SELECT action_id, kind, steward, decided_at, undone_at FROM identity.steward_action
                                   WHERE pair_id = :p ORDER BY action_id"""), {"p": pair_id}).mappings().all()
    return {**dict(pair), "records": records, "siblings": siblings, "actions": [dict(a) for a in actions]}


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


MASKED_ID = "a shielded child"
"""What a steward not entitled to shielded children sees in place of a shielded or held child's ID."""


def identity_history(conn: Connection, cp_id: str, *, may_see_shielded: bool = True) -> dict[str, Any] | None:
    """One child: status, its records by feed, and every change of its records and who made it.

    ``shielded``: the child is shielded or held (``SHIELDED_CHILD_SQL``). For a steward not entitled to
    shielded children (``may_see_shielded=False``) every other shielded or held child's ID in the history
    reads ``MASKED_ID``, and an action touching one keeps no reason (free text may say where she is).
    """
    child = conn.execute(text("SELECT cp_id, status, superseded_by, created_at FROM identity.child "
                              "WHERE cp_id = :c"), {"c": cp_id}).mappings().first()
    if child is None:
        return None
    records = source_records(conn, _records_of(conn, cp_id))
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records.values(), key=lambda r: (r["feed"], r["record_id"])):
        by_feed.setdefault(record["feed"], []).append(record)
    history = [dict(r) for r in conn.execute(text("""
        SELECT h.change_id, h.changed_at, h.record_id, h.old_cp_id, h.new_cp_id, h.method, h.run_id,
               a.action_id, a.kind, a.steward, a.undone_at
        FROM identity.link_history h
        LEFT JOIN identity.steward_action a ON h.run_id = 'steward:' || a.action_id
        WHERE h.old_cp_id = :c OR h.new_cp_id = :c ORDER BY h.change_id"""), {"c": cp_id}).mappings()]
    actions = [dict(r) for r in conn.execute(text("""
        SELECT action_id, kind, steward, reason, decided_at, undone_at, undoes, pair_id, cp_ids
        FROM identity.steward_action WHERE :c = ANY(cp_ids) ORDER BY action_id"""), {"c": cp_id}).mappings()]
    merged_in = [str(c) for c in conn.execute(text(
        "SELECT cp_id FROM identity.child WHERE superseded_by = :c ORDER BY cp_id"), {"c": cp_id}).scalars()]
    named = {cp_id, *merged_in, *(c for h in history for c in (h["old_cp_id"], h["new_cp_id"]) if c),
             *(c for a in actions for c in a["cp_ids"] or [])}
    if child["superseded_by"]:
        named.add(str(child["superseded_by"]))
    hidden = shielded_ids(conn, sorted(named))
    shielded = cp_id in hidden or any(r["restricted"] for r in records.values())
    if not may_see_shielded:
        def mask(value: str | None) -> str | None:
            return MASKED_ID if value in hidden else value
        history = [{**h, "old_cp_id": mask(h["old_cp_id"]), "new_cp_id": mask(h["new_cp_id"])} for h in history]
        actions = [{**a, "cp_ids": [mask(c) for c in a["cp_ids"] or []],
                    "reason": None if hidden & set(a["cp_ids"] or []) else a["reason"]} for a in actions]
        merged_in = [m for m in merged_in if m not in hidden]
    return {**dict(child), "by_feed": by_feed, "history": history, "actions": actions, "merged_in": merged_in,
            "shielded": shielded}


def action_cp_ids(conn: Connection, action_id: int) -> list[str]:
    """The ContactPoint IDs an action named (empty for an unknown action)."""
    ids = conn.execute(text("SELECT cp_ids FROM identity.steward_action WHERE action_id = :a"),
                       {"a": action_id}).scalar()
    return [str(c) for c in ids or []]
