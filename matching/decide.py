"""From a scored pair to a decision: link, review (a steward decides) or apart.

The rules are data, checked in order; the first that holds decides. The model's weight is the last
word only when no rule spoke: identifiers that agree with the date of birth link; valid identifiers
that disagree keep apart; twins (same surname, birth date and home, different forename) never link on
the weight: a steward decides, unless each child's own identifiers already tell them apart. Then one rule
reads three records at once: a link whose forenames are not alike, from a record at least as near a record
known to be another child of the family, waits for a steward (``links_as_near_another_child``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from matching.settings import THRESHOLDS, Thresholds
from matching.twins import edit_distance, wholly_different

LINK, REVIEW, APART = "link", "review", "apart"

# Gamma values of the comparisons in matching/settings.py (higher is closer; -1 is null).
FORENAME_DIFFERENT = 0
FORENAME_ALIKE = (4, 3)      # exact, or the same formal name (a nickname)
# Near, not alike: a slip apart (5), only through a middle name (2: v3 when one record took the other's middle
# name, v1 any name in common), Jaro-Winkler close (1).
FORENAME_NEAR = (5, 2, 1)
# v3: the forenames differ, and the names the records share are middle names only (twins may share one).
FORENAME_ONLY_A_MIDDLE_NAME_SHARED = 8
# v2: the given name is the other's family name (6), or far from the other's given name and close to their
# family name (7); the same for the family name (4, 5). Neither level exists in v1.
FORENAME_SWAPPED = (6, 7)
SURNAME_SWAPPED = (4, 5)
SURNAME_DIFFERENT, SURNAME_CLOSE, SURNAME_EXACT = 0, 1, 3   # a part in common (2) between close and exact
DOB_DIFFERENT, DOB_EXACT, DOB_SWAPPED = 0, 4, 3
BORN_THAT_DAY = (DOB_EXACT, DOB_SWAPPED)  # the same birth date, or its day and month swapped
SAME_POSTCODE = 3             # same home (4) or same postcode (3)
SAME_HOME = 4
IDENTIFIER_AGREES, IDENTIFIER_DIFFERS = 1, 0
GENDER_DIFFERS = 0

Predicate = Callable[[pd.DataFrame], "pd.Series[bool]"]
IDENTIFIERS_CONFLICT = "conflicting identifiers"
ON_A_CHILD_OF_THE_OTHER_SEX = "identifier on a child of the other sex"
MATCH_WEIGHT = "match weight"  # no rule spoke: the weight decided


@dataclass(frozen=True)
class PairRule:
    """A named rule: where ``applies`` holds, the pair gets ``decision`` (review still needs the weight)."""

    name: str
    decision: str
    applies: Predicate
    # A review pair is dropped once its two groups hold NHS numbers or UPNs that differ beyond one typo
    # (``matching.linkage``): each child is known by her own identifier, so a steward would only confirm two
    # children (the owner's decision, for twins too). A rule whose evidence conflicts whatever the identifiers
    # (a forename that may be the other's initial) says a steward sees it all the same.
    asked_whatever_the_identifiers: bool = False
    # The rule reads another forename as another child: it holds where the population has twins
    # (``matching.twins``), which a model estimated on the data given says, and the directory's children do.
    about_twins: bool = False
    # The rule says two records are two children (``links_as_near_another_child`` reads it so) ...
    two_children: bool = False
    # ... because one record carries the other child's identifier, copied: its own identifiers mislead.
    copied_identifier: bool = False


def _identifier_conflict(p: pd.DataFrame) -> pd.Series[bool]:
    return (p["gamma_nhs_number"] == IDENTIFIER_DIFFERS) | (p["gamma_upn"] == IDENTIFIER_DIFFERS)


def _identifier_agrees(p: pd.DataFrame) -> pd.Series[bool]:
    return (p["gamma_nhs_number"] == IDENTIFIER_AGREES) | (p["gamma_upn"] == IDENTIFIER_AGREES)


def _identifier_and_birth_date_agree(p: pd.DataFrame) -> pd.Series[bool]:
    # Exact or day and month swapped only: a structure's higher levels (v2's one year apart) are weaker.
    return _identifier_agrees(p) & p["gamma_dob"].isin(BORN_THAT_DAY)


def _read_pair_by_pair(p: pd.DataFrame, where: pd.Series[bool], column: str,
                       judge: Callable[[Any, Any], bool]) -> pd.Series[bool]:
    """``judge`` of each pair's two values of ``column`` (``column_l``, ``column_r``) where ``where`` holds, else
    False: names are read one pair at a time in Python, so only where they can matter."""
    out = pd.Series(False, index=p.index, dtype=bool)
    if where.any():
        chosen = p[where]
        out[where] = pd.Series([judge(a, b) for a, b in zip(chosen[f"{column}_l"], chosen[f"{column}_r"],
                                                            strict=True)], index=chosen.index, dtype=bool)
    return out


def _gender(p: pd.DataFrame) -> pd.Series[int]:
    # Pairs scored without a gender comparison carry no gamma_gender: nothing then tells two children apart by it.
    return p["gamma_gender"] if "gamma_gender" in p.columns else pd.Series(-1, index=p.index)


def _forenames_differ(p: pd.DataFrame) -> pd.Series[bool]:
    return p["gamma_forename"].isin((FORENAME_DIFFERENT, FORENAME_ONLY_A_MIDDLE_NAME_SHARED))


def _another_given_name(p: pd.DataFrame) -> pd.Series[bool]:
    # The given names differ, directly or across a swap of given and family names: one record's given name is
    # the other's family name while the names left over differ ("Gill Ravi" against "Manveer Gill"). v2's level
    # 7 (a given name far from the other's, close to their family name) differs too, unless the family names
    # also match across (a whole swap, mistyped).
    # A given name that is the other's family name beside the same family name is no swap either: "Yusuf Yusuf"
    # against "Mohamed Yusuf" names another child.
    forename, surname = p["gamma_forename"], p["gamma_surname"]
    return (_forenames_differ(p)
            | ((forename == FORENAME_SWAPPED[1]) & ~surname.isin(SURNAME_SWAPPED))
            | ((forename == FORENAME_SWAPPED[0]) & surname.isin((SURNAME_DIFFERENT, SURNAME_EXACT))))


def _identifier_on_another_child(p: pd.DataFrame) -> pd.Series[bool]:
    # A clerk copies one twin's NHS number or UPN onto the other's form: the identifier (and often the birth
    # date) agrees, the forenames do not, or the sexes differ beside forenames that are not written alike
    # (none, or only close: "Ma" and "Aa" are Max and Ava, each mistyped). A sex is taken for a slip only
    # beside the same forename (or formal name). Linking would merge the twins through that one record, so a
    # steward decides.
    # So do further given names wholly different beside forenames not alike ("Aa Akua" against "Yaa Adwoa").
    agrees = _identifier_agrees(p)
    not_alike = agrees & ~p["gamma_forename"].isin(FORENAME_ALIKE)
    further_names_differ = pd.Series(False, index=p.index)
    if not_alike.any():  # names read one pair at a time: only where they can matter
        further_names_differ[not_alike] = _other_given_names_differ(p[not_alike])
    return agrees & (_another_given_name(p) | (not_alike & (_gender(p) == GENDER_DIFFERS)) | further_names_differ)


def _identifier_on_a_child_of_the_other_sex(p: pd.DataFrame) -> pd.Series[bool]:
    # A boy's record carrying his twin sister's NHS number: forename and sex both say another child, and only
    # the copied identifier agrees. A steward would only confirm they are two children.
    return _identifier_agrees(p) & _another_given_name(p) & (_gender(p) == GENDER_DIFFERS)


def _born_together_at_one_home(p: pd.DataFrame) -> pd.Series[bool]:
    # A day-month swap in one twin's record still reads as the same birth date.
    return p["gamma_dob"].isin(BORN_THAT_DAY) & (p["gamma_household"] >= SAME_POSTCODE)


def _one_name_shared_the_other_not(p: pd.DataFrame) -> pd.Series[bool]:
    # Twins share a family name (a typo'd one still reads close) and not a given name. A record with given and
    # family names swapped shows the same pattern across the swap: one name matches the other's opposite name
    # while the names left over differ ("Gill Ravi" against "Manveer Gill" is Ravi's twin, not Ravi).
    forename, surname = p["gamma_forename"], p["gamma_surname"]
    # A given name that is the other's family name beside the same family name is no swap: "Ahmed Ahmed"
    # against "Sagal Ahmed" names another child.
    forename_differs = (_forenames_differ(p) | (forename == FORENAME_SWAPPED[1])
                        | ((forename == FORENAME_SWAPPED[0]) & (surname == SURNAME_EXACT)))
    surname_shared = surname.between(SURNAME_CLOSE, SURNAME_SWAPPED[0] - 1)
    return ((forename_differs & surname_shared)
            | (forename.isin(FORENAME_SWAPPED) & (surname == SURNAME_DIFFERENT))
            | (surname.isin(SURNAME_SWAPPED) & _forenames_differ(p)))


def names_of(value: object) -> list[str]:
    """A record's given names as a list, from a list, an array (Arrow, Spark) or a missing value (None, NaN,
    pandas' NA)."""
    if value is None or isinstance(value, (float, str)) or not hasattr(value, "__iter__"):
        return []
    return [str(n) for n in value]


