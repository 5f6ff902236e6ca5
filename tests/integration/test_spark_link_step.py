"""The whole link step on Spark: records read from the store over JDBC, scored, decided and clustered on
Spark, IDs carried over, links written back. A data team switching ``CONTACTPOINT_LINK_BACKEND`` to spark
gets the children DuckDB gives, and no child's ContactPoint ID moves."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from connectors.dropzone import FolderDropZone
from contactpoint.settings import get_settings
from matching.features import features_frame
from matching.linkage import link_frames
from matching.model import load_model
from matching.stewardship import record_decision
from pipeline import steps as pipeline
from pipeline.ingest import ingest_feed
from tests.integration.test_linking import FEEDS, children_by_record, load_population, partition, rows
from tools.synthetic import generate
from warehouse.db import get_engine, transaction
from warehouse.record_features import CANONICAL
from warehouse.spark_records import SparkStoreError, jdbc_options

pytestmark = pytest.mark.postgres


@pytest.fixture
def on_spark(store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("pyspark", reason="the spark extra: EXTRAS=dev,spark scripts/setup.sh")
    try:
        jdbc_options(get_engine().url.render_as_string(hide_password=False))
    except SparkStoreError as error:
        pytest.skip(str(error))
    assert get_settings().spark_jdbc_jar.exists(), "scripts/test.sh installs libpostgresql-jdbc-java"
    return store


def open_review_pairs() -> set[tuple[int, int]]:
    return set(rows("SELECT record_a, record_b FROM identity.review_pair WHERE status = 'open'"))  # type: ignore[arg-type]


def test_a_first_load_linked_on_spark_finds_the_children_and_review_pairs_duckdb_finds(
        on_spark: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generated = on_spark.parent / "generated"
    generate(generated, children=250, seed=21, fault_rate=0.05)
    for feed in FEEDS:
        ingest_feed(feed, FolderDropZone(generated))
    monkeypatch.setenv("CONTACTPOINT_LINK_BACKEND", "spark")
    get_settings.cache_clear()

    summary = pipeline.link("first-on-spark")

    with transaction() as conn:
        frame = features_frame([dict(r._mapping) for r in conn.execute(text(CANONICAL))])
    on_duckdb = link_frames(frame, load_model(), backend="duckdb")
    linked = children_by_record()
    assert len(linked) == summary.records == len(frame) > 400
    assert partition(linked) == partition(on_duckdb.clustering.group_of)
    assert summary.new_children == len(set(linked.values())) < summary.records
    assert open_review_pairs() == {tuple(sorted((int(p["record_a"]), int(p["record_b"])))) for p in on_duckdb.review}
    assert pipeline.publish().children_written > 0


def test_a_re_link_on_spark_keeps_every_contactpoint_id_and_honours_a_steward_s_keep_apart(on_spark: Path) -> None:
    load_population(on_spark, children=250, seed=22)  # linked feed by feed on DuckDB
    pipeline.relink("settle")
    settled = children_by_record()

    summary = pipeline.relink("on-spark", backend="spark")
    assert (summary.records_moved, summary.children_merged, summary.new_children) == (0, 0, 0)
    assert children_by_record() == settled

    # A steward splits a child: on the next re-link one record keeps the ID, the other gets a new child.
    record_a, record_b = rows("""SELECT a.record_id, b.record_id FROM identity.link a JOIN identity.link b
                                 ON a.cp_id = b.cp_id AND a.record_id < b.record_id ORDER BY 1, 2 LIMIT 1""")[0]
    with transaction() as conn:
        record_decision(conn, record_a, record_b, "cannot_link", steward="steward1",
                        reason="two pupils, the school said")
    split = pipeline.relink("split-on-spark", backend="spark")
    after = children_by_record()
    assert after[record_a] != after[record_b]
    assert settled[record_a] in (after[record_a], after[record_b])
    assert split.new_children >= 1 and split.children_merged == 0
    assert rows("SELECT count(*) FROM directory.change WHERE kind = 'id_split'")[0][0] >= 1
    # Every other child kept its ID.
    untouched = {r: c for r, c in settled.items() if c != settled[record_a]}
    assert {r: after[r] for r in untouched} == untouched
