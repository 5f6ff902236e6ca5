"""The review queue as the store answers it: open pairs and entries (pairs of children), with their counts.

``matching.stewardship`` says what the queue is for and passes the model's link threshold; the order and
the masking of shielded pairs for stewards not entitled to them are decided in one statement each
(``warehouse/sql/functions/11_console_review.sql``; the console reads them through its session).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection, text

from warehouse.console_reads import rows as read_rows


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


_QUEUE_BASE = """
    WITH open_pair AS (SELECT * FROM console.open_pairs(:link_threshold)),
    wanted AS (
        SELECT * FROM open_pair
        WHERE (CAST(:feed AS text) IS NULL OR :feed IN (feed_a, feed_b))
          AND (CAST(:la AS text) IS NULL OR :la IN (la_a, la_b))
          -- A filter must not tell a steward without the entitlement what the list hides of a shielded pair.
          AND (CAST(:all_shielded AS boolean) OR NOT shielded
               OR (CAST(:feed AS text) IS NULL AND CAST(:la AS text) IS NULL)))
"""
"""Open pairs between two children (``console.open_pairs``, migration 0017: feeds, local authorities,
shielding, distance to the link threshold), narrowed by the filter."""


def review_queue(conn: Connection, flt: QueueFilter = QueueFilter(), *, link_threshold: float, page: int = 1,
                 per_page: int = 50, may_see_shielded: bool = True) -> QueuePage:
    """Open review pairs, most pressing first, with counts for the filters.

    Order: pairs touching a shielded child first: until a steward answers, the other child is held out
    of the directory (``warehouse.identity`` holds it), so a child may be missing for practitioners, and only
    some stewards may answer them. Then by how close the match weight is to the *link* threshold
    (``matching.settings.link_threshold``), nearest first: those pairs are the ones the model nearly
    linked (or would have linked but for a constraint), so they are the likeliest to be one child shown
    twice, which splits a child's services across two directory entries; pairs near the review floor
    are the likeliest to be two children, who are already apart. Ties by pair id, so pages are stable.
    Pairs whose records are now in one child (an action since) are no longer questions and are left out.

    For a steward not entitled to shielded children (``may_see_shielded=False``) a shielded pair (one
    touching a shielded or held child) counts only in the unfiltered totals: it is never in a filtered
    list nor in the per-feed and per-authority counts, which would tell where a shielded child is known.
    """
    params = {"link_threshold": link_threshold, "feed": flt.feed, "la": flt.local_authority,
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


def review_entries(conn: Connection, flt: QueueFilter = QueueFilter(), *, link_threshold: float, page: int = 1,
                   per_page: int = 50, may_see_shielded: bool = True, session: str | None = None) -> EntryPage:
    """The review queue as stewards answer it: one entry per pair of children, in ``review_queue``'s order.

    A pair of children often has several open record pairs (twins on five feeds: school, GP, ...; both
    directions A/B and B/A). They are one question, so they are one entry: ordered by its most pressing
    record pair (shielded first, then nearest the link threshold), showing every open record pair between
    the two children. The filter picks entries by any of their record pairs; an entry shows and decides all.

    For a steward not entitled to shielded children a shielded entry counts only in the unfiltered totals,
    as in ``review_queue``, and comes without its children's IDs. The statement is the database's
    (``console.review_entry_rows``); with ``session`` (the console) the session's steward and entitlement
    are checked there, and ``may_see_shielded`` is the session's.
    """
    params = {"feed": flt.feed, "la": flt.local_authority, "all": may_see_shielded, "t": link_threshold,
              "limit": per_page, "offset": max(page - 1, 0) * per_page}
    result = read_rows(conn, session, "review_entries(:session, :feed, :la, :t, :limit, :offset)",
                  "review_entry_rows(:feed, :la, :all, :t, :limit, :offset)", params)
    leads = sorted((r for r in result if r["kind"] == "row"), key=lambda r: int(r["n"]))
    counts = [r for r in result if r["kind"] != "row"]
    wanted_ids = [int(p) for r in leads for p in r["pair_ids"]]
    pairs: dict[int, QueueEntry] = {}
    if wanted_ids:
        # Only this page's pairs, by key: the queue's common table is not evaluated a third time.
        for r in read_rows(conn, session, "review_pairs(:session, :ids, :t)", "review_pair_rows(:ids, :all, :t)",
                      {"ids": wanted_ids, "all": may_see_shielded, "t": link_threshold}):
            pairs[int(r["pair_id"])] = QueueEntry(int(r["pair_id"]), int(r["record_a"]), int(r["record_b"]),
                                                  r["cp_a"], r["cp_b"], r["feed_a"], r["feed_b"],
                                                  float(r["match_weight"]), r["reason"], False, float(r["distance"]))
    entries = []
    for r in leads:
        behind = [replace(pairs[int(p)], shielded=bool(r["shielded"])) for p in r["pair_ids"]]
        entries.append(ReviewEntry(lead=behind[0], pairs=behind, cp_a=r["child_1"], cp_b=r["child_2"],
                                   feeds=sorted({f for p in behind for f in (p.feed_a, p.feed_b) if f}),
                                   shielded=bool(r["shielded"])))

    def count(kind: str) -> int:
        return next((int(c["n"]) for c in counts if c["kind"] == kind), 0)

    return EntryPage(entries=entries, total=count("total"), shielded=count("shielded"),
                     record_pairs=count("record_pairs"),
                     by_feed=dict(sorted((str(c["key"]), int(c["n"])) for c in counts if c["kind"] == "feed")),
                     by_local_authority=dict(sorted((str(c["key"]), int(c["n"])) for c in counts
                                                    if c["kind"] == "la")))
