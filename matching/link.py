"""Link staged records to children (deterministic rules only, for now).

A record, once linked, keeps its child: re-running changes nothing, so ContactPoint IDs are stable
across runs. New records first try existing children rule by rule; the rest are grouped among
themselves (records agreeing on any rule's keys are one child) and each group becomes a new child.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from matching.identity import cp_id_for
from matching.rules import DETERMINISTIC_RULES, LINKABLE_COLUMNS, DeterministicRule

NEW_CHILD_METHOD = "new_child"
LINK_LOCK = 7_204_312  # one linking run at a time, or two runs could each make a child for one record


@dataclass
class LinkSummary:
    """What a linking run did."""

    run_id: str
    linked_to_existing: dict[str, int] = field(default_factory=dict)
    new_children: int = 0
    records_in_new_children: int = 0


def _rule_sql(rule: DeterministicRule) -> str:
    if not set(rule.keys) <= LINKABLE_COLUMNS:
        raise ValueError(f"rule {rule.name} names a column that is not linkable")
    agree = " AND ".join(f"o.{k} = s.{k}" for k in rule.keys)
    present = " AND ".join(f"s.{k} IS NOT NULL" for k in rule.keys)
    return f"""
        INSERT INTO identity.link (record_id, cp_id, method, run_id)
        SELECT DISTINCT ON (s.record_id) s.record_id, l.cp_id, :method, :run_id
        FROM staging.source_record s
        JOIN staging.source_record o ON {agree} AND o.record_id <> s.record_id
        JOIN identity.link l ON l.record_id = o.record_id
        JOIN identity.child c ON c.cp_id = l.cp_id AND c.status = 'active'
        WHERE {present}
          AND NOT EXISTS (SELECT 1 FROM identity.link x WHERE x.record_id = s.record_id)
        ORDER BY s.record_id, c.created_at, l.cp_id
        RETURNING record_id, cp_id"""


def _find(parent: dict[int, int], item: int) -> int:
    while parent[item] != item:
        parent[item] = parent[parent[item]]
        item = parent[item]
    return item


def group_new_records(rows: Sequence[dict[str, object]], rules: Sequence[DeterministicRule]) -> list[list[int]]:
    """Group records that agree on every key of some rule (transitively); pure, for testing."""
    parent = {int(str(r["record_id"])): int(str(r["record_id"])) for r in rows}
    for rule in rules:
        first_with_key: dict[tuple[object, ...], int] = {}
        for row in rows:
            key = tuple(row[k] for k in rule.keys)
            if any(v is None for v in key):
                continue
            record_id = int(str(row["record_id"]))
            if key in first_with_key:
                parent[_find(parent, record_id)] = _find(parent, first_with_key[key])
            else:
                first_with_key[key] = record_id
    groups: dict[int, list[int]] = {}
    for record_id in parent:
        groups.setdefault(_find(parent, record_id), []).append(record_id)
    return sorted(sorted(g) for g in groups.values())


def link_unlinked(conn: Connection, run_id: str) -> LinkSummary:
    """Link every record that has no child yet; returns counts by rule."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LINK_LOCK})
    summary = LinkSummary(run_id)
    for rule in DETERMINISTIC_RULES:
        linked = conn.execute(text(_rule_sql(rule)), {"method": rule.name, "run_id": run_id}).fetchall()
        summary.linked_to_existing[rule.name] = len(linked)
        _log_changes(conn, [(r.record_id, r.cp_id) for r in linked], rule.name, run_id)

    columns = sorted({k for rule in DETERMINISTIC_RULES for k in rule.keys})
    rows = [dict(r._mapping) for r in conn.execute(text(
        f"""SELECT record_id, {', '.join(columns)} FROM staging.source_record s
            WHERE NOT EXISTS (SELECT 1 FROM identity.link l WHERE l.record_id = s.record_id)
            ORDER BY record_id"""))]
    groups = group_new_records(rows, DETERMINISTIC_RULES)
    if not groups:
        return summary
    numbers = conn.execute(
        text("SELECT nextval('identity.child_number') FROM generate_series(1, :n)"), {"n": len(groups)}
    ).scalars().all()
    cp_ids = [cp_id_for(int(n)) for n in numbers]
    conn.execute(text("INSERT INTO identity.child (cp_id) VALUES (:cp_id)"), [{"cp_id": c} for c in cp_ids])
    links = [(record_id, cp_id) for cp_id, group in zip(cp_ids, groups, strict=True) for record_id in group]
    conn.execute(
        text("INSERT INTO identity.link (record_id, cp_id, method, run_id) VALUES (:r, :c, :m, :run)"),
        [{"r": r, "c": c, "m": NEW_CHILD_METHOD, "run": run_id} for r, c in links],
    )
    _log_changes(conn, links, NEW_CHILD_METHOD, run_id)
    summary.new_children = len(groups)
    summary.records_in_new_children = len(links)
    return summary


def _log_changes(conn: Connection, links: list[tuple[int, str]], method: str, run_id: str) -> None:
    if links:
        conn.execute(
            text("""INSERT INTO identity.link_history (record_id, old_cp_id, new_cp_id, method, run_id)
                    VALUES (:r, NULL, :c, :m, :run)"""),
            [{"r": r, "c": c, "m": method, "run": run_id} for r, c in links],
        )
