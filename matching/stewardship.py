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

The console and the ``contactpoint review`` commands call these functions; none of them commits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, text

from matching.identity import new_cp_ids
from matching.settings import THRESHOLDS
from warehouse import audit
from warehouse.changes import ID_SPLIT, IDS_MERGED, MERGE_UNDONE, SPLIT_UNDONE, record_change
from warehouse.staging import QUEUE

DECISIONS = ("must_link", "cannot_link")
ACTIONS = ("link", "keep_apart", "split", "merge", "undo")
STEWARD_METHOD = "steward"
"""``identity.link.method`` (and ``link_history.method``) of a record moved by a steward's action."""


class StewardshipError(ValueError):
    """An action that cannot be taken as asked; the message says why, in the steward's words."""


class NotEntitled(StewardshipError):
    """The action touches a shielded or held child and the steward is not entitled to shielded children."""


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


def require_entitled(conn: Connection, steward: str, cp_ids: list[str]) -> None:
    """Refuse (:class:`NotEntitled`) an action on any shielded or held child by a steward not entitled to
    shielded children, whoever calls: the console, the command line or a script."""
    if shielded_ids(conn, [c for c in cp_ids if c]) and not may_see_shielded(conn, steward):
        raise NotEntitled(SHIELDED_ONLY)


@dataclass(frozen=True)
class ActionOutcome:
    """What an action did: its id, the decisions it wrote, and the IDs it kept, retired or created."""

    action_id: int
    kind: str
    decision_ids: list[int] = field(default_factory=list)
    kept_cp_id: str | None = None
    retired_cp_id: str | None = None
    new_cp_id: str | None = None


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


def _child_of(conn: Connection, record_id: int) -> str:
    cp_id = conn.execute(text("SELECT cp_id FROM identity.link WHERE record_id = :r"), {"r": record_id}).scalar()
    if cp_id is None:
        raise StewardshipError(f"record {record_id} is not linked to a child yet")
    return str(cp_id)


def _records_of(conn: Connection, cp_id: str) -> list[int]:
    return [int(r) for r in conn.execute(text(
        "SELECT record_id FROM identity.link WHERE cp_id = :c ORDER BY record_id"), {"c": cp_id}).scalars()]


def _status(conn: Connection, cp_id: str) -> str:
    status = conn.execute(text("SELECT status FROM identity.child WHERE cp_id = :c FOR UPDATE"),
                          {"c": cp_id}).scalar()
    if status is None:
        raise StewardshipError(f"no child {cp_id}")
    return str(status)


def _role(conn: Connection, steward: str) -> str:
    role = conn.execute(text("SELECT role FROM access.app_user WHERE username = :u"), {"u": steward}).scalar()
    return str(role) if role else "steward"


def _new_child(conn: Connection) -> str:
    return new_cp_ids(conn, 1)[0]


def _move(conn: Connection, records: list[int], to_cp_id: str, action_id: int) -> None:
    """Move records to a child, in ``link_history`` under the action (``run_id`` = ``steward:<id>``)."""
    if not records:
        return
    run_id = f"{STEWARD_METHOD}:{action_id}"
    conn.execute(text("""
        INSERT INTO identity.link_history (record_id, old_cp_id, new_cp_id, method, run_id)
        SELECT l.record_id, l.cp_id, :to, :m, :run FROM identity.link l
        WHERE l.record_id = ANY(:records) AND l.cp_id <> :to"""),
        {"records": records, "to": to_cp_id, "m": STEWARD_METHOD, "run": run_id})
    conn.execute(text("""UPDATE identity.link SET cp_id = :to, method = :m, run_id = :run, weight = NULL,
                                linked_at = now()
                         WHERE record_id = ANY(:records)"""),
                 {"records": records, "to": to_cp_id, "m": STEWARD_METHOD, "run": run_id})


def _needs_publish(conn: Connection, cp_ids: list[str]) -> None:
    """The next publish recomputes these children (and drops any that are no longer active)."""
    conn.execute(text(QUEUE.format("SELECT record_id FROM identity.link WHERE cp_id = ANY(:c)")), {"c": cp_ids})


