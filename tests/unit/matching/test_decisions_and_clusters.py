"""Pair decisions and clustering, table-driven: precision first, twins never merge on their own."""

from __future__ import annotations

import pandas as pd
import pytest

from matching.assign import carry_over
from matching.cluster import UNCHECKED, RecordKeys, cluster
from matching.decide import APART, LINK, REVIEW, decide_pairs
from matching.settings import Thresholds

pytestmark = pytest.mark.unit
AGREE = {"gamma_forename": 4, "gamma_surname": 3, "gamma_dob": 4, "gamma_household": 4, "gamma_gender": 1,
         "gamma_nhs_number": -1, "gamma_upn": -1}


@pytest.mark.parametrize(("description", "gammas", "weight", "expected", "rule"), [
    ("everything agrees", {}, 20.0, LINK, "match weight"),
    ("weak evidence", {"gamma_household": 0}, 1.0, APART, "match weight"),
    ("between the thresholds", {"gamma_household": 0}, 4.0, REVIEW, "match weight"),
    ("NHS number and birth date agree, however low the weight", {"gamma_nhs_number": 1, "gamma_surname": 0},
     -3.0, LINK, "identifier and date of birth"),
    ("a twin holding her sibling's NHS number goes to a steward", {"gamma_nhs_number": 1, "gamma_forename": 0},
     20.0, REVIEW, "identifier on another child"),
    ("so does a girl without a forename holding her brother's UPN",
     {"gamma_upn": 1, "gamma_forename": -1, "gamma_gender": 0}, 20.0, REVIEW, "identifier on another child"),
    ("a boy holding his twin sister's NHS number is simply another child", {"gamma_nhs_number": 1,
     "gamma_forename": 0, "gamma_gender": 0}, 20.0, APART, "identifier on a child of the other sex"),
    ("an identifier and a birth date a year away (v2) do not link on their own", {"gamma_upn": 1, "gamma_dob": 5},
     1.0, APART, "match weight"),
    ("UPN agrees, day and month swapped", {"gamma_upn": 1, "gamma_dob": 3}, 1.0, LINK, "identifier and date of birth"),
    ("valid NHS numbers differ", {"gamma_nhs_number": 0}, 25.0, APART, "conflicting identifiers"),
    ("twins: same surname, birth date and home, other forename", {"gamma_forename": 0}, 14.0, REVIEW,
     "twins or siblings"),
    ("twins with different NHS numbers are simply apart", {"gamma_forename": 0, "gamma_nhs_number": 0}, 14.0,
     APART, "conflicting identifiers"),
    ("a nickname is not a twin", {"gamma_forename": 3}, 14.0, LINK, "match weight"),
    ("nor is a short name one letter off (v2: 'Yaa' and 'Yak')", {"gamma_forename": 5}, 14.0, LINK, "match weight"),
    ("a boy and a girl with the twin pattern are two children", {"gamma_forename": 0, "gamma_gender": 0}, 14.0,
     APART, "twins of different sex"),
    ("twins whose family name carries a typo are still twins", {"gamma_forename": 0, "gamma_surname": 1}, 14.0,
     REVIEW, "twins or siblings"),
    ("so are twins when one record has day and month swapped", {"gamma_forename": 0, "gamma_dob": 3}, 14.0,
     REVIEW, "twins or siblings"),
    ("'Gill Ravi' against 'Manveer Gill': Ravi's swapped record is not Manveer (v2)",
     {"gamma_forename": 6, "gamma_surname": 0}, 14.0, REVIEW, "twins or siblings"),
    ("nor when the swapped name is mistyped ('Gil Ravi', v2)", {"gamma_forename": 7, "gamma_surname": 0}, 14.0,
     REVIEW, "twins or siblings"),
    ("a whole swap, one name mistyped, is one child (v2)", {"gamma_forename": 6, "gamma_surname": 5}, 14.0, LINK,
     "match weight"),
    ("a boy's record without a forename is not his twin sister", {"gamma_forename": -1, "gamma_gender": 0}, 14.0,
     APART, "twins of different sex"),
    ("a sibling's NHS number on a record with swapped names goes to a steward (v2)",
     {"gamma_nhs_number": 1, "gamma_forename": 6, "gamma_surname": 0}, 20.0, REVIEW, "identifier on another child"),
    ("twins sharing only a middle name are twins (v3)", {"gamma_forename": 8}, 14.0, REVIEW, "twins or siblings"),
    ("a sister's NHS number beside a forename one letter off and the other sex goes to a steward (v2)",
     {"gamma_nhs_number": 1, "gamma_forename": 5, "gamma_gender": 0}, 30.0, REVIEW, "identifier on another child"),
    ("but the same forename beside a sex written wrongly is one child",
     {"gamma_nhs_number": 1, "gamma_gender": 0}, 30.0, LINK, "identifier and date of birth"),
    ("Aleksander and Aleksandra, born one day at one home: a boy and a girl named near are two children",
     {"gamma_forename": 5, "gamma_gender": 0}, 14.0, APART, "twins of different sex"),
    ("Mohamed Yusuf carrying Yusuf Yusuf's UPN: a given name that is the family name is no swap",
     {"gamma_upn": 1, "gamma_forename": 6, "gamma_surname": 3}, 20.0, REVIEW, "identifier on another child"),
    ("'Aa Akua' carrying 'Yaa Adwoa''s NHS number: forenames near, further names wholly different",
     {"gamma_nhs_number": 1, "gamma_forename": 5, "given_names_l": ["aa", "akua"],
      "given_names_r": ["yaa", "adwoa"]}, 20.0, REVIEW, "identifier on another child"),
    ("but a forename slip beside the same further name is one child's record",
     {"gamma_nhs_number": 1, "gamma_forename": 5, "given_names_l": ["aa", "adwoa"],
      "given_names_r": ["yaa", "adwoa"]}, 20.0, LINK, "identifier and date of birth"),
    ("another forename at one home, born a year apart to the day: a sibling, never linked on the weight",
     {"gamma_forename": 0, "gamma_dob": 2}, 9.0, REVIEW, "siblings born apart"),
    ("Dana and Hana at one home, born three years apart: sisters, not one child with two slips",
     {"gamma_forename": 5, "gamma_dob": 0}, 9.0, APART, "siblings named alike, born apart"),
    ("so are Isaac and Max Isaac born apart: a brother named after the other's middle name",
     {"gamma_forename": 2, "gamma_dob": 0, "gamma_surname": 1}, 9.0, APART, "siblings named alike, born apart"),
    ("but a birth date a year away to the day beside a slip may be one child's record: the weight decides",
     {"gamma_forename": 5, "gamma_dob": 2}, 9.0, LINK, "match weight"),
    ("and so it does where both records carry one NHS number",
     {"gamma_forename": 5, "gamma_dob": 0, "gamma_nhs_number": 1}, 9.0, LINK, "match weight"),
    ("Safa and Sana, born one day at one home, both common names: twins, never linked on the weight",
     {"gamma_forename": 5, "forename_l": "safa", "forename_r": "sana", "forename_common_l": True,
      "forename_common_r": True}, 14.0, REVIEW, "twins or siblings named near alike"),
    ("and Aisha and Alishba, one twin's birth date mistyped by a digit",
     {"gamma_forename": 1, "gamma_dob": 2, "forename_l": "aisha", "forename_r": "alishba",
      "forename_common_l": True, "forename_common_r": True}, 14.0, REVIEW, "twins or siblings named near alike"),
    ("but Louis and Louie, a pet form, are one boy's records",
     {"gamma_forename": 5, "forename_l": "louis", "forename_r": "louie", "forename_common_l": True,
      "forename_common_r": True}, 14.0, LINK, "match weight"),
    ("but a slip that makes a rare spelling is one child's record",
     {"gamma_forename": 5, "forename_l": "sama", "forename_r": "sana", "forename_common_l": False,
      "forename_common_r": True}, 14.0, LINK, "match weight"),
    ("and so are two spellings of one name, both common",
     {"gamma_forename": 5, "forename_l": "noor", "forename_r": "nour", "forename_common_l": True,
      "forename_common_r": True}, 14.0, LINK, "match weight"),
    ("at two homes a slip and another birth date are the weight's to judge",
     {"gamma_forename": 5, "gamma_dob": 0, "gamma_household": 0}, 3.0, REVIEW, "match weight"),
])
def test_a_pair_is_decided_by_the_first_rule_that_holds(description: str, gammas: dict[str, int], weight: float,
                                                        expected: str, rule: str) -> None:
    pairs = pd.DataFrame([{**AGREE, **gammas, "match_weight": weight, "unique_id_l": "1", "unique_id_r": "2"}])
    decided = decide_pairs(pairs, Thresholds(link=6.0, review=2.0)).iloc[0]
    assert (decided["decision"], decided["rule"]) == (expected, rule), description


