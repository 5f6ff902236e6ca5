"""A steward's actions on the store: link, keep apart, split, merge, undo, and what every later run makes of them.

Twins at one address reach the review queue; a girl known to her school and her GP under two surnames
is two children until a steward says otherwise; a pupil and his GP registration are one child until a
steward splits them. Every action is audited with ids only, honoured by the next full re-link, shown
by the next publish, and undone exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from matching import stewardship
from matching.link import current_model
from matching.stewardship import QueueFilter, StewardshipError
from pipeline.steps import publish, relink, run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name, valid_upn
from warehouse import users
from warehouse.db import transaction

pytestmark = pytest.mark.postgres

STEWARD = "steward1"
NAMES = ("Amelia", "Isla", "Olivia", "Brown", "Kowalczyk", "Alfie", "Smith-Jones")


@pytest.fixture(autouse=True)
def steward(store: Path) -> str:
    """The steward at the keyboard: a real, enabled account (the database acts only for one)."""
    with transaction() as conn:
        users.add_user(conn, username=STEWARD, display_name="Steward", role="steward", password="pw", pin="1")
    return STEWARD


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


def test_a_steward_keeps_twins_apart_and_the_next_full_relink_and_the_queue_honour_it(store: Path) -> None:
    twins(store)
    with transaction() as conn:
        queue = stewardship.review_queue(conn)
    assert queue.total >= 1 and queue.by_feed
    top = queue.entries[0]
    before = children_by_record()

    with transaction() as conn:
        with pytest.raises(StewardshipError, match="reason"):
            stewardship.keep_apart(conn, top.pair_id, steward=STEWARD, reason="  ")
    with transaction() as conn:
        outcome = stewardship.keep_apart(conn, top.pair_id, steward=STEWARD,
                                         reason="twins: the school confirmed two pupils")
    assert rows("SELECT status FROM identity.review_pair WHERE pair_id = :p", p=top.pair_id)[0].status == "decided"
    decision = rows("SELECT record_a, record_b, decision, action_id FROM identity.steward_decision")
    assert [(d.record_a, d.record_b, d.decision, d.action_id) for d in decision] == [
        (top.record_a, top.record_b, "cannot_link", outcome.action_id)]

    relink("after-steward")
    assert children_by_record() == before
    with transaction() as conn:
        assert top.pair_id not in {e.pair_id for e in stewardship.review_queue(conn).entries}
        with pytest.raises(StewardshipError, match="already decided"):
            stewardship.link_pair(conn, top.pair_id, steward=STEWARD, reason="changed my mind")

    [entry] = audit_of("steward_keep_apart")
    assert (entry.username, entry.user_role, entry.cp_id) == (STEWARD, "steward", top.cp_a)
    assert entry.detail["action_id"] == outcome.action_id and entry.detail["pair_id"] == top.pair_id
    assert [e.detail["decision"] for e in audit_of("steward_decision")] == ["cannot_link"]
    assert_no_names_in_the_audit()


def test_a_pair_linked_by_mistake_merges_into_the_older_id_at_once_and_its_undo_restores_every_id(
        store: Path) -> None:
    twins(store)
    publish()
    before, states_before, directory_before = children_by_record(), child_states(), directory_ids()
    with transaction() as conn:
        top = stewardship.review_queue(conn).entries[0]
        outcome = stewardship.link_pair(conn, top.pair_id, steward=STEWARD,
                                        reason="looked like one child registered twice")
    kept, retired = older_first_of(top.cp_a, top.cp_b)
    assert (outcome.kept_cp_id, outcome.retired_cp_id) == (kept, retired)
    assert rows("SELECT seq FROM identity.child WHERE cp_id = :c", c=kept) < rows(
        "SELECT seq FROM identity.child WHERE cp_id = :c", c=retired)
    assert child_states()[retired] == ("merged", kept)
    assert set(children_by_record().values()) == set(before.values()) - {retired}
    moved = rows("SELECT record_id, old_cp_id, new_cp_id, method, run_id FROM identity.link_history "
                 "WHERE method = 'steward'")
    assert {(m.old_cp_id, m.new_cp_id, m.run_id) for m in moved} == {(retired, kept, f"steward:{outcome.action_id}")}

    publish()
    assert directory_ids() == directory_before - {retired}
    assert [(e.kind, e.cp_id, e.other_cp_id) for e in rows(
        "SELECT kind, cp_id, other_cp_id FROM directory.change WHERE kind = 'ids_merged'")] == [
        ("ids_merged", kept, retired)]
    relink("after-link")  # the must-link holds on a full re-link: nothing moves, nothing is retired again
    assert set(children_by_record().values()) == set(before.values()) - {retired}

    with transaction() as conn:
        undo = stewardship.undo_action(conn, outcome.action_id, steward=STEWARD,
                                       reason="they are twins: linked by mistake")
        with pytest.raises(StewardshipError, match="already undone"):
            stewardship.undo_action(conn, outcome.action_id, steward=STEWARD, reason="again")
    assert children_by_record() == before
    assert child_states() == states_before
    assert rows("SELECT status FROM identity.review_pair WHERE pair_id = :p", p=top.pair_id)[0].status == "open"
    publish()
    assert directory_ids() == directory_before
    assert rows("SELECT kind FROM directory.change WHERE kind = 'merge_undone'")[0].kind == "merge_undone"
    relink("after-undo")
    assert children_by_record() == before
    assert [e.detail["undoes"] for e in audit_of("steward_undo")] == [outcome.action_id]
    assert undo.kind == "undo"
    assert_no_names_in_the_audit()


def test_a_steward_merges_her_two_children_and_every_later_run_keeps_them_one(store: Path) -> None:
    ids = girl_with_two_surnames(store)
    publish()
    before = children_by_record()
    with transaction() as conn:
        outcome = stewardship.merge_children(conn, ids["gp"], ids["school"], steward=STEWARD,
                                             reason="adopted: the GP confirmed the surname change")
    kept, retired = older_first_of(ids["school"], ids["gp"])
    assert (outcome.kept_cp_id, outcome.retired_cp_id) == (kept, retired)
    assert set(children_by_record().values()) == {kept}
    relink("full-after-merge")
    assert set(children_by_record().values()) == {kept}
    assert child_states()[retired] == ("merged", kept)
    publish()
    assert directory_ids() == {kept}

    with transaction() as conn:
        with pytest.raises(StewardshipError, match="no longer a current child"):
            stewardship.merge_children(conn, kept, retired, steward=STEWARD, reason="twice")
        history = stewardship.identity_history(conn, kept)
    assert history is not None and history["merged_in"] == [retired]
    assert {a["kind"] for a in history["actions"]} == {"merge"}
    assert all(h["steward"] == STEWARD for h in history["history"] if h["method"] == "steward")

    with transaction() as conn:
        stewardship.undo_action(conn, outcome.action_id, steward=STEWARD, reason="wrong girl")
    assert children_by_record() == before
    relink("full-after-undo")
    assert children_by_record() == before
    publish()
    assert directory_ids() == set(ids.values())


def test_a_record_split_out_of_a_child_gets_its_own_id_until_the_split_is_undone(store: Path) -> None:
    cp_id, gp_record = boy_at_school_and_gp(store)
    publish()
    before = children_by_record()
    with transaction() as conn:
        outcome = stewardship.split_record(conn, gp_record, steward=STEWARD, reason="a different boy at the GP")
    new = outcome.new_cp_id
    assert new is not None and new != cp_id
    assert children_by_record()[gp_record] == new
    relink("full-after-split")
    assert children_by_record()[gp_record] == new  # the cannot-links keep him apart; both IDs carry over
    publish()
    assert directory_ids() == {cp_id, new}
    assert [(e.cp_id, e.other_cp_id) for e in rows(
        "SELECT cp_id, other_cp_id FROM directory.change WHERE kind = 'id_split'")] == [(cp_id, new)]

    with transaction() as conn:
        with pytest.raises(StewardshipError, match="only record"):
            stewardship.split_record(conn, gp_record, steward=STEWARD, reason="again")
        stewardship.undo_action(conn, outcome.action_id, steward=STEWARD, reason="same boy after all")
    assert children_by_record() == before
    assert child_states()[new] == ("merged", cp_id)  # an ID is never reused: it points back to his child
    publish()
    assert directory_ids() == {cp_id}
    relink("full-after-undo")
    assert children_by_record() == before


def test_an_undo_is_refused_when_a_later_action_changed_the_same_child(store: Path) -> None:
    ids = girl_with_two_surnames(store)
    with transaction() as conn:
        merge = stewardship.merge_children(conn, ids["school"], ids["gp"], steward=STEWARD, reason="one girl")
        record = int(conn.execute(text("SELECT record_id FROM staging.source_record WHERE feed = 'gp'")).scalar_one())
        split = stewardship.split_record(conn, record, steward=STEWARD, reason="two girls after all")
    with transaction() as conn:
        with pytest.raises(StewardshipError, match="undo that first"):
            stewardship.undo_action(conn, merge.action_id, steward=STEWARD, reason="undo the merge")
    with transaction() as conn:
        stewardship.undo_action(conn, split.action_id, steward=STEWARD, reason="undo the split")
        stewardship.undo_action(conn, merge.action_id, steward=STEWARD, reason="undo the merge")
    assert {r.feed: r.cp_id for r in rows("SELECT s.feed, l.cp_id FROM staging.source_record s "
                                          "JOIN identity.link l USING (record_id)")} == ids


def test_pairs_touching_a_shielded_child_come_first_and_filters_count(store: Path) -> None:
    twins(store)
    # A third girl, restricted at her GP, who might be one of two more twins at another address (the other
    # twin's school has no UPN for her yet).
    drop(store, "school", school_file_name(stamp="20261102T100000"), ctf([
        pupil(UPN=valid_upn(), Forename="Maya", Surname="Hill", DOB="2014-01-09", Sex="F", MiddleNames="",
              PostCode="S61 2BB", PAON="3", Street="Elm Road"),
        pupil(UPN=None, Forename="Mia", Surname="Hill", DOB="2014-01-09", Sex="F", MiddleNames="",
              PostCode="S61 2BB", PAON="3", Street="Elm Road")]))
    drop(store, "gp", feed_file_name("gp", sender="13R", stamp="20261102T100000"), csv_file([
        gp_row(given_name="Maya", family_name="Hill", date_of_birth="2014-01-09", gender="F", other_given_names="",
               address_line_1="3 Elm Road", postcode="S61 2BB", restricted="Y")]))
    run_feed("school", "run-school-2")
    run_feed("gp", "run-gp-2")
    with transaction() as conn:
        queue = stewardship.review_queue(conn)
        by_school = stewardship.review_queue(conn, QueueFilter(feed="school"))
        nowhere = stewardship.review_queue(conn, QueueFilter(local_authority="999"))
        second_page = stewardship.review_queue(conn, page=2, per_page=1)
    assert queue.shielded >= 1
    flags = [e.shielded for e in queue.entries]
    assert flags == sorted(flags, reverse=True) and flags[0]
    unshielded = [e.distance for e in queue.entries if not e.shielded]
    assert unshielded == sorted(unshielded)
    assert by_school.total == queue.by_feed["school"]
    assert nowhere.total == 0 and nowhere.entries == []
    assert second_page.entries == queue.entries[1:2]


def test_the_waterfall_of_a_pair_adds_up_to_the_weight_the_linker_gave_it(store: Path) -> None:
    twins(store)
    with transaction() as conn:
        top = stewardship.review_queue(conn).entries[0]
        pair = stewardship.pair_detail(conn, top.pair_id)
        assert pair is not None
        bars = stewardship.waterfall(pair["explanation"], current_model(conn), float(pair["match_weight"]))
    names = [b["name"] for b in bars]
    assert names[0] == "prior" and names[-1] == "total" and "adjustments" not in names
    assert bars[-2]["end"] == pytest.approx(top.match_weight, abs=0.01)
    forename = next(b for b in bars if b["name"] == "forename")
    assert forename["weight"] < 0 and forename["label"] == "All other comparisons"  # Amelia and Isla
    assert all(b["start"] == pytest.approx(a["end"]) for a, b in zip(bars[:-2], bars[1:-1], strict=True))


def test_a_child_held_beside_a_shielded_twin_is_published_once_a_steward_answers_and_held_again_on_undo(
        store: Path) -> None:
    # Isla without a UPN or an NHS number yet: nothing but a steward tells whether she is Amelia.
    drop(store, "school", school_file_name(), ctf([
        pupil(UPN=valid_upn(), Forename="Amelia", Sex="F", MiddleNames=None),
        pupil(UPN=None, Forename="Isla", Sex="F", MiddleNames=None)]))
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([
        gp_row(given_name="Amelia", gender="F", other_given_names="", restricted="Y"),
        gp_row(nhs_number="", given_name="Isla", gender="F", other_given_names="")]))
    run_feed("school", "run-school")
    run_feed("gp", "run-gp")
    held = [cp for cp, (status, _) in child_states().items() if status == "held"]
    assert len(held) == 1, "Isla might be her shielded twin: held out of the directory"
    assert held[0] not in directory_ids()
    with transaction() as conn:  # only a steward entitled to shielded children may answer (issue 13)
        users.set_entitlements(conn, STEWARD, may_see_shielded=True, may_see_sensitive=False)

    with transaction() as conn:
        queue = stewardship.review_queue(conn)
        assert queue.shielded == queue.total >= 1
        outcomes = [stewardship.keep_apart(conn, e.pair_id, steward=STEWARD, reason="twins, school confirmed")
                    for e in queue.entries]
    assert child_states()[held[0]] == ("active", None)
    publish()
    assert held[0] in directory_ids()

    with transaction() as conn:
        stewardship.undo_action(conn, outcomes[-1].action_id, steward=STEWARD, reason="not sure after all")
    assert child_states()[held[0]] == ("held", None)
    publish()
    assert held[0] not in directory_ids()