def _far(one: str, other: str) -> bool:
    # Neither a slip ("Hnery"), a spelling two letters off ("Mohammed", "Muhammad") nor a short form ("Alex").
    return (not (one.startswith(other) or other.startswith(one))
            and (abs(len(one) - len(other)) > 2 or edit_distance(one, other) > 2))


def other_given_names_differ(one: object, other: object) -> bool:
    """Whether two records' formal given names (forename first) each go on beyond the forename, and none of those
    further names is among the other's names or near one of its further names: "Theodore Henry" and "Theodore
    Oliver" are two boys; "Lauren Ivy" and "Ivy Lauren", "Henry" and "Hnery" may be one."""
    names, others = names_of(one), names_of(other)
    rest, others_rest = names[1:], others[1:]
    if not rest or not others_rest or any(n in others for n in rest) or any(n in names for n in others_rest):
        return False
    return all(_far(x, y) for x in rest for y in others_rest)


def _other_given_names_differ(p: pd.DataFrame) -> pd.Series[bool]:
    # Pairs scored without the names retained cannot tell.
    if "given_names_l" not in p.columns or "given_names_r" not in p.columns:
        return pd.Series(False, index=p.index)
    return pd.Series([other_given_names_differ(a, b) for a, b in zip(p["given_names_l"], p["given_names_r"],
                                                                      strict=True)], index=p.index, dtype=bool)


