"""A feed is data in the store as in the code (migration 0020): the store accepts exactly the registry's feeds,
a feed new in the registry needs no migration, and a file of a feed nobody registered is refused by the store
itself, whoever writes it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from connectors.feeds import FEEDS
from warehouse.db import transaction
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
