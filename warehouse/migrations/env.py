"""Alembic environment: the URL comes from the caller (``warehouse.migrate``) or the hub's settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from warehouse.db import database_url

# Serialises concurrent migrations (two CLI runs, Airflow workers) on one server.
MIGRATION_LOCK = 7_204_311

url = context.config.get_main_option("sqlalchemy.url") or database_url()
engine = create_engine(url)
with engine.connect() as connection:
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    connection.commit()
    try:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()
engine.dispose()
