"""Publish the directory from linked source records: set-based, idempotent, only what changed.

Only children with a record in ``staging.publish_queue`` are recomputed. Every write is an upsert
guarded by ``IS DISTINCT FROM``, so an unchanged child is not touched and its history stays quiet;
running the same publish twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from contactpoint import clock
from warehouse.retention.due import past_leave_date
from warehouse.survivorship import RULES, SURVIVORSHIP, winner_sql

CHILD_COLUMNS = (
    "given_name", "middle_names", "family_name", "date_of_birth", "gender", "address_line_1",
    "address_line_2", "address_line_3", "address_line_4", "address_line_5", "postcode", "shielded",
)
INVOLVEMENT_COLUMNS = (
    "cp_id", "organisation_name", "practitioner_name", "phone", "email", "started_on", "ended_on",
    "lead_professional", "service_type", "sensitive", "caf_completed",
)
CARER_COLUMNS = ("title", "given_name", "family_name", "relationship", "parental_responsibility", "phone", "email")

# Each attribute group from the record its survivorship rule chooses; shielding belongs to the child:
# once any of its records is restricted, the whole child is shielded.
CHILD_RECORD = f"""
    SELECT d.cp_id, n.given_name, n.middle_names, n.family_name, b.date_of_birth, b.gender,
           a.address_line_1, a.address_line_2, a.address_line_3, a.address_line_4, a.address_line_5,
           a.postcode, r.shielded
    FROM dirty d
    JOIN ({winner_sql(RULES["name"], records="dirty_record")}) n ON n.cp_id = d.cp_id
    JOIN ({winner_sql(RULES["birth"], records="dirty_record")}) b ON b.cp_id = d.cp_id
    LEFT JOIN ({winner_sql(RULES["address"], records="dirty_record")}) a ON a.cp_id = d.cp_id
    JOIN (SELECT cp_id, bool_or(restricted) AS shielded FROM dirty_record GROUP BY cp_id) r ON r.cp_id = d.cp_id
