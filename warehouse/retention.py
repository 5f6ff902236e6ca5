"""Retention: when a child leaves the directory, the six-year archive, and destruction that leaves no trace.

The law behind the seeds: a record leaves the directory at the child's 18th birthday; with consent, at 19
for a young person receiving Connexions services, at 25 for a care leaver or a young person with learning
difficulties; a child who died stays one year, marked; a child who left England (and has no current
school or other service here) leaves at once. It then sits six years in a restricted archive and is
destroyed. The rules are one table (``RETENTION_RULES``) read by one function (``leave_date``).

Destruction deletes the child from every schema in one transaction, shreds the archive key (the archived
ciphertext in the database, its WAL and backups becomes unreadable), then rewrites the tables that held
the child's plaintext (``VACUUM FULL``): a plain ``DELETE`` leaves the old bytes in the table's pages.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from warehouse import audit
from warehouse.changes import ID_ARCHIVED, record_change
from warehouse.key_vault import KeyVault, decrypt, encrypt, new_key
from warehouse.steward_actions import tool_session
from warehouse.survivorship import RULES, winner_sql

log = logging.getLogger(__name__)

ARCHIVE_YEARS = 6
REWRITE_LOCK_TIMEOUT = "10s"
BATCH_SIZE = 500
SYSTEM_USER = "contactpoint-retention"
SYSTEM_ROLE = "system"
OUT_OF_SCOPE_AGE = 25  # past every leave date the rules allow


@dataclass(frozen=True)
class RetentionRule:
    """One way a child's time in the directory ends.

    An *age* rule keeps the child until the birthday ``until_age``; a rule with a ``flag`` applies only while
    the newest record of ``feed`` that states the flag says yes (consent given; a later "no" withdraws it and
    the normal rule is back). An *event* rule ends the record ``keep_years`` after a GP deregistration for
    ``event``; ``unless_current_service`` waits while the child has a current non-GP involvement.
    The child leaves on the latest applicable age limit, or an applicable event's date if that is earlier.
    """

    reason: str
    feed: str | None = None
    flag: str | None = None
    until_age: int | None = None
    event: str | None = None
    keep_years: int = 0
    unless_current_service: bool = False


RETENTION_RULES: tuple[RetentionRule, ...] = (
    RetentionRule("age_18", until_age=18),
    RetentionRule("connexions_consent_to_19", feed="connexions", flag="consent_extend_to_19", until_age=19),
    RetentionRule("care_leaver_or_learning_difficulties_to_25", feed="ics", flag="extend_to_25", until_age=25),
    RetentionRule("died", feed="gp", event="death", keep_years=1),
    RetentionRule("left_england", feed="gp", event="left_england", unless_current_service=True),
)
FLAG_RULES = tuple(r for r in RETENTION_RULES if r.flag)
EVENT_RULES = tuple(r for r in RETENTION_RULES if r.event)
EVENT_FEED = "gp"  # the only feed whose deregistrations end a record (asserted below)
assert all(r.feed == EVENT_FEED for r in EVENT_RULES)


@dataclass(frozen=True)
class ChildFacts:
    """What the rules need to know about one child, from its linked source records."""

    cp_id: str
    date_of_birth: date
    flags: dict[str, bool] = field(default_factory=dict)  # rule reason -> the newest record's answer
    deregistration_reason: str | None = None  # from the newest GP record
    deregistered_on: date | None = None
    current_service: bool = False  # a current non-GP involvement (school, Connexions, CAF, social care)
    last_service_ended: date | None = None


@dataclass(frozen=True)
class Leave:
    """When a child leaves the directory, and by which rule."""

    on: date
    reason: str


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 1 March in a common year (as a birthday does in
    English law: a person born on 29 February attains an age on 1 March)."""
    target = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(target):
        return date(target, 3, 1)
    return day.replace(year=target)


def leave_date(child: ChildFacts) -> Leave:
    """The day ``child`` leaves the directory (it is archived on or after that day) and the rule why."""
    ages = [r for r in RETENTION_RULES if r.until_age is not None and (r.flag is None or child.flags.get(r.reason))]
    rule = max(ages, key=lambda r: r.until_age or 0)
    leave = Leave(add_years(child.date_of_birth, rule.until_age or 0), rule.reason)
    for rule in EVENT_RULES:
        if child.deregistration_reason != rule.event or child.deregistered_on is None:
            continue
        if rule.unless_current_service and child.current_service:
            continue
        start = child.deregistered_on
        if rule.unless_current_service and child.last_service_ended:
            start = max(start, child.last_service_ended)
        ends = add_years(start, rule.keep_years)
        if ends < leave.on:
            leave = Leave(ends, rule.reason)
    return leave


