"""What ``contactpoint review`` and ``contactpoint model`` do, for stewards who script: the same queue, the
same actions and the same promotion as the console, with the console's checks on who may act.

The command line has no sign-in of its own (whoever runs it can reach the store), so it names the steward
and these functions check that the name is an enabled steward, and, for a pair touching a shielded
child, one entitled to shielded children, exactly as the console would refuse them. Output lines carry
record ids, ContactPoint IDs and weights only, never a child's details.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from contactpoint.roles import Role
from matching import lifecycle, stewardship
from warehouse.users import standing

SHIELDED_ONLY = "this pair concerns a shielded child: it needs a steward entitled to see shielded children"


class NotAllowed(PermissionError):
    """The named person may not take this action."""


def steward(conn: Connection, username: str) -> dict[str, Any]:
    """The named user, if an enabled steward; NotAllowed otherwise."""
    row = standing(conn, username)
    if row is None:
        raise NotAllowed(f"no user {username!r}")
    if row["disabled"] or row["role"] != Role.STEWARD:
        raise NotAllowed(f"{username} is not an enabled steward")
    return row


def entry_lines(queue: stewardship.EntryPage, *, page: int, per_page: int) -> list[str]:
    """The grouped review queue as tab-separated lines (one per pair of children), in the console's order."""
    lines = ["entry\tcp_a\tcp_b\tpairs\trecord_pairs\tfeeds\tweight\tshielded\treason"]
    lines += [f"{e.pair_id}\t{e.cp_a}\t{e.cp_b}\t{len(e.pairs)}\t"
              f"{','.join(f'{p.record_a}:{p.record_b}' for p in e.pairs)}\t{'+'.join(e.feeds)}\t"
              f"{e.lead.match_weight:.2f}\t{'yes' if e.shielded else 'no'}\t{e.lead.reason}" for e in queue.entries]
    pages = max(1, -(-queue.total // per_page))
    lines.append(f"{queue.total} open entr{'y' if queue.total == 1 else 'ies'} (pairs of children; "
                 f"{queue.record_pairs} record pairs), {queue.shielded} touching a shielded child; "
                 f"page {page} of {pages}")
    return lines


def queue_lines(queue: stewardship.QueuePage, *, page: int, per_page: int) -> list[str]:
    """The review queue as tab-separated lines, in the console's order, with its counts."""
    lines = ["pair\trecord_a\trecord_b\tcp_a\tcp_b\tfeeds\tweight\tshielded\treason"]
    lines += [f"{e.pair_id}\t{e.record_a}\t{e.record_b}\t{e.cp_a}\t{e.cp_b}\t{e.feed_a}+{e.feed_b}\t"
              f"{e.match_weight:.2f}\t{'yes' if e.shielded else 'no'}\t{e.reason}" for e in queue.entries]
    pages = max(1, -(-queue.total // per_page))
    lines.append(f"{queue.total} open pair(s), {queue.shielded} touching a shielded child; page {page} of {pages}")
    return lines


def decide_entry(conn: Connection, pair_id: int, decision: str, *, username: str,
                 reason: str) -> list[stewardship.ActionOutcome]:
    """Decide the entry ``pair_id`` belongs to: ``decide`` on every open record pair between its two children."""
    _courtesy_checks(conn, pair_id, decision, username)
    return stewardship.decide_entry(conn, pair_id, decision, steward=username, reason=reason)


def decide(conn: Connection, pair_id: int, decision: str, *, username: str, reason: str) -> stewardship.ActionOutcome:
    """Link or keep apart a review pair as ``username`` (``decision``: ``link`` or ``keep_apart``)."""
    _courtesy_checks(conn, pair_id, decision, username)
    act = stewardship.link_pair if decision == "link" else stewardship.keep_apart
    return act(conn, pair_id, steward=username, reason=reason)


def _courtesy_checks(conn: Connection, pair_id: int, decision: str, username: str) -> None:
    """The console's refusals in the command line's words; the database checks the same again."""
    if decision not in ("link", "keep_apart"):
        raise ValueError("decide --link or --keep-apart")
    who = steward(conn, username)
    pair = stewardship.pair_detail(conn, pair_id)
    if pair is None:
        raise stewardship.StewardshipError(f"no review pair {pair_id}")
    if any(r["shielded"] for r in pair["records"].values()) and not who["may_see_shielded"]:
        raise NotAllowed(SHIELDED_ONLY)


def comparison_lines(comparison: lifecycle.Comparison) -> list[str]:
    """A model comparison as lines: transitions, precision and recall, then examples (record ids, weights)."""
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    def weight(scored: lifecycle.ScoredPair) -> str:
        return "not compared" if scored.weight is None else f"{scored.weight:.2f}"

    lines = [f"{comparison.candidate} against {comparison.current}: {comparison.pairs} labelled or reviewed pairs, "
             f"{comparison.changed} change decision"]
    lines += [f"  {before} -> {after}: {n}" for (before, after), n in sorted(comparison.transitions.items())]
    for matrix in (comparison.current_confusion, comparison.candidate_confusion):
        lines.append(f"  {matrix.version}: {matrix.labelled} labels, precision {pct(matrix.precision)}, "
                     f"recall {pct(matrix.recall)}")
    lines.append("examples (record_a record_b label: current -> candidate):")
    lines += [f"  {c.record_a} {c.record_b} {c.label or 'unlabelled'}: {c.current.decision} ({weight(c.current)}) -> "
              f"{c.candidate.decision} ({weight(c.candidate)})" for c in comparison.examples]
    return lines
