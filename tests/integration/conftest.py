"""Fixtures the integration tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.read_contract import build_directory
from warehouse.db import transaction


@pytest.fixture
def directory(store: Path) -> None:
    """The read contract's small directory (``tests.integration.read_contract.build_directory``) in an empty
    store; a module that needs more in it defines its own ``directory``."""
    with transaction() as conn:
        build_directory(conn)
