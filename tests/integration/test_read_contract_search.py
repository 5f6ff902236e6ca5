"""The read contract's answers: the national search rules, the fifty-match limit, and what a record read
finds for a full, merged, held, archived or unknown ID.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.integration.read_contract import (
    ARCHIVED,
    HELD,
    MERGED,
    NORMAL,
    add_child,
    audit_count,
    build_directory,
    record,
    search,
    sqlstate,
)
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


def test_a_full_record_lists_carers_and_current_and_past_involvements(directory: None) -> None:
    child = record("cp_steward", "s_plain", NORMAL)
    assert (child["given_name"], child["family_name"], child["date_of_birth"], child["postcode"]) == \
        ("Alfie", "Smith-Jones", "2016-03-04", "S60 1AA")
    assert child["carers"] == [{"title": None, "given_name": "Jane", "family_name": "Smith-Jones",
                                "relationship": "PAR", "parental_responsibility": True, "phone": "01709 123456",
                                "email": "jane@example.org"}]
    assert [(i["organisation_name"], i["current"], i["lead_professional"]) for i in child["involvements"]] == [
        ("Oak Road Primary", True, True), ("Oak Surgery", False, False)]


def test_a_merged_id_answers_with_the_id_that_replaced_it(directory: None) -> None:
    assert record("cp_reader", "r_plain", MERGED) == {"cp_id": MERGED, "superseded_by": NORMAL}


@pytest.mark.parametrize("cp_id", [HELD, ARCHIVED, "CP999999999Z"])
def test_held_archived_and_unknown_ids_are_no_such_child(directory: None, cp_id: str) -> None:
    with pytest.raises(DBAPIError, match="no such child") as error:
        record("cp_reader", "r_both", cp_id)
    assert sqlstate(error) == "P0002"


def test_held_merged_and_archived_children_never_appear_in_a_search(directory: None) -> None:
    hits = search("cp_reader", "r_both", family_name="Smith-Jones", date_of_birth=date(2016, 3, 4))
    assert [h["cp_id"] for h in hits] == [NORMAL]


@pytest.mark.parametrize("criteria", [
    {"given_name": "Alfie", "date_of_birth": date(2016, 3, 4)},
    {"family_name": "Smith-Jones"},
    {"given_name": "Alfie", "family_name": "Smith-Jones"},
    {"date_of_birth": date(2016, 3, 4), "gender": "M", "postcode": "S60 1AA"},
    {"given_name": "Alfie", "date_of_birth": date(2016, 3, 4), "gender": "M"},
    {"given_name": "Alfie", "date_of_birth": date(2016, 3, 4), "postcode": "S60 1AA"},
    {"family_name": " - ", "date_of_birth": date(2016, 3, 4)},
    {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4), "gender": "X"},
], ids=lambda c: "+".join(k for k, v in c.items()))
def test_searches_the_national_rules_do_not_allow_are_refused(directory: None, criteria: dict[str, Any]) -> None:
    with pytest.raises(DBAPIError, match="search not allowed") as error:
        search("cp_reader", "r_both", **criteria)
    assert sqlstate(error) == "22023"


@pytest.mark.parametrize("criteria", [
    {"family_name": "smith-jones", "date_of_birth": date(2016, 3, 4)},
    {"family_name": "SMITH JONES", "date_of_birth": date(2016, 3, 4)},
    {"given_name": "alf", "family_name": "Smith", "date_of_birth": date(2016, 3, 4)},
    {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4), "gender": "m", "postcode": "s601aa"},
    {"given_name": "Alfie", "date_of_birth": date(2016, 3, 4), "gender": "M", "postcode": "S60 1AA"},
], ids=lambda c: "+".join(k for k, v in c.items()))
def test_each_allowed_search_finds_the_child(directory: None, criteria: dict[str, Any]) -> None:
    assert [h["cp_id"] for h in search("cp_reader", "r_plain", **criteria)] == [NORMAL]


def test_a_prefix_matches_only_when_both_names_are_given(directory: None) -> None:
    assert search("cp_reader", "r_plain", family_name="Smith", date_of_birth=date(2016, 3, 4)) == []
    assert search("cp_reader", "r_plain", given_name="Al", family_name="Smith-Jones",
                  date_of_birth=date(2016, 3, 4)) == []


def test_more_than_fifty_matches_are_refused_and_fifty_are_returned_and_audited(store: Path) -> None:
    with transaction() as conn:
        build_directory(conn)
        for i in range(50):
            add_child(conn, f"CP1{i:08d}X", f"Twin{i}", "Many", "2019-01-01", "F", "S60 3CC")
    before = audit_count()
    hits = search("cp_reader", "r_plain", family_name="Many", date_of_birth=date(2019, 1, 1))
    assert len(hits) == 50 and audit_count() - before == 50
    with transaction() as conn:
        details = conn.execute(text("SELECT DISTINCT detail FROM audit.entry WHERE entry_id > :b"),
                               {"b": before}).scalars().all()
    assert details == [{"result_count": 50, "criteria": ["family_name", "date_of_birth"]}]

    with transaction() as conn:
        add_child(conn, "CP199999999X", "Twin50", "Many", "2019-01-01", "F", "S60 3CC")
    before = audit_count()
    with pytest.raises(DBAPIError, match="too many matches: refine the search") as error:
        search("cp_reader", "r_plain", family_name="Many", date_of_birth=date(2019, 1, 1))
    assert sqlstate(error) == "54000" and audit_count() == before
    assert len(search("cp_reader", "r_plain", given_name="Twin50", family_name="Many",
                      date_of_birth=date(2019, 1, 1))) == 1


def test_a_search_without_results_is_audited_once_without_a_child(directory: None) -> None:
    assert search("cp_reader", "r_plain", family_name="Nobody", date_of_birth=date(2001, 1, 1)) == []
    with transaction() as conn:
        entry = conn.execute(text("SELECT * FROM audit.entry")).mappings().one()
    assert (entry["action"], entry["cp_id"], entry["username"], entry["user_role"], entry["purpose"]) == \
        ("search", None, "r_plain", "reader", "safeguarding")
    assert entry["detail"] == {"result_count": 0, "criteria": ["family_name", "date_of_birth"]}
