"""Age-out: children past their leave date move from the directory into the encrypted archive, where an
archivist may read them (audited) until destruction."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, text

from warehouse import audit
from warehouse.changes import ID_ARCHIVED, record_change
from warehouse.key_vault import KeyVault, decrypt, encrypt, new_key
from warehouse.retention.due import Due, children_due
from warehouse.retention.rules import ARCHIVE_YEARS, add_years
from warehouse.steward_actions import tool_session

log = logging.getLogger(__name__)

BATCH_SIZE = 500
SYSTEM_USER = "contactpoint-retention"
SYSTEM_ROLE = "system"

PAYLOAD_SQL = text("""
    SELECT i.cp_id,
           (SELECT to_jsonb(c) FROM directory.child c WHERE c.cp_id = i.cp_id) AS child,
           (SELECT coalesce(jsonb_agg(to_jsonb(k) ORDER BY k.source_record_id, k.contact_order), '[]')
            FROM directory.carer k WHERE k.cp_id = i.cp_id) AS carers,
           (SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.involvement_id), '[]') FROM directory.involvement v
            WHERE v.cp_id = i.cp_id) AS involvements,
           (SELECT coalesce(jsonb_agg(to_jsonb(h) ORDER BY h.change_id), '[]') FROM directory.history h
            WHERE h.cp_id = i.cp_id) AS history,
           (SELECT coalesce(jsonb_agg(to_jsonb(s) - 'content_hash' ORDER BY s.record_id), '[]')
            FROM identity.link l JOIN staging.source_record s ON s.record_id = l.record_id
            WHERE l.cp_id = i.cp_id) AS source_records
    FROM unnest(CAST(:ids AS text[])) AS i(cp_id)""")


@dataclass
class AgeOutSummary:
    """What an age-out pass did (or, dry, would do)."""

    as_of: date
    archived: list[Due]
    dry_run: bool

    def by_reason(self) -> dict[str, int]:
        """How many children left by each rule."""
        return dict(sorted(Counter(due.leave.reason for due in self.archived).items()))


def archive_children(conn: Connection, due: Sequence[Due], as_of: date, vault: KeyVault) -> None:
    """Move ``due`` children out of the directory into the archive, in the caller's transaction.

    Each child's directory record, carers, involvements, history and source records become one JSON
    document, encrypted with a fresh key that goes to the vault (durably, before the commit). The source
    records stay in staging, linked to the now archived identity, so a later record for the child is
    recognised and kept out; they go at destruction.
    """
    if not due:
        return
    destroy_after = add_years(as_of, ARCHIVE_YEARS)
    leaves = {d.cp_id: d.leave for d in due}
    rows, keys = [], {}
    for r in conn.execute(PAYLOAD_SQL, {"ids": list(leaves)}).mappings():
        document = {k: r[k] for k in ("child", "carers", "involvements", "history", "source_records")}
        keys[r["cp_id"]] = key = new_key()
        nonce, ciphertext = encrypt(key, r["cp_id"], json.dumps(document, default=str).encode())
        leave = leaves[r["cp_id"]]
        rows.append({"c": r["cp_id"], "a": as_of, "l": leave.on, "r": leave.reason, "d": destroy_after,
                     "n": nonce, "p": ciphertext})
    vault.put(destroy_after, keys)
    conn.execute(text("""INSERT INTO archive.child (cp_id, archived_on, left_on, reason, destroy_after, nonce, payload)
                         VALUES (:c, :a, :l, :r, :d, :n, :p)"""), rows)
    ids = {"ids": list(leaves)}
    for table in ("involvement", "carer", "child"):
        conn.execute(text(f"DELETE FROM directory.{table} WHERE cp_id = ANY(CAST(:ids AS text[]))"), ids)
    # The deletes just copied the rows into history too; the archive holds the history now.
    conn.execute(text("DELETE FROM directory.history WHERE cp_id = ANY(CAST(:ids AS text[]))"), ids)
    conn.execute(text("UPDATE identity.child SET status = 'archived' WHERE cp_id = ANY(CAST(:ids AS text[]))"), ids)
    for cp_id, leave in leaves.items():
        record_change(conn, ID_ARCHIVED, cp_id)
        audit.append(conn, username=SYSTEM_USER, role=SYSTEM_ROLE, action="archive_child", cp_id=cp_id,
                     detail={"rule": leave.reason, "destroy_after": destroy_after.isoformat()})


def age_out(engine: Engine, as_of: date, *, dry_run: bool = False, vault: KeyVault | None = None,
            batch_size: int = BATCH_SIZE) -> AgeOutSummary:
    """Archive every child whose leave date has passed, one transaction per batch."""
    with engine.begin() as conn:
        due = children_due(conn, as_of, mark_deaths=not dry_run)
    summary = AgeOutSummary(as_of, due, dry_run)
    if dry_run or not due:
        return summary
    vault = vault or KeyVault()
    for start in range(0, len(due), batch_size):
        with engine.begin() as conn:
            archive_children(conn, due[start:start + batch_size], as_of, vault)
    log.info("retention %s: archived %d children %s", as_of, len(due), summary.by_reason())
    return summary


class ArchiveKeyDestroyed(LookupError):
    """The archived record exists but its key has been shredded: it can no longer be read by anyone."""


def read_archived_child(conn: Connection, *, cp_id: str, purpose: str, session: str | None = None,
                        username: str | None = None, vault: KeyVault | None = None) -> dict[str, Any]:
    """An archivist's read of one archived child, as ``cp_archivist``: the database takes the archivist's
    ``session`` (``archive.read_child_in_session``), checks the user, the purpose and the record's age and writes
    the audit entry; the record is then decrypted with its key. The hub's own tools, which run as the store's
    owner, may name the archivist (``username``) instead: they get a short session for them."""
    if session is None:
        if username is None:
            raise ValueError("reading the archive needs the archivist's session")
        session = tool_session(conn, username)
    conn.execute(text("SET LOCAL ROLE cp_archivist"))  # a refusal aborts the transaction, which ends the role
    row = conn.execute(text("SELECT * FROM archive.read_child_in_session(:s, :c, :p)"),
                       {"s": session, "c": cp_id, "p": purpose}).one()
    conn.execute(text("RESET ROLE"))
    key = (vault or KeyVault()).get(row.destroy_after, cp_id)
    if key is None:
        raise ArchiveKeyDestroyed(cp_id)
    document: dict[str, Any] = json.loads(decrypt(key, cp_id, bytes(row.nonce), bytes(row.payload)))
    return {"cp_id": cp_id, "archived_on": row.archived_on, "destroy_after": row.destroy_after, **document}
