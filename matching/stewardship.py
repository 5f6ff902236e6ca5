"""Steward decisions and actions: what a steward decides, how it changes identities, and how it is undone.

A *decision* names two source records (ordered) as must-link or cannot-link; the newest decision for a
pair that is not undone wins, and the linker honours it on every later run, delta and full
(``warehouse.identity.steward_constraints``). An *action* (``identity.steward_action``, migration 0007) is
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

from sqlalchemy import Connection

from matching.explanation import comparison_weights, model_weights, waterfall
from matching.settings import THRESHOLDS
from warehouse import identity as _identity
from warehouse import review_queue as _queue
from warehouse.review_queue import EntryPage, QueueEntry, QueueFilter, QueuePage, ReviewEntry
from warehouse.steward_actions import ActionOutcome, NotEntitled, StewardshipError, act
from warehouse.steward_history import (
    MASKED_ID,
    RECORD_FIELDS,
    SHIELDED_ONLY,
    action_cp_ids,
    identity_history,
    pair_detail,
    records_of,
    shielded_ids,
    source_records,
)
from warehouse.users import steward_may_see_shielded

__all__ = ["MASKED_ID", "RECORD_FIELDS", "SHIELDED_ONLY", "ActionOutcome", "EntryPage",
           "NotEntitled", "QueueEntry", "QueueFilter", "QueuePage", "ReviewEntry", "StewardshipError",
           "action_cp_ids", "comparison_weights", "identity_history", "model_weights", "pair_detail", "records_of",
           "shielded_ids", "source_records", "waterfall"]

DECISIONS = ("must_link", "cannot_link")
ACTIONS = ("link", "keep_apart", "split", "merge", "undo")
STEWARD_METHOD = "steward"
"""``identity.link.method`` (and ``link_history.method``) of a record moved by a steward's action."""


def may_see_shielded(conn: Connection, steward: str) -> bool:
    """Whether ``steward`` names an enabled steward entitled to shielded children (the database says)."""
    return steward_may_see_shielded(conn, steward)


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
    return _identity.record_decision(conn, a, b, decision, steward=steward, reason=_reason(reason),
                                     action_id=action_id)


def undo_decision(conn: Connection, decision_id: int) -> None:
    """Withdraw one decision; the linker decides that pair again on its next run."""
    _identity.undo_decision(conn, decision_id)


# --- who is older, who is where --------------------------------------------------------------------------

def older_first(conn: Connection, cp_a: str, cp_b: str) -> tuple[str, str]:
    """The two IDs, the one made first (the one a merge keeps) first.

    IDs carry no sequence (``matching.ids``): which child is older is ``identity.child.seq``.
    """
    seqs = _identity.child_ages(conn, (cp_a, cp_b))
    for cp_id in (cp_a, cp_b):
        if cp_id not in seqs:
            raise StewardshipError(f"no child {cp_id}")
    return (cp_a, cp_b) if seqs[cp_a] < seqs[cp_b] else (cp_b, cp_a)


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


# --- what the console and the CLI read (warehouse.review_queue, warehouse.steward_history) -----------------

def review_queue(conn: Connection, flt: QueueFilter | None = None, *, page: int = 1, per_page: int = 50,
                 may_see_shielded: bool = True) -> QueuePage:
    """Open review pairs, most pressing first, with counts for the filters (``warehouse.review_queue``):
    pairs touching a shielded child first, then nearest the model's link threshold."""
    return _queue.review_queue(conn, flt or QueueFilter(), link_threshold=THRESHOLDS.link, page=page,
                               per_page=per_page, may_see_shielded=may_see_shielded)


def review_entries(conn: Connection, flt: QueueFilter | None = None, *, page: int = 1, per_page: int = 50,
                   may_see_shielded: bool = True, session: str | None = None) -> EntryPage:
    """The review queue as stewards answer it: one entry per pair of children, in ``review_queue``'s order.

    ``session``: the console's signed-in steward, whose entitlement the database applies."""
    return _queue.review_entries(conn, flt or QueueFilter(), link_threshold=THRESHOLDS.link, page=page,
                                 per_page=per_page, may_see_shielded=may_see_shielded, session=session)
