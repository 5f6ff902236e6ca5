"""Records to children: greedy, constrained clustering of the pairs decided ``link``.

Plain connected components ignore negative evidence: one record without identifiers could chain two
children whose valid NHS numbers differ. Here links are applied strongest first, and a merge is refused
when the two groups would then hold two different NHS numbers or UPNs, when a steward said the records
are different children, or (in a nightly delta) when both groups are already children: merging two
existing children is a steward's decision, never the linker's. Steward must-links are applied first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordKeys:
    """What constrains a record's grouping: its valid identifiers and its current child, if any."""

    record_id: str
    nhs_number: str | None = None
    upn: str | None = None
    cp_id: str | None = None


@dataclass
class _Group:
    members: set[str]
    nhs: set[str]
    upn: set[str]
    cp_ids: set[str]
    forbidden: set[str] = field(default_factory=set)


@dataclass
class Clustering:
    """The outcome: every record's group, and the links refused by a constraint (for review)."""

    group_of: dict[str, str]
    refused: list[tuple[str, str, str]]

    def groups(self) -> dict[str, list[str]]:
        """Group → its records, each list sorted."""
        out: dict[str, list[str]] = {}
        for record, group in self.group_of.items():
            out.setdefault(group, []).append(record)
        return {g: sorted(members) for g, members in out.items()}


class _Groups:
    def __init__(self, records: Sequence[RecordKeys], cannot: Iterable[tuple[str, str]]) -> None:
        self.parent = {r.record_id: r.record_id for r in records}
        self.data = {
            r.record_id: _Group({r.record_id}, {r.nhs_number} - {None}, {r.upn} - {None},  # type: ignore[arg-type]
                                {r.cp_id} - {None})  # type: ignore[arg-type]
            for r in records
        }
        for a, b in cannot:
            if a in self.data and b in self.data:
                self.data[a].forbidden.add(b)
                self.data[b].forbidden.add(a)

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def conflict(self, a: str, b: str, *, children_may_merge: bool) -> str | None:
        ga, gb = self.data[a], self.data[b]
        if ga.forbidden & gb.members or gb.forbidden & ga.members:
            return "a steward decided these are different children"
        if len(ga.nhs | gb.nhs) > 1:
            return "different NHS numbers"
        if len(ga.upn | gb.upn) > 1:
            return "different UPNs"
        if not children_may_merge and ga.cp_ids and gb.cp_ids and ga.cp_ids != gb.cp_ids:
            return "both are already children"
        return None

    def union(self, a: str, b: str) -> None:
        big, small = (a, b) if len(self.data[a].members) >= len(self.data[b].members) else (b, a)
        self.parent[small] = big
        g, s = self.data[big], self.data.pop(small)
        g.members |= s.members
        g.nhs |= s.nhs
        g.upn |= s.upn
        g.cp_ids |= s.cp_ids
        g.forbidden |= s.forbidden


def cluster(records: Sequence[RecordKeys], links: Iterable[tuple[str, str, float]], *,
            must_link: Iterable[tuple[str, str]] = (), cannot_link: Iterable[tuple[str, str]] = (),
            children_may_merge: bool = True) -> Clustering:
    """Group records; ``links`` are (record, record, weight) pairs decided ``link``, strongest applied first.

    Records that share a current child start in one group (their child is not split by the linker).
    """
    groups = _Groups(records, cannot_link)
    by_child: dict[str, str] = {}
    for r in records:
        if r.cp_id is not None:
            first = by_child.setdefault(r.cp_id, r.record_id)
            if first != r.record_id:
                groups.union(groups.find(first), groups.find(r.record_id))
    for a, b in must_link:
        if a in groups.parent and b in groups.parent and groups.find(a) != groups.find(b):
            groups.union(groups.find(a), groups.find(b))
    refused: list[tuple[str, str, str]] = []
    # Ties broken by record ids, so equal weights are applied in the same order on every run.
    for a, b, _ in sorted(links, key=lambda link: (-link[2], link[0], link[1])):
        if a not in groups.parent or b not in groups.parent:
            continue
        ra, rb = groups.find(a), groups.find(b)
        if ra == rb:
            continue
        reason = groups.conflict(ra, rb, children_may_merge=children_may_merge)
        if reason is None:
            groups.union(ra, rb)
        else:
            refused.append((a, b, reason))
    return Clustering({r.record_id: groups.find(r.record_id) for r in records}, refused)
