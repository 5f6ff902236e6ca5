"""What the stewards' stories share: the steward at the keyboard, reads of the store and its audit, and the
children a steward decides about (twins at one address, a girl under two surnames, a boy at school and GP).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from matching import stewardship
from pipeline.steps import run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name, valid_upn
from warehouse.db import transaction

STEWARD = "steward1"


NAMES = ("Amelia", "Isla", "Olivia", "Brown", "Kowalczyk", "Alfie", "Smith-Jones")


def rows(sql: str, **params: object) -> list[Any]:
    with transaction() as conn:
        return list(conn.execute(text(sql), params).fetchall())


def children_by_record() -> dict[int, str]:
    return {int(r.record_id): str(r.cp_id) for r in rows("SELECT record_id, cp_id FROM identity.link")}


def older_first_of(cp_a: str, cp_b: str) -> tuple[str, str]:
    with transaction() as conn:
        return stewardship.older_first(conn, cp_a, cp_b)


def child_states() -> dict[str, tuple[str, str | None]]:
    return {r.cp_id: (r.status, r.superseded_by) for r in rows("SELECT cp_id, status, superseded_by "
                                                                 "FROM identity.child")}


def directory_ids() -> set[str]:
    return {r.cp_id for r in rows("SELECT cp_id FROM directory.child")}


def audit_of(action: str) -> list[Any]:
    return rows("SELECT username, user_role, cp_id, detail FROM audit.entry WHERE action = :a ORDER BY entry_id",
                a=action)


def assert_no_names_in_the_audit() -> None:
    logged = json.dumps([list(map(str, r)) for r in rows("SELECT cp_id, purpose, detail FROM audit.entry")])
    for name in NAMES:
        assert name not in logged, name
    assert "school confirmed" not in logged  # a reason is free text: it stays out of the log


def twins(store: Path) -> None:
    """Twins at one address, each known to her school and her GP. Amelia's records carry her UPN and NHS number;
    Isla's school has no UPN for her yet and her GP registration no NHS number, so nothing but a steward tells
    whether Isla is Amelia (twins each known by her own identifiers would be two children without a steward)."""
    drop(store, "school", school_file_name(), ctf([pupil(UPN=valid_upn(), Forename="Amelia", Sex="F", MiddleNames=None),
                                                   pupil(UPN=None, Forename="Isla", Sex="F", MiddleNames=None)]))
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([
        gp_row(given_name="Amelia", gender="F", other_given_names=""),
        gp_row(nhs_number="", given_name="Isla", gender="F", other_given_names="")]))
    run_feed("school", "run-school")
    run_feed("gp", "run-gp")


def girl_with_two_surnames(store: Path) -> dict[str, str]:
    """Her school and GP records as two children (the linker cannot tell); feed → ContactPoint ID."""
    drop(store, "school", school_file_name(), ctf([pupil(
        UPN=valid_upn(), Forename="Olivia", Surname="Brown", DOB="2015-05-17", Sex="F", MiddleNames="Rose",
        PostCode="S60 1AA", PAON="12", Street="Oak Road", contact=("Jane", "Brown", "PAR", "01709 123456"))]))
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([gp_row(
        nhs_number="9990000026", given_name="Olivia", family_name="Kowalczyk", other_given_names="",
        date_of_birth="2015-05-17", gender="F", address_line_1="4 Quarry Hill", address_line_2="Sheffield",
        postcode="S10 2TN")]))
    run_feed("school", "run-school")
    run_feed("gp", "run-gp")
    ids = {r.feed: r.cp_id for r in rows("SELECT s.feed, l.cp_id FROM staging.source_record s "
                                         "JOIN identity.link l USING (record_id)")}
    assert ids["school"] != ids["gp"]
    return ids


def boy_at_school_and_gp(store: Path) -> tuple[str, int]:
    """One child with a school and a GP record; returns his ID and the GP record's id."""
    drop(store, "school", school_file_name(), ctf([pupil(UPN=valid_upn(), Forename="Alfie")]))
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([gp_row(given_name="Alfie")]))
    run_feed("school", "run-school")
    run_feed("gp", "run-gp")
    linked = rows("SELECT s.feed, s.record_id, l.cp_id FROM staging.source_record s "
                  "JOIN identity.link l USING (record_id)")
    assert len({r.cp_id for r in linked}) == 1, "the fixture needs the linker to join his two records"
    gp = next(r for r in linked if r.feed == "gp")
    return str(gp.cp_id), int(gp.record_id)
