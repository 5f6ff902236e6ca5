"""Survivorship: which source record speaks for each of a child's attributes. A rule table, not ifs.

Each attribute group names the feeds it trusts, most trusted first, and whether trust or recency
decides first. Names come from the school or GP record (what the child is registered as); the date of
birth and gender from the GP (the NHS's demographics) then the school; the address from the newest
extract of any feed that sends one (a child who moved is found at the new address), trust breaking
ties; parents and carers from the school's roll (the only feed that sends them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SurvivorshipRule:
    """For ``columns``: take them from the first record by (trust, recency) or (recency, trust)."""

    group: str
    columns: tuple[str, ...]
    feeds: tuple[str, ...]
    prefer: str  # "trust": feed order first, then newest; "newest": newest first, then feed order
    required: str  # a record only competes when it has this column


SURVIVORSHIP: tuple[SurvivorshipRule, ...] = (
    SurvivorshipRule("name", ("given_name", "middle_names", "family_name"),
                     ("school", "gp", "connexions", "ics", "ecaf"), "trust", "family_name"),
    SurvivorshipRule("birth", ("date_of_birth", "gender"), ("gp", "school", "connexions", "ics", "ecaf"), "trust",
                     "date_of_birth"),
    SurvivorshipRule("address", ("address_line_1", "address_line_2", "address_line_3", "address_line_4",
                                 "address_line_5", "postcode"),
                     ("school", "gp", "connexions", "ics", "ecaf"), "newest", "address_line_1"),
    SurvivorshipRule("carers", ("record_id", "contacts"), ("school",), "newest", "record_id"),
)


def winner_sql(rule: SurvivorshipRule, children: str = "dirty", records: str | None = None) -> str:
    """One row per child listed in the temp table ``children`` (column ``cp_id``): the columns of the
    record that wins ``rule``. ``records`` names a table already holding those children's records (their
    staging columns plus ``cp_id``), read instead of joining the links and the whole staging table again."""
    feeds = ", ".join(f"'{feed}'" for feed in rule.feeds)
    trust = f"array_position(ARRAY[{feeds}]::text[], s.feed)"
    newest = "s.present DESC, s.extract_time DESC, s.sequence DESC"
    order = f"{trust}, {newest}" if rule.prefer == "trust" else f"{newest}, {trust}"
    columns = ", ".join(f"s.{c}" for c in rule.columns)
    source = f"{records} s" if records else f"""{children} d JOIN identity.link l ON l.cp_id = d.cp_id
        JOIN staging.source_record s ON s.record_id = l.record_id"""
    child = "s.cp_id" if records else "l.cp_id"
    return f"""
        SELECT DISTINCT ON ({child}) {child}, {columns}
        FROM {source}
        WHERE s.feed = ANY(ARRAY[{feeds}]::text[]) AND s.{rule.required} IS NOT NULL
        ORDER BY {child}, {order}, s.record_id DESC"""


RULES = {rule.group: rule for rule in SURVIVORSHIP}