def _twins(p: pd.DataFrame) -> pd.Series[bool]:
    return _one_name_shared_the_other_not(p) & _born_together_at_one_home(p)


_SPELT_ALIKE = (("ph", "f"), ("ck", "k"), ("c", "k"), ("q", "k"), ("z", "s"))
_DOUBLED = re.compile(r"(.)\1+")


def sound_key(name: str) -> str:
    """A name's first letter and its consonants as they sound, silent h left out: "Mohamed" and "Muhammad", "Noor"
    and "Nour", "Hanna" and "Hannah", "Ayan" and "Ayaan" sound alike; "Safa" and "Sana", "Vihaan" and "Vivaan" do
    not."""
    for spelt, sound in _SPELT_ALIKE:
        name = name.replace(spelt, sound)
    name = _DOUBLED.sub(r"\1", name)
    return name[:1] + "".join(c for c in name[1:] if c not in "aeiouyh")


def two_names(one: str, other: str) -> bool:
    """Whether two forenames are two names, not spellings or pet forms of one: they sound different (``sound_key``)
    and do not begin alike (a pet or short form keeps the name's first four letters: "Louie" for Louis, "Frankie"
    for Francis, "Priya" for Priyanka)."""
    return sound_key(one) != sound_key(other) and one[:4] != other[:4]


