"""The staging schema: one row per (feed, source key), updated in place, with lineage.

Precedence is by the sender's extract time and sequence, never by arrival: an older file that
arrives late cannot overwrite what a newer one said, so files in any order give the same result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from schemas.child import SourceRecord
from warehouse.db import copy_cursor

STAGED_COLUMNS = (
    "feed", "sender", "source_key", "file_id", "row_number", "extract_time", "sequence",
    "given_name", "middle_names", "family_name", "preferred_given_name", "preferred_family_name", "former_family_name",
    "date_of_birth", "gender", "address_line_1", "address_line_2", "address_line_3", "address_line_4", "address_line_5",
    "postcode", "no_fixed_postcode", "nhs_number", "upn", "uln", "restricted", "consent_extend_to_19", "extend_to_25",
    "deregistered_on", "deregistration_reason", "contacts", "involvement", "content_hash",
)
_KEPT = ("feed", "source_key", "involvement", "content_hash")
# A batch is copied into a temporary table (COPY is ~10x faster than row-by-row INSERTs), then upserted
# in one statement. The table lives for the session and is emptied at each commit.
BATCH_TABLE = f"""
CREATE TEMP TABLE IF NOT EXISTS staging_batch ON COMMIT DELETE ROWS AS
SELECT {", ".join(STAGED_COLUMNS)} FROM staging.source_record WITH NO DATA"""
COPY_BATCH = f"COPY staging_batch ({', '.join(STAGED_COLUMNS)}) FROM STDIN"
# A record is queued for publishing (``staging.publish_queue``) when it is new, when what it says changed, or
# when it comes back into its sender's snapshot. Queueing again renews its number: a publish running at that
# moment leaves it queued (it deletes only the numbers it read).
QUEUE = ("INSERT INTO staging.publish_queue (record_id) {} "
         "ON CONFLICT (record_id) DO UPDATE SET queued = excluded.queued")
QUEUED = "EXISTS (SELECT 1 FROM staging.publish_queue q WHERE q.record_id = s.record_id)"
# Before the upsert, while the old content can still be compared: existing records this batch changes.
QUEUE_CHANGED = text(QUEUE.format("""
SELECT s.record_id FROM staging_batch b JOIN staging.source_record s ON s.feed = b.feed AND s.source_key = b.source_key
WHERE (b.extract_time, b.sequence) >= (s.extract_time, s.sequence)
  AND (s.content_hash <> b.content_hash OR NOT s.present)"""))
UPSERT = text(f"""
WITH upserted AS (
INSERT INTO staging.source_record AS s ({", ".join(STAGED_COLUMNS)})
SELECT {", ".join(STAGED_COLUMNS)} FROM staging_batch
ON CONFLICT (feed, source_key) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in STAGED_COLUMNS if c not in _KEPT)},
    -- A later event (a close) may not repeat when the service started: keep the start already known.
    involvement = CASE
        WHEN jsonb_typeof(excluded.involvement -> 'started_on') = 'null'
         AND jsonb_typeof(s.involvement -> 'started_on') = 'string'
         AND excluded.involvement ->> 'organisation_code' = s.involvement ->> 'organisation_code'
        THEN jsonb_set(excluded.involvement, '{{started_on}}', s.involvement -> 'started_on')
        ELSE excluded.involvement END,
    present = true,
    updated_at = CASE WHEN s.content_hash <> excluded.content_hash THEN now() ELSE s.updated_at END,
    content_hash = excluded.content_hash
