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


def register_feed(conn: Connection, feed: str, *, sender_is_local_authority: bool) -> None:
    """Make ``feed`` one the store accepts (``intake.feed``, migration 0020), as the registry describes it."""
    conn.execute(text("""
        INSERT INTO intake.feed (name, sender_is_local_authority) VALUES (:feed, :la)
        ON CONFLICT (name) DO UPDATE SET sender_is_local_authority = EXCLUDED.sender_is_local_authority
        WHERE intake.feed.sender_is_local_authority IS DISTINCT FROM EXCLUDED.sender_is_local_authority"""),
        {"feed": feed, "la": sender_is_local_authority})


def register_file(
    conn: Connection, *, feed: str, file_name: str, sha256: str, size: int,
    sender: str | None, extract_time: datetime | None, sequence: int | None, dropzone: str | None = None,
) -> Registration:
    """Register a file by its sha256 and the drop zone it came from (whose ``outbound/`` gets its receipt);
    bytes seen before are recorded as a duplicate delivery."""
    file_id = conn.execute(
        text("""
            INSERT INTO intake.file (feed, sender, file_name, sha256, size_bytes, extract_time, sequence, dropzone)
            VALUES (:feed, :sender, :file_name, :sha256, :size, :extract_time, :sequence, :dropzone)
            ON CONFLICT (sha256) DO NOTHING
            RETURNING file_id"""),
        dict(feed=feed, sender=sender, file_name=file_name, sha256=sha256, size=size,
             extract_time=extract_time, sequence=sequence, dropzone=dropzone),
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


@dataclass(frozen=True)
class KnownBytes:
    """The file registered earlier with the same sha256, and whether its sender has had its receipt."""

    file_id: int
    file_name: str
    status: str
    answered: bool
    receipt: dict[str, Any] | None


def known_bytes(conn: Connection, sha256: str) -> KnownBytes | None:
    """The file these bytes were first received as, if any."""
    row = conn.execute(text("""
        SELECT f.file_id, f.file_name, f.status, r.delivered_at IS NOT NULL AS answered, r.body
        FROM intake.file f LEFT JOIN intake.receipt r USING (file_id) WHERE f.sha256 = :s"""),
        {"s": sha256}).one_or_none()
    return None if row is None else KnownBytes(int(row.file_id), str(row.file_name), str(row.status),
                                               bool(row.answered), row.body)


def claim_received(conn: Connection, file_id: int) -> Any | None:
    """The registered file ``file_id``, locked for loading; None if loaded already or in another worker's hands."""
    return conn.execute(text("""SELECT * FROM intake.file WHERE file_id = :f AND status = 'received'
                                FOR UPDATE SKIP LOCKED"""), {"f": file_id}).one_or_none()


def feeds_and_senders(conn: Connection, file_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each file's feed and sender ('' when its name named none)."""
    rows = conn.execute(text("""SELECT file_id, feed, coalesce(sender, '') AS sender FROM intake.file
                                WHERE file_id = ANY(:ids)"""), {"ids": file_ids}).all()
    return {int(r.file_id): (r.feed, r.sender) for r in rows}


def waiting_files(conn: Connection, feed: str, dropzone: str) -> list[int]:
    """Files of ``feed`` from ``dropzone`` registered but not yet loaded (a crashed run's included)."""
    return list(conn.execute(text("""
        SELECT file_id FROM intake.file
        WHERE feed = :f AND status = 'received' AND (dropzone = :z OR dropzone IS NULL) ORDER BY file_id"""),
        {"f": feed, "z": dropzone}).scalars())


def receipts_to_deliver(conn: Connection, feed: str, dropzone: str) -> list[Any]:
    """Files of ``feed`` from ``dropzone`` whose receipts are written but not yet delivered."""
    return list(conn.execute(text("""
        SELECT f.file_id, f.file_name, f.size_bytes, f.status, f.sha256, r.body
        FROM intake.receipt r JOIN intake.file f USING (file_id)
        WHERE f.feed = :feed AND (f.dropzone = :z OR f.dropzone IS NULL) AND r.delivered_at IS NULL
        ORDER BY f.file_id"""), {"feed": feed, "z": dropzone}).fetchall())


def mark_receipt_delivered(conn: Connection, file_id: int) -> None:
    """The sender has its receipt."""
    conn.execute(text("UPDATE intake.receipt SET delivered_at = now() WHERE file_id = :f"), {"f": file_id})


def record_refusal(conn: Connection, *, dropzone: str, feed: str, name_bytes: bytes, file_name: str,
                   receipt_name: str, reason: str, sha256: str | None) -> tuple[int, dict[str, Any]]:
    """Keep a delivery refused before its bytes were registered, with its receipt; the same delivery
    refused again before it was answered (a crash in between) reuses the first refusal."""
    pending = conn.execute(text("""
        SELECT refusal_id, body FROM intake.refused_delivery
        WHERE dropzone = :z AND feed = :f AND name_bytes = :n AND delivered_at IS NULL
        ORDER BY refusal_id LIMIT 1"""), {"z": dropzone, "f": feed, "n": name_bytes}).one_or_none()
    if pending is not None:
        return int(pending.refusal_id), dict(pending.body)
    body: dict[str, Any] = {"file_name": file_name, "feed": feed, "sha256": sha256, "status": "rejected",
                            "reason": reason, "rows": {"read": 0, "loaded": 0, "quarantined": 0}}
    refusal_id = conn.execute(text("""
        INSERT INTO intake.refused_delivery (dropzone, feed, name_bytes, file_name, receipt_name, reason, sha256, body)
        VALUES (:z, :f, :n, :name, :receipt, :reason, :sha, CAST(:body AS jsonb)) RETURNING refusal_id"""),
        {"z": dropzone, "f": feed, "n": name_bytes, "name": file_name, "receipt": receipt_name, "reason": reason,
         "sha": sha256, "body": json.dumps(body)}).scalar_one()
    return int(refusal_id), body


def refusals_to_deliver(conn: Connection, feed: str, dropzone: str) -> list[Any]:
    """Refused deliveries of ``feed`` at ``dropzone`` whose receipts a crash kept from being delivered."""
    return list(conn.execute(text("""
        SELECT refusal_id, name_bytes, body FROM intake.refused_delivery
        WHERE dropzone = :z AND feed = :f AND delivered_at IS NULL ORDER BY refusal_id"""),
        {"z": dropzone, "f": feed}).fetchall())


def mark_refusal_delivered(conn: Connection, refusal_id: int) -> None:
    """The sender has the refusal's receipt."""
    conn.execute(text("UPDATE intake.refused_delivery SET delivered_at = now() WHERE refusal_id = :r"),
                 {"r": refusal_id})


def landed_copies_needed(conn: Connection, digests: list[str]) -> set[str]:
    """Which landed copies (named by sha256) a file still needs: registered and not yet answered."""
    return set(conn.execute(text("""
        SELECT f.sha256 FROM intake.file f LEFT JOIN intake.receipt r USING (file_id)
        WHERE f.sha256 = ANY(:d) AND r.delivered_at IS NULL"""), {"d": digests}).scalars())