def _names_in_their_own_right(p: pd.DataFrame) -> pd.Series[bool]:
    # Whether both forenames are common in the population the model learnt from (``matching.model``); pairs scored
    # without it cannot tell.
    if "forename_common_l" not in p.columns or "forename_common_r" not in p.columns:
        return pd.Series(False, index=p.index)
    return (p["forename_common_l"].fillna(False) & p["forename_common_r"].fillna(False)).astype(bool)


def _twins_named_near(p: pd.DataFrame) -> pd.Series[bool]:
    # Twins named a letter or two apart (Safa and Sana, Rahim and Fahim, Aisha and Alishba), born that day or near
    # it (a digit, a year apart: one twin's date mistyped) at one home under one family name: each forename a name
    # many records give, two names (``two_names``). One child's record would need a slip that lands on another
    # common name; spellings of one name (Noor and Nour) sound alike, and pet forms (Louie, Frankie) begin alike.
    near = (p["gamma_forename"].isin((FORENAME_NEAR[0], FORENAME_NEAR[2])) & (p["gamma_dob"] > DOB_DIFFERENT)
            & (p["gamma_household"] >= SAME_POSTCODE) & p["gamma_surname"].between(SURNAME_CLOSE, SURNAME_EXACT)
            & ~_identifier_agrees(p)
            & _names_in_their_own_right(p)).fillna(False).astype(bool)
    return _read_pair_by_pair(p, near, "forename", lambda a, b: two_names(str(a), str(b)))


def _siblings_born_apart(p: pd.DataFrame) -> pd.Series[bool]:
    # Another forename at the same home under the same family name, and a birth date only close (a year, a
    # digit, a month apart): a brother or sister, or one child's record with two faults at once. Never a link on
    # the weight: siblings merged would mix two children's records.
    return (_one_name_shared_the_other_not(p) & (p["gamma_household"] >= SAME_POSTCODE)
            & ~p["gamma_dob"].isin(BORN_THAT_DAY))


def _named_near_at_one_home(p: pd.DataFrame) -> pd.Series[bool]:
    # A forename near the other's, not alike (a slip, a middle name, JW-close), at one home under one family name
    # (not swapped into the given name).
    return (p["gamma_forename"].isin(FORENAME_NEAR) & p["gamma_surname"].between(SURNAME_CLOSE, SURNAME_EXACT)
            & (p["gamma_household"] >= SAME_POSTCODE))


def _siblings_named_alike(p: pd.DataFrame) -> pd.Series[bool]:
    # A forename near the other's (Dana and Hana; Isaac and Max Isaac) beside a birth date wholly different, at one
    # home under one family name: a brother or sister. One child's record would need two faults at once, a slip
    # in the name and a date neither a digit, a year nor a day-month swap away (independent 100k seed 12: 3 of
    # 202 such pairs were one child's; 8 of the others linked on the weight, 172 waited for a steward). An
    # identifier both records carry may be the child's own: the weight decides then.
    return _named_near_at_one_home(p) & (p["gamma_dob"] == DOB_DIFFERENT) & ~_identifier_agrees(p)


def _one_forename_an_initial(p: pd.DataFrame) -> pd.Series[bool]:
    # "J" against "James" reads as another forename (gamma 0), yet may be James's record: not the twin evidence
    # that two children's own identifiers settle. Pairs scored without the names retained cannot tell.
    if "forename_l" not in p.columns or "forename_r" not in p.columns:
        return pd.Series(False, index=p.index)
    left, right = p["forename_l"].fillna("").astype(str), p["forename_r"].fillna("").astype(str)
    shorter = left.str.len().where(left.str.len() < right.str.len(), right.str.len())
    return (shorter == 1) & (left.str[:1] == right.str[:1])