def test_a_record_without_identifiers_cannot_chain_two_children_whose_nhs_numbers_differ() -> None:
    records = [RecordKeys("a", nhs_number="9990000018"), RecordKeys("b"), RecordKeys("c", nhs_number="9990000026")]
    result = cluster(records, [("a", "b", 9.0), ("b", "c", 8.0)])
    assert result.group_of["a"] == result.group_of["b"] != result.group_of["c"]
    assert result.refused == [("b", "c", "different NHS numbers")]


def test_links_a_bit_apart_in_weight_are_applied_as_equal_ones_so_a_refusal_falls_on_the_same_link() -> None:
    # b links to a and to c, whose NHS numbers differ: the link applied second is refused. Two estimates of one
    # model give such weights last bits apart; the record ids, not those bits, choose.
    records = [RecordKeys("a", nhs_number="9990000018"), RecordKeys("b"), RecordKeys("c", nhs_number="9990000026")]
    weight = 7.3
    for a_b, b_c in ((weight, weight + 1e-14), (weight + 1e-14, weight)):
        result = cluster(records, [("a", "b", a_b), ("b", "c", b_c)])
        assert result.group_of["a"] == result.group_of["b"] != result.group_of["c"]
        assert result.refused == [("b", "c", "different NHS numbers")]


