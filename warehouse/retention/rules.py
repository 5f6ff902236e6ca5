"""When a child leaves the directory: the rule table and the pure function that reads it.

The law behind the seeds: a record leaves the directory at the child's 18th birthday; with consent, at 19
for a young person receiving Connexions services, at 25 for a care leaver or a young person with learning
difficulties; a child who died stays one year, marked; a child who left England (and has no current
school or other service here) leaves at once. It then sits six years in a restricted archive and is
destroyed. The rules are one table (``RETENTION_RULES``) read by one function (``leave_date``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

ARCHIVE_YEARS = 6
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


def own_age_limit(row: dict[str, Any]) -> int:
    """The oldest age a row can keep a person in the directory by itself: 18, or 19 / 25 when the row
    carries the consent that extends it (the rule table's flags)."""
    return max(r.until_age or 0 for r in RETENTION_RULES if r.until_age and (r.flag is None or row.get(r.flag)))