WHERE (excluded.extract_time, excluded.sequence) >= (s.extract_time, s.sequence)
RETURNING s.record_id, s.xmax = 0 AS inserted)
{QUEUE.format("SELECT record_id FROM upserted WHERE inserted")}
""")


@dataclass(frozen=True)
class Lineage:
    """Where staged rows came from."""

    feed: str
    sender: str
    file_id: int
    extract_time: datetime
    sequence: int


def content_hash(record: SourceRecord) -> str:
    """Fingerprint of what a record says (not where it came from), to publish only real changes."""
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()


def stage_records(conn: Connection, lineage: Lineage, rows: list[tuple[int, SourceRecord]]) -> None:
    """Upsert a batch of validated rows with their lineage (copied in, then one set-based upsert)."""
    if not rows:
        return
    conn.execute(text(BATCH_TABLE))
    cursor = copy_cursor(conn)
    with cursor.copy(COPY_BATCH) as copy:
        for row_number, record in rows:
            lines = record.address_lines
            copy.write_row((
                lineage.feed, lineage.sender, record.source_key, lineage.file_id, row_number,
                lineage.extract_time, lineage.sequence, record.given_name, record.middle_names,
                record.family_name, record.preferred_given_name, record.preferred_family_name,
                record.former_family_name, record.date_of_birth, record.gender, *lines[:5], record.postcode,
                record.no_fixed_postcode, record.nhs_number, record.upn, record.uln, record.restricted,
                record.consent_extend_to_19, record.extend_to_25, record.deregistered_on,
                record.deregistration_reason,
                "[" + ",".join(c.model_dump_json() for c in record.contacts) + "]",
                record.involvement.model_dump_json() if record.involvement else None,
                content_hash(record),
            ))
    conn.execute(QUEUE_CHANGED)
    conn.execute(UPSERT)
    conn.execute(text("TRUNCATE staging_batch"))


def mark_snapshot_presence(conn: Connection, lineage: Lineage) -> int:
    """After a full snapshot: a sender's record is present only if its newest file still lists it.

    Returns how many records changed presence (e.g. pupils who left the school).
    """
    latest = conn.execute(
        text("""SELECT extract_time, sequence FROM intake.file
                WHERE feed = :feed AND sender = :sender
                  AND (status IN ('accepted', 'accepted_with_errors') OR file_id = :file_id)
                ORDER BY extract_time DESC, sequence DESC LIMIT 1"""),
        {"feed": lineage.feed, "sender": lineage.sender, "file_id": lineage.file_id},
    ).one()
    changed = conn.execute(
        text(f"""WITH changed AS (
                    UPDATE staging.source_record
                    SET present = ((extract_time, sequence) = (:t, :s)), updated_at = now()
                    WHERE feed = :feed AND sender = :sender
                      AND present IS DISTINCT FROM ((extract_time, sequence) = (:t, :s))
                    RETURNING record_id),
                 queued AS ({QUEUE.format("SELECT record_id FROM changed")})
                 SELECT count(*) FROM changed"""),
        {"feed": lineage.feed, "sender": lineage.sender, "t": latest.extract_time, "s": latest.sequence},
    ).scalar_one()
    return int(changed)


def withdraw_record(conn: Connection, lineage: Lineage, source_key: str) -> bool:
    """Remove a staged record whose consent a newer row withdrew, and everything published from it.

    The child keeps its ContactPoint ID; if no other record speaks for the child, the child leaves the
    directory, otherwise its other records are republished. Returns whether a record was removed.
    """
    found = conn.execute(
        text("""SELECT s.record_id, l.cp_id FROM staging.source_record s
                LEFT JOIN identity.link l ON l.record_id = s.record_id
                WHERE s.feed = :feed AND s.source_key = :key
                  AND (s.extract_time, s.sequence) <= (:t, :s)"""),
        {"feed": lineage.feed, "key": source_key, "t": lineage.extract_time, "s": lineage.sequence},
    ).one_or_none()
    if found is None:
        return False
    params = {"r": found.record_id, "c": found.cp_id}
    conn.execute(text("DELETE FROM directory.involvement WHERE source_record_id = :r"), params)
    conn.execute(text("DELETE FROM directory.carer WHERE source_record_id = :r"), params)
    if found.cp_id is not None:
        conn.execute(text("""INSERT INTO identity.link_history (record_id, old_cp_id, new_cp_id, method, run_id)
                             VALUES (:r, :c, NULL, 'consent_withdrawn', :run)"""),
                     {**params, "run": f"file-{lineage.file_id}"})
        conn.execute(text("DELETE FROM identity.link WHERE record_id = :r"), params)
    conn.execute(text("DELETE FROM staging.source_record WHERE record_id = :r"), params)
    others = 0
    if found.cp_id is not None:
        others = conn.execute(text(QUEUE.format("SELECT record_id FROM identity.link WHERE cp_id = :c")),
                              params).rowcount
        if others == 0:
            conn.execute(text("DELETE FROM directory.child WHERE cp_id = :c"), params)
    # History would otherwise keep what consent no longer allows (the triggers just copied it there too).
    conn.execute(text("""
        DELETE FROM directory.history WHERE table_name IN ('involvement', 'carer')
          AND :r IN ((old_row ->> 'source_record_id')::bigint, (new_row ->> 'source_record_id')::bigint)"""), params)
    if found.cp_id is not None and others == 0:
        conn.execute(text("DELETE FROM directory.history WHERE cp_id = :c"), params)
    return True


KEEP_EARLIER_START = text(f"""
WITH kept AS (
UPDATE staging.source_record s
SET involvement = jsonb_set(s.involvement, '{{started_on}}', to_jsonb(k.started_on)), updated_at = now()
FROM unnest(CAST(:keys AS text[]), CAST(:starts AS date[]), CAST(:orgs AS text[])) AS k(source_key, started_on, org)
WHERE s.feed = :feed AND s.source_key = k.source_key
  AND (s.extract_time, s.sequence) > (:extract_time, :sequence)
  AND jsonb_typeof(s.involvement -> 'started_on') = 'null'
  AND s.involvement ->> 'organisation_code' IS NOT DISTINCT FROM k.org
RETURNING s.record_id)
{QUEUE.format("SELECT record_id FROM kept")}
""")


def keep_earlier_starts(conn: Connection, lineage: Lineage, rows: list[tuple[int, SourceRecord]]) -> None:
    """An event older than the record already staged (an ICS ``open`` arriving after its ``close``) is not
    applied, but the start date it carries is: the involvement's dates do not depend on arrival order."""
    started = [(r.source_key, r.involvement.started_on, r.involvement.organisation_code)
               for _, r in rows if r.involvement is not None and r.involvement.started_on is not None]
    if started:
        keys, starts, orgs = (list(column) for column in zip(*started, strict=True))
        conn.execute(KEEP_EARLIER_START, {"keys": keys, "starts": starts, "orgs": orgs, "feed": lineage.feed,
                                          "extract_time": lineage.extract_time, "sequence": lineage.sequence})


REPUBLISH_OUTVOTED_ADDRESS = text(QUEUE.format(f"""
SELECT s.record_id FROM staging.source_record s, identity.link l, directory.child d
WHERE s.feed = :feed AND s.source_key = ANY(:keys) AND s.file_id = :file_id AND NOT {QUEUED}
  AND l.record_id = s.record_id AND d.cp_id = l.cp_id AND s.address_line_1 IS NOT NULL
  AND (s.address_line_1, s.address_line_2, s.address_line_3, s.address_line_4, s.address_line_5, s.postcode)
      IS DISTINCT FROM
      (d.address_line_1, d.address_line_2, d.address_line_3, d.address_line_4, d.address_line_5, d.postcode)
"""))


def republish_outvoted_addresses(conn: Connection, lineage: Lineage, keys: list[str]) -> None:
    """A newer extract that repeats a record unchanged still makes it the newest address: if the directory
    shows another record's address for the child, publish the child again so "newest address wins" is
    judged afresh (only those children, not every repeated row)."""
    if keys:
        conn.execute(REPUBLISH_OUTVOTED_ADDRESS, {"feed": lineage.feed, "keys": keys, "file_id": lineage.file_id})
