"""Steward decisions: must-link and cannot-link constraints the linker honours on every later run.

A decision names two source records (ordered), who decided, and why; the newest decision for a pair
wins, and an undone decision no longer counts. The review pair it answers is closed.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

DECISIONS = ("must_link", "cannot_link")


def record_decision(conn: Connection, record_a: int, record_b: int, decision: str, *, steward: str,
                    reason: str) -> int:
    """Store a decision about two records; returns its id. A reason is required."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}")
    if not reason or not reason.strip():
        raise ValueError("a steward decision needs a reason")
    if record_a == record_b:
        raise ValueError("a decision needs two different records")
    a, b = sorted((record_a, record_b))
    decision_id = int(conn.execute(text("""
        INSERT INTO identity.steward_decision (record_a, record_b, decision, steward, reason)
        VALUES (:a, :b, :d, :s, :r) RETURNING decision_id"""),
        {"a": a, "b": b, "d": decision, "s": steward, "r": reason.strip()}).scalar_one())
    conn.execute(text("UPDATE identity.review_pair SET status = 'decided' WHERE record_a = :a AND record_b = :b"),
                 {"a": a, "b": b})
    return decision_id


def undo_decision(conn: Connection, decision_id: int) -> None:
    """Withdraw a decision; the linker decides that pair again on its next run."""
    conn.execute(text("UPDATE identity.steward_decision SET undone_at = now() WHERE decision_id = :d"),
                 {"d": decision_id})
