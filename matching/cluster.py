"""Records to children: greedy, constrained clustering of the pairs decided ``link``.

Plain connected components ignore negative evidence: one record without identifiers could chain two
children whose valid NHS numbers differ. Here links are applied strongest first, and a merge is refused
when the two groups would then hold two different NHS numbers or UPNs, when a steward said the records
are different children, or (in a nightly delta) when both groups are already children: merging two
existing children is a steward's decision, never the linker's. Steward must-links are applied first.
A link that only an identifier can check (``matching.decide.needs_an_identifier``) merges two groups only once
both hold an NHS number or a UPN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordKeys:
    """What constrains a record's grouping: its valid identifiers and its current child, if any."""

    record_id: str
    nhs_number: str | None = None
    upn: str | None = None
    cp_id: str | None = None


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


MANY = object()  # a group holding two or more distinct values of a key (only a steward or a child can do that)


def _combined(a: object, b: object) -> object:
    """The distinct values of two groups' key, as None (none), the one value, or MANY."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    return MANY


class _Groups:
    """Union-find over record positions; per root only what a conflict check needs (a national load
    clusters millions of records: no set per record)."""

    def __init__(self, records: Sequence[RecordKeys], cannot: Iterable[tuple[str, str]]) -> None:
        self.position = {r.record_id: i for i, r in enumerate(records)}
        self.parent = list(range(len(records)))
        self.size = [1] * len(records)
        self.nhs: list[object] = [r.nhs_number for r in records]
        self.upn: list[object] = [r.upn for r in records]
        self.child: list[object] = [r.cp_id for r in records]
        self.forbidden: dict[int, set[int]] = {}
        for a, b in cannot:
            if a in self.position and b in self.position:
                pa, pb = self.position[a], self.position[b]
                self.forbidden.setdefault(pa, set()).add(pb)
                self.forbidden.setdefault(pb, set()).add(pa)

    def find(self, item: int) -> int:
        parent = self.parent
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:
            parent[item], item = root, parent[item]
        return root

    def conflict(self, a: int, b: int, *, children_may_merge: bool) -> str | None:
        if any(self.find(f) == b for f in self.forbidden.get(a, ())) or \
                any(self.find(f) == a for f in self.forbidden.get(b, ())):
            return "a steward decided these are different children"
        if _combined(self.nhs[a], self.nhs[b]) is MANY:
            return "different NHS numbers"
        if _combined(self.upn[a], self.upn[b]) is MANY:
            return "different UPNs"
        # A child's records start in one group, so two groups never share a child: both having one
        # means two different children.
        if not children_may_merge and self.child[a] is not None and self.child[b] is not None:
            return "both are already children"
        return None

    def identified(self, a: int) -> bool:
        """Whether the group holds an NHS number or a UPN."""
        return self.nhs[a] is not None or self.upn[a] is not None

    def union(self, a: int, b: int) -> None:
        big, small = (a, b) if self.size[a] >= self.size[b] else (b, a)
        self.parent[small] = big
        self.size[big] += self.size[small]
        self.nhs[big] = _combined(self.nhs[big], self.nhs[small])
        self.upn[big] = _combined(self.upn[big], self.upn[small])
        self.child[big] = _combined(self.child[big], self.child[small])
        if small in self.forbidden:
            self.forbidden.setdefault(big, set()).update(self.forbidden.pop(small))


UNCHECKED = "one of the two holds no NHS number or UPN to check a link through a middle name"


def cluster(records: Sequence[RecordKeys], links: Iterable[tuple[str, str, float]], *,
            must_link: Iterable[tuple[str, str]] = (), cannot_link: Iterable[tuple[str, str]] = (),
            children_may_merge: bool = True, needing_an_identifier: Iterable[tuple[str, str]] = ()
            ) -> Clustering:
    """Group records; ``links`` are (record, record, weight) pairs decided ``link``, strongest applied first. A link
    whose (record, record) is ``needing_an_identifier`` merges two groups only once both hold an NHS number or a
    UPN; one that finds a group without either waits until every other link is applied, then merges or is refused
    (``UNCHECKED``).

    Records that share a current child start in one group (their child is not split by the linker).
    """
    groups = _Groups(records, cannot_link)
    position = groups.position
    by_child: dict[str, int] = {}
    for i, r in enumerate(records):
        if r.cp_id is not None:
            first = by_child.setdefault(r.cp_id, i)
            if first != i and groups.find(first) != groups.find(i):
                groups.union(groups.find(first), groups.find(i))
    for a, b in must_link:
        if a in position and b in position and groups.find(position[a]) != groups.find(position[b]):
            groups.union(groups.find(position[a]), groups.find(position[b]))
    refused: list[tuple[str, str, str]] = []
    waiting: list[tuple[str, str]] = []

    def apply(a: str, b: str, needs_an_identifier: bool, *, last: bool) -> None:
        pa, pb = position.get(a), position.get(b)
        if pa is None or pb is None:
            return
        ra, rb = groups.find(pa), groups.find(pb)
        if ra == rb:
            return
        reason = groups.conflict(ra, rb, children_may_merge=children_may_merge)
        if reason is None and needs_an_identifier and not (groups.identified(ra) and groups.identified(rb)):
            # Applied in its turn it keeps the order of the links it competes with (a weaker link to another
            # child must not win a group first); only a group not yet identified makes it wait.
            if not last:
                waiting.append((a, b))
                return
            reason = UNCHECKED
        if reason is None:
            groups.union(ra, rb)
        else:
            refused.append((a, b, reason))

    # Ties broken by record ids, so equal weights are applied in the same order on every run. Weights are compared
    # to 1e-9: two estimates of one model differ in the last bits (DuckDB sums in parallel), and a pair lifted
    # by a known move (its household weight swapped) differs so from one weighed at one home; unrounded, those
    # bits would choose which of two equal links a refusal falls on.
    needing = set(needing_an_identifier)
    for a, b, _ in sorted(links, key=lambda link: (-round(link[2], 9), link[0], link[1])):
        apply(a, b, (a, b) in needing, last=False)
    for a, b in waiting:
        apply(a, b, True, last=True)
    ids = [r.record_id for r in records]
    return Clustering({record: ids[groups.find(i)] for i, record in enumerate(ids)}, refused)
