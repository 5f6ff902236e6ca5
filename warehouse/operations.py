"""What the data team sees of the intake: files per feed and sender, receipts, quarantined rows (the daily
volumes and the day at a glance are ``warehouse.operations_days``).

Read-only queries over the ``intake`` schema, the database's own
(``warehouse/sql/functions/14_console_operations.sql``): with ``session`` the console reads them through its
signed-in user, whose role the database checks. Nothing here returns a quarantined row's values: a data
team needs the file, the row number, the field and the reason to ask the sender for a fix, and the
values (names, dates of birth) would show a child to someone who has no purpose to see one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from schemas.expectations.docs import safe_label
from warehouse.console_reads import rows as read_rows
from warehouse.console_reads import value as read_value

QUARANTINE_PAGE_SIZE = 50


@dataclass(frozen=True)
class FileSummary:
    """One received file as the feeds page lists it."""

    file_id: int
    feed: str
    sender: str | None
    file_name: str
    status: str
    reason: str | None
    read: int
    loaded: int
    quarantined: int
    withheld: int
    warned: int
    out_of_scope: int
    duplicates: int
    received_at: datetime
    extract_time: datetime | None

    @property
    def rejected(self) -> int:
        """Rows refused with the file: a rejected file loads none of the rows it held (a file refused before
        it was parsed, e.g. not well-formed, has none counted)."""
        return self.read if self.status == "rejected" else 0


@dataclass(frozen=True)
class SenderFiles:
    """One feed and sender: their files, newest first, and the totals over them."""

    feed: str
    sender: str | None
    files: list[FileSummary]

    def total(self, count: str) -> int:
        """The sum of one count (read, loaded, quarantined, withheld, rejected) over the sender's files."""
        return sum(int(getattr(f, count)) for f in self.files)

    @property
    def rejected_files(self) -> int:
        """How many of the sender's files were refused whole."""
        return sum(f.status == "rejected" for f in self.files)


def files_by_sender(conn: Connection, *, feed: str | None = None, per_sender: int = 20) -> list[SenderFiles]:
    """Each feed and sender with their newest ``per_sender`` files, feeds and senders in name order."""
    rows = conn.execute(text("""
        SELECT * FROM (
            SELECT f.file_id, f.feed, f.sender, f.file_name, f.status, f.reason, f.rows_read AS read,
                   f.rows_loaded AS loaded, f.rows_quarantined AS quarantined, f.rows_withheld AS withheld,
                   f.rows_warned AS warned, f.rows_out_of_scope AS out_of_scope, f.received_at, f.extract_time,
                   (SELECT count(*) FROM intake.duplicate_delivery d WHERE d.file_id = f.file_id) AS duplicates,
                   row_number() OVER (PARTITION BY f.feed, f.sender
                                      ORDER BY f.extract_time DESC NULLS LAST, f.file_id DESC) AS newest
            FROM intake.file f WHERE (CAST(:feed AS text) IS NULL OR f.feed = :feed)) ranked
        WHERE newest <= :n ORDER BY feed, sender NULLS LAST, newest"""), {"feed": feed, "n": per_sender}).mappings()
    grouped: dict[tuple[str, str | None], list[FileSummary]] = {}
    for row in rows:
        summary = FileSummary(**{k: v for k, v in row.items() if k != "newest"})
        grouped.setdefault((summary.feed, summary.sender), []).append(summary)
    return [SenderFiles(feed, sender, files) for (feed, sender), files in grouped.items()]


@dataclass(frozen=True)
class SenderSummary:
    """One feed's sender over every file it sent: counts, refusals, and its newest file."""

    feed: str
    sender: str | None
    files: int
    rejected_files: int
    read: int
    loaded: int
    quarantined: int
    withheld: int
    rejected: int
    last_received: datetime
    newest_file_id: int
    newest_file_name: str
    newest_status: str


@dataclass(frozen=True)
class SenderPage:
    """A page of senders (feeds, then senders, in name order) and how many there are in all."""

    senders: list[SenderSummary]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.page_size))


def sender_summaries(conn: Connection, *, feed: str | None = None, page: int = 1,
                     page_size: int = 100, session: str | None = None) -> SenderPage:
    """Per feed and sender, the totals over all their files and their newest file, a page at a time."""
    page = max(1, page)
    rows = read_rows(conn, session, "sender_summaries(:session, :feed, :limit, :offset)",
                     "sender_summary_rows(:feed, :limit, :offset)",
                     {"feed": feed, "limit": page_size, "offset": (page - 1) * page_size})
    total = int(rows[0]["total"]) if rows else 0
    return SenderPage([SenderSummary(**{k: v for k, v in r.items() if k != "total"}) for r in rows], total, page,
                      page_size)


