"""A feed is data in the store as in the code (migration 0020): the store accepts exactly the registry's feeds,
a feed new in the registry needs no migration, and a file of a feed nobody registered is refused by the store
itself, whoever writes it. The review queue places a record of a feed a local authority sends by its sender,
whichever feed that is (migration 0021)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from connectors.feeds import FEEDS
from warehouse.db import get_engine, transaction
from warehouse.intake import Registration, register_feed, register_file

pytestmark = pytest.mark.postgres


def _register(conn: Connection, feed: str, name: str) -> Registration:
    return register_file(conn, feed=feed, file_name=name, sha256=name.ljust(64, "0"), size=1, sender="383",
                         extract_time=datetime(2026, 11, 24, tzinfo=UTC), sequence=1)


def test_the_store_accepts_the_registrys_feeds_and_knows_which_a_local_authority_sends(store: Path) -> None:
    with transaction() as conn:
        rows = conn.execute(text("SELECT name, sender_is_local_authority FROM intake.feed")).all()
    stored: dict[str, bool] = {name: la for name, la in rows}
    assert stored == {feed.name: feed.sender_is_local_authority for feed in FEEDS.values()}
    assert {name for name, la in stored.items() if la} == {"connexions", "ics"}


def test_a_feed_new_in_the_registry_needs_no_migration_and_an_unknown_one_is_refused_by_the_store(
        store: Path) -> None:
    with pytest.raises(IntegrityError, match="file_feed_fkey"), transaction() as conn:
        _register(conn, "adoption", "a1")
    try:
        with transaction() as conn:
            register_feed(conn, "adoption", sender_is_local_authority=True)
            registration = _register(conn, "adoption", "a2")
        assert not registration.duplicate
    finally:
        with transaction() as conn:
            conn.execute(text("DELETE FROM intake.file WHERE feed = 'adoption'"))
            conn.execute(text("DELETE FROM intake.feed WHERE name = 'adoption'"))


def test_the_review_queue_places_a_record_of_a_new_local_authority_feed_by_its_sender(store: Path) -> None:
    # One open pair between two children: a record of a feed new in the registry that local authorities send
    # (no UPN), and a GP's record (no UPN: no local authority).
    with get_engine().connect() as conn:  # rolled back: intake.feed outlives the store fixture's clean-up
        register_feed(conn, "adoption", sender_is_local_authority=True)
        records = []
        for feed, name, cp_id in (("adoption", "a3", "CP000000001A"), ("gp", "b3", "CP000000002B")):
            file_id = _register(conn, feed, name).file_id
            record_id = conn.execute(text("""
                INSERT INTO staging.source_record (feed, sender, source_key, file_id, row_number, extract_time,
                                                   given_name, family_name, date_of_birth, gender, content_hash)
                VALUES (:feed, '383', :feed, :file_id, 1, now(), 'Ada', 'Lane', DATE '2016-01-01', 'F', 'x')
                RETURNING record_id"""), {"feed": feed, "file_id": file_id}).scalar_one()
            conn.execute(text("INSERT INTO identity.child (cp_id) VALUES (:c)"), {"c": cp_id})
            conn.execute(text("INSERT INTO identity.link (record_id, cp_id, method, run_id) "
                              "VALUES (:r, :c, 'test', 't')"), {"r": record_id, "c": cp_id})
            records.append(record_id)
        conn.execute(text("""
            INSERT INTO identity.review_pair (record_a, record_b, match_weight, reason, explanation, run_id)
            VALUES (:a, :b, 4.2, 'similar names', '{}', 't')"""), {"a": records[0], "b": records[1]})
        placed = conn.execute(text("SELECT feed_a, la_a, feed_b, la_b FROM console.open_pairs(5.0)")).all()
        conn.rollback()
    assert [tuple(row) for row in placed] == [("adoption", "383", "gp", None)]
