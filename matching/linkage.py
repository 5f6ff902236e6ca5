"""One linkage, the same for the pipeline and for ``contactpoint link-files``: score, decide, cluster.

Takes comparison-column frames (``matching.features``) and returns every record's group plus the pairs
a steward should see. Nothing here touches the store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from matching.cluster import Clustering, RecordKeys, cluster
from matching.decide import (
    ALWAYS_ASKED,
    LINK,
    REVIEW,
    TWO_CHILDREN_RULES,
    decide_pairs,
    links_as_near_another_child,
    links_through_a_middle_name_read_alone,
    needs_an_identifier,
)
from matching.features import Frame, column
from matching.model import score_between, score_within, twins_seen
from matching.moves import (
    DECIDED_BY_WEIGHT,
    across_known_moves,
    known_moves,
    moves_of_children,
    moves_of_pairs,
    same_home_weight,
    scoring_floor,
)
from matching.settings import MODEL_VERSION, THRESHOLDS, Thresholds, structure_of

COMPARISON_NAMES = ("forename", "surname", "dob", "household", "gender", "nhs_number", "upn")
# Structure v4's comparisons: explained only where the pair was scored with them.
LATER_COMPARISONS = ("town", "other_identifier")
# Rules that link on their own outrank any weight when groups are formed.
RULE_WEIGHT = 1_000.0


@dataclass
class Linkage:
    """Groups of records, and the pairs for review with why."""

    clustering: Clustering
    review: list[dict[str, Any]] = field(default_factory=list)
    pairs_scored: int = 0
    links: int = 0
    estimated: dict[str, Any] | None = None  # what link-files estimated on the data given, if it did


def explanation(pair: pd.Series) -> dict[str, Any]:
    """Per-comparison evidence of a scored pair: agreement level and match weight (log2 Bayes factor,
    term-frequency adjustment included), from Splink's ``mw_`` columns."""
    out: dict[str, Any] = {}
    for name in COMPARISON_NAMES + tuple(c for c in LATER_COMPARISONS if f"gamma_{c}" in pair.index):
        weight = float(pair.get(f"mw_{name}", 0.0) or 0.0) + float(pair.get(f"mw_tf_adj_{name}", 0.0) or 0.0)
        out[name] = {"gamma": int(pair.get(f"gamma_{name}", -1)),
                     "weight": None if math.isnan(weight) else round(weight, 3)}
    return out


def permanent_upn(upn: str | None) -> str | None:
    """A UPN that identifies a child: a temporary one (last character a letter) is a placeholder."""
    return upn if upn and upn[-1].isdigit() else None


def upn_key(upn: str | None, temporary_upns_count: bool) -> str | None:
    """A record's UPN as a grouping key: any valid one for a v1 model (as it always was), only a permanent one
    for a model of v2 or later (DuckDB and Spark read it alike)."""
    return (upn or None) if temporary_upns_count else permanent_upn(upn)


def given_names_of(*frames: Frame | None) -> dict[str, list[str]]:
    """Each record's formal given names, its forename first."""
    return {str(record): list(names) for frame in frames if frame is not None
            for record, names in zip(column(frame, "unique_id"), column(frame, "given_names"), strict=True)
            if names is not None and len(names) > 0}


def _keys(frame: Frame, children: dict[str, str] | None, temporary_upns_count: bool = True) -> list[RecordKeys]:
    children = children or {}
    return [RecordKeys(str(record), nhs or None, upn_key(upn, temporary_upns_count), children.get(str(record)))
            for record, nhs, upn in zip(column(frame, "unique_id"), column(frame, "nhs_number"),
                                        column(frame, "upn"), strict=True)]


class IdentifiersByGroup:
    """The valid NHS numbers and UPNs each group of records holds once clustered.

    Two groups holding different ones (beyond one mistyped or transposed character, which a clerk's copy of the
    same number could carry) are two children, as surely as two records whose identifiers differ
    (``matching.decide``'s first rule keeps those apart without a steward): a pair the weight alone sent to
    review, twins each known by her own identifiers, or a link the clustering refused for those identifiers is
    then not a question for a steward. Groups that also hold one identifier in common stay asked, unless the rule
    that sent the pair already reads the names as two children's (``TWO_CHILDREN_RULES``: twins, a copied
    identifier): the common identifier is then the copy, and the kind that differs tells the children apart.
    Rules whose evidence conflicts whatever the identifiers (``ALWAYS_ASKED``) stay asked.
    """

    def __init__(self, records: Iterable[RecordKeys], group_of: dict[str, str]) -> None:
        self.group_of = group_of
        self.held: dict[str, tuple[set[str], set[str]]] = {}
        for r in records:
            nhs, upn = self.held.setdefault(group_of.get(r.record_id, r.record_id), (set(), set()))
            if r.nhs_number:
                nhs.add(r.nhs_number)
            if r.upn:
                upn.add(r.upn)

    def differ(self, a: str, b: str, *, names_say_two_children: bool = False) -> bool:
        """Whether the groups of records ``a`` and ``b`` hold different NHS numbers or different UPNs; with
        ``names_say_two_children``, whether they do in one kind of identifier, whatever the other kind shares."""
        empty: tuple[set[str], set[str]] = (set(), set())
        held_a = self.held.get(self.group_of.get(a, a), empty)
        held_b = self.held.get(self.group_of.get(b, b), empty)
        kinds = [(bool(x and y), any(one_typo_apart(p, q) for p in x for q in y))
                 for x, y in zip(held_a, held_b, strict=True)]
        if names_say_two_children:
            return any(both and not shared for both, shared in kinds)
        # One identifier in common and another apart, beside names that may be one child's, is conflicting
        # evidence (a record that took another child's number yet joined its own): a steward's question.
        return not any(shared for _, shared in kinds) and any(both for both, _ in kinds)


