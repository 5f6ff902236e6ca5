"""A linkage case's hub: a scratch database on the server, the hub configured to it, every feed loaded."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
AS_OF = "2026-11-25"


def _server_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _admin_engine(server: str) -> Any:
    from sqlalchemy import create_engine

    from warehouse.db import as_psycopg_url

    return create_engine(as_psycopg_url(_server_url(server, "postgres")), isolation_level="AUTOCOMMIT")


@contextmanager
def scratch_database(server: str, name: str) -> Iterator[str]:
    """A new, empty database on ``server`` for the block; dropped afterwards (even after a failure)."""
    from sqlalchemy import text

    if not re.fullmatch(r"cp_bench_[a-z0-9_]+", name):
        raise ValueError(f"refusing to manage database {name!r}")
    admin = _admin_engine(server)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _server_url(server, name)
    finally:
        from warehouse.db import get_engine

        get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def configure(database_url: str, data_dir: Path, dropzone: Path, as_of: str = AS_OF) -> None:
    """Point the hub at this case's database and folders and forget any cached configuration."""
    os.environ["CONTACTPOINT_DATABASE_URL"] = database_url
    os.environ["CONTACTPOINT_DATA_DIR"] = str(data_dir)
    os.environ["CONTACTPOINT_DROPZONE_DIR"] = str(dropzone)
    os.environ["CONTACTPOINT_AS_OF"] = as_of
    os.environ.pop("CONTACTPOINT_SFTP_CONN_ID", None)
    from contactpoint.settings import get_settings
    from warehouse.db import database_url as cached_url
    from warehouse.db import get_engine

    get_settings.cache_clear()
    cached_url.cache_clear()
    get_engine.cache_clear()


def load_all() -> dict[str, Any]:
    """Receive and load every feed's files; counts per feed."""
    from pipeline import steps as pipeline
    from tools.synthetic import FEEDS

    counts: dict[str, Any] = {}
    for feed in FEEDS:
        outcomes = [o for o in (pipeline.load(i) for i in pipeline.receive(feed)) if o is not None]
        counts[feed] = {"files": len(outcomes), "read": sum(o.read for o in outcomes),
                        "loaded": sum(o.loaded for o in outcomes),
                        "quarantined": sum(o.quarantined for o in outcomes),
                        "rejected_files": sum(o.status == "rejected" for o in outcomes)}
    return counts
