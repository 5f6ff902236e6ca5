"""A data team loads night one, then the generator's next night, through the real pipeline: the new
children get new ContactPoint IDs, moved children show their new address, pupils who changed school
show the new school, and no child already in the directory changes ID."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.ingest import ingest_folder
from schemas.identifiers import normalise_postcode
from tests.unit.synthetic.feedfiles import read_children
from tools.synthetic import ROW_FAULTS, generate, next_night
from warehouse.db import transaction

pytestmark = pytest.mark.postgres


def rows(sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with transaction() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def links() -> dict[int, str]:
    """record_id → ContactPoint ID."""
    return {int(r[0]): str(r[1]) for r in rows("SELECT record_id, cp_id FROM identity.link")}


def true_children(folder: Path) -> dict[int, str]:
    """record_id → the true child, through the file and row each record was last loaded from."""
    with (folder / "ground_truth_all.csv").open(encoding="utf-8", newline="") as handle:
        by_row = {(r["file_name"], int(r["row_number"])): r["child_id"] for r in csv.DictReader(handle)}
    staged = rows("SELECT s.record_id, f.file_name, s.row_number FROM staging.source_record s JOIN intake.file f "
                  "USING (file_id)")
    return {int(record): by_row[(name, row)] for record, name, row in staged}


def test_night_two_links_to_the_children_of_night_one_and_adds_only_the_new_ones(store: Path) -> None:
    one, two = store.parent / "night1", store.parent / "night2"
    generate(one, children=1000, seed=11, fault_rate=0.05)  # two primary schools
    first = ingest_folder(one, "night-1")
    assert first.loaded > 0 and not any(any((one / "inbound" / feed).iterdir()) for feed in ("school", "gp"))
    night_one_ids = links()

    # The next night is written from night one's folder after the hub took its files in.
    # Higher shares than a real night, so that a small population shows every kind of change.
    summary = next_night(one, two, seed=12, new_share=0.03, change_share=0.12, leaver_share=0.01)
    before, after = read_children(one), read_children(two)
    second = ingest_folder(two, "night-2")
    assert second.loaded > 0 and not any(f.rejected for f in second.feeds)
    now = links()
    truth = true_children(two)

    # No record already linked changes ContactPoint ID, and every record is one true child's.
    assert {record: now[record] for record in night_one_ids} == night_one_ids
    children_of: dict[str, set[str]] = {}
    for record, cp_id in now.items():
        children_of.setdefault(cp_id, set()).add(truth[record])
    assert all(len(held) == 1 for held in children_of.values())
    cp_of: dict[str, set[str]] = {}
    for record, child in truth.items():
        cp_of.setdefault(child, set()).add(now[record])

    # The new children are new in the directory: none is given an ID a night-one child holds.
    new = [c for c in after if c not in before]
    assert len(new) == summary.new_children > 0
    old_ids = set(night_one_ids.values())
    assert all(cp_of[c].isdisjoint(old_ids) for c in new if c in cp_of)
    assert sum(c in cp_of for c in new) >= 0.9 * len(new)
    directory = {str(r[0]) for r in rows("SELECT cp_id FROM directory.child")}
    assert all(cp_of[c] & directory for c in new if c in cp_of)

    # A moved child's directory entry shows the new postcode.
    postcodes = {str(r[0]): r[1] for r in rows("SELECT cp_id, postcode FROM directory.child")}
    moved = [c for c in before if after[c]["postcode"] != before[c]["postcode"]]
    assert len(moved) == summary.moved_children > 0
    movers = [c for c in moved if c in cp_of]  # a child no feed knows has no entry to update
    assert len(movers) >= 0.9 * len(moved)
    shown = [any(normalise_postcode(postcodes.get(cp) or "") == after[c]["postcode"] for cp in cp_of[c])
             for c in movers]
    assert sum(shown) >= 0.9 * len(shown), f"{sum(shown)} of {len(shown)} movers show the new postcode"

    # A pupil who changed school has the new school among the involvements.
    schools = {}
    for cp_id, code in rows("SELECT cp_id, organisation_code FROM directory.involvement WHERE kind = 'education'"):
        schools.setdefault(str(cp_id), set()).add(code)
    changed = [c for c in before if before[c]["school"] and after[c]["school"]
               and after[c]["school"] != before[c]["school"]]
    assert len(changed) == summary.school_changes > 0
    with (two / "ground_truth.csv").open(encoding="utf-8", newline="") as handle:
        # A transfer whose row breaks the spec (an injected row fault) is quarantined, as it should be.
        quarantined = {r["child_id"] for r in csv.DictReader(handle) if r["fault"] in ROW_FAULTS}
    assert [c for c in changed if c not in quarantined]
    for child in (c for c in changed if c not in quarantined):
        assert any(after[child]["school"] in schools.get(cp, set()) for cp in cp_of[child]), child