def _files(conn: Connection, session: str | None, *, file_id: int | None = None, feed: str | None = None,
           sender: str | None = None, limit: int = 1, offset: int = 0) -> tuple[list[FileSummary], int]:
    """Files as ``console.file_rows`` finds them (one by id, or a sender's page), and how many match."""
    rows = read_rows(conn, session, "files(:session, :file_id, :feed, :sender, :limit, :offset)",
                     "file_rows(:file_id, :feed, :sender, :limit, :offset)",
                     {"file_id": file_id, "feed": feed, "sender": sender, "limit": limit, "offset": offset})
    files = [FileSummary(**{k: v for k, v in r.items() if k != "total"}) for r in rows if r["file_id"] is not None]
    return files, int(rows[0]["total"]) if rows else 0


def sender_files(conn: Connection, feed: str, sender: str | None, *, page: int = 1,
                 page_size: int = 50, session: str | None = None) -> tuple[list[FileSummary], int]:
    """One sender's files, newest extract first, a page at a time; and how many files the sender sent."""
    page = max(1, page)
    return _files(conn, session, feed=feed, sender=sender, limit=page_size, offset=(page - 1) * page_size)


def file_summary(conn: Connection, file_id: int, *, session: str | None = None) -> FileSummary | None:
    """One file, or None when no file has that id."""
    files, _ = _files(conn, session, file_id=file_id)
    return files[0] if files else None


def receipt(conn: Connection, file_id: int, *, session: str | None = None) -> dict[str, Any] | None:
    """The receipt exactly as the sender was sent it (None before the file was processed)."""
    body = read_value(conn, session, "receipt(:session, :f)", "receipt_body(:f)", {"f": file_id})
    return dict(body) if body is not None else None


def data_docs_path(data_dir: Path, summary: FileSummary) -> Path | None:
    """The file's data-quality report as the loader wrote it (``connectors.loading``), if there is one.

    The name is rebuilt from the registry (feed, sender, file id), never taken from a request, so a
    request cannot name any other file on disk.
    """
    label = safe_label(f"{summary.feed}_{summary.sender}_{summary.file_id}", summary.feed)
    path = data_dir / "data_docs" / summary.feed / f"{label}.html"
    return path if path.is_file() else None


@dataclass(frozen=True)
class QuarantinedIssue:
    """One reason one row of one file was quarantined (a row with two bad fields gives two)."""

    file_id: int
    feed: str
    sender: str | None
    file_name: str
    row_number: int
    field: str
    reason: str
    released: bool


@dataclass(frozen=True)
class QuarantinePage:
    """One page of quarantined rows' reasons, and how many there are in all."""

    issues: list[QuarantinedIssue]
    total: int
    page: int
    page_size: int
    capped: bool = False  # more than ``total`` reasons: counting stopped there

    @property
    def pages(self) -> int:
        """How many pages the counted reasons fill (at least one, even when empty)."""
        return max(1, -(-self.total // self.page_size))

    @property
    def has_next(self) -> bool:
        """Whether another page follows (always, past a capped count, until a page comes back short)."""
        return self.page < self.pages or (self.capped and len(self.issues) == self.page_size)


def quarantined_rows(conn: Connection, *, feed: str | None = None, file_id: int | None = None,
                     include_released: bool = False, page: int = 1, page_size: int = QUARANTINE_PAGE_SIZE,
                     count_limit: int | None = None, session: str | None = None) -> QuarantinePage:
    """Quarantine reasons by file, row and field, newest file first; released rows only when asked.

    Counting every reason is most of the cost once there are hundreds of thousands (the page itself walks
    the newest files by index); ``count_limit`` stops counting there and marks the page ``capped``.
    """
    page = max(1, page)
    rows = read_rows(conn, session, "quarantine(:session, :feed, :file_id, :released, :cap, :limit, :offset)",
                     "quarantine_rows(:feed, :file_id, :released, :cap, :limit, :offset)",
                     {"feed": feed, "file_id": file_id, "released": include_released, "cap": count_limit,
                      "limit": page_size, "offset": (page - 1) * page_size})
    total = int(rows[0]["total"]) if rows else 0
    capped = count_limit is not None and total > count_limit
    shown_total = count_limit if capped and count_limit is not None else total
    return QuarantinePage([QuarantinedIssue(**{k: v for k, v in r.items() if k != "total"})
                           for r in rows if r["file_id"] is not None], shown_total, page, page_size, capped)
