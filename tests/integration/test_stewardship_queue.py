"""The stewards' review queue: pairs touching a shielded child first, filters and pages that count, a waterfall
that adds up to the linker's weight, and a child held beside a shielded twin until a steward answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from matching import stewardship
from matching.link import current_model
from matching.stewardship import QueueFilter
from pipeline.steps import publish, run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name, valid_upn
from tests.integration.stewardship_story import STEWARD, child_states, directory_ids, twins
from warehouse import users
from warehouse.db import transaction

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("steward")]


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
