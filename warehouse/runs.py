"""What one run of the pipeline came to, read from the intake registry: where the registry stood before
the run (its watermarks), and each feed's files, duplicates and row counts since."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from warehouse.intake import FileCounts


@dataclass(frozen=True)
class Watermarks:
    """The newest file id and duplicate delivery id: a run's counts are of what came after them."""

    file_id: int
    delivery_id: int


def watermarks(conn: Connection) -> Watermarks:
    """Where the registry stands now, so a summary can count what one run added."""
    row = conn.execute(text("""
        SELECT (SELECT coalesce(max(file_id), 0) FROM intake.file),
               (SELECT coalesce(max(delivery_id), 0) FROM intake.duplicate_delivery)""")).one()
    return Watermarks(int(row[0]), int(row[1]))


@dataclass(kw_only=True)
class FeedCounts(FileCounts):
    """What one feed's files came to in one run (the ``files`` include rejected ones, not duplicates)."""

    feed: str
    files: int = 0
    rejected: int = 0
    duplicates: int = 0
    receipts: int = 0


def feed_counts(conn: Connection, feed: str, since: Watermarks, loaded_ids: list[int], receipts: int) -> FeedCounts:
    """Counts of the files this run registered (or loaded: a crashed run's leftovers) and its duplicates."""
    row = conn.execute(text("""
        SELECT count(*) AS files, count(*) FILTER (WHERE status = 'rejected') AS rejected,
               coalesce(sum(rows_read), 0) AS read, coalesce(sum(rows_loaded), 0) AS loaded,
               coalesce(sum(rows_quarantined), 0) AS quarantined, coalesce(sum(rows_withheld), 0) AS withheld,
               coalesce(sum(rows_out_of_scope), 0) AS out_of_scope, coalesce(sum(rows_warned), 0) AS warned
        FROM intake.file WHERE feed = :feed AND (file_id > :after OR file_id = ANY(:loaded))"""),
        {"feed": feed, "after": since.file_id, "loaded": loaded_ids}).one()
    duplicates = conn.execute(text("""
        SELECT count(*) FROM intake.duplicate_delivery d JOIN intake.file f USING (file_id)
        WHERE f.feed = :feed AND d.delivery_id > :after"""), {"feed": feed, "after": since.delivery_id}).scalar_one()
    return FeedCounts(feed=feed, files=row.files, rejected=row.rejected, duplicates=int(duplicates), read=row.read,
                      loaded=row.loaded, quarantined=row.quarantined, withheld=row.withheld,
                      out_of_scope=row.out_of_scope, warned=row.warned, receipts=receipts)


def feeds_since(conn: Connection, since: Watermarks) -> list[FeedCounts]:
    """:func:`feed_counts` of every feed that ever sent a file, by name: what came after ``since``."""
    feeds = conn.execute(text("SELECT DISTINCT feed FROM intake.file ORDER BY feed")).scalars().all()
    return [feed_counts(conn, feed, since, [], 0) for feed in feeds]


def newest_file_named(conn: Connection, name: str) -> Any | None:
    """The newest file registered under ``name`` (or with that id): file_id, file_name, feed, sender, status."""
    return conn.execute(text("""
        SELECT file_id, file_name, feed, sender, status FROM intake.file
        WHERE file_name = :name OR (:name ~ '^[0-9]{1,18}$' AND file_id = CAST(:name AS bigint))
        ORDER BY file_id DESC LIMIT 1"""), {"name": name}).one_or_none()
