"""Destruction that leaves no trace: an archived child past its destroy-after date is deleted from every
schema in one transaction, its archive key shredded (the archived ciphertext in the database, its WAL and
backups becomes unreadable), then the tables that held its plaintext are rewritten (``rewrite``): a plain
``DELETE`` leaves the old bytes in the table's pages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, text

from warehouse import audit
from warehouse.key_vault import KeyVault
from warehouse.retention.archive import BATCH_SIZE, SYSTEM_ROLE, SYSTEM_USER
from warehouse.retention.rewrite import rewrite_tables

log = logging.getLogger(__name__)

# (table, SQL deleting one child's rows). :ids are the child's IDs (its own and any merged into it),
# :records its source records, :identifiers its NHS numbers, UPNs and ULNs, :names/:dobs for quarantine.
DESTROY_STEPS: tuple[tuple[str, str], ...] = (
    ("identity.steward_decision", "DELETE FROM identity.steward_decision WHERE record_a = ANY(:records) "
                                  "OR record_b = ANY(:records)"),
    # A steward's action about the child, and any undo of it: its free-text reason may name the child.
    ("identity.steward_action", """DELETE FROM identity.steward_action a WHERE a.cp_ids && CAST(:ids AS text[])
                                   OR a.undoes IN (SELECT action_id FROM identity.steward_action
                                                   WHERE cp_ids && CAST(:ids AS text[]))"""),
    ("identity.review_pair", "DELETE FROM identity.review_pair WHERE record_a = ANY(:records) "
                             "OR record_b = ANY(:records)"),
    ("identity.record_features", "DELETE FROM identity.record_features WHERE record_id = ANY(:records)"),
    ("identity.link_history", "DELETE FROM identity.link_history WHERE record_id = ANY(:records) "
                              "OR old_cp_id = ANY(:ids) OR new_cp_id = ANY(:ids)"),
    ("identity.link", "DELETE FROM identity.link WHERE record_id = ANY(:records) OR cp_id = ANY(:ids)"),
    ("staging.source_record", "DELETE FROM staging.source_record WHERE record_id = ANY(:records)"),
    ("intake.row_issue", """DELETE FROM intake.row_issue i USING intake.quarantined_row q
                            WHERE (i.file_id, i.row_number) = (q.file_id, q.row_number)
                              AND pg_temp.retention_carries_child(q.raw, CAST(:identifiers AS text[]),
                                  CAST(:names AS text[]), CAST(:dobs AS text[]))"""),
    ("intake.quarantined_row", "DELETE FROM intake.quarantined_row q "
                               "WHERE pg_temp.retention_carries_child(q.raw, CAST(:identifiers AS text[]), "
                               "CAST(:names AS text[]), CAST(:dobs AS text[]))"),
    ("directory.involvement", "DELETE FROM directory.involvement WHERE cp_id = ANY(:ids)"),
    ("directory.carer", "DELETE FROM directory.carer WHERE cp_id = ANY(:ids)"),
    ("directory.child", "DELETE FROM directory.child WHERE cp_id = ANY(:ids)"),
    ("directory.history", "DELETE FROM directory.history WHERE cp_id = ANY(:ids)"),
    ("directory.change", "DELETE FROM directory.change WHERE cp_id = ANY(:ids) OR other_cp_id = ANY(:ids)"),
    ("identity.child", "DELETE FROM identity.child WHERE cp_id = ANY(:ids)"),
    ("archive.child", "DELETE FROM archive.child WHERE cp_id = ANY(:ids)"),
)

ARCHIVED_FROM = ("directory.child", "directory.carer", "directory.involvement", "directory.history")
ALL_DESTROY_TABLES = tuple(table for table, _ in DESTROY_STEPS)

# A quarantined row carries the child when it holds one of its identifiers, or its family name and date of
# birth (quarantine keeps rows as sent, so formats vary: compare trimmed, case-insensitive text).
CARRIES_CHILD = """
CREATE FUNCTION pg_temp.retention_carries_child(raw jsonb, identifiers text[], names text[], dobs text[])
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT EXISTS (SELECT 1 FROM jsonb_each_text(raw) e WHERE replace(e.value, ' ', '') = ANY(identifiers))
        OR (EXISTS (SELECT 1 FROM jsonb_each_text(raw) e WHERE upper(btrim(e.value)) = ANY(names))
            AND EXISTS (SELECT 1 FROM jsonb_each_text(raw) e WHERE btrim(e.value) = ANY(dobs)))
$$"""


@dataclass
class DestructionSummary:
    """What a destruction pass removed."""

    as_of: date
    destroyed: int
    rows_removed: dict[str, int]
    keys_shredded: list[date]
    tables_rewritten: list[str]
    rewrite_complete: bool = True  # False: a transaction older than the destruction was still open


def _child_ids(conn: Connection, cp_id: str) -> list[str]:
    """The child's ID and every ID merged into it (directly or through a chain)."""
    return list(conn.execute(text("""
        WITH RECURSIVE ids(cp_id) AS (
            SELECT CAST(:c AS text)
            UNION SELECT c.cp_id FROM identity.child c JOIN ids ON c.superseded_by = ids.cp_id)
        SELECT cp_id FROM ids"""), {"c": cp_id}).scalars())