def _release_holds(conn: Connection, cp_ids: list[str]) -> list[str]:
    """Held children among ``cp_ids`` with no open question left about a shielded child become active.

    The linker holds a child that might be a shielded child (``matching.link.hold_possible_shielded``);
    once a steward has answered every such pair, the child may be published.
    """
    released = [str(c) for c in conn.execute(text("""
        UPDATE identity.child c SET status = 'active'
        WHERE c.status = 'held' AND c.cp_id = ANY(:c) AND NOT EXISTS (
            SELECT 1 FROM identity.review_pair p
            JOIN identity.link la ON la.record_id = p.record_a JOIN identity.link lb ON lb.record_id = p.record_b
            WHERE p.status = 'open' AND la.cp_id <> lb.cp_id AND c.cp_id IN (la.cp_id, lb.cp_id))
        RETURNING c.cp_id"""), {"c": cp_ids}).scalars()]
    if released:
        _needs_publish(conn, released)
    return sorted(released)


def _start_action(conn: Connection, kind: str, *, steward: str, reason: str, cp_ids: list[str],
                  pair_id: int | None = None, undoes: int | None = None) -> int:
    return int(conn.execute(text("""
        INSERT INTO identity.steward_action (kind, steward, reason, cp_ids, pair_id, undoes)
        VALUES (:k, :s, :r, :c, :p, :u) RETURNING action_id"""),
        {"k": kind, "s": steward, "r": _reason(reason), "c": cp_ids, "p": pair_id, "u": undoes}).scalar_one())


def _finish_action(conn: Connection, action_id: int, kind: str, steward: str, changes: dict[str, Any],
                   cp_ids: list[str], **detail: Any) -> None:
    """Keep what the action changed and audit it (ids only: the reason stays in the action's row)."""
    conn.execute(text("UPDATE identity.steward_action SET changes = CAST(:x AS jsonb), cp_ids = :c "
                      "WHERE action_id = :a"),
                 {"x": json.dumps(changes), "c": cp_ids, "a": action_id})
    audit.append(conn, username=steward, role=_role(conn, steward), action=f"steward_{kind}",
                 cp_id=cp_ids[0] if cp_ids else None,
                 detail={"action_id": action_id, "cp_ids": cp_ids, **detail})


def _merge(conn: Connection, kept: str, retired: str, action_id: int) -> dict[str, Any]:
    """Move every record of ``retired`` to ``kept`` and retire the ID; returns what changed, for an undo."""
    statuses = {"kept_status": _status(conn, kept), "retired_status": _status(conn, retired)}
    moved = _records_of(conn, retired)
    _move(conn, moved, kept, action_id)
    conn.execute(text("UPDATE identity.child SET status = 'merged', superseded_by = :k WHERE cp_id = :r"),
                 {"k": kept, "r": retired})
    if "held" in statuses.values():
        # The hold follows the records: the merged child might be a shielded child until every open
        # question about those records is answered (``_release_holds`` then lets it go).
        conn.execute(text("UPDATE identity.child SET status = 'held' WHERE cp_id = :k AND status = 'active'"),
                     {"k": kept})
    _needs_publish(conn, [kept])
    record_change(conn, IDS_MERGED, kept, retired)
    return {"kept": kept, "retired": retired, "moved": moved, **statuses}


def _bind(conn: Connection, kept: str, retired: str, *, steward: str, reason: str, action_id: int,
          already: tuple[int, int] | None = None) -> list[int]:
    """Must-links from the kept child's first record to every other record of both children.

    The steward judged the merged child as a whole: a full re-link regroups records from scratch, and
    without these the linker could part records of either child again (a must-link between two
    records binds only those two), which would change IDs the steward meant to keep.
    """
    records = sorted(set(_records_of(conn, kept)) | set(_records_of(conn, retired)))
    anchor = records[0]
    skip = {tuple(sorted(already))} if already else set()
    return [record_decision(conn, anchor, record, "must_link", steward=steward, reason=reason, action_id=action_id)
            for record in records[1:] if tuple(sorted((anchor, record))) not in skip]


def _open_pair(conn: Connection, pair_id: int) -> tuple[int, int]:
    row = conn.execute(text("SELECT record_a, record_b, status FROM identity.review_pair WHERE pair_id = :p "
                            "FOR UPDATE"), {"p": pair_id}).first()
    if row is None:
        raise StewardshipError(f"no review pair {pair_id}")
    if row.status != "open":
        raise StewardshipError(f"pair {pair_id} is already decided: undo that action first")
    return int(row.record_a), int(row.record_b)


