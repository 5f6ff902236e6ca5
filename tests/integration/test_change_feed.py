"""The change feed as a front end polls it: signals only, one per child per publish, merges once.

A school and a GP know the same girl under two surnames; the linker keeps her records apart until a
steward says they are one child. The front end, polling ``GET /changes``, sees her two children appear,
then the merge as one event, and reading the retired ID answers "superseded by" the kept one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from directory_api.main import create_app
from matching.stewardship import merge_children, older_first, record_decision, undo_action
from pipeline.steps import publish, relink, run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name, valid_upn
from warehouse import changes, users
from warehouse.db import transaction

pytestmark = pytest.mark.postgres

PASSWORD, PIN = "correct horse battery staple", "4711"
CP_ID = re.compile(r"^CP[0-9]{9}[A-Z]$")
UPN = valid_upn()
NHS_NUMBER = "9990000026"
AT_SCHOOL = pupil(UPN=UPN, Forename="Olivia", Surname="Brown", DOB="2015-05-17", Sex="F", MiddleNames="Rose",
                  PostCode="S60 1AA", PAON="12", Street="Oak Road", contact=("Jane", "Brown", "PAR", "01709 123456"))
AT_THE_GP = gp_row(nhs_number=NHS_NUMBER, given_name="Olivia", family_name="Kowalczyk", other_given_names="",
                   date_of_birth="2015-05-17", gender="F", address_line_1="4 Quarry Hill", address_line_2="Sheffield",
                   postcode="S10 2TN")
# What would identify her: none of it may ever appear in the feed.
IDENTIFYING = ("Olivia", "Brown", "Kowalczyk", "Rose", "2015-05-17", "S60 1AA", "S10 2TN", "Oak Road",
               "Quarry Hill", UPN, NHS_NUMBER, "Jane")


@dataclass
class FrontEnd:
    """A front end signed in as a front-end system (the service role), remembering its cursor between polls."""

    client: TestClient
    token: str
    cursor: int = 0

    def poll(self) -> list[dict[str, Any]]:
        response = self.client.get("/changes", params={"after": self.cursor},
                                   headers={"Authorization": f"Bearer {self.token}"})
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["count"] == len(page["data"])
        self.cursor = page["next_cursor"]
        return list(page["data"])

    def read(self, cp_id: str) -> dict[str, Any]:
        response = self.client.get(f"/children/{cp_id}", params={"purpose": "record_synchronisation"},
                                   headers={"Authorization": f"Bearer {self.token}"})
        assert response.status_code == 200, response.text
        return dict(response.json())


def sign_in(client: TestClient, username: str, role: str) -> str:
    with transaction() as conn:
        secret = users.add_user(conn, username=username, display_name=username.title(), role=role,
                                password=PASSWORD, pin=PIN)
    response = client.post("/session", json={"username": username, "password": PASSWORD, "pin": PIN,
                                             "one_time_code": pyotp.TOTP(secret).now()})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


@pytest.fixture
def front_end(store: Path) -> Iterator[FrontEnd]:
    with TestClient(create_app()) as client:
        yield FrontEnd(client, sign_in(client, "frontend", "service"))


def children_of_her() -> dict[str, str]:
    """feed → her ContactPoint ID in that feed's record."""
    with transaction() as conn:
        return {r.feed: r.cp_id for r in conn.execute(text("""
            SELECT s.feed, l.cp_id FROM staging.source_record s JOIN identity.link l USING (record_id)"""))}


def assert_signal_only(events: list[dict[str, Any]]) -> None:
    for event in events:
        assert set(event) == {"cursor", "kind", "cp_id", "other_cp_id", "recorded_at"}
        assert CP_ID.match(event["cp_id"])
        assert event["other_cp_id"] is None or CP_ID.match(event["other_cp_id"])
    as_text = json.dumps(events)
    for value in IDENTIFYING:
        assert value.lower() not in as_text.lower(), value


def her_two_children(store: Path) -> dict[str, str]:
    drop(store, "school", school_file_name(), ctf([AT_SCHOOL]))
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([AT_THE_GP]))
    run_feed("school", "run-school")
    run_feed("gp", "run-gp")
    children = children_of_her()
    assert children["school"] != children["gp"], "the linker should not have joined two surnames and two homes"
    return children


def test_a_front_end_sees_her_records_appear_then_a_stewards_merge_as_one_event(store: Path,
                                                                                  front_end: FrontEnd) -> None:
    before = her_two_children(store)

    # Each child appears as one signal, though each publish wrote her child, carer and involvement rows.
    first = front_end.poll()
    assert_signal_only(first)
    assert Counter((e["kind"], e["cp_id"]) for e in first) == {
        ("child_changed", before["school"]): 1, ("child_changed", before["gp"]): 1}
    assert front_end.poll() == []  # nothing new: the same cursor comes back

    # A steward says the two records are one child; the next full re-link carries it out.
    with transaction() as conn:
        records: dict[str, int] = dict(
            conn.execute(text("SELECT feed, record_id FROM staging.source_record")).tuples().all())
        record_decision(conn, records["school"], records["gp"], "must_link", steward="steward1",
                        reason="the GP confirmed the surname change after adoption")
    relink("after-steward")
    publish()
    after = children_of_her()
    kept = after["school"]
    assert after["gp"] == kept and kept in before.values()  # one of her IDs carries over
    [retired] = set(before.values()) - {kept}

    merge = front_end.poll()
    assert_signal_only(merge)
    assert [(e["kind"], e["cp_id"], e["other_cp_id"]) for e in merge if e["kind"] == "ids_merged"] == [
        ("ids_merged", kept, retired)]
    # Her kept record changed (the GP's registration joined it); the retired ID has no record to change.
    assert {(e["kind"], e["cp_id"]) for e in merge if e["kind"] != "ids_merged"} == {("child_changed", kept)}

    # The front end follows the signal through the read contract.
    assert front_end.read(retired) == {"cp_id": retired, "superseded_by": kept}
    assert front_end.read(kept)["cp_id"] == kept

    # The steward console signalling the same merge does not make a second event; a publish that
    # changes nothing makes none either.
    with transaction() as conn:
        again = changes.record_change(conn, changes.IDS_MERGED, kept, retired)
    assert again == next(e["cursor"] for e in merge if e["kind"] == "ids_merged")
    relink("nothing-new")
    publish()
    assert front_end.poll() == []