def _twins_one_known_by_an_initial(p: pd.DataFrame) -> pd.Series[bool]:
    return _twins(p) & _one_forename_an_initial(p)


def _twins_of_different_sex(p: pd.DataFrame) -> pd.Series[bool]:
    # A boy and a girl with the twin pattern are two children: a steward would only confirm it. So are a boy and
    # a girl of one family, birth date and home when one record has lost its forename.
    # So are a boy and a girl whose forenames are near, not alike (Aleksander and Aleksandra, Abena and Kwabena):
    # one child's record would need a slip in the name and in the sex at once.
    no_forename = (p["gamma_forename"] == -1) & (p["gamma_surname"] >= SURNAME_CLOSE) & _born_together_at_one_home(p)
    named_near = _named_near_at_one_home(p) & p["gamma_dob"].isin(BORN_THAT_DAY)
    return (_twins(p) | no_forename | named_near) & (_gender(p) == GENDER_DIFFERS) & ~_identifier_agrees(p)


PAIR_RULES: tuple[PairRule, ...] = (
    PairRule(IDENTIFIERS_CONFLICT, APART, _identifier_conflict, two_children=True),
    PairRule(ON_A_CHILD_OF_THE_OTHER_SEX, APART, _identifier_on_a_child_of_the_other_sex,
             about_twins=True, two_children=True, copied_identifier=True),
    PairRule("identifier on another child", REVIEW, _identifier_on_another_child, about_twins=True,
             two_children=True, copied_identifier=True),
    # A shared valid identifier with the birth date outranks the twin pattern: twins never share one.
    PairRule("identifier and date of birth", LINK, _identifier_and_birth_date_agree),
    # Middle names (or second forenames) both given and wholly different: two children, twins or namesakes, at
    # one home or two. In the independent population no pair of one child's records shows it (100k seed 12:
    # 0 of 2,399 pairs scored at 2 or more), and 42 links on the weight did.
    PairRule("other given names differ", APART, _other_given_names_differ, two_children=True),
    PairRule("twins of different sex", APART, _twins_of_different_sex, about_twins=True, two_children=True),
    PairRule("twins or siblings, one forename an initial", REVIEW, _twins_one_known_by_an_initial,
             asked_whatever_the_identifiers=True, about_twins=True, two_children=True),
    # Different forenames beside the same surname, birth date and home: a steward's question unless each
    # child's own identifiers already tell them apart (``matching.linkage``).
    PairRule("twins or siblings", REVIEW, _twins, about_twins=True, two_children=True),
    PairRule("twins or siblings named near alike", REVIEW, _twins_named_near, about_twins=True, two_children=True),
    PairRule("siblings born apart", REVIEW, _siblings_born_apart, about_twins=True, two_children=True),
    PairRule("siblings named alike, born apart", APART, _siblings_named_alike, about_twins=True, two_children=True),
)


def decide_pairs(pairs: pd.DataFrame, thresholds: Thresholds = THRESHOLDS, *, twins_seen: bool = True) -> pd.DataFrame:
    """Add ``decision`` and ``rule`` columns to scored pairs (gamma columns and ``match_weight``); where the
    population holds no twins (``twins_seen`` False), the rules about them stand aside and the weight decides."""
    decided = pairs.copy()
    decision = pd.Series(pd.NA, index=pairs.index, dtype="object")
    rule = pd.Series(pd.NA, index=pairs.index, dtype="object")
    for pair_rule in PAIR_RULES:
        if pair_rule.about_twins and not twins_seen:
            continue
        hit = pair_rule.applies(pairs).fillna(False).astype(bool) & decision.isna()
        decision[hit] = pair_rule.decision
        rule[hit] = pair_rule.name
    undecided = decision.isna()
    weight = pairs["match_weight"]
    decision[undecided & (weight >= thresholds.link)] = LINK
    decision[undecided & (weight < thresholds.link) & (weight >= thresholds.review)] = REVIEW
    decision[decision.isna()] = APART
    rule[undecided] = MATCH_WEIGHT
    # A rule that sends a pair to review still needs evidence worth a steward's time.
    weak = (decision == REVIEW) & (weight < thresholds.review)
    decision[weak] = APART
    decided["decision"] = decision
    decided["rule"] = rule
    return decided


