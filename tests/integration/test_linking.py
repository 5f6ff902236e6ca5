"""Identity linking in the store: one child across feeds, stable IDs, twins kept apart, stewards obeyed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text

from connectors.feeds import FEEDS as REGISTRY
from matching.files import link_files, write_clusters
from matching.model import BUNDLED_MODEL
from matching.stewardship import record_decision
from pipeline.steps import link, publish, relink, run_feed
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, pupil, school_file_name, valid_upn
from tests.integration.population import deliver_population
from warehouse.db import transaction
from warehouse.record_features import CANONICAL

pytestmark = pytest.mark.postgres
FEEDS = tuple(REGISTRY)


def rows(sql: str, **params: object) -> list[tuple]:
    with transaction() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def children_by_record() -> dict[int, str]:
    return dict(rows("SELECT record_id, cp_id FROM identity.link"))  # type: ignore[arg-type]


def load_population(store: Path, children: int = 400, seed: int = 11) -> Path:
    return deliver_population(store, children=children, seed=seed, fault_rate=0.05)


def truth(generated: Path) -> dict[int, str]:
    """record_id → the true child, through each record's file and row."""
    with (generated / "ground_truth.csv").open() as handle:
        by_row = {(r["file_name"], int(r["row_number"])): r["child_id"] for r in csv.DictReader(handle)}
    staged = rows("""SELECT s.record_id, f.file_name, s.row_number FROM staging.source_record s
                     JOIN intake.file f USING (file_id)""")
    return {record: by_row[(name, row)] for record, name, row in staged}


def partition(assignment: dict[object, object]) -> set[frozenset[str]]:
    groups: dict[object, set[str]] = {}
    for record, group in assignment.items():
        groups.setdefault(group, set()).add(str(record))
    return {frozenset(g) for g in groups.values()}


def test_one_child_across_feeds_is_one_contactpoint_id_and_ids_survive_re_runs_and_a_full_re_link(
        store: Path) -> None:
    generated = load_population(store)
    true_child = truth(generated)
    first = children_by_record()

    # Precision first: no ContactPoint child holds records of two true children.
    for group in partition(first):
        assert len({true_child[int(r)] for r in group}) == 1
    # Most true children whose records came from several feeds are found as one.
    by_true: dict[str, set[str]] = {}
    for record, child in true_child.items():
        by_true.setdefault(child, set()).add(first[record])
    multi = [ids for child, ids in by_true.items() if list(true_child.values()).count(child) > 1]
    assert sum(len(ids) == 1 for ids in multi) / len(multi) > 0.95

    link("again")
    summary = relink("full")
    assert children_by_record() == first
    assert (summary.records_moved, summary.children_merged, summary.new_children) == (0, 0, 0)


def test_twins_at_one_address_are_never_merged_but_offered_to_a_steward(store: Path) -> None:
    twin_a = pupil(UPN=valid_upn(), Forename="Amelia", Sex="F", MiddleNames=None)
    twin_b = pupil(UPN=None, Forename="Isla", Sex="F", MiddleNames=None)  # her school has no UPN for her yet
    drop(store, "school", school_file_name(), ctf([twin_a, twin_b]))
    # The GP feed knows them without UPNs (Isla without an NHS number either): names, birth date and home are
    # all that link them, and nothing but a steward tells whether Isla is Amelia.
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([
        gp_row(given_name="Amelia", gender="F", other_given_names=""),
        gp_row(nhs_number="", given_name="Isla", gender="F", other_given_names="")]))
    run_feed("school", "run-1")
    run_feed("gp", "run-2")

    children = rows("""SELECT s.given_name, count(DISTINCT l.cp_id) FROM staging.source_record s
                       JOIN identity.link l USING (record_id) GROUP BY s.given_name ORDER BY 1""")
    assert children == [("Amelia", 1), ("Isla", 1)]
    assert rows("SELECT count(DISTINCT cp_id) FROM identity.link") == [(2,)]
    reasons = {r for (r,) in rows("SELECT reason FROM identity.review_pair WHERE status = 'open'")}
    assert "twins or siblings" in reasons


