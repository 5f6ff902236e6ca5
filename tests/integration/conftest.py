"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from contactpoint.settings import get_settings
from directory_api.deps import get_clock
from directory_api.main import create_app
from tests.integration.api_story import Api, Clock, add_child, add_involvements
from tests.integration.read_contract import build_directory
from tests.integration.stewardship_story import STEWARD
from warehouse import users
from warehouse.audit import verify_chain
from warehouse.db import transaction


@pytest.fixture
def directory(store: Path) -> None:
    """The read contract's small directory (``tests.integration.read_contract.build_directory``) in an empty
    store; a module that needs more in it defines its own ``directory``."""
    with transaction() as conn:
        build_directory(conn)


@pytest.fixture
def day_before(store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The retention stories' store: files are loaded on the 24th, the day before the pass (a child turning 18 on
    the 25th is still in scope)."""
    monkeypatch.setenv("CONTACTPOINT_AS_OF", "2026-11-24")
    get_settings.cache_clear()
    return store


@pytest.fixture
def api(store: Path) -> Iterator[Api]:
    """A small directory, a reader, and the API on a clock the test moves."""
    with transaction() as conn:
        add_child(conn, "CP000000001A", "Alfie", "Smith-Jones", "2016-03-04", gender="M")
        add_involvements(conn, "CP000000001A", "Alfie", "Smith-Jones", "2016-03-04")
        add_child(conn, "CP000000002B", "Ava", "Stone", "2015-01-10", postcode="S60 2AB", shielded=True)
        add_involvements(conn, "CP000000002B", "Ava", "Stone", "2015-01-10")
        add_child(conn, "CP000000003C", "Ava", "Stone", "2015-01-10", postcode="S60 2AB")
        conn.execute(text("INSERT INTO identity.child (cp_id, status, superseded_by) "
                          "VALUES ('CP000000009Z', 'merged', 'CP000000001A')"))
    app = create_app()
    clock = Clock()
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as client:
        api = Api(client, clock, {})
        api.add_user("reader")
        yield api
    with transaction() as conn:
        assert verify_chain(conn, store.parent / "anchors.log").ok


@pytest.fixture
def steward(store: Path) -> str:
    """The steward at the keyboard: a real, enabled account (the database acts only for one); the stewards'
    stories use it in every test (``pytest.mark.usefixtures("steward")``)."""
    with transaction() as conn:
        users.add_user(conn, username=STEWARD, display_name="Steward", role="steward", password="pw", pin="1")
    return STEWARD
