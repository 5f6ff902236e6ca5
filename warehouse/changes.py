"""The change feed front ends poll: signal-only events, a kind and ContactPoint IDs, never a child's data.

A front end that sees an event re-reads the child through the read contract, so masking and
entitlements apply there and cannot leak through the feed. The cursor is the event's number; events
are appended in the same transaction as the change they signal, so a rolled-back change leaves none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, text

# The kinds migration 0006 allows; one place for callers to name them.
CHILD_CHANGED: Final = "child_changed"
IDS_MERGED: Final = "ids_merged"
ID_SPLIT: Final = "id_split"
MERGE_UNDONE: Final = "merge_undone"
SPLIT_UNDONE: Final = "split_undone"
ID_ARCHIVED: Final = "id_archived"
KINDS: Final = frozenset({CHILD_CHANGED, IDS_MERGED, ID_SPLIT, MERGE_UNDONE, SPLIT_UNDONE, ID_ARCHIVED})

MAX_PAGE: Final = 1000


@dataclass(frozen=True)
class ChangeEvent:
    """One event: ``cp_id`` is the child concerned (for a merge, the ID kept; for a split, the ID split
    from); ``other_cp_id`` the second ID when there is one (the retired ID, the new ID)."""

    change_id: int
    kind: str
    cp_id: str
    other_cp_id: str | None
    recorded_at: datetime


def record_change(conn: Connection, kind: str, cp_id: str, other_cp_id: str | None = None) -> int:
    """Append one event in the caller's transaction and return its cursor.

    ``ids_merged``: ``cp_id`` kept, ``other_cp_id`` retired. ``id_split``: ``cp_id`` the child a record
    left, ``other_cp_id`` the new child. ``merge_undone``/``split_undone``: the two IDs as the decision
    undone named them. ``child_changed``/``id_archived``: ``cp_id`` only.

    A merge or split already signalled (and not undone since) is not signalled twice: its cursor is
    returned, so a steward's merge and the linker carrying it out give front ends one event. Holds a
    lock on the feed until the caller's transaction ends (events commit in cursor order).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown change kind {kind!r}")
    return int(conn.execute(
        text("SELECT directory.append_change(:kind, :cp_id, :other)"),
        {"kind": kind, "cp_id": cp_id, "other": other_cp_id},
    ).scalar_one())


def changes_after(conn: Connection, cursor: int, limit: int = 100) -> tuple[list[ChangeEvent], int]:
    """Events after ``cursor`` in order, at most ``limit``, and the cursor to pass next time.

    The next cursor is the last event returned, or ``cursor`` itself when nothing is new, so a poller
    can always hand back what it was given. Reads through ``directory.changes_after`` (migration 0006),
    which the reader role may execute although it cannot read the table.
    """
    limit = max(1, min(limit, MAX_PAGE))
    rows = conn.execute(
        text("""SELECT change_id, kind, cp_id, other_cp_id, recorded_at
                FROM directory.changes_after(:cursor, :limit)"""),
        {"cursor": cursor, "limit": limit},
    ).all()
    events = [
        ChangeEvent(int(r.change_id), r.kind, r.cp_id, r.other_cp_id, r.recorded_at) for r in rows
    ]
    return events, (events[-1].change_id if events else cursor)
