"""The misuse review: whose reading of the directory looks like trawling.

The seeds ask that use be "regularly reviewed to ensure that any misuse is detected". The audit trail
holds every child read; ``audit.reading_patterns`` (migration 0011) sums it per person since a time, and
the rules below (data, one table) say which figures flag a person. ``contactpoint audit misuse --since``
prints the people flagged, with the figures and the rules they broke.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class MisuseRule:
    """A person is flagged when ``figure`` reaches ``at_least`` in the period reviewed."""

    name: str
    figure: str
    at_least: int
    why: str


MISUSE_RULES: tuple[MisuseRule, ...] = (
    MisuseRule("volume", "children", 200, "read more children than any practitioner's caseload explains"),
    MisuseRule("unsearched", "unsearched", 20, "read children never found by a search first (IDs from elsewhere)"),
    MisuseRule("off_hours", "off_hours", 20, "read children outside working hours"),
    MisuseRule("budget", "budget_refusals", 1, "ran past the hourly read budget"),
)


@dataclass(frozen=True)
class ReadingPattern:
    """One person's reading since the review's start, and the rules it broke (empty: nothing to see)."""

    username: str
    role: str
    reads: int
    children: int
    unsearched: int
    off_hours: int
    budget_refusals: int
    broken: tuple[str, ...]


def misuse_report(conn: Connection, since: datetime,
                  rules: tuple[MisuseRule, ...] = MISUSE_RULES) -> list[ReadingPattern]:
    """Every person who read since ``since``, flagged ones first (most rules broken, then most children)."""
    patterns = []
    for row in conn.execute(text("SELECT * FROM audit.reading_patterns(:since)"), {"since": since}).mappings():
        figures = {k: int(row[k] or 0) for k in ("reads", "children", "unsearched", "off_hours", "budget_refusals")}
        broken = tuple(rule.name for rule in rules if figures[rule.figure] >= rule.at_least)
        patterns.append(ReadingPattern(username=str(row["username"]), role=str(row["user_role"]), **figures,
                                       broken=broken))
    return sorted(patterns, key=lambda p: (-len(p.broken), -p.children, p.username))
