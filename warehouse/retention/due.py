"""Which children are past their leave date: the rules' facts read from the store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

from warehouse.retention.rules import EVENT_FEED, EVENT_RULES, FLAG_RULES, ChildFacts, Leave, add_years, leave_date
from warehouse.survivorship import RULES, winner_sql


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