# --- Facts from the store --------------------------------------------------------------------------------

def _facts_sql(children: str) -> str:
    """Facts of every child listed in the temp table ``children``; generated from the rule table."""
    joins, columns = [], []
    for i, rule in enumerate(FLAG_RULES):
        joins.append(f"""
        LEFT JOIN (SELECT DISTINCT ON (l.cp_id) l.cp_id, s.{rule.flag} AS flag
                   FROM {children} x JOIN identity.link l ON l.cp_id = x.cp_id
                   JOIN staging.source_record s ON s.record_id = l.record_id
                   WHERE s.feed = '{rule.feed}' AND s.{rule.flag} IS NOT NULL
                   ORDER BY l.cp_id, s.extract_time DESC, s.sequence DESC, s.record_id DESC) f{i}
               ON f{i}.cp_id = d.cp_id""")
        columns.append(f"f{i}.flag AS flag{i}")
    return f"""
        SELECT d.cp_id, b.date_of_birth, {', '.join(columns)},
               g.deregistration_reason, g.deregistered_on,
               coalesce(o.current_service, false) AS current_service, o.last_service_ended
        FROM {children} d
        JOIN ({winner_sql(RULES["birth"], children)}) b ON b.cp_id = d.cp_id
        {''.join(joins)}
        LEFT JOIN (SELECT DISTINCT ON (l.cp_id) l.cp_id, s.deregistration_reason, s.deregistered_on
                   FROM {children} x JOIN identity.link l ON l.cp_id = x.cp_id
                   JOIN staging.source_record s ON s.record_id = l.record_id
                   WHERE s.feed = '{EVENT_FEED}'
                   ORDER BY l.cp_id, s.extract_time DESC, s.sequence DESC, s.record_id DESC) g ON g.cp_id = d.cp_id
        LEFT JOIN (SELECT l.cp_id,
                          bool_or(s.present AND coalesce((s.involvement ->> 'ended_on')::date > :as_of, true))
                              AS current_service,
                          max(coalesce((s.involvement ->> 'ended_on')::date, s.extract_time::date))
                              AS last_service_ended
                   FROM {children} x JOIN identity.link l ON l.cp_id = x.cp_id
                   JOIN staging.source_record s ON s.record_id = l.record_id
                   WHERE s.feed <> '{EVENT_FEED}' AND s.involvement IS NOT NULL
                   GROUP BY l.cp_id) o ON o.cp_id = d.cp_id"""


def child_facts(conn: Connection, children: str, as_of: date) -> list[ChildFacts]:
    """Facts of the children listed in the temp table ``children`` (column ``cp_id``)."""
    rows = conn.execute(text(_facts_sql(children)), {"as_of": as_of}).mappings()
    return [ChildFacts(
        cp_id=r["cp_id"], date_of_birth=r["date_of_birth"],
        flags={rule.reason: bool(r[f"flag{i}"]) for i, rule in enumerate(FLAG_RULES) if r[f"flag{i}"] is not None},
        deregistration_reason=r["deregistration_reason"], deregistered_on=r["deregistered_on"],
        current_service=r["current_service"], last_service_ended=r["last_service_ended"],
    ) for r in rows]


def _candidates_sql(source: str) -> str:
    """Children from ``source`` (a temp table of cp_id) the rules could have ended: adults by some record's
    date of birth, or with a deregistration event."""
    events = ", ".join(f"'{r.event}'" for r in EVENT_RULES)
    return f"""
        SELECT DISTINCT x.cp_id FROM {source} x JOIN identity.link l ON l.cp_id = x.cp_id
        JOIN staging.source_record s ON s.record_id = l.record_id
        WHERE s.date_of_birth <= :adult_born OR s.deregistration_reason IN ({events})"""


