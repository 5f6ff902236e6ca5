"""A self-contained Airflow home for the hub: environment, metadata database, serialized DAGs.

Airflow reads its configuration when first imported, so ``airflow_environment()`` must be applied
before anything imports ``airflow``. ``dag.test()`` then needs a migrated metadata database and the
DAGs serialized (``shared/STACK-NOTES.md``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from contactpoint.settings import PROJECT_ROOT, get_settings

DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"  # the steward console in Airflow's UI (plugins/contactpoint_console.py)


def airflow_environment(home: Path | None = None) -> dict[str, str]:
    """Variables that point Airflow at the repo's ``airflow.cfg``, ``dags/`` and ``plugins/`` and a local home."""
    home = home or get_settings().airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(PROJECT_ROOT / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }


def apply_airflow_environment(home: Path | None = None) -> dict[str, str]:
    """Set the variables in this process (keeps any the caller already set)."""
    env = airflow_environment(home)
    for key, value in env.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in env}


def _airflow(*args: str, env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "airflow", *args]
    completed = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{completed.stdout[-2000:]}{completed.stderr[-4000:]}")


def prepare_airflow(home: Path | None = None) -> dict[str, str]:
    """Apply the environment, migrate Airflow's metadata database and serialize the DAGs."""
    env = apply_airflow_environment(home)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    _airflow("db", "migrate", env=env)
    _airflow("dags", "reserialize", env=env)
    return env
