"""The linkage benchmark says what the records of each merged twin pair show, so a reader knows which merges
the names and numbers could have prevented."""

from __future__ import annotations

import pytest

from benchmarks.linkage_measure import score_clusters, twin_merges_by_what_the_records_show

pytestmark = pytest.mark.unit


def test_merged_twins_are_told_by_what_their_records_show() -> None:
    true_of = {"isla-1": "c1", "isla-2": "c2",              # both written "Isla" (a middle name taken)
               "esi": "c3", "naa-copy": "c4",               # Naa's record carries Esi's number
               "aisha": "c5", "alishba": "c6",              # near names, own numbers
               "ruby": "c7", "matilda": "c8"}               # kept apart
    twin_of = {a: b for x, y in (("c1", "c2"), ("c3", "c4"), ("c5", "c6"), ("c7", "c8")) for a, b in ((x, y), (y, x))}
    cp_of = {"isla-1": "g1", "isla-2": "g1", "esi": "g2", "naa-copy": "g2", "aisha": "g3", "alishba": "g3",
             "ruby": "g4", "matilda": "g5"}
    forename_of = {"isla-1": "isla", "isla-2": "isla", "esi": "esi", "naa-copy": "na", "aisha": "aisha",
                   "alishba": "alishba", "ruby": "ruby", "matilda": "matilda"}

    kinds = twin_merges_by_what_the_records_show(true_of, cp_of, twin_of, forename_of,
                                                 {"naa-copy": "sibling_identifier"})

    assert kinds == {"named alike": 1, "a copied identifier": 1, "other": 1}
    assert score_clusters(true_of, cp_of, twin_of)["twin_merges"] == sum(kinds.values())
