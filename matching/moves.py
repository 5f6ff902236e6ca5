"""A move the family is known to have made: a mover's record at the old home read as one at the new home.

A family moves together. When a brother's previous school roll at the old home and his new school's record carry
one UPN, that pair of homes is a known move. His sister's GP record at the old home and her school record at the
new one, sharing no identifier, differ in home like any two strangers' records, and full name plus birth date
alone sit at the link threshold in a large population (namesakes born on one day exist there) and below it in a
national one. Across a known move the homes are the family's one home: every pair across them is weighed and
decided as if both records gave it (``matching.decide``'s rules included, so twins who moved still go to a
steward).

Known moves come from pairs a rule links, from two children's pairs that would each link at one home, and from
the homes an existing child's records already hold (any earlier extract, in a delta). Pure pandas: the pipeline,
``link-files`` and the Spark link (per partition, ``matching.spark_linkage.across_moves``) call the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from matching.decide import BORN_THAT_DAY, LINK, MATCH_WEIGHT, SAME_HOME, decide_pairs
from matching.features import Frame, column
from matching.model import KEPT_HOMES
from matching.settings import THRESHOLDS, Thresholds

ACROSS_A_KNOWN_MOVE = "match weight, across a move the family is known to have made"
# Links the weight decided: clustering weighs them by it (a rule's link outranks any weight).
DECIDED_BY_WEIGHT = frozenset((MATCH_WEIGHT, ACROSS_A_KNOWN_MOVE))


def _homes(postcode: pd.Series, house_number: pd.Series) -> pd.Series:
    """Each record's home as a key, postcode and house number, a column at a time (NA where the record gives no
    postcode: it names no home)."""
    postcode = postcode.astype("string")
    return (postcode + "|" + house_number.astype("string").fillna("")).mask(postcode.fillna("") == "")


def moves_of_pairs(pairs: pd.DataFrame) -> list[tuple[str, str] | None]:
    """Each pair's two homes as a move (ordered), or None where the homes are one or a record names none."""
    if not set(KEPT_HOMES) <= set(pairs.columns):
        return [None] * len(pairs)
    one, other = (_homes(pairs[f"postcode_{side}"], pairs[f"house_number_{side}"]) for side in ("l", "r"))
    moved = (one.notna() & other.notna() & (one != other)).fillna(False).tolist()
    first = one.where(one < other, other).tolist()
    second = other.where(one < other, one).tolist()
    return [(a, b) if m else None for a, b, m in zip(first, second, moved, strict=True)]


PairMoves = list[tuple[str, str] | None]  # ``moves_of_pairs``' answer, computed once per frame of pairs


def known_moves(decided: pd.DataFrame, weight_of_same_home: float | None, thresholds: Thresholds = THRESHOLDS, *,
                pair_moves: PairMoves | None = None) -> set[tuple[str, str]]:
    """The moves ``decide_pairs``' pairs show: a pair a rule links (an NHS number or UPN with the birth date), or
    pairs of two children, each born on the day the other record says, that would each link at one home (a
    sister's records and her brother's).

    One pair that links on the weight alone is no proof of a move: namesakes born on one day at two homes would
    make their homes one, and every other pair of their records would then read as one child's. Two such
    coincidences between the same two homes do not happen; two families with a Ruksana and a Jannat each do, so
    a name alone, born on another day, is no evidence. A child is here a record with the records it links to at
    its own home (one hop is enough: a child's records at one home link to each other).
    """
    if decided.empty or not set(KEPT_HOMES) <= set(decided.columns):
        return set()
    moves = moves_of_pairs(decided) if pair_moves is None else pair_moves
    decision, rule = decided["decision"].tolist(), decided["rule"].tolist()
    by_rule = {m for m, d, r in zip(moves, decision, rule, strict=True)
               if m is not None and d == LINK and r not in DECIDED_BY_WEIGHT}
    if weight_of_same_home is None:
        return by_rule
    left, right = decided["unique_id_l"].astype(str).tolist(), decided["unique_id_r"].astype(str).tolist()
    child: dict[str, str] = {}
    for a, b, m, d in zip(left, right, moves, decision, strict=True):
        if d == LINK and m is None:
            child[a], child[b] = min(child.get(a, a), b), min(child.get(b, b), a)
    at_one_home = (decided["match_weight"] - decided["mw_household"] + weight_of_same_home).tolist()
    born_that_day = decided["gamma_dob"].isin(BORN_THAT_DAY).tolist()
    children_by_move: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for a, b, m, r, w, born in zip(left, right, moves, rule, at_one_home, born_that_day, strict=True):
        if m is not None and r in DECIDED_BY_WEIGHT and w >= thresholds.link and born:
            x, y = child.get(a, a), child.get(b, b)
            children_by_move.setdefault(m, set()).add((x, y) if x < y else (y, x))
    return by_rule | {m for m, pairs in children_by_move.items() if len(pairs) >= 2}