def still_asked(review: list[dict[str, Any]], held: IdentifiersByGroup,
                cannot_link: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """The review entries that are still a steward's question once the records are grouped (DuckDB and Spark
    alike): not two children a steward already kept apart (a cannot-link between any of their records: a steward
    answers an entry, a pair of children, for all its record pairs at once, so a record that joins one of them
    later is no new question), and not two children each known by her own identifiers, unless the rule asks
    whatever the identifiers say (``ALWAYS_ASKED``)."""
    group_of = held.group_of

    def children(a: str, b: str) -> frozenset[str]:
        return frozenset((group_of.get(a, a), group_of.get(b, b)))

    kept_apart = {children(a, b) for a, b in cannot_link}
    return [e for e in review if children(e["record_a"], e["record_b"]) not in kept_apart
            and (e["reason"] in ALWAYS_ASKED or not held.differ(
                e["record_a"], e["record_b"], names_say_two_children=e["reason"] in TWO_CHILDREN_RULES))]


def one_typo_apart(a: str, b: str) -> bool:
    """Equal, or one character changed, or two neighbouring characters swapped (a clerk's slip)."""
    if a == b:
        return True
    if len(a) != len(b):
        return False
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                and a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]])


def link_frames(new: Frame, model: dict[str, Any], *, existing: Frame | None = None,
                children: dict[str, str] | None = None, must_link: Iterable[tuple[str, str]] = (),
                cannot_link: Iterable[tuple[str, str]] = (), thresholds: Thresholds = THRESHOLDS,
                backend: str = "duckdb") -> Linkage:
    """Link ``new`` records: among themselves (a full link) or, given ``existing`` records and their
    ``children``, against those too (a delta: existing children are never merged by the linker)."""
    # Pairs below the review threshold can neither link nor reach a steward: materialised only where a move the
    # family is known to have made may lift them to it (``matching.moves``).
    floor = min(thresholds.review, thresholds.link)
    # v1 (the bundled model) keeps every valid UPN as a key, as it always did; v2 knows temporary ones.
    temporary = structure_of(model) == MODEL_VERSION
    lowest = scoring_floor(model, floor)
    if existing is None:
        pairs = score_within(new, model, threshold=lowest, backend=backend)
        records = _keys(new, children, temporary)
    else:
        pairs = score_between(existing, new, model, threshold=lowest, backend=backend)
        records = _keys(existing, children, temporary) + _keys(new, children, temporary)
    must, cannot = set(must_link), set(cannot_link)
    twins = twins_seen(model)
    decided = (decide_pairs(pairs, thresholds, twins_seen=twins) if not pairs.empty
               else pairs.assign(decision=[], rule=[]))
    one_home, pair_moves = same_home_weight(model), moves_of_pairs(decided)
    moves = known_moves(decided, one_home, thresholds, pair_moves=pair_moves)
    if existing is not None and children:
        moves |= moves_of_children(existing, children)
    decided = across_known_moves(decided, moves, one_home, thresholds, twins_seen=twins, pair_moves=pair_moves)
    # Pairs scored below the floor only for a known move to lift: the rest can neither link nor reach a steward.
    decided = decided[decided["match_weight"] >= floor]
    if twins:
        names = given_names_of(new, existing)
        decided = links_through_a_middle_name_read_alone(links_as_near_another_child(decided, names), names)
    linked = decided[decided["decision"] == LINK]
    links = [(str(a), str(b), RULE_WEIGHT if rule not in DECIDED_BY_WEIGHT else float(weight))
             for a, b, weight, rule in zip(linked["unique_id_l"].tolist(), linked["unique_id_r"].tolist(),
                                           linked["match_weight"].tolist(), linked["rule"].tolist(), strict=True)]
    unchecked = linked[needs_an_identifier(linked)] if twins else linked.iloc[:0]
    clustering = cluster(records, links, must_link=must, cannot_link=cannot, children_may_merge=existing is None,
                         needing_an_identifier=zip(unchecked["unique_id_l"].astype(str),
                                                   unchecked["unique_id_r"].astype(str), strict=True))
    stewarded = must | cannot | {(b, a) for a, b in must | cannot}
    review = []
    for _, pair in decided[decided["decision"] == REVIEW].iterrows():
        a, b = str(pair["unique_id_l"]), str(pair["unique_id_r"])
        if (a, b) in stewarded or clustering.group_of.get(a) == clustering.group_of.get(b):
            continue
        review.append({"record_a": a, "record_b": b, "match_weight": float(pair["match_weight"]),
                       "reason": str(pair["rule"]), "explanation": explanation(pair)})
    indexed = decided.set_index(["unique_id_l", "unique_id_r"])
    for a, b, reason in clustering.refused:
        if (a, b) in stewarded:
            continue
        refused: pd.Series = indexed.loc[[(a, b)]].iloc[0]
        review.append({"record_a": a, "record_b": b, "match_weight": float(refused["match_weight"]),
                       "reason": f"would link, but {reason}", "explanation": explanation(refused)})
    review = still_asked(review, IdentifiersByGroup(records, clustering.group_of), cannot)
    return Linkage(clustering, review, pairs_scored=len(pairs), links=len(links))