def past_leave_date(conn: Connection, children: str, as_of: date) -> list[str]:
    """Which of the children in temp table ``children`` are past their leave date on ``as_of``: publishing
    must not put them (back) in the directory."""
    conn.execute(text(f"""CREATE TEMP TABLE retention_check ON COMMIT DROP AS {_candidates_sql(children)}"""),
                 {"adult_born": add_years(as_of, -18)})
    facts = child_facts(conn, "retention_check", as_of)
    conn.execute(text("DROP TABLE retention_check"))
    return [f.cp_id for f in facts if leave_date(f).on <= as_of]


@dataclass(frozen=True)
class Due:
    """A child whose leave date has passed."""

    cp_id: str
    leave: Leave


def children_due(conn: Connection, as_of: date, *, mark_deaths: bool = True) -> list[Due]:
    """Every active child whose leave date is on or before ``as_of``, oldest leave first.

    Candidates come by index: directory children born at least 18 years ago, children with a GP
    deregistration that ends a record, and active children never published (e.g. linked after their leave
    date); the rules then decide.
    """
    events = ", ".join(f"'{r.event}'" for r in EVENT_RULES)
    conn.execute(text(f"""
        CREATE TEMP TABLE retention_candidate ON COMMIT DROP AS
        SELECT cp_id FROM directory.child WHERE date_of_birth <= :adult_born
        UNION
        SELECT l.cp_id FROM staging.source_record s JOIN identity.link l ON l.record_id = s.record_id
        JOIN identity.child c ON c.cp_id = l.cp_id AND c.status = 'active'
        WHERE s.deregistration_reason IN ({events})
        UNION
        SELECT c.cp_id FROM identity.child c
        WHERE c.status = 'active' AND NOT EXISTS (SELECT 1 FROM directory.child d WHERE d.cp_id = c.cp_id)"""),
        {"adult_born": add_years(as_of, -18)})
    facts = child_facts(conn, "retention_candidate", as_of)
    if mark_deaths:
        _mark_deaths(conn, facts)
    conn.execute(text("DROP TABLE retention_candidate"))
    due = [Due(f.cp_id, leave) for f in facts if (leave := leave_date(f)).on <= as_of]
    return sorted(due, key=lambda d: (d.leave.on, d.cp_id))


def _mark_deaths(conn: Connection, facts: Iterable[ChildFacts]) -> None:
    """A child who died stays in the directory for a year, marked so that no one contacts the family unawares."""
    died = [{"c": f.cp_id, "d": f.deregistered_on} for f in facts
            if f.deregistration_reason == "death" and f.deregistered_on is not None]
    if died:
        conn.execute(text("""UPDATE directory.child SET died_on = :d
                             WHERE cp_id = :c AND died_on IS DISTINCT FROM :d"""), died)


# --- Age-out: directory -> archive ---------------------------------------------------------------------

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


# --- Destruction --------------------------------------------------------------------------------------

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


def rewrite_tables(engine: Engine, tables: Sequence[str], *, after_xid: int | None = None,
                   wait_seconds: float = 300.0) -> bool:
    """Rewrite tables (and their TOAST and indexes) so the pages that held deleted rows are gone; refresh
    the planner's statistics, which sample column values, and rewrite the statistics catalog too when the
    hub's role may (a superuser; otherwise a DBA's job, logged).

    With ``after_xid`` (the destroying transaction), first wait until no session's snapshot is older than
    it, then mark the destruction log's entries up to it rewritten. Returns False, having rewritten
    nothing or not everything, when an older snapshot outlasts the wait or a table stays locked.
    (Sessions of other roles are visible here only to a superuser or ``pg_read_all_stats``.)"""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # The statistics sample column values (the loader's ANALYZE after each bulk step, autovacuum): drop
        # the deleted rows from them now, without waiting (ANALYZE skips deleted rows, takes no blocking lock).
        conn.execute(text(f"SET lock_timeout = '{REWRITE_LOCK_TIMEOUT}'"))
        try:
            conn.execute(text(f"ANALYZE {', '.join(tables)}"))
        except OperationalError as exc:
            log.warning("statistics refresh postponed to the rewrite: %s", exc.orig)
        if after_xid is not None and not _wait_for_older_snapshots(conn, after_xid, wait_seconds):
            # The old transaction would keep the bytes anyway, and may hold a lock the rewrite would queue
            # behind, stalling every reader of the table: leave it to the next pass.
            return False
        # A rewrite locks its table: give up rather than queue behind a long reader (and block the others).
        conn.execute(text(f"SET lock_timeout = '{REWRITE_LOCK_TIMEOUT}'"))
        try:
            for table in tables:
                conn.execute(text(f"VACUUM (FULL, ANALYZE) {table}"))
        except OperationalError as exc:
            log.warning("rewrite postponed to the next pass: %s", exc.orig)
            return False
        try:
            conn.execute(text("VACUUM FULL pg_catalog.pg_statistic"))
        except (OperationalError, ProgrammingError) as exc:  # not a superuser: the data tables are done
            log.warning("could not rewrite pg_statistic (%s): old statistics samples may keep values", exc.orig)
        if after_xid is not None:
            conn.execute(text("""UPDATE archive.destruction_log SET rewritten_at = now()
                                 WHERE rewritten_at IS NULL AND destroyed_xid <= :x"""), {"x": after_xid})
    return True


