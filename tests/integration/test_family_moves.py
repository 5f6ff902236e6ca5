"""A family moves: a girl's record at the new home joins her record at the old one in the night's delta once her
brother's records show the family's move, though he shares no blocking key with her (D26, migration 0025).

The linker runs a model with the prior of a national directory (a thousand times this store's): full name, birth
date and sex at two homes then fall below any threshold, as they do among millions of children, and only a move
the family is known to have made lifts them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from matching.lifecycle import promote
from matching.model import load_model
from pipeline.steps import run_feed
from tests.factories import csv_file, drop, feed_file_name, gp_row
from tests.integration.model_lifecycle import add_steward, rows
from warehouse.db import transaction

pytestmark = pytest.mark.postgres

NATIONAL = "child_linkage_v1-national"
OLD_HOME = {"postcode": "LS6 2QT", "address_line_1": "12 Mill Lane"}
NEW_HOME = {"postcode": "BD7 1AB", "address_line_1": "7 Hyde Park Road"}
ADAEZE = {"given_name": "Adaeze", "family_name": "Okonkwo", "date_of_birth": "2014-03-09", "gender": "F",
          "other_given_names": ""}
CHIDI = {"given_name": "Chidi", "family_name": "Okonkwo", "date_of_birth": "2011-10-30", "gender": "M",
         "other_given_names": "", "nhs_number": "9990000085"}


def _national_model_promoted() -> None:
    model = load_model()
    model["probability_two_random_records_match"] /= 1_000
    with transaction() as conn:
        conn.execute(text("INSERT INTO identity.model (version, model) VALUES (:v, CAST(:m AS jsonb))"),
                     {"v": NATIONAL, "m": json.dumps(model)})
    add_steward("lead")
    with transaction() as conn:
        promote(conn, NATIONAL, steward="lead", reason="the directory's own prior", run_id="promote-national")


def _night(store: Path, practice: str, seq: int, *people: dict[str, str]) -> None:
    drop(store, "gp", feed_file_name("gp", sender=practice, seq=seq), csv_file([gp_row(**p) for p in people]))
    run_feed("gp", f"night-{practice}-{seq}")


def _child_of(given_name: str, postcode: str) -> str:
    found = rows("""SELECT l.cp_id FROM staging.source_record s JOIN identity.link l ON l.record_id = s.record_id
                    WHERE s.given_name = :g AND s.postcode = :p""", g=given_name, p=postcode)
    assert len(found) == 1, (given_name, postcode, found)
    return str(found[0][0])


def _family_at_the_old_home(store: Path) -> None:
    _national_model_promoted()
    _night(store, "372", 1, {**ADAEZE, **OLD_HOME, "nhs_number": "9990000077"}, {**CHIDI, **OLD_HOME})


def test_a_girl_s_record_at_the_new_home_joins_her_child_once_her_brother_s_records_show_the_move(
        store: Path) -> None:
    _family_at_the_old_home(store)
    # The family registers with a GP near the new home: Chidi first, with his NHS number.
    _night(store, "13R", 1, {**CHIDI, **NEW_HOME})
    assert _child_of("Chidi", NEW_HOME["postcode"]) == _child_of("Chidi", OLD_HOME["postcode"])
    # Adaeze's registration there gives no NHS number: her name and birth date at the new home are all it has.
    _night(store, "13R", 2, {**ADAEZE, **NEW_HOME, "nhs_number": ""})

    assert _child_of("Adaeze", NEW_HOME["postcode"]) == _child_of("Adaeze", OLD_HOME["postcode"])


def test_without_the_brother_s_move_her_record_at_another_home_stays_apart(store: Path) -> None:
    _family_at_the_old_home(store)
    _night(store, "13R", 2, {**ADAEZE, **NEW_HOME, "nhs_number": ""})

    assert _child_of("Adaeze", NEW_HOME["postcode"]) != _child_of("Adaeze", OLD_HOME["postcode"])
