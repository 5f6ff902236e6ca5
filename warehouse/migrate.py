"""Bring a store up to the newest schema with the hub's Alembic migrations, and check a store before use."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from contactpoint.settings import get_settings
from warehouse.db import database_url, get_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(RuntimeError):
    """The store cannot be used as it is; the message is one line saying what to do."""


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration pointing at our migrations and the given (or configured) store."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; URLs may carry %-escapes.
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> None:
    """Apply every migration not yet applied (safe to call on every start)."""
    command.upgrade(alembic_config(url), "head")


def _first_line(error: object) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)


def describe(url: str) -> str:
    """The store's URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def ensure_store() -> None:
    """Check the store answers and holds this hub's newest schema; StoreError says in one line what to do.

    The embedded store is the hub's own, so it is brought up to date on first use, as the demo does; a
    configured one is only checked (its schema is its operators' to change, with ``contactpoint migrate``).
    """
    settings = get_settings()
    try:
        url = database_url()
    except Exception as exc:  # the embedded server's start fails in many ways; each is the same advice
        raise StoreError(f"could not start the embedded PostgreSQL in {settings.embedded_pgdata}: "
                         f"{_first_line(exc)}") from None
    try:
        with get_engine().connect() as conn:
            migrated = conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
            revisions = conn.execute(text("SELECT version_num FROM alembic_version")) if migrated else None
            current = set(revisions.scalars()) if revisions is not None else set()
    except DBAPIError as exc:
        raise StoreError(f"cannot reach the store at {describe(url)}: {_first_line(exc.orig)} "
                         "(check CONTACTPOINT_DATABASE_URL and that PostgreSQL is running)") from None
    scripts = ScriptDirectory.from_config(alembic_config(url))
    heads = set(scripts.get_heads())
    if current == heads:
        return
    if settings.database_url is None:
        upgrade(url)
        return
    if not current:
        raise StoreError(f"the store at {describe(url)} has no hub schema yet: run `contactpoint migrate` first")
    known = {revision.revision for revision in scripts.walk_revisions()}
    if current - known:
        raise StoreError(f"the store at {describe(url)} is at revision {', '.join(sorted(current))}, which this "
                         "hub does not know: it was migrated by a newer hub")
    raise StoreError(f"the store at {describe(url)} is at revision {', '.join(sorted(current))}, this hub needs "
                     f"{', '.join(sorted(heads))}: run `contactpoint migrate`")
