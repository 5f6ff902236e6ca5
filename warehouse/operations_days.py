"""The intake by day, for the operations console: each feed's daily volumes and the day at a glance.

Read-only, through the database's own functions as ``warehouse.operations`` reads (with ``session``, as the
console's signed-in user); figures only, never a child's details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection

from warehouse.console_reads import rows as read_rows


@dataclass(frozen=True)
class DailyVolume:
    """What one feed sent on one day: rows read and quarantined (rejected files' rows count as read)."""

    feed: str
    day: date
    files: int
    read: int
    quarantined: int
    rejected_files: int

    @property
    def quarantine_rate(self) -> float:
        """Share of the day's rows that were quarantined (0 on a day without rows)."""
        return self.quarantined / self.read if self.read else 0.0


def daily_volumes(conn: Connection, *, days: int = 30, session: str | None = None) -> dict[str, list[DailyVolume]]:
    """Per feed, one entry for each of the ``days`` days up to the latest day any file arrived (quiet days as
    zeros, so a chart shows a silent sender as a gap, not as a shorter line)."""
    rows = read_rows(conn, session, "daily_volumes(:session, :days)", "daily_volume_rows(:days)", {"days": days})
    if not rows:
        return {}
    last = max(r["day"] for r in rows)  # the latest day any file arrived always has a row
    first = last - timedelta(days=days - 1)
    seen = {(r["feed"], r["day"]): r for r in rows}
    feeds = sorted({feed for feed, _ in seen})
    out: dict[str, list[DailyVolume]] = {}
    for feed in feeds:
        series = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            r = seen.get((feed, day))
            series.append(DailyVolume(feed, day, int(r["files"]), int(r["read"]), int(r["quarantined"]),
                                      int(r["rejected_files"])) if r else DailyVolume(feed, day, 0, 0, 0, 0))
        out[feed] = series
    return out


@dataclass(frozen=True)
class FeedDay:
    """One feed's intake over the last 24 hours."""

    feed: str
    files: int
    rejected: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_withheld: int


@dataclass(frozen=True)
class Glance:
    """The day at a glance for the console's home: what came in, what is stuck, when the directory last moved."""

    feeds: list[FeedDay]
    waiting_files: int
    quarantined_rows: int
    last_link: datetime | None
    last_publish: datetime | None

    @property
    def files(self) -> int:
        """Files received in the last 24 hours, every feed."""
        return sum(f.files for f in self.feeds)

    @property
    def rejected(self) -> int:
        """Files refused whole in the last 24 hours."""
        return sum(f.rejected for f in self.feeds)


def day_at_a_glance(conn: Connection, *, session: str | None = None) -> Glance:
    """Files and rows of the last 24 hours by feed, files received but not loaded (a failed or pending load),
    quarantined rows not yet released, and the last link and publish (figures only, never a child's details)."""
    feeds = [FeedDay(**r) for r in read_rows(conn, session, "glance_feeds(:session)", "glance_feed_rows()", {})]
    facts = read_rows(conn, session, "glance_facts(:session)", "glance_fact_rows()", {})[0]
    return Glance(feeds, int(facts["waiting"]), int(facts["quarantined"]), facts["last_link"], facts["last_publish"])
