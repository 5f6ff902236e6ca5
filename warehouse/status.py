"""What the store holds, for the command line: files by feed and state and the size of each holding
(``contactpoint status``), and the directory after a run (the demo's summary; what the run added per feed is
``warehouse.runs.feeds_since``).

Counts only: nothing here returns a child's details.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

# The holdings ``contactpoint status`` counts, in the order it prints them.
HOLDINGS = ("staging.source_record", "identity.child", "directory.child", "directory.carer",
            "directory.involvement", "intake.quarantined_row", "intake.duplicate_delivery")


@dataclass(frozen=True)
class FilesInState:
    """A feed's files in one state, and the rows they loaded and quarantined."""

    feed: str
    status: str
    n: int
    loaded: int
    quarantined: int


def files_by_state(conn: Connection) -> list[FilesInState]:
    """Every feed's files by state, feed then state."""
    rows = conn.execute(text("""SELECT feed, status, count(*) AS n, sum(rows_loaded) AS loaded,
                                       sum(rows_quarantined) AS quarantined
                                FROM intake.file GROUP BY feed, status ORDER BY feed, status""")).fetchall()
    return [FilesInState(r.feed, r.status, r.n, r.loaded or 0, r.quarantined or 0) for r in rows]


def holdings(conn: Connection) -> dict[str, int]:
    """Rows in each of ``HOLDINGS``."""
    return {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one() for name in HOLDINGS}


@dataclass(frozen=True)
class DirectoryCounts:
    """How many children, shielded children, current involvements and parents/carers the directory holds."""

    children: int
    shielded: int
    current_involvements: int
    carers: int


def directory_counts(conn: Connection) -> DirectoryCounts:
    """The directory's size now."""
    row = conn.execute(text("""
        SELECT (SELECT count(*) FROM directory.child) AS children,
               (SELECT count(*) FROM directory.child WHERE shielded) AS shielded,
               (SELECT count(*) FROM directory.involvement WHERE ended_on IS NULL) AS current_involvements,
               (SELECT count(*) FROM directory.carer) AS carers""")).one()
    return DirectoryCounts(row.children, row.shielded, row.current_involvements, row.carers)


def archived_by_reason(conn: Connection) -> list[tuple[str, int]]:
    """(leave rule, children) of the archive, by rule."""
    rows = conn.execute(text("SELECT reason, count(*) FROM archive.child GROUP BY reason ORDER BY reason")).all()
    return [(reason, n) for reason, n in rows]
