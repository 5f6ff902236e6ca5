"""Assigning ContactPoint IDs to linked groups, the same on either backend (``matching.link`` on DuckDB,
``matching.link_spark`` on Spark): what a run did, which old ID each group keeps, and what a retired ID
points to. Pure: the store's reads and writes are ``warehouse.identity``'s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class LinkSummary:
    """What a linking run did (small: it travels through XCom)."""

    run_id: str
    mode: str
    records: int = 0
    pairs_scored: int = 0
    joined_existing: int = 0
    new_children: int = 0
    records_moved: int = 0
    children_merged: int = 0
    held_children: int = 0
    review_pairs: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


def carry_over(groups: list[list[str]], before: dict[str, str]) -> list[str | None]:
    """Each group's ContactPoint ID: the old ID holding most of its records, each old ID used once."""
    overlaps = [(min(int(m) for m in members), cp_id, count, len(members))
                for members in groups for cp_id, count in Counter(before[m] for m in members if m in before).items()]
    chosen = carry_over_overlaps(overlaps)
    return [chosen.get(min(int(m) for m in members)) if members else None for members in groups]


def carry_over_overlaps(overlaps: Iterable[tuple[int, str, int, int]]) -> dict[int, str]:
    """(group, old ID, records of the group it holds, group size) → the old ID each group keeps.

    Greedy, most shared records first; ties go to the larger group, then the group with the smaller
    record id, then the smaller ID: the same answer on every run and on either backend.
    """
    chosen: dict[int, str] = {}
    taken: set[str] = set()
    for _, _, group, cp_id in sorted((-count, -size, group, cp_id) for group, cp_id, count, size in overlaps):
        if group not in chosen and cp_id not in taken:
            chosen[group] = cp_id
            taken.add(cp_id)
    return chosen


def successor(counts: Counter[str]) -> str:
    """The ID that took most of a retired ID's records (ties: the smaller ID, the same on every run)."""
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def retired_ids(before: dict[str, str], after: dict[str, str]) -> list[tuple[str, str]]:
    """(old ID, its successor) for each old ID left without records: merged into the ID that took most of
    them, never reused."""
    successors: dict[str, Counter[str]] = {}
    for record, old in before.items():
        successors.setdefault(old, Counter())[after[record]] += 1
    kept = set(after.values())
    return [(old, successor(counts)) for old, counts in successors.items() if old not in kept]


def splits(groups: list[list[str]], cp_ids: list[str], before: dict[str, str]) -> set[tuple[str, str]]:
    """(old child, new child) for each new ID given to records that had a child before: split off it."""
    return {(before[m], cp_id) for members, cp_id in zip(groups, cp_ids, strict=True) for m in members if m in before}