def test_a_steward_keeping_two_records_apart_survives_a_full_re_link(store: Path) -> None:
    generated = load_population(store, children=300, seed=5)
    assert generated.exists()
    record_a, record_b = rows("""SELECT a.record_id, b.record_id FROM identity.link a JOIN identity.link b
                                 ON a.cp_id = b.cp_id AND a.record_id < b.record_id ORDER BY a.record_id LIMIT 1""")[0]
    old_child = children_by_record()[record_a]
    with transaction() as conn:
        record_decision(conn, record_a, record_b, "cannot_link", steward="steward1",
                        reason="different children: the school confirmed two pupils")

    relink("after-steward")
    relink("and-again")

    after = children_by_record()
    assert after[record_a] != after[record_b]
    assert old_child in (after[record_a], after[record_b])  # one of them keeps the ID
    assert rows("SELECT count(*) FROM identity.link_history WHERE run_id = 'after-steward'")[0][0] >= 1
    assert rows("SELECT count(*) FROM identity.link_history WHERE run_id = 'and-again'") == [(0,)]


def test_link_files_gives_the_same_clusters_as_the_pipeline_on_the_same_records(store: Path) -> None:
    load_population(store, children=300, seed=8)
    relink("full")
    records = rows(CANONICAL.replace("l.cp_id", "l.cp_id AS child"))
    columns = ("record_id", "given_name", "family_name", "date_of_birth", "gender", "postcode", "address_line_1",
               "nhs_number", "upn")
    canonical = store.parent / "records.csv"
    with transaction() as conn:
        result = conn.execute(text(CANONICAL))
        names = list(result.keys())
        with canonical.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in result:
                values = dict(zip(names, row, strict=True))
                writer.writerow(["" if values[c] is None else values[c] for c in columns])
    # The dry run sees only the canonical columns: middle, former and preferred names are not in them.
    with transaction() as conn:
        conn.execute(text("""UPDATE staging.source_record SET middle_names = NULL, preferred_given_name = NULL,
                             preferred_family_name = NULL, former_family_name = NULL"""))
    relink("canonical-only")
    out = store.parent / "clusters.csv"
    write_clusters(link_files([canonical], BUNDLED_MODEL), out)  # the pipeline's model, not one estimated here

    with out.open() as handle:
        dry_run = {row["record_id"]: row["cluster_id"] for row in csv.DictReader(handle)}
    assert len(records) == len(dry_run)
    assert partition(dry_run) == partition(children_by_record())


def test_a_record_that_might_be_a_shielded_child_is_held_out_of_the_directory(store: Path) -> None:
    drop(store, "gp", feed_file_name("gp", sender="13R"), csv_file([
        gp_row(given_name="Rosalind", family_name="Quill", gender="F", date_of_birth="2014-05-06",
               postcode="S60 1AA", restricted="Y")]))
    run_feed("gp", "run-1")
    # A school sends a pupil with the same birth date, a similar name, at another address: maybe her.
    drop(store, "school", school_file_name(), ctf([pupil(UPN=valid_upn(), Forename="Rosalind", Surname="Quil",
                                                         Sex="F", DOB="2014-05-06", PostCode="M14 5RT",
                                                         PAON="3", Street="Mill Lane", Town="Manchester")]))
    run_feed("school", "run-2")

    review = rows("SELECT reason FROM identity.review_pair WHERE status = 'open'")
    assert review, "the pair should be in the review band"
    published = rows("SELECT given_name, family_name, shielded, postcode FROM directory.child ORDER BY family_name")
    assert published == [("Rosalind", "Quill", True, "S60 1AA")]
    assert rows("SELECT count(*) FROM identity.child WHERE status = 'held'") == [(1,)]
    publish()
    assert not any(p[3] == "M14 5RT" for p in rows("SELECT * FROM directory.child"))


def test_the_same_model_on_spark_gives_the_same_children_as_on_duckdb(store: Path) -> None:
    pytest.importorskip("pyspark", reason="the spark extra: EXTRAS=dev,spark scripts/setup.sh")
    from matching.features import features_frame
    from matching.linkage import link_frames
    from matching.model import load_model

    load_population(store, children=250, seed=21)
    with transaction() as conn:
        frame = features_frame([dict(r._mapping) for r in conn.execute(text(CANONICAL))])
    on_duckdb = link_frames(frame, load_model(), backend="duckdb")
    on_spark = link_frames(frame, load_model(), backend="spark")

    assert partition(on_spark.clustering.group_of) == partition(on_duckdb.clustering.group_of)
    assert on_spark.links == on_duckdb.links > 0
    assert sorted((p["record_a"], p["record_b"]) for p in on_spark.review) == sorted(
        (p["record_a"], p["record_b"]) for p in on_duckdb.review)
