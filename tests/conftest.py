"""Test session: a real PostgreSQL database of its own, a private Airflow home, fresh settings per test.

The database is a throwaway one on the machine's PostgreSQL (``CONTACTPOINT_TEST_ADMIN_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``) or, when no server answers there, on an embedded
server in a temporary folder. Never SQLite, never a mock.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest-xdist workers run with a bare __main__ (no __file__, no __spec__). Great Expectations imports
# pyspark.sql.connect when pyspark is installed, and pyspark takes such a __main__ for its own doctest
# runner and calls sys.exit(0). Naming the worker's __main__ keeps that guess from firing.
import __main__  # noqa: E402

if not hasattr(__main__, "__file__"):
    __main__.__file__ = "<pytest-xdist worker>"

# Airflow reads its home when first imported: give the session a private one before any test imports it.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="cp-tests-"))
os.environ["CONTACTPOINT_DATA_DIR"] = str(_SESSION_DIR / "data")
from pipeline.airflow_env import airflow_environment  # noqa: E402

# Unconditionally: pytest-xdist workers inherit the controller's environment, and two workers sharing
# one Airflow metadata database race in `airflow db migrate`.
os.environ.update(airflow_environment(_SESSION_DIR / "airflow"))

from sqlalchemy import create_engine, text  # noqa: E402

from contactpoint.settings import get_settings  # noqa: E402
from warehouse import db  # noqa: E402

ADMIN_URL = os.environ.get("CONTACTPOINT_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
STORE_SCHEMAS = ("intake", "staging", "identity", "directory", "archive", "audit", "access")
REFERENCE_TABLES = ("intake.feed",)  # what the migrations seed and every store starts with: kept between tests


def _reset_caches() -> None:
    get_settings.cache_clear()
    db.database_url.cache_clear()
    db.get_engine.cache_clear()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated, empty database for this test session (one per xdist worker)."""
    from warehouse.migrate import upgrade

    if db.server_answers(ADMIN_URL):
        name = f"cp_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    else:
        admin, name = None, None
        url = db.start_embedded_server(_SESSION_DIR / "pgdata")
    os.environ["CONTACTPOINT_DATABASE_URL"] = url
    _reset_caches()
    # The migrations create the cluster's roles (cp_loader, cp_service, ...) if missing. On a server that never
    # had them, two workers migrating their databases at once race: one grants to a role the other created
    # in a transaction it has not committed ("role cp_service does not exist"). One migration at a time.
    with (Path(tempfile.gettempdir()) / "contactpoint-tests-migrate.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        upgrade(url)
    yield url
    db.get_engine().dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty store and a fresh data folder (drop zone, landing) for one test; yields the drop zone."""
    with db.get_engine().begin() as conn:
        tables = conn.execute(text(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = ANY(:s)"),
            {"s": list(STORE_SCHEMAS)}).scalars().all()
        tables = [t for t in tables if t not in REFERENCE_TABLES]
        if tables:
            # The audit trail refuses TRUNCATE to everyone; a superuser in replica mode fires no trigger.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER SEQUENCE identity.child_number RESTART"))
    monkeypatch.setenv("CONTACTPOINT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONTACTPOINT_DROPZONE_DIR", str(tmp_path / "dropzone"))
    monkeypatch.setenv("CONTACTPOINT_AS_OF", "2026-11-25")
    get_settings.cache_clear()
    yield tmp_path / "dropzone"
    get_settings.cache_clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test states what it needs: an unmarked test fails collection."""
    kinds = {"unit", "postgres", "sftp", "dags"}
    unmarked = [item.nodeid for item in items if not kinds & {m.name for m in item.iter_markers()}]
    if unmarked:
        raise pytest.UsageError(f"tests without a unit/postgres/sftp/dags marker: {unmarked[:5]}")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Debian chromium per test process, shared by every browser test (the console's and
    Airflow's UI): Playwright's sync API allows one instance per thread."""
    from tests.browser.conftest import AXE, CHROMIUM

    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm install --prefix .cache/axe axe-core`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()