"""
# The staging columns a publish reads: the records of the night's children are read from the (wide) staging
# table once, into a temporary table that every attribute group's choice then sorts.
DIRTY_RECORD_COLUMNS = tuple(dict.fromkeys((
    "record_id", "feed", "sender", "present", "extract_time", "sequence", "restricted", "involvement",
    *(c for rule in SURVIVORSHIP for c in (*rule.columns, rule.required)))))
# Sorting a night's children for each attribute group: in memory rather than in temporary files.
PUBLISH_WORK_MEM = "256MB"


def _assignments(columns: tuple[str, ...]) -> str:
    return ", ".join(f"{c} = excluded.{c}" for c in columns)


def _changed(table: str, columns: tuple[str, ...]) -> str:
    return f"({', '.join(f'{table}.{c}' for c in columns)}) IS DISTINCT FROM " \
           f"({', '.join(f'excluded.{c}' for c in columns)})"


@dataclass
class PublishSummary:
    """What a publish changed."""

    children_considered: int
    children_written: int
    carers_written: int
    involvements_written: int
    rows_removed: int


def publish_directory(conn: Connection) -> PublishSummary:
    """Recompute and upsert every child whose source records changed since the last publish."""
    conn.execute(text(f"SET LOCAL work_mem = '{PUBLISH_WORK_MEM}'"))
    # The queue as read now: only these entries are taken off it at the end (see warehouse.staging.QUEUE).
    conn.execute(text("""CREATE TEMP TABLE taken ON COMMIT DROP AS
                         SELECT q.record_id, q.queued FROM staging.publish_queue q
                         JOIN identity.link l ON l.record_id = q.record_id"""))
    conn.execute(text("""
        CREATE TEMP TABLE dirty ON COMMIT DROP AS
        SELECT DISTINCT l.cp_id FROM taken t
        JOIN identity.link l ON l.record_id = t.record_id
        JOIN identity.child c ON c.cp_id = l.cp_id AND c.status = 'active'"""))
    conn.execute(text("ANALYZE dirty"))  # temporary tables get no statistics otherwise: plans would guess
    # The door stays shut: a child past its leave date (a late record, a re-sent old file) is never
    # (re)published; the daily retention pass archives it.
    gone = past_leave_date(conn, "dirty", clock.today())
    if gone:
        conn.execute(text("DELETE FROM dirty WHERE cp_id = ANY(:gone)"), {"gone": gone})
    considered = conn.execute(text("SELECT count(*) FROM dirty")).scalar_one()
    conn.execute(text(f"""
        CREATE TEMP TABLE dirty_record ON COMMIT DROP AS
        SELECT l.cp_id, {", ".join(f"s.{c}" for c in DIRTY_RECORD_COLUMNS)}
        FROM dirty d JOIN identity.link l ON l.cp_id = d.cp_id
        JOIN staging.source_record s ON s.record_id = l.record_id"""))
    conn.execute(text("ANALYZE dirty_record"))
    # A child no longer active (held for a steward, merged away) leaves the directory.
    removed = conn.execute(text("""DELETE FROM directory.child d USING identity.child c
                                   WHERE c.cp_id = d.cp_id AND c.status <> 'active'""")).rowcount

    columns = ", ".join(CHILD_COLUMNS)
    children = conn.execute(text(f"""
        INSERT INTO directory.child (cp_id, {columns})
        SELECT cp_id, {columns} FROM ({CHILD_RECORD}) best
        ON CONFLICT (cp_id) DO UPDATE SET {_assignments(CHILD_COLUMNS)}, updated_at = now()
        WHERE {_changed('directory.child', CHILD_COLUMNS)}""")).rowcount

    conn.execute(text(f"""
        CREATE TEMP TABLE wanted_carer ON COMMIT DROP AS
        SELECT best.cp_id, best.record_id AS source_record_id, c.contact_order, c.title, c.given_name,
               c.family_name, c.relationship, c.parental_responsibility, c.phone, c.email
        FROM ({winner_sql(RULES["carers"], records="dirty_record")}) best,
             jsonb_to_recordset(best.contacts) AS c(contact_order int, title text, given_name text,
                 family_name text, relationship text, parental_responsibility boolean, phone text, email text)"""))
    removed += conn.execute(text("""
        DELETE FROM directory.carer k USING dirty d WHERE k.cp_id = d.cp_id AND NOT EXISTS (
            SELECT 1 FROM wanted_carer w WHERE (w.cp_id, w.source_record_id, w.contact_order)
                                             = (k.cp_id, k.source_record_id, k.contact_order))""")).rowcount
    carers = conn.execute(text(f"""
        INSERT INTO directory.carer (cp_id, source_record_id, contact_order, {', '.join(CARER_COLUMNS)})
        SELECT cp_id, source_record_id, contact_order, {', '.join(CARER_COLUMNS)} FROM wanted_carer
        ON CONFLICT (cp_id, source_record_id, contact_order) DO UPDATE SET {_assignments(CARER_COLUMNS)}
        WHERE {_changed('directory.carer', CARER_COLUMNS)}""")).rowcount

    # A record no longer in its sender's newest snapshot means the service has ended: shown as past,
    # dated by the extract that no longer listed it (not by when the hub happened to load it).
    conn.execute(text("""
        CREATE TEMP TABLE wanted_involvement ON COMMIT DROP AS
        SELECT s.cp_id, s.record_id AS source_record_id, i.kind, i.organisation_code, i.organisation_name,
               i.practitioner_name, i.phone, i.email, i.started_on,
               COALESCE(i.ended_on, CASE WHEN NOT s.present THEN (
                   SELECT min(f.extract_time)::date FROM intake.file f
                   WHERE f.feed = s.feed AND f.sender = s.sender AND f.extract_time > s.extract_time
                     AND f.status IN ('accepted', 'accepted_with_errors')) END) AS ended_on,
               COALESCE(i.lead_professional, false) AS lead_professional, i.service_type,
               COALESCE(i.sensitive, false) AS sensitive, COALESCE(i.caf_completed, false) AS caf_completed
        FROM dirty_record s,
        jsonb_to_record(s.involvement) AS i(kind text, organisation_code text, organisation_name text,
            practitioner_name text, phone text, email text, started_on date, ended_on date,
            lead_professional boolean, service_type text, sensitive boolean, caf_completed boolean)
        WHERE s.involvement IS NOT NULL"""))
    removed += conn.execute(text("""
        DELETE FROM directory.involvement v USING dirty d WHERE v.cp_id = d.cp_id AND NOT EXISTS (
            SELECT 1 FROM wanted_involvement w WHERE (w.source_record_id, w.kind, w.organisation_code)
                                                   = (v.source_record_id, v.kind, v.organisation_code))""")).rowcount
    involvement_columns = ", ".join(INVOLVEMENT_COLUMNS)
    involvements = conn.execute(text(f"""
        INSERT INTO directory.involvement (source_record_id, kind, organisation_code, {involvement_columns})
        SELECT source_record_id, kind, organisation_code, {involvement_columns} FROM wanted_involvement
        ON CONFLICT (source_record_id, kind, organisation_code) DO UPDATE SET {_assignments(INVOLVEMENT_COLUMNS)}
        WHERE {_changed('directory.involvement', INVOLVEMENT_COLUMNS)}""")).rowcount

    # A record without a child stays queued: it is published once it is linked.
    conn.execute(text("""DELETE FROM staging.publish_queue q USING taken t
                         WHERE q.record_id = t.record_id AND q.queued = t.queued"""))
    return PublishSummary(considered, children, carers, involvements, removed)


def unpublish_merged(conn: Connection, retired: list[str]) -> None:
    """Take children merged away (``retired`` IDs) out of the directory at once: their records now belong to
    the child that took them, which the next publish recomputes."""
    conn.execute(text("DELETE FROM directory.child WHERE cp_id = ANY(:old)"), {"old": retired})