ALWAYS_ASKED = frozenset(rule.name for rule in PAIR_RULES if rule.asked_whatever_the_identifiers)
TWO_CHILDREN_RULES = frozenset(rule.name for rule in PAIR_RULES if rule.two_children)
COPIED_IDENTIFIER_RULES = frozenset(rule.name for rule in PAIR_RULES if rule.copied_identifier)

AS_NEAR_ANOTHER_CHILD = "as near a record of another child of the family"
# How near two forenames are, by gamma: alike (exact, a nickname), a slip apart, only through a middle name or
# missing on one record; anything else (different, swapped) is not near.
NEARNESS = {4: 3, 3: 3, 5: 2, 1: 2, 2: 1, -1: 1}


def _one_family(p: pd.DataFrame) -> pd.Series[bool]:
    # A birth date at any level but "different" (a slip, a year apart): one child's faults, or twins'.
    return ((p["gamma_surname"] >= SURNAME_CLOSE) & (p["gamma_dob"] > DOB_DIFFERENT)
            & (p["gamma_household"] >= SAME_POSTCODE))


def _both_ways(frame: pd.DataFrame, one: str, other: str, *extra: str) -> pd.DataFrame:
    forward = frame[["unique_id_l", "unique_id_r", *extra]].set_axis(["one", other, *extra], axis=1)
    backward = frame[["unique_id_r", "unique_id_l", *extra]].set_axis(["one", other, *extra], axis=1)
    return pd.concat([forward, backward], ignore_index=True).rename(columns={"one": one})