def destroy_child(conn: Connection, cp_id: str, as_of: date, vault: KeyVault) -> dict[str, int]:
    """Remove one archived child from every schema, in the caller's transaction; log the destruction."""
    ids = _child_ids(conn, cp_id)
    records = list(conn.execute(text("SELECT record_id FROM identity.link WHERE cp_id = ANY(:ids)"),
                                {"ids": ids}).scalars())
    known = conn.execute(text("""
        SELECT array_remove(array_agg(DISTINCT x), NULL) FROM staging.source_record s,
               unnest(ARRAY[s.nhs_number::text, btrim(s.upn), btrim(s.uln)]) x WHERE s.record_id = ANY(:r)"""),
        {"r": records}).scalar_one() or []
    people = conn.execute(text("""
        SELECT array_agg(DISTINCT upper(s.family_name)) AS names, array_agg(DISTINCT s.date_of_birth::text) AS dobs
        FROM staging.source_record s WHERE s.record_id = ANY(:r)"""), {"r": records}).one()
    params = {"ids": ids, "records": records, "identifiers": known, "names": people.names or [],
              "dobs": people.dobs or []}
    removed = {table: conn.execute(text(sql), params).rowcount for table, sql in DESTROY_STEPS}
    conn.execute(text("""INSERT INTO archive.destruction_log (cp_id_hash, destroyed_on, rows_removed, destroyed_xid)
                         VALUES (:h, :d, CAST(:r AS jsonb), txid_current())"""),
                 {"h": vault.id_hash(cp_id), "d": as_of, "r": json.dumps(removed)})
    # The audit trail keeps its entries (IDs, actions, counts; never a name, birth date, address or NHS
    # number): the destruction itself is one more, naming no rows.
    audit.append(conn, username=SYSTEM_USER, role=SYSTEM_ROLE, action="destroy_child", cp_id=None,
                 detail={"tables": len([n for n in removed.values() if n]), "rows": sum(removed.values())})
    return removed


def destroy_due(engine: Engine, as_of: date, *, vault: KeyVault | None = None, batch_size: int = BATCH_SIZE,
                rewrite: bool = True, snapshot_wait_seconds: float = 300.0) -> DestructionSummary:
    """Destroy every archived child whose destroy-after date has come, shred their keys, rewrite the tables.

    One transaction per batch; keys are shredded only after the rows are gone (a key shredded before a
    failed commit would leave an unreadable record, harmless but untidy); the rewrite runs outside any
    transaction (``VACUUM FULL`` cannot run in one) and only for tables that held the child.

    A rewrite copies row versions that an open snapshot may still see: a transaction older than the
    destruction (a long report, a stuck session) would keep the bytes in the new files. So the rewrite
    first waits for such snapshots (``snapshot_wait_seconds``); if one outlasts the wait, the rewrite
    still runs but stays pending in the destruction log, and the next pass rewrites again.
    """
    vault = vault or KeyVault()
    totals: dict[str, int] = {}
    destroyed = 0
    while True:
        with engine.begin() as conn:
            due = list(conn.execute(text("""SELECT cp_id FROM archive.child WHERE destroy_after <= :d
                                             ORDER BY destroy_after, cp_id LIMIT :n"""),
                                    {"d": as_of, "n": batch_size}).scalars())
            if not due:
                break
            conn.execute(text(CARRIES_CHILD))
            for cp_id in due:
                for table, n in destroy_child(conn, cp_id, as_of, vault).items():
                    totals[table] = totals.get(table, 0) + n
            conn.execute(text("DROP FUNCTION pg_temp.retention_carries_child(jsonb, text[], text[], text[])"))
        destroyed += len(due)
    shredded = vault.shred_through(as_of)
    with engine.begin() as conn:
        pending = conn.execute(text("""SELECT count(*) AS n, max(destroyed_xid) AS xid FROM archive.destruction_log
                                       WHERE rewritten_at IS NULL""")).one()
    if not rewrite or not pending.n:
        return DestructionSummary(as_of, destroyed, totals, shredded, [])
    # Every table that held a destroyed child's plaintext: those that lost rows, and the directory's, which
    # lost its rows at age-out. A rewrite left unfinished by an earlier pass is done again in full.
    touched = {t for t, n in totals.items() if n} if pending.n == destroyed else set(ALL_DESTROY_TABLES)
    tables = sorted(touched | set(ARCHIVED_FROM))
    complete = rewrite_tables(engine, tables, after_xid=int(pending.xid), wait_seconds=snapshot_wait_seconds)
    log.info("retention %s: destroyed %d children, %d rows, %d key files shredded, %d tables rewritten%s",
             as_of, destroyed, sum(totals.values()), len(shredded), len(tables),
             "" if complete else " (an older transaction was open: the next pass rewrites again)")
    return DestructionSummary(as_of, destroyed, totals, shredded, tables, complete)


def destruction_due(conn: Connection, as_of: date) -> list[tuple[str, date]]:
    """(ContactPoint ID, destroy-after date) of every archived child due for destruction on ``as_of``."""
    rows = conn.execute(text("""SELECT cp_id, destroy_after FROM archive.child WHERE destroy_after <= :d
                                ORDER BY destroy_after, cp_id"""), {"d": as_of}).all()
    return [(r.cp_id, r.destroy_after) for r in rows]