def _wait_for_older_snapshots(conn: Connection, txid: int, wait_seconds: float) -> bool:
    """Wait until no other session holds a snapshot or transaction from before ``txid``; False on timeout."""
    deadline = time.monotonic() + wait_seconds
    while True:
        older = conn.execute(text("""
            SELECT count(*) FROM pg_stat_activity
            WHERE pid <> pg_backend_pid()
              AND (age(backend_xmin) >= age(CAST(CAST(:x AS text) AS xid))
                   OR age(backend_xid) >= age(CAST(CAST(:x AS text) AS xid)))"""),
            {"x": txid % 2**32}).scalar_one()
        if not older:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


# --- Proof --------------------------------------------------------------------------------------------

SEARCHED_TYPES = ("text", "character varying", "character", "json", "jsonb", "bytea")


@dataclass(frozen=True)
class Hit:
    """A detail found in a column."""

    table: str
    column: str
    detail: str
    rows: int


def prove_destroyed(conn: Connection, details: Sequence[str]) -> list[Hit]:
    """Search every text, varchar, char, json, jsonb and bytea column of every table in the hub's schemas,
    and the planner's statistics samples, for each detail (case-insensitive substring); every hit found."""
    wanted = [d.strip() for d in details if d and d.strip()]
    if not wanted:
        raise ValueError("give at least one detail to look for (a name, a date of birth, a postcode, an identifier)")
    columns = conn.execute(text("""
        SELECT c.table_schema, c.table_name, c.column_name, c.data_type FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE t.table_type = 'BASE TABLE' AND c.data_type = ANY(:types)
          AND c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg_%'
        ORDER BY 1, 2, 3"""), {"types": list(SEARCHED_TYPES)}).all()
    hits = []
    # One scan per column for all details (a regular expression of them), then one query per detail only
    # where the column holds any: proving hundreds of destroyed children stays a few hundred scans.
    pattern = "|".join(re.escape(d.upper()) for d in wanted)
    for schema, table, column, data_type in columns:
        target = f'"{schema}"."{table}"'
        if data_type == "bytea":  # raw bytes: look for the detail as written, in capitals and in lower case
            match = " OR ".join(f'position(convert_to({case}(:d), \'UTF8\') IN "{column}") > 0'
                                for case in ("", "upper", "lower"))
            candidates = wanted
        else:
            match = f'strpos(upper("{column}"::text), upper(:d)) > 0'
            any_hit = conn.execute(text(f'SELECT 1 FROM {target} WHERE upper("{column}"::text) ~ :p LIMIT 1'),
                                   {"p": pattern}).first()
            candidates = wanted if any_hit else []
        for detail in candidates:
            found = conn.execute(text(f"SELECT count(*) FROM {target} WHERE {match}"), {"d": detail}).scalar_one()
            if found:
                hits.append(Hit(f"{schema}.{table}", column, detail, found))
    for detail in wanted:
        stats = conn.execute(text("""
            SELECT schemaname || '.' || tablename AS t, attname FROM pg_stats
            WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
              AND (strpos(upper(most_common_vals::text), upper(:d)) > 0
                   OR strpos(upper(histogram_bounds::text), upper(:d)) > 0)"""), {"d": detail}).all()
        hits.extend(Hit(f"{t} (statistics)", a, detail, 1) for t, a in stats)
    return hits