# --- the actions -------------------------------------------------------------------------------------------

def link_pair(conn: Connection, pair_id: int, *, steward: str, reason: str) -> ActionOutcome:
    """The two records of a review pair are one child: a must-link, and their two children merge now.

    The merge keeps the older ContactPoint ID; the other is retired, superseded by it; must-links bind
    all the merged child's records (``_bind``).
    """
    record_a, record_b = _open_pair(conn, pair_id)
    cp_a, cp_b = _child_of(conn, record_a), _child_of(conn, record_b)
    require_entitled(conn, steward, [cp_a, cp_b])
    action_id = _start_action(conn, "link", steward=steward, reason=reason, cp_ids=[cp_a, cp_b], pair_id=pair_id)
    decision = record_decision(conn, record_a, record_b, "must_link", steward=steward, reason=reason,
                               action_id=action_id)
    decisions = [decision]
    changes: dict[str, Any] = {"pair_id": pair_id}
    kept = retired = None
    if cp_a != cp_b:
        kept, retired = older_first(conn, cp_a, cp_b)
        decisions += _bind(conn, kept, retired, steward=steward, reason=reason, action_id=action_id,
                           already=(record_a, record_b))
        changes.update(_merge(conn, kept, retired, action_id))
    changes["released"] = _release_holds(conn, [c for c in (cp_a, cp_b) if c != retired])
    cp_ids = [kept, retired] if kept and retired else [cp_a]
    _finish_action(conn, action_id, "link", steward, changes, cp_ids, pair_id=pair_id,
                   record_ids=[record_a, record_b])
    return ActionOutcome(action_id, "link", decisions, kept_cp_id=kept, retired_cp_id=retired)


def keep_apart(conn: Connection, pair_id: int, *, steward: str, reason: str) -> ActionOutcome:
    """The two records of a review pair are different children: a cannot-link; their children stay apart."""
    record_a, record_b = _open_pair(conn, pair_id)
    cp_a, cp_b = _child_of(conn, record_a), _child_of(conn, record_b)
    if cp_a == cp_b:
        raise StewardshipError(f"both records already belong to {cp_a}: split a record out of that child instead")
    require_entitled(conn, steward, [cp_a, cp_b])
    action_id = _start_action(conn, "keep_apart", steward=steward, reason=reason, cp_ids=[cp_a, cp_b],
                              pair_id=pair_id)
    decision = record_decision(conn, record_a, record_b, "cannot_link", steward=steward, reason=reason,
                               action_id=action_id)
    changes = {"pair_id": pair_id, "released": _release_holds(conn, [cp_a, cp_b])}
    _finish_action(conn, action_id, "keep_apart", steward, changes, [cp_a, cp_b], pair_id=pair_id,
                   record_ids=[record_a, record_b])
    return ActionOutcome(action_id, "keep_apart", [decision])


def split_record(conn: Connection, record_id: int, *, steward: str, reason: str) -> ActionOutcome:
    """A record is not the child it is linked to: it gets a new ContactPoint ID of its own, with a
    cannot-link to each of that child's other records, so no later run puts it back."""
    source = _child_of(conn, record_id)
    status = _status(conn, source)
    require_entitled(conn, steward, [source])
    others = [r for r in _records_of(conn, source) if r != record_id]
    if not others:
        raise StewardshipError(f"record {record_id} is the only record of {source}: there is nothing to split")
    action_id = _start_action(conn, "split", steward=steward, reason=reason, cp_ids=[source])
    decisions = [record_decision(conn, record_id, other, "cannot_link", steward=steward, reason=reason,
                                 action_id=action_id) for other in others]
    new = _new_child(conn)
    if status == "held":
        conn.execute(text("UPDATE identity.child SET status = 'held' WHERE cp_id = :c"), {"c": new})
    _move(conn, [record_id], new, action_id)
    _needs_publish(conn, [source, new])
    record_change(conn, ID_SPLIT, source, new)
    changes = {"from": source, "new": new, "record": record_id}
    _finish_action(conn, action_id, "split", steward, changes, [source, new], record_ids=[record_id])
    return ActionOutcome(action_id, "split", decisions, kept_cp_id=source, new_cp_id=new)


