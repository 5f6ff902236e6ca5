"""The clustering against its first, set-based version: the same groups and the same refusals for any
records, links and steward constraints (the fast version keeps per group only what a check needs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.cluster import UNCHECKED, RecordKeys, cluster

pytestmark = pytest.mark.unit


def _partition(group_of: dict[str, str]) -> set[frozenset[str]]:
    out: dict[str, set[str]] = {}
    for record, group in group_of.items():
        out.setdefault(group, set()).add(record)
    return {frozenset(members) for members in out.values()}


@dataclass
class _Group:
    members: set[str]
    nhs: set[str]
    upn: set[str]
    cp_ids: set[str]
    forbidden: set[str] = field(default_factory=set)


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


def reference_cluster(records: Sequence[RecordKeys], links: Iterable[tuple[str, str, float]], *,
            must_link: Iterable[tuple[str, str]] = (), cannot_link: Iterable[tuple[str, str]] = (),
            children_may_merge: bool = True,
            needing_an_identifier: Iterable[tuple[str, str]] = ()) -> dict[str, object]:
    """Group records; ``links`` are (record, record, weight) pairs decided ``link``, strongest applied first; those
    whose pair is ``needing_an_identifier`` merge only groups that both hold an identifier, and wait until the end
    otherwise.

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
    needing = set(needing_an_identifier)
    in_turn = sorted([(a, b, w, (a, b) in needing) for a, b, w in links], key=lambda link: (-link[2], link[0], link[1]))
    waiting: list[tuple[str, str, float, bool]] = []
    for last, ordered in ((False, in_turn), (True, waiting)):
        for a, b, weight, needs in ordered:
            if a not in groups.parent or b not in groups.parent:
                continue
            ra, rb = groups.find(a), groups.find(b)
            if ra == rb:
                continue
            reason = groups.conflict(ra, rb, children_may_merge=children_may_merge)
            identified = all(groups.data[r].nhs or groups.data[r].upn for r in (ra, rb))
            if reason is None and needs and not identified:
                if not last:
                    waiting.append((a, b, weight, needs))
                    continue
                reason = UNCHECKED
            if reason is None:
                groups.union(ra, rb)
            else:
                refused.append((a, b, reason))
    group_of = {r.record_id: groups.find(r.record_id) for r in records}
    return {"groups": _partition(group_of), "refused": refused}


RECORDS = [f"r{i}" for i in range(12)]
record_keys = st.builds(
    lambda nhs, upn, child: (nhs, upn, child),
    st.sampled_from([None, None, "1", "2"]), st.sampled_from([None, None, "U1", "U2"]),
    st.sampled_from([None, None, None, "CP1", "CP2"]))
pairs = st.tuples(st.sampled_from(RECORDS), st.sampled_from(RECORDS)).filter(lambda p: p[0] != p[1])


@settings(max_examples=400, deadline=None)
@given(keys=st.lists(record_keys, min_size=len(RECORDS), max_size=len(RECORDS)),
       links=st.lists(st.tuples(st.sampled_from(RECORDS), st.sampled_from(RECORDS),
                                st.sampled_from([2.0, 6.5, 9.0, 1000.0])), max_size=30),
       must=st.lists(pairs, max_size=3), cannot=st.lists(pairs, max_size=3), may_merge=st.booleans(),
       needing=st.lists(st.booleans(), min_size=30, max_size=30))
def test_the_fast_clustering_gives_the_reference_s_groups_and_refusals(
        keys: list[tuple[str | None, str | None, str | None]], links: list[tuple[str, str, float]],
        must: list[tuple[str, str]], cannot: list[tuple[str, str]], may_merge: bool, needing: list[bool]) -> None:
    records = [RecordKeys(r, nhs, upn, child) for r, (nhs, upn, child) in zip(RECORDS, keys, strict=True)]
    links = [link for link in links if link[0] != link[1]]
    # Some links only an identifier can check (through a middle name at one home and birth date).
    checked = [(a, b) for (a, b, _), needs in zip(links, needing, strict=False) if needs]
    fast = cluster(records, links, must_link=must, cannot_link=cannot, children_may_merge=may_merge,
                   needing_an_identifier=checked)
    reference = reference_cluster(records, links, must_link=must, cannot_link=cannot,
                                  children_may_merge=may_merge, needing_an_identifier=checked)
    assert _partition(fast.group_of) == reference["groups"]
    assert fast.refused == reference["refused"]
