"""Fixtures the integration tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from contactpoint.settings import get_settings
from tests.integration.read_contract import build_directory
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