def merge_children(conn: Connection, cp_a: str, cp_b: str, *, steward: str, reason: str) -> ActionOutcome:
    """Two children are one: the older ID is kept, the other retired (superseded by it), its records
    moved, with must-links binding all their records for every later run (see ``_bind``)."""
    cp_a, cp_b = cp_a.strip().upper(), cp_b.strip().upper()
    if cp_a == cp_b:
        raise StewardshipError("a merge needs two different children")
    kept, retired = older_first(conn, cp_a, cp_b)
    for cp_id in (kept, retired):
        if _status(conn, cp_id) not in ("active", "held"):
            raise StewardshipError(f"{cp_id} is no longer a current child (merged or archived)")
    require_entitled(conn, steward, [kept, retired])
    retired_records = _records_of(conn, retired)
    if not _records_of(conn, kept) or not retired_records:
        raise StewardshipError("both children need a linked record to be merged")
    action_id = _start_action(conn, "merge", steward=steward, reason=reason, cp_ids=[kept, retired])
    decisions = _bind(conn, kept, retired, steward=steward, reason=reason, action_id=action_id)
    changes = _merge(conn, kept, retired, action_id)
    changes["released"] = _release_holds(conn, [kept])
    _finish_action(conn, action_id, "merge", steward, changes, [kept, retired], record_ids=retired_records)
    return ActionOutcome(action_id, "merge", decisions, kept_cp_id=kept, retired_cp_id=retired)


def undo_action(conn: Connection, action_id: int, *, steward: str, reason: str) -> ActionOutcome:
    """Undo an earlier action: withdraw its decisions and put back exactly what it changed.

    A merge's records go back to the retired ID, which is current again; a split's record goes back to
    its child and the ID the split made is retired into it (IDs are never reused); a decided pair is
    open for review again; a child released from its hold is held again. Refused when a later change
    (another action, a re-link) moved those records since: undo that first.
    """
    row = conn.execute(text("""SELECT kind, undone_at, changes FROM identity.steward_action
                               WHERE action_id = :a FOR UPDATE"""), {"a": action_id}).first()
    if row is None:
        raise StewardshipError(f"no steward action {action_id}")
    if row.kind == "undo":
        raise StewardshipError("an undo cannot be undone: take the action again instead")
    if row.undone_at is not None:
        raise StewardshipError(f"action {action_id} is already undone")
    changes: dict[str, Any] = dict(row.changes or {})
    touched = [str(c) for key in ("kept", "retired", "from", "new") if changes.get(key) for c in [changes[key]]]
    require_entitled(conn, steward, touched + action_cp_ids(conn, action_id) + list(changes.get("released") or []))
    if "retired" in changes:
        _check_unmerge(conn, changes)
    elif "new" in changes:
        _check_unsplit(conn, changes)
    undo_id = _start_action(conn, "undo", steward=steward, reason=reason, cp_ids=[], undoes=action_id)
    conn.execute(text("UPDATE identity.steward_decision SET undone_at = now() WHERE action_id = :a"),
                 {"a": action_id})
    conn.execute(text("UPDATE identity.steward_action SET undone_at = now() WHERE action_id = :a"),
                 {"a": action_id})
    cp_ids: list[str] = []
    if "retired" in changes:
        cp_ids = _unmerge(conn, changes, undo_id)
    elif "new" in changes:
        cp_ids = _unsplit(conn, changes, undo_id)
    if changes.get("released"):
        conn.execute(text("UPDATE identity.child SET status = 'held' WHERE cp_id = ANY(:c) AND status = 'active'"),
                     {"c": changes["released"]})
        _needs_publish(conn, changes["released"])
        cp_ids = cp_ids or list(changes["released"])
    if changes.get("pair_id") is not None:
        conn.execute(text("UPDATE identity.review_pair SET status = 'open' WHERE pair_id = :p"),
                     {"p": changes["pair_id"]})
        if not cp_ids:
            cp_ids = [str(c) for c in conn.execute(text("""
                SELECT l.cp_id FROM identity.review_pair p JOIN identity.link l
                  ON l.record_id IN (p.record_a, p.record_b) WHERE p.pair_id = :p ORDER BY l.record_id"""),
                {"p": changes["pair_id"]}).scalars()]
    _finish_action(conn, undo_id, "undo", steward, {"undid": action_id}, cp_ids, undoes=action_id,
                   undone_kind=row.kind)
    return ActionOutcome(undo_id, "undo", kept_cp_id=changes.get("kept") or changes.get("from"),
                         retired_cp_id=changes.get("retired") or changes.get("new"))