def test_a_stewards_merge_in_the_console_is_one_event_and_its_undo_another(store: Path,
                                                                            front_end: FrontEnd) -> None:
    before = her_two_children(store)
    front_end.poll()  # the front end is up to date
    with transaction() as conn:
        kept, retired = older_first(conn, *before.values())  # the console keeps the older ID

    with transaction() as conn:
        users.add_user(conn, username="steward1", display_name="Steward", role="steward", password="pw", pin="1")
        merge = merge_children(conn, retired, kept, steward="steward1",
                               reason="the GP confirmed the surname change after adoption")
    assert (merge.kept_cp_id, merge.retired_cp_id) == (kept, retired)
    assert [(e["kind"], e["cp_id"], e["other_cp_id"]) for e in front_end.poll()] == [
        ("ids_merged", kept, retired)]
    assert front_end.read(retired) == {"cp_id": retired, "superseded_by": kept}

    # The next publish and full re-link carry the merge out without signalling it again.
    publish()
    relink("after-merge")
    publish()
    events = front_end.poll()
    assert_signal_only(events)
    assert {(e["kind"], e["cp_id"]) for e in events} == {("child_changed", kept)}

    with transaction() as conn:
        undo_action(conn, merge.action_id, steward="steward1", reason="wrong child: two girls of that name")
    publish()
    events = front_end.poll()
    assert_signal_only(events)
    assert [(e["kind"], e["cp_id"], e["other_cp_id"]) for e in events if e["kind"] != "child_changed"] == [
        ("merge_undone", kept, retired)]
    assert {e["cp_id"] for e in events if e["kind"] == "child_changed"} == {kept, retired}
    assert front_end.read(retired)["cp_id"] == retired and "superseded_by" not in front_end.read(retired)
    assert children_of_her() == before


def test_an_undone_merge_is_signalled_and_a_later_merge_of_the_same_ids_is_signalled_again(store: Path) -> None:
    with transaction() as conn:
        merged = changes.record_change(conn, changes.IDS_MERGED, "CP000000001A", "CP000000002B")
        undone = changes.record_change(conn, changes.MERGE_UNDONE, "CP000000001A", "CP000000002B")
        merged_again = changes.record_change(conn, changes.IDS_MERGED, "CP000000001A", "CP000000002B")
        events, cursor = changes.changes_after(conn, 0, 10)
        assert changes.changes_after(conn, cursor, 10) == ([], cursor)
        with pytest.raises(ValueError, match="unknown change kind"):
            changes.record_change(conn, "child_renamed", "CP000000001A")
    assert merged < undone < merged_again == cursor
    assert [e.kind for e in events] == ["ids_merged", "merge_undone", "ids_merged"]


def test_only_front_end_systems_reach_the_feed_only_through_its_function_and_only_signed_in(
        store: Path, front_end: FrontEnd) -> None:
    with transaction() as conn:
        changes.record_change(conn, changes.ID_ARCHIVED, "CP000000001A")
    assert front_end.client.get("/changes").status_code == 401
    # A person cannot list every ID without searching (issue 13, finding 2): readers and stewards too.
    for person, role in (("auditor1", "auditor"), ("reader1", "reader"), ("steward1", "steward")):
        token = sign_in(front_end.client, person, role)
        refused = front_end.client.get("/changes", params={"after": 0},
                                       headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403 and "CP000000001A" not in refused.text
    assert [(e["kind"], e["cp_id"]) for e in front_end.poll()] == [("id_archived", "CP000000001A")]

    with transaction() as conn:
        conn.execute(text("SET LOCAL ROLE cp_service"))
        assert changes.changes_after(conn, 0, 10)[1] == 1
    for role in ("cp_reader", "cp_steward"):
        with pytest.raises(ProgrammingError, match="permission denied"), transaction() as conn:
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            changes.changes_after(conn, 0, 10)
    with pytest.raises(ProgrammingError, match="permission denied"), transaction() as conn:
        conn.execute(text("SET LOCAL ROLE cp_service"))
        conn.execute(text("SELECT * FROM directory.change"))
    with pytest.raises(ProgrammingError, match="permission denied"), transaction() as conn:
        conn.execute(text("SET LOCAL ROLE cp_service"))
        changes.record_change(conn, changes.CHILD_CHANGED, "CP000000001A")
