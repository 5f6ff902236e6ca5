"""The intake schema: file registry, quarantine, row issues and receipts.

A file is registered once per sha256 (the database's unique key decides, so two workers racing on
one file cannot both register it); its counts and terminal state are written in the same
transaction as its staged rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from schemas.child import RowIssue

RECEIPT_LISTING_LIMIT = 10_000  # rows listed per kind; the counts always cover every row


@dataclass(frozen=True)
class Registration:
    """The outcome of registering a landed file."""

    file_id: int
    duplicate: bool


def register_file(
    conn: Connection, *, feed: str, file_name: str, sha256: str, size: int,
    sender: str | None, extract_time: datetime | None, sequence: int | None,
) -> Registration:
    """Register a file by its sha256; bytes seen before are recorded as a duplicate delivery."""
    file_id = conn.execute(
        text("""
            INSERT INTO intake.file (feed, sender, file_name, sha256, size_bytes, extract_time, sequence)
            VALUES (:feed, :sender, :file_name, :sha256, :size, :extract_time, :sequence)
            ON CONFLICT (sha256) DO NOTHING
            RETURNING file_id"""),
        dict(feed=feed, sender=sender, file_name=file_name, sha256=sha256, size=size,
             extract_time=extract_time, sequence=sequence),
    ).scalar()
    if file_id is not None:
        return Registration(file_id, duplicate=False)
    original = conn.execute(
        text("SELECT file_id FROM intake.file WHERE sha256 = :sha256"), {"sha256": sha256}
    ).scalar_one()
    conn.execute(
        text("INSERT INTO intake.duplicate_delivery (file_id, file_name) VALUES (:f, :n)"),
        {"f": original, "n": file_name},
    )
    return Registration(original, duplicate=True)


def record_issues(conn: Connection, file_id: int, row_number: int, kind: str, issues: list[RowIssue]) -> None:
    """Write quarantine reasons or warnings of one row (one line per field)."""
    if issues:
        conn.execute(
            text("""INSERT INTO intake.row_issue (file_id, row_number, kind, field, reason)
                    VALUES (:f, :r, :k, :field, :reason) ON CONFLICT DO NOTHING"""),
            [dict(f=file_id, r=row_number, k=kind, field=i.field, reason=i.reason) for i in issues],
        )


def quarantine_row(conn: Connection, file_id: int, row_number: int, raw: dict[str, Any],
                   issues: list[RowIssue]) -> None:
    """Keep a row that cannot be loaded, with the spec fields as sent and every reason."""
    conn.execute(
        text("INSERT INTO intake.quarantined_row (file_id, row_number, raw) VALUES (:f, :r, CAST(:raw AS jsonb))"),
        dict(f=file_id, r=row_number, raw=json.dumps(raw, default=str)),
    )
    record_issues(conn, file_id, row_number, "quarantined", issues)


@dataclass
class FileCounts:
    """Row counts of one file, as its receipt reports them."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    withheld: int = 0
    warned: int = 0
    out_of_scope: int = 0


def finish_file(conn: Connection, file_id: int, *, counts: FileCounts, status: str, reason: str | None,
                dropped_fields: dict[str, int]) -> None:
    """Set a file's terminal state and counts, then build and store its receipt."""
    conn.execute(
        text("""UPDATE intake.file SET status = :status, reason = :reason, rows_read = :read,
                    rows_loaded = :loaded, rows_quarantined = :quarantined, rows_withheld = :withheld,
                    rows_out_of_scope = :out_of_scope, rows_warned = :warned,
                    dropped_fields = CAST(:dropped AS jsonb), processed_at = now()
                WHERE file_id = :file_id"""),
        dict(status=status, reason=reason, read=counts.read, loaded=counts.loaded,
             quarantined=counts.quarantined, withheld=counts.withheld, warned=counts.warned,
             out_of_scope=counts.out_of_scope,
             dropped=json.dumps(dropped_fields), file_id=file_id),
    )
    body = build_receipt(conn, file_id)
    conn.execute(
        text("""INSERT INTO intake.receipt (file_id, body) VALUES (:f, CAST(:body AS jsonb))
                ON CONFLICT (file_id) DO UPDATE SET body = excluded.body, delivered_at = NULL"""),
        {"f": file_id, "body": json.dumps(body)},
    )


def _issues(conn: Connection, file_id: int, kind: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text("""SELECT row_number, field, reason FROM intake.row_issue
                WHERE file_id = :f AND kind = :k ORDER BY row_number, field LIMIT :limit"""),
        {"f": file_id, "k": kind, "limit": RECEIPT_LISTING_LIMIT},
    )
    return [{"row": r.row_number, "field": r.field, "reason": r.reason} for r in rows]


def build_receipt(conn: Connection, file_id: int) -> dict[str, Any]:
    """The receipt a sender reads: what happened to the file and to each row that did not load cleanly."""
    f = conn.execute(text("SELECT * FROM intake.file WHERE file_id = :f"), {"f": file_id}).one()
    return {
        "file_name": f.file_name,
        "feed": f.feed,
        "sender": f.sender,
        "sha256": f.sha256.strip(),
        "status": f.status,
        "reason": f.reason,
        "received_at": f.received_at.isoformat(),
        "rows": {"read": f.rows_read, "loaded": f.rows_loaded, "quarantined": f.rows_quarantined,
                 "withheld": f.rows_withheld, "out_of_scope": f.rows_out_of_scope,
                 "loaded_with_warnings": f.rows_warned},
        "quarantined": _issues(conn, file_id, "quarantined"),
        "warnings": _issues(conn, file_id, "warning"),
        "withheld_rows": [i["row"] for i in _issues(conn, file_id, "withheld")],
        # Rows about people the directory no longer holds (past every leave date, or archived): not loaded.
        "out_of_scope_rows": [i["row"] for i in _issues(conn, file_id, "out_of_scope")],
        # Names only, never values: these fields are not in the spec and were not stored.
        "dropped_fields": dict(sorted(f.dropped_fields.items())),
    }


def duplicate_receipt(conn: Connection, file_id: int, file_name: str) -> dict[str, Any]:
    """Receipt for bytes already received: acknowledged, not loaded again."""
    f = conn.execute(
        text("SELECT file_name, sha256, status FROM intake.file WHERE file_id = :f"), {"f": file_id}
    ).one()
    return {
        "file_name": file_name,
        "sha256": f.sha256.strip(),
        "status": "duplicate",
        "reason": f"the same bytes were received before as {f.file_name} ({f.status}); not loaded again",
        "duplicate_of": f.file_name,
    }


def file_name_of(conn: Connection, file_id: int) -> str | None:
    """The name the sender gave a registered file."""
    name = conn.execute(text("SELECT file_name FROM intake.file WHERE file_id = :f"), {"f": file_id}).scalar()
    return None if name is None else str(name)


def previous_file_rows(conn: Connection, lineage: Any) -> int | None:
    """Rows read in the sender's accepted file of this feed extracted just before this one (None: none)."""
    return conn.execute(
        text("""SELECT rows_read FROM intake.file
                WHERE feed = :feed AND sender = :sender AND file_id <> :file_id
                  AND status IN ('accepted', 'accepted_with_errors')
                  AND (extract_time, sequence) < (:t, :s)
                ORDER BY extract_time DESC, sequence DESC LIMIT 1"""),
        {"feed": lineage.feed, "sender": lineage.sender, "file_id": lineage.file_id,
         "t": lineage.extract_time, "s": lineage.sequence},
    ).scalar()
