"""The read contract's masking: a shielded child shows only her ID and whom to ask, a sensitive service only
its practitioner, to every caller without the entitlement, and every read is audited once.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from tests.integration.read_contract import (
    MERGED,
    NORMAL,
    READERS,
    READING_DB_ROLES,
    SENSITIVE,
    SENSITIVE_SECRETS,
    SHIELDED,
    SHIELDED_SECRETS,
    TEAM,
    add_child,
    audit_count,
    record,
    search,
)
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


READ_PATHS: list[tuple[str, dict[str, Any]]] = [
    ("search", {"family_name": "Hiddenworth", "date_of_birth": date(2015, 5, 5)}),
    ("search", {"given_name": "Shieldina", "family_name": "hiddenworth", "date_of_birth": date(2015, 5, 5)}),
    ("search", {"family_name": "Hiddenworth", "date_of_birth": date(2015, 5, 5), "gender": "F", "postcode": "S1 2AB"}),
    ("search", {"given_name": "Shieldina", "date_of_birth": date(2015, 5, 5), "gender": "F", "postcode": "s12ab"}),
    ("search", {"family_name": "Brown", "date_of_birth": date(2010, 2, 2)}),
    ("search", {"family_name": "Smith-Jones", "date_of_birth": date(2016, 3, 4)}),
    ("record", {"cp_id": SHIELDED}),
    ("record", {"cp_id": SENSITIVE}),
    ("record", {"cp_id": NORMAL}),
    ("record", {"cp_id": MERGED}),
]


@pytest.mark.parametrize("db_role", READING_DB_ROLES)
@pytest.mark.parametrize("username", sorted(READERS))
def test_no_shielded_or_sensitive_detail_reaches_an_unentitled_caller_and_every_read_is_audited_once(
        directory: None, db_role: str, username: str) -> None:
    _, shielded_ok, sensitive_ok = READERS[username]
    seen: list[str] = []
    for path, arguments in READ_PATHS:
        before = audit_count()
        if path == "search":
            result: Any = search(db_role, username, **arguments)
            expected_entries = max(1, len(result))
        else:
            result = record(db_role, username, **arguments)
            expected_entries = 1
        assert audit_count() - before == expected_entries, (path, arguments)
        seen.append(json.dumps(result, default=str))
    everything = "\n".join(seen)

    leaked_shielded = [s for s in SHIELDED_SECRETS if s in everything]
    leaked_sensitive = [s for s in SENSITIVE_SECRETS if s in everything]
    # Positive controls: the same reads do show these details to the entitled, so the check is not vacuous.
    assert bool(leaked_shielded) == shielded_ok, leaked_shielded
    assert bool(leaked_sensitive) == sensitive_ok, leaked_sensitive
    assert "Sam Nurse" in everything  # the practitioner of a sensitive service stays reachable
    # The shielded child's contact is her authority's ContactPoint team, never who places her.
    assert ("ContactPoint team" in everything) == (not shielded_ok)


def test_a_shielded_child_shows_its_id_and_whom_to_ask_and_nothing_else(directory: None) -> None:
    hits = search("cp_reader", "r_plain", family_name="Hiddenworth", date_of_birth=date(2015, 5, 5))
    assert hits == [{"cp_id": SHIELDED, "given_name": None, "family_name": None, "date_of_birth": None,
                     "gender": None, "postcode": None, "shielded": True}]
    assert record("cp_reader", "r_plain", SHIELDED) == {
        "cp_id": SHIELDED, "shielded": True,
        "contact": TEAM}
    full = record("cp_reader", "r_shielded", SHIELDED)
    assert (full["given_name"], full["postcode"], full["carers"][0]["given_name"]) == ("Shieldina", "S1 2AB", "Carol")


def test_a_search_by_postcode_never_returns_a_shielded_child_to_the_unentitled(directory: None) -> None:
    by_postcode = {"family_name": "Hiddenworth", "date_of_birth": date(2015, 5, 5), "gender": "F",
                   "postcode": "S1 2AB"}
    assert search("cp_reader", "r_plain", **by_postcode) == []
    assert search("cp_reader", "r_sensitive", **by_postcode) == []
    assert [h["family_name"] for h in search("cp_reader", "r_shielded", **by_postcode)] == ["Hiddenworth"]


def test_a_sensitive_service_is_an_unspecified_service_with_its_practitioner(directory: None) -> None:
    masked = record("cp_reader", "r_plain", SENSITIVE)["involvements"]
    assert {"kind": "other", "service": "an unspecified service", "practitioner_name": "Sam Nurse"}.items() \
        <= next(i for i in masked if i["practitioner_name"] == "Sam Nurse").items()
    hidden = next(i for i in masked if i["practitioner_name"] == "Sam Nurse")
    assert (hidden["service_type"], hidden["organisation_name"], hidden["sensitive"]) == (None, None, None)
    shown = next(i for i in record("cp_reader", "r_sensitive", SENSITIVE)["involvements"]
                 if i["practitioner_name"] == "Sam Nurse")
    assert (shown["service_type"], shown["organisation_name"]) == ("sexual_health", "Riverside Sexual Health Clinic")


def test_the_unentitled_see_visible_children_first_and_shielded_ones_last(directory: None) -> None:
    with transaction() as conn:
        add_child(conn, "CP000000007G", "Aaron", "Hiddenworth", "2015-05-05", "M", "S9 9ZZ")
    hits = search("cp_reader", "r_plain", family_name="Hiddenworth", date_of_birth=date(2015, 5, 5))
    assert [(h["cp_id"], h["given_name"]) for h in hits] == [("CP000000007G", "Aaron"), (SHIELDED, None)]