def links_as_near_another_child(decided: pd.DataFrame, given_names: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Send to a steward a link whose forenames are not alike (a slip apart, a middle name, one missing) where
    the record is at least as near a record of its family that is known to be another child than the one linked.

    A clerk copies one twin's NHS number onto the other's form, and a slip in a short name ("Saha" for Sahra)
    then reads as close to either twin ("Asha"); twins named a letter apart (Vivaan, Vihaan) or one after the
    other's middle name do the same without an identifier. Linking would merge the twins through that record.
    "Known to be another child": a twin rule, or identifiers that conflict (``TWO_CHILDREN_RULES``), with the
    exceptions ``doubtful_triangle`` names. "Near": a forename as near, in the same family (a family name in
    common, a birth date not far, the same home), not of the other sex. ``decided`` is ``decide_pairs``' output,
    APART pairs included; ``given_names``: each record's formal given names, its forename first
    (``matching.features``).
    """
    if decided.empty:
        return decided
    decided = decided.reset_index(drop=True)
    nearness = decided["gamma_forename"].map(NEARNESS).fillna(0).astype(int)
    scored = decided.assign(nearness=nearness, unique_id_l=decided["unique_id_l"].astype(str),
                            unique_id_r=decided["unique_id_r"].astype(str))
    suspect = scored[(scored["decision"] == LINK) & scored["nearness"].between(1, 2)]
    if suspect.empty:
        return decided
    linked = _both_ways(suspect, "record", "linked", "nearness")
    # Near: a forename as near, in the same family (a family name in common, a birth date not far, the same home)
    # and not of the other sex ("Ma" is one letter from Max and from Ava's "Aa"; the boy's record is Max's).
    near = _both_ways(scored[(scored["nearness"] >= 1) & _one_family(scored) & (_gender(scored) != GENDER_DIFFERS)],
                      "record", "near", "nearness")
    triangles = linked.merge(near, on="record", suffixes=("_linked", "_near"))
    triangles = triangles[(triangles["linked"] != triangles["near"])
                          & (triangles["nearness_near"] >= triangles["nearness_linked"])]
    if triangles.empty:
        return decided
    apart = scored[scored["rule"].isin(TWO_CHILDREN_RULES)]
    apart_rule = {frozenset(p): rule for p, rule in
                  zip(zip(apart["unique_id_l"], apart["unique_id_r"], strict=True), apart["rule"], strict=True)}
    copied = scored[scored["rule"].isin(COPIED_IDENTIFIER_RULES)]
    carrying_a_copy = {*copied["unique_id_l"], *copied["unique_id_r"]}
    doubtful = set()
    for record, linked_to, other in zip(triangles["record"], triangles["linked"], triangles["near"], strict=True):
        rule = apart_rule.get(frozenset((linked_to, other)))
        if rule is not None and doubtful_triangle(
                rule, given_names.get(record, ()), given_names.get(linked_to, ()), given_names.get(other, ()),
                copy_carried=linked_to in carrying_a_copy or other in carrying_a_copy):
            doubtful.add(frozenset((record, linked_to)))
    hit = [i for i, a, b in zip(suspect.index, suspect["unique_id_l"], suspect["unique_id_r"], strict=True)
           if frozenset((a, b)) in doubtful]
    out = decided.copy()
    out.loc[hit, "decision"] = REVIEW
    out.loc[hit, "rule"] = AS_NEAR_ANOTHER_CHILD
    return out


def doubtful_triangle(rule: str, names: Sequence[str], linked_names: Sequence[str], other_names: Sequence[str], *,
                      copy_carried: bool) -> bool:
    """Whether a record's link is doubtful, given the rule that says the record it links to and another as near
    it are two children: each record's formal given names, and whether either of those two carries a copied
    identifier (DuckDB and Spark read triangles alike through this)."""
    if rule == IDENTIFIERS_CONFLICT:
        # Identifiers that conflict because one of the two records carries a sibling's copy say nothing.
        return not copy_carried
    # The record carries both forenames: Jessica Rosie's record explains "Rosie" against "Jessica".
    if _names_both(names, linked_names, other_names):
        return False
    # A shared identifier says one child as loudly as the names say two, unless the names are wholly different
    # ("Iasbella" against "Izzy" is one girl's slip and nickname; "Ezi" against "Naa" two girls), or go on to
    # further names wholly different ("Esie Florence" against "Eviee Ivy": two girls, each forename mistyped).
    # A copy on a child of the other sex says two children twice over, by forename and by sex.
    return (rule not in COPIED_IDENTIFIER_RULES or rule == ON_A_CHILD_OF_THE_OTHER_SEX
            or _wholly_different(linked_names, other_names) or other_given_names_differ(linked_names, other_names))


def _wholly_different(one: Sequence[str], other: Sequence[str]) -> bool:
    return len(one) > 0 and len(other) > 0 and wholly_different(
        {"forename_formal": one[0], "given_names": one}, {"forename_formal": other[0], "given_names": other})


def _names_both(names: Sequence[str], one: Sequence[str], other: Sequence[str]) -> bool:
    """Whether a record's given names hold both others' forenames (its own forename and middle name)."""
    return len(one) > 0 and len(other) > 0 and one[0] in names and other[0] in names


THROUGH_A_MIDDLE_NAME_READ_ALONE = "through a middle name that two records give alone"


def took_a_middle_name(taker: Sequence[str], giver: Sequence[str]) -> bool:
    """Whether ``taker``'s forename is one of ``giver``'s further names and ``taker`` does not name ``giver``'s
    forename ("Isaac" against "Max Isaac"); each a record's formal given names, its forename first."""
    return bool(taker) and bool(giver) and taker[0] != giver[0] and taker[0] in giver[1:] and giver[0] not in taker


def read_alone(taker: Sequence[str], giver: Sequence[str], partner: Sequence[str]) -> bool:
    """Whether a link through ``giver``'s middle name is doubtful: ``taker`` took that name for its forename, and
    ``partner``, a record alike to ``taker``, also gives it without ``giver``'s forename (DuckDB and Spark judge
    alike through this)."""
    return took_a_middle_name(taker, giver) and bool(partner) and giver[0] not in partner


def links_through_a_middle_name_read_alone(decided: pd.DataFrame,
                                           given_names: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Send to a steward a link made through a middle name ("Isaac" against "Max Isaac") where another record,
    alike to the one that took it, gives that name alone too.

    One clerk taking a child's middle name for his forename is a common slip; two records doing it alike are
    rarer than a twin named after his brother's middle name. In the independent population (100k, seeds 27-30)
    four of ten twin merges went through such a link; sent to a steward, 3-13 more record pairs wait per
    100,000 children. ``decided``: APART pairs included, as for ``links_as_near_another_child``; ``given_names``:
    each record's formal given names, its forename first."""
    if decided.empty:
        return decided
    decided = decided.reset_index(drop=True)
    scored = decided.assign(unique_id_l=decided["unique_id_l"].astype(str),
                            unique_id_r=decided["unique_id_r"].astype(str))
    alike = scored["gamma_forename"].isin(FORENAME_ALIKE)
    suspect = scored[(scored["decision"] == LINK) & ~alike]
    if suspect.empty:
        return decided
    taking = _both_ways(suspect.assign(pair=suspect.index), "taker", "giver", "pair")
    taking = taking[[took_a_middle_name(given_names.get(t, ()), given_names.get(g, ()))
                     for t, g in zip(taking["taker"], taking["giver"], strict=True)]]
    if taking.empty:
        return decided
    partners = _both_ways(scored[alike & scored["decision"].isin((LINK, REVIEW))
                                 & ~scored["rule"].isin(TWO_CHILDREN_RULES)], "taker", "partner")
    triangles = taking.merge(partners, on="taker")
    triangles = triangles[triangles["partner"] != triangles["giver"]]
    hit = {pair for pair, taker, giver, partner in zip(triangles["pair"], triangles["taker"], triangles["giver"],
                                                       triangles["partner"], strict=True)
           if read_alone(given_names.get(taker, ()), given_names.get(giver, ()), given_names.get(partner, ()))}
    out = decided.copy()
    out.loc[sorted(hit), "decision"] = REVIEW
    out.loc[sorted(hit), "rule"] = THROUGH_A_MIDDLE_NAME_READ_ALONE
    return out


def took_a_middle_name_either_way(one: Sequence[str], other: Sequence[str]) -> bool:
    """Whether either record's forename is the other's middle name, the other's forename not among its names."""
    return took_a_middle_name(one, other) or took_a_middle_name(other, one)


def needs_an_identifier(p: pd.DataFrame) -> pd.Series[bool]:
    """Pairs whose link only an identifier can check: one record's forename is the other's middle name, they were
    born the same day at one home under one family name ("Elsie" against "Ava Elsie"), and no identifier agrees.
    One girl whose middle name a clerk took for her forename, or her twin sister named so: the names cannot tell.
    ``matching.cluster`` joins two groups through such a link only once both hold an NHS number or a UPN (each a
    child some service numbered under those names); otherwise a steward decides (D33).

    In the independent population (100k, 27 seeds) such links were 9 of the 25 twin merges left after D31, 6 of
    them beside a side holding no number at all; on seed 12, 15 links of one child's records had such a side (and
    199 more joined a GP's and a school's records, each numbered: those still link). Pairs scored without the
    names retained cannot tell."""
    if "given_names_l" not in p.columns or "given_names_r" not in p.columns:
        return pd.Series(False, index=p.index)
    candidates = (~_identifier_agrees(p) & _born_together_at_one_home(p)
                  & p["gamma_surname"].between(SURNAME_CLOSE, SURNAME_EXACT)).fillna(False).astype(bool)
    return _read_pair_by_pair(p, candidates, "given_names",
                              lambda a, b: took_a_middle_name_either_way(names_of(a), names_of(b)))
