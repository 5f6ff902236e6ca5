"""Held means shielded on every console path (issue 13, finding 1).

A child the linker holds because it might be a shielded child (a pair in review with one) is treated as
shielded: a steward without the shielded entitlement cannot open it, merge it, split it or learn about it
from the queue's filters, and a merge that takes its records under another child takes the hold with them,
so nothing of it reaches the directory until an entitled steward has answered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from contactpoint.settings import get_settings
from directory_api.auth import token_hash
from directory_api.main import create_app
from matching import stewardship
from matching.stewardship import NotEntitled, QueueFilter
from pipeline.steps import publish, run_feed
from tests.factories import (
    csv_file,
    ctf,
    drop,
    ecaf_file,
    feed_file_name,
    gp_row,
    pupil,
    school_file_name,
    twin_notification,
    valid_upn,
)
from tests.integration.test_console import Browser
from warehouse import users
from warehouse.changes import changes_after
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


@pytest.fixture
def browser(store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    monkeypatch.setenv("CONTACTPOINT_CONSOLE_SECURE_COOKIE", "false")
    get_settings.cache_clear()
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        yield Browser(client)


def rows(sql: str, **params: object) -> list[Any]:
    with transaction() as conn:
        return list(conn.execute(text(sql), params).fetchall())


def held_beside_shielded_twin(store: Path) -> dict[str, str]:
    """An unrelated older child, then twins at one address whose one GP record is restricted, the other twin
    known only by an eCAF notification without an identifier: she might be the shielded twin, so her child is
    held. Returns the IDs of the ``older``, ``held`` and ``shielded`` children."""
    drop(store, "school", school_file_name(), ctf([
        pupil(UPN=valid_upn(serial=901), Forename="Oscar", Surname="Pemberton", DOB="2012-02-02", Sex="M",
              PostCode="M14 5RT", PAON="3", Street="Mill Lane", Town="Manchester"),
        pupil(UPN=valid_upn(serial=902), Forename="Amelia", Sex="F")]))
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([
        gp_row(given_name="Amelia", gender="F", other_given_names="", restricted="Y")]))
    drop(store, "ecaf", feed_file_name("ecaf"), ecaf_file([twin_notification("Isla")]))
    run_feed("school", "run-school")
    run_feed("gp", "run-gp")
    run_feed("ecaf", "run-ecaf")
    older = rows("""SELECT l.cp_id FROM identity.link l JOIN staging.source_record s USING (record_id)
                    WHERE s.given_name = 'Oscar'""")[0][0]
    held = rows("SELECT cp_id FROM identity.child WHERE status = 'held'")
    shielded = rows("""SELECT DISTINCT l.cp_id FROM identity.link l JOIN staging.source_record s USING (record_id)
                       WHERE s.restricted""")
    assert len(held) == 1 and len(shielded) == 1, (held, shielded)
    with transaction() as conn:
        assert stewardship.older_first(conn, older, held[0][0])[0] == older
    return {"older": older, "held": held[0][0], "shielded": shielded[0][0]}


def test_a_steward_without_the_entitlement_cannot_open_merge_or_split_a_held_child(
        store: Path, browser: Browser) -> None:
    ids = held_beside_shielded_twin(store)
    browser.add_user("sam")
    assert browser.sign_in("sam").status_code == 303

    page = browser.client.get(f"/console/identity/{ids['held']}")
    assert page.status_code == 403 and "Isla" not in page.text and "steward entitled to see shielded" in page.text
    token = browser.csrf("/console/review")
    merged = browser.client.post(f"/console/identity/{ids['held']}/merge",
                                 data={"other_cp_id": ids["older"], "reason": "same girl", "csrf_token": token})
    assert merged.status_code == 403
    into = browser.client.post(f"/console/identity/{ids['older']}/merge",
                               data={"other_cp_id": ids["held"], "reason": "same girl", "csrf_token": token})
    assert into.status_code == 403
    record = rows("SELECT record_id FROM identity.link WHERE cp_id = :c LIMIT 1", c=ids["held"])[0][0]
    split = browser.client.post(f"/console/records/{record}/split", data={"reason": "not her", "csrf_token": token})
    assert split.status_code == 403
    assert rows("SELECT count(*) FROM identity.steward_action") == [(0,)]
    assert rows("SELECT status FROM identity.child WHERE cp_id = :c", c=ids["held"]) == [("held",)]


def test_the_actions_refuse_a_steward_without_the_entitlement_whoever_calls_them(
        store: Path, browser: Browser) -> None:
    ids = held_beside_shielded_twin(store)
    browser.add_user("sam")
    with transaction() as conn, pytest.raises(NotEntitled):
        stewardship.merge_children(conn, ids["older"], ids["held"], steward="sam", reason="same girl")
    with transaction() as conn, pytest.raises(NotEntitled):
        stewardship.merge_children(conn, ids["older"], ids["held"], steward="nobody-at-all", reason="same girl")
    with transaction() as conn:
        pair_id = stewardship.review_queue(conn).entries[0].pair_id
    with transaction() as conn, pytest.raises(NotEntitled):
        stewardship.keep_apart(conn, pair_id, steward="sam", reason="twins")
    assert rows("SELECT count(*) FROM identity.steward_action") == [(0,)]


def test_a_merge_takes_the_hold_with_the_records_so_nothing_of_them_is_published_unshielded(
        store: Path, browser: Browser) -> None:
    ids = held_beside_shielded_twin(store)
    browser.add_user("sue", may_see_shielded=True)
    with transaction() as conn:
        outcome = stewardship.merge_children(conn, ids["older"], ids["held"], steward="sue", reason="same girl")
    assert outcome.kept_cp_id == ids["older"]
    assert rows("SELECT status FROM identity.child WHERE cp_id = :c", c=ids["older"]) == [("held",)]
    publish()
    assert rows("SELECT count(*) FROM directory.child WHERE cp_id IN (:a, :b)", a=ids["older"], b=ids["held"]) \
        == [(0,)]
    assert rows("SELECT count(*) FROM directory.child WHERE postcode = 'S60 1AA' AND NOT shielded") == [(0,)]
    with transaction() as conn:
        events, _ = changes_after(conn, 0, 1000)
    merges = [e for e in events if e.kind == "ids_merged"]
    assert merges == [], "the feed would tell readers the held child's ID and where it went"
    with transaction() as conn:
        for entry in stewardship.review_queue(conn).entries:
            stewardship.keep_apart(conn, entry.pair_id, steward="sue", reason="twins")
        events, _ = changes_after(conn, 0, 1000)
    assert [(e.cp_id, e.other_cp_id) for e in events if e.kind == "ids_merged"] == [(ids["older"], ids["held"])]


def test_the_queue_filters_and_counts_do_not_reveal_pairs_a_steward_may_not_see(store: Path) -> None:
    held_beside_shielded_twin(store)
    with transaction() as conn:
        entitled = stewardship.review_queue(conn, QueueFilter(feed="gp"))
        plain = stewardship.review_queue(conn, QueueFilter(feed="gp"), may_see_shielded=False)
        plain_la = stewardship.review_queue(conn, QueueFilter(local_authority="372"), may_see_shielded=False)
        unfiltered = stewardship.review_queue(conn, may_see_shielded=False)
    assert entitled.total >= 1 and entitled.by_feed.get("gp", 0) >= 1
    assert (plain.total, plain.entries, plain.by_feed) == (0, [], {})
    assert (plain_la.total, plain_la.entries, plain_la.by_local_authority) == (0, [], {})
    assert unfiltered.total == unfiltered.shielded >= 1
    assert unfiltered.by_feed == {} and unfiltered.by_local_authority == {}


def test_after_an_entitled_steward_keeps_them_apart_the_other_twin_shows_no_reason_and_no_shielded_id(
        store: Path, browser: Browser) -> None:
    ids = held_beside_shielded_twin(store)
    entitled = Browser(browser.client)
    entitled.add_user("sue", may_see_shielded=True)
    browser.add_user("sam")
    with transaction() as conn:
        for entry in stewardship.review_queue(conn).entries:
            stewardship.keep_apart(conn, entry.pair_id, steward="sue", reason="twins; Amelia lives at the refuge")
    assert rows("SELECT status FROM identity.child WHERE cp_id = :c", c=ids["held"]) == [("active",)]

    assert browser.sign_in("sam").status_code == 303
    page = browser.client.get(f"/console/identity/{ids['held']}")
    assert page.status_code == 200 and "Isla" in page.text
    assert "refuge" not in page.text and ids["shielded"] not in page.text
    assert "not shown: it concerns a shielded child" in page.text
    shown = re.sub(r"<[^>]+>", " ", page.text)
    assert stewardship.MASKED_ID in shown


def test_the_database_refuses_an_action_on_a_held_child_by_anyone_not_entitled_or_not_in_their_session(
        store: Path, browser: Browser) -> None:
    ids = held_beside_shielded_twin(store)
    browser.add_user("sam")
    browser.add_user("sue", may_see_shielded=True)
    insert = text("INSERT INTO identity.steward_action (kind, steward, reason, cp_ids) "
                  "VALUES ('merge', :s, 'same girl', :c)")
    with pytest.raises(DBAPIError, match="entitled to see shielded"), transaction() as conn:
        conn.execute(insert, {"s": "sam", "c": [ids["older"], ids["held"]]})  # Python's check skipped
    token = "a-session-of-sam"
    with transaction() as conn:
        users.create_session(conn, "sam", token_hash(token), 15)
    with pytest.raises(DBAPIError, match="own session"), transaction() as conn:
        conn.execute(text("SELECT set_config('contactpoint.session', :t, true)"), {"t": token})
        conn.execute(insert, {"s": "sue", "c": [ids["older"], ids["held"]]})  # sam naming his entitled colleague
    assert rows("SELECT count(*) FROM identity.steward_action") == [(0,)]
