"""A steward's actions on the store: link, keep apart, split, merge, undo, and what every later run makes of them.

Twins at one address reach the review queue; a girl known to her school and her GP under two surnames
is two children until a steward says otherwise; a pupil and his GP registration are one child until a
steward splits them. Every action is audited with ids only, honoured by the next full re-link, shown
by the next publish, and undone exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from matching import stewardship
from matching.stewardship import StewardshipError
from pipeline.steps import publish, relink
from tests.integration.stewardship_story import (
    STEWARD,
    assert_no_names_in_the_audit,
    audit_of,
    boy_at_school_and_gp,
    child_states,
    children_by_record,
    directory_ids,
    girl_with_two_surnames,
    older_first_of,
    rows,
    twins,
)
from warehouse.db import transaction

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("steward")]


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