def test_a_steward_decision_wins_over_the_model() -> None:
    records = [RecordKeys("a"), RecordKeys("b"), RecordKeys("c")]
    result = cluster(records, [("a", "b", 30.0)], must_link=[("b", "c")], cannot_link=[("a", "b")])
    assert result.group_of["b"] == result.group_of["c"] != result.group_of["a"]


def test_in_a_delta_two_existing_children_are_never_merged_by_the_linker() -> None:
    records = [RecordKeys("old1", cp_id="CP1"), RecordKeys("old2", cp_id="CP2"), RecordKeys("new")]
    result = cluster(records, [("new", "old1", 9.0), ("new", "old2", 8.0)], children_may_merge=False)
    assert result.group_of["new"] == result.group_of["old1"] != result.group_of["old2"]
    assert result.refused == [("new", "old2", "both are already children")]


@pytest.mark.parametrize(("groups", "before", "expected"), [
    ([["1", "2"], ["3"]], {"1": "A", "2": "A", "3": "B"}, ["A", "B"]),              # unchanged: same IDs
    ([["1", "2", "3"]], {"1": "A", "2": "A", "3": "B"}, ["A"]),                      # merge keeps the larger
    ([["1"], ["2"]], {"1": "A", "2": "A"}, ["A", None]),                            # split: one new ID
    ([["3"], ["1", "2"]], {"1": "A", "2": "B", "3": "C"}, ["C", "A"]),               # tie: older record's ID
])
def test_ids_carry_over_by_maximum_overlap(groups: list[list[str]], before: dict[str, str],
                                           expected: list[str | None]) -> None:
    assert carry_over(groups, before) == expected


def test_a_link_only_an_identifier_can_check_waits_for_one_and_is_refused_without() -> None:
    # Ava's record without a number links to Elsie's through a middle name (only an identifier can check that)
    # and, more weakly, to Ava's school record: that joins first, and its UPN lets the first link be checked.
    records = [RecordKeys("elsie-gp", nhs_number="9990000018"), RecordKeys("ava-gp"),
               RecordKeys("ava-school", upn="A999000000017")]
    checked = cluster(records, [("ava-gp", "elsie-gp", 9.0), ("ava-gp", "ava-school", 7.0)],
                      needing_an_identifier=[("ava-gp", "elsie-gp")])
    assert len(set(checked.group_of.values())) == 1 and checked.refused == []

    alone = cluster(records[:2], [("ava-gp", "elsie-gp", 9.0)], needing_an_identifier=[("ava-gp", "elsie-gp")])
    assert alone.group_of["ava-gp"] != alone.group_of["elsie-gp"]
    assert alone.refused == [("ava-gp", "elsie-gp", UNCHECKED)]
