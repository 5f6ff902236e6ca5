"""Deterministic linkage rules, as data: an ordered tuple of named rules, each a set of keys.

A record links to an existing child when every key of a rule agrees with a record already linked to
that child. Only identifiers that passed their check are ever in staging, so agreement is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeterministicRule:
    """A named rule: records agreeing on all ``keys`` (none empty) are the same child."""

    name: str
    keys: tuple[str, ...]


# Order matters: the first rule that finds a child wins. Names are stored in identity.link.method.
DETERMINISTIC_RULES: tuple[DeterministicRule, ...] = (
    DeterministicRule("nhs_number+date_of_birth", ("nhs_number", "date_of_birth")),
    DeterministicRule("upn+date_of_birth", ("upn", "date_of_birth")),
)

# Columns a rule may name (the SQL is generated from rules, so this is the whitelist).
LINKABLE_COLUMNS = frozenset({"nhs_number", "upn", "uln", "date_of_birth", "gender"})