def moves_of_children(frame: Frame, children: Mapping[str, str]) -> set[tuple[str, str]]:
    """The moves existing children's records already show: every two homes one child's records hold."""
    homes = _homes(pd.Series(column(frame, "postcode"), dtype=object),
                   pd.Series(column(frame, "house_number"), dtype=object)).tolist()
    held: dict[str, set[str]] = {}
    for record, at in zip(column(frame, "unique_id"), homes, strict=True):
        child = children.get(str(record))
        if child is not None and not pd.isna(at):
            held.setdefault(child, set()).add(at)
    return {(a, b) for homes_held in held.values() for a in homes_held for b in homes_held if a < b}


def _household_weights(model: Mapping[str, Any]) -> list[float | None]:
    """The household comparison's level weights (log2 of m over u), indexed by gamma (Splink numbers a
    comparison's levels from the bottom, the last 0, and leaves the null level out)."""
    household = next((c for c in model["comparisons"] if c["output_column_name"] == "household"), None)
    if household is None:
        return []
    counted = [level for level in household["comparison_levels"] if not level.get("is_null_level")]
    weights: list[float | None] = []
    for level in reversed(counted):
        m, u = level.get("m_probability"), level.get("u_probability")
        weights.append(math.log2(float(m) / float(u)) if m and u else None)
    return weights


def same_home_weight(model: Mapping[str, Any]) -> float | None:
    """The household comparison's weight where both records give the same home."""
    weights = _household_weights(model)
    return weights[SAME_HOME] if len(weights) > SAME_HOME else None


def scoring_floor(model: Mapping[str, Any], floor: float) -> float:
    """The weight down to which pairs are scored so that a pair across a known move, weighed as one home, may
    still reach ``floor``: in a national population full name and birth date at two homes score below any
    threshold (a namesake born the same day is likelier among millions), yet across a known move they link."""
    same_home = same_home_weight(model)
    others = [w for w in _household_weights(model) if w is not None]
    return floor - (same_home - min(others)) if same_home is not None and others else floor


def across_known_moves(decided: pd.DataFrame, moves: Iterable[tuple[str, str]], weight_of_same_home: float | None,
                       thresholds: Thresholds = THRESHOLDS, *, twins_seen: bool = True,
                       pair_moves: PairMoves | None = None) -> pd.DataFrame:
    """Pairs whose two homes are a known move, weighed and decided again as if both records gave one home: the
    weight lifts a pair it left short of a link, and the rules that read one home (twins, a record as near another
    child of the family) read these pairs too, whatever decided them. ``decided`` is ``decide_pairs``' output with
    the homes retained."""
    known = set(moves)
    if decided.empty or not known or weight_of_same_home is None or not set(KEPT_HOMES) <= set(decided.columns):
        return decided
    across = pd.Series([m in known for m in (moves_of_pairs(decided) if pair_moves is None else pair_moves)],
                       index=decided.index)
    if not across.any():
        return decided
    again = decided.loc[across].drop(columns=["decision", "rule"])
    shift = weight_of_same_home - again["mw_household"].astype(float)
    weight = again["match_weight"].astype(float) + shift
    again = again.assign(match_weight=weight, match_probability=1 / (1 + 2.0 ** -weight),
                         mw_household=weight_of_same_home,
                         gamma_household=pd.Series(SAME_HOME, index=again.index, dtype=again["gamma_household"].dtype))
    redecided = decide_pairs(again, thresholds, twins_seen=twins_seen)
    redecided.loc[redecided["rule"] == MATCH_WEIGHT, "rule"] = ACROSS_A_KNOWN_MOVE
    return pd.concat([decided.loc[~across], redecided[decided.columns]]).loc[decided.index]