def destruction_logged(conn: Connection, cp_id: str, vault: KeyVault | None = None) -> dict[str, Any] | None:
    """The destruction log's entry for a ContactPoint ID an auditor holds, or None."""
    row = conn.execute(text("SELECT destroyed_on, rows_removed FROM archive.destruction_log WHERE cp_id_hash = :h"),
                       {"h": (vault or KeyVault()).id_hash(cp_id)}).one_or_none()
    return None if row is None else {"destroyed_on": row.destroyed_on, "rows_removed": row.rows_removed}


# --- The door: rows for children already gone --------------------------------------------------------

def own_age_limit(row: dict[str, Any]) -> int:
    """The oldest age a row can keep a person in the directory by itself: 18, or 19 / 25 when the row
    carries the consent that extends it (the rule table's flags)."""
    return max(r.until_age or 0 for r in RETENTION_RULES if r.until_age and (r.flag is None or row.get(r.flag)))


# The identifiers are compared in the columns' own fixed-width types: compared as text, the column would
# be cast and its (nhs_number, date_of_birth) and (upn, date_of_birth) indexes never used, so each row
# would scan every record born the same day (a cost that grows with the store).
DOOR_SQL = text("""
    SELECT k.key, bool_or(c.status = 'archived') AS archived, bool_or(c.status <> 'archived') AS held
    FROM unnest(CAST(:keys AS text[]), CAST(:nhs AS char(10)[]), CAST(:upn AS char(13)[]), CAST(:dob AS date[]))
         AS k(key, nhs, upn, dob)
    JOIN LATERAL (
        SELECT s.record_id FROM staging.source_record s WHERE s.feed = :feed AND s.source_key = k.key
        UNION SELECT s.record_id FROM staging.source_record s WHERE s.nhs_number = k.nhs AND s.date_of_birth = k.dob
        UNION SELECT s.record_id FROM staging.source_record s WHERE s.upn = k.upn AND s.date_of_birth = k.dob
    ) same ON true
    JOIN identity.link l ON l.record_id = same.record_id JOIN identity.child c ON c.cp_id = l.cp_id
    GROUP BY k.key""")


ANY_ARCHIVED = text("SELECT EXISTS (SELECT 1 FROM identity.child WHERE status = 'archived')")


def door_params(feed: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The door query's parameters for ``rows`` (dicts with source_key, nhs_number, upn, date_of_birth)."""
    return {"feed": feed, "keys": [r["source_key"] for r in rows], "nhs": [r["nhs_number"] for r in rows],
            "upn": [r["upn"] for r in rows], "dob": [r["date_of_birth"] for r in rows]}


def out_of_scope_keys(conn: Connection, feed: str, rows: Sequence[dict[str, Any]], as_of: date) -> set[str]:
    """Source keys of ``rows`` (dicts with source_key, date_of_birth, nhs_number, upn and the consent flags)
    that must not come back: a record of an archived child (the same source record, or the same NHS number
    or UPN with the same date of birth), or a person past every leave date: 25 or over, or past the age
    limit the row's own consent allows unless it is a record of a child the directory still holds (an
    18-year-old's school row while Connexions consent keeps the child to 19)."""
    too_old = add_years(as_of, -OUT_OF_SCOPE_AGE)
    out = {r["source_key"] for r in rows if r["date_of_birth"] is not None and r["date_of_birth"] <= too_old}
    rest = [r for r in rows if r["source_key"] not in out]
    if not rest:
        return out
    past_own_limit = {r["source_key"] for r in rest if r["date_of_birth"] is not None
                      and r["date_of_birth"] <= add_years(as_of, -own_age_limit(r))}
    if not conn.execute(ANY_ARCHIVED).scalar():
        # Nothing archived: only a row past its own limit needs the store (is its child still held?).
        rest = [r for r in rest if r["source_key"] in past_own_limit]
        if not rest:
            return out
    matches = conn.execute(DOOR_SQL, door_params(feed, rest)).all()
    archived = {m.key for m in matches if m.archived}
    held = {m.key for m in matches if m.held}
    return out | archived | (past_own_limit - held)


def destruction_due(conn: Connection, as_of: date) -> list[tuple[str, date]]:
    """(ContactPoint ID, destroy-after date) of every archived child due for destruction on ``as_of``."""
    rows = conn.execute(text("""SELECT cp_id, destroy_after FROM archive.child WHERE destroy_after <= :d
                                ORDER BY destroy_after, cp_id"""), {"d": as_of}).all()
    return [(r.cp_id, r.destroy_after) for r in rows]