def _check_unmerge(conn: Connection, changes: dict[str, Any]) -> None:
    """Refuse before anything is written when the merged child changed since (the caller may go on)."""
    kept, retired, moved = str(changes["kept"]), str(changes["retired"]), [int(r) for r in changes["moved"]]
    state = conn.execute(text("SELECT status, superseded_by FROM identity.child WHERE cp_id = :r FOR UPDATE"),
                         {"r": retired}).first()
    still_there = conn.execute(text("SELECT count(*) FROM identity.link WHERE record_id = ANY(:m) AND cp_id = :k"),
                               {"m": moved, "k": kept}).scalar_one()
    if state is None or state.status != "merged" or state.superseded_by != kept or still_there != len(moved):
        raise StewardshipError(f"{kept} changed after the merge (a later action or re-link): undo that first")


def _unmerge(conn: Connection, changes: dict[str, Any], undo_id: int) -> list[str]:
    kept, retired, moved = str(changes["kept"]), str(changes["retired"]), [int(r) for r in changes["moved"]]
    conn.execute(text("UPDATE identity.child SET status = :s, superseded_by = NULL WHERE cp_id = :r"),
                 {"s": changes.get("retired_status", "active"), "r": retired})
    if changes.get("kept_status"):
        conn.execute(text("UPDATE identity.child SET status = :s WHERE cp_id = :k AND status IN ('active', 'held')"),
                     {"s": changes["kept_status"], "k": kept})
    _move(conn, moved, retired, undo_id)
    _needs_publish(conn, [kept, retired])
    record_change(conn, MERGE_UNDONE, kept, retired)
    return [kept, retired]


def _check_unsplit(conn: Connection, changes: dict[str, Any]) -> None:
    source, new, record = str(changes["from"]), str(changes["new"]), int(changes["record"])
    if _records_of(conn, new) != [record] or _status(conn, source) not in ("active", "held"):
        raise StewardshipError(f"{new} changed after the split (a later action or re-link): undo that first")


def _unsplit(conn: Connection, changes: dict[str, Any], undo_id: int) -> list[str]:
    source, new, record = str(changes["from"]), str(changes["new"]), int(changes["record"])
    _move(conn, [record], source, undo_id)
    # The split's ID is not reused: it points to the child its record went back to.
    conn.execute(text("UPDATE identity.child SET status = 'merged', superseded_by = :s WHERE cp_id = :n"),
                 {"s": source, "n": new})
    _needs_publish(conn, [source])
    record_change(conn, SPLIT_UNDONE, source, new)
    return [source, new]


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


def entry_pairs(conn: Connection, pair_id: int) -> list[int]:
    """The open record pairs of the entry ``pair_id`` belongs to (every open pair between its two children),
    nearest the link threshold first; just ``pair_id`` when it is not open (its own action says why)."""
    rows = conn.execute(text(_QUEUE_BASE + """
        SELECT o.pair_id FROM open_pair o JOIN open_pair me ON me.pair_id = :pair
          AND least(o.cp_a, o.cp_b) = least(me.cp_a, me.cp_b) AND greatest(o.cp_a, o.cp_b) = greatest(me.cp_a, me.cp_b)
        ORDER BY o.pair_id = :pair DESC, o.distance, o.pair_id"""),
        {"link_threshold": THRESHOLDS.link, "feed": None, "la": None, "all_shielded": True, "pair": pair_id}
    ).scalars().all()
    return [int(p) for p in rows] or [pair_id]


def for_each_entry_pair(conn: Connection, pair_id: int,
                        action: Callable[[Connection, int], ActionOutcome]) -> list[ActionOutcome]:
    """Answer an entry: the per-pair ``action`` on every open record pair between its two children, ``pair_id``
    first (a link merges the children there; its must-links may close some of the others, which are skipped)."""
    outcomes = []
    for pair in entry_pairs(conn, pair_id):
        if pair != pair_id and conn.execute(text("SELECT status FROM identity.review_pair WHERE pair_id = :p"),
                                            {"p": pair}).scalar() != "open":
            continue
        outcomes.append(action(conn, pair))
    return outcomes


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
