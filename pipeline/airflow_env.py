"""Airflow for the hub: environment, shared secrets, metadata database, serialized DAGs.

Airflow reads its configuration when first imported, so the environment must be applied before
anything imports ``airflow``. Every component (api-server, scheduler, dag-processor, triggerer, the
task processes) must see the same JWT secret, or the api-server refuses the scheduler's task tokens
("Invalid auth token"); the secrets are therefore generated once into the data folder and every
component reads them from there. ``dag.test()`` needs a migrated metadata database and the DAGs
serialized (``docs/stack-notes.md``).
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

from contactpoint.settings import PROJECT_ROOT, Settings, get_settings

DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"  # the steward console in Airflow's UI (plugins/contactpoint_console.py)
METADATA_DATABASE = "airflow"  # Airflow's own tables live apart from the directory store

# Airflow option (as its environment variable) → file under <data dir>/airflow-secrets. Airflow reads a
# sensitive option from ``<VAR>_CMD``, so the secret itself never appears in the printed exports.
SECRET_FILES = {
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt_secret",
    "AIRFLOW__API__SECRET_KEY": "api_secret_key",
    "AIRFLOW__CORE__FERNET_KEY": "fernet_key",
}


def airflow_environment(home: Path | None = None, metadata_url: str | None = None) -> dict[str, str]:
    """Variables that point Airflow at the repo's ``airflow.cfg``, ``dags/`` and ``plugins/`` and a home.

    Without ``metadata_url`` the metadata database is SQLite under the home: what the tests' ``dag.test()``
    needs, nothing more. A deployment uses ``deployment_environment()``.
    """
    home = home or get_settings().airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(PROJECT_ROOT / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url or f"sqlite:///{home / 'airflow.db'}",
    }


def scripts_folder() -> Path:
    """The folder holding this environment's ``airflow`` and ``contactpoint`` (``.venv/bin``)."""
    return Path(sysconfig.get_path("scripts"))


def path_with_scripts(path: str, scripts: Path) -> str:
    """``PATH`` with ``scripts`` first: ``airflow standalone`` starts its components by the name ``airflow``."""
    parts = [p for p in path.split(os.pathsep) if p]
    if parts[:1] == [str(scripts)]:
        return path
    return os.pathsep.join([str(scripts), *[p for p in parts if p != str(scripts)]])


def metadata_url_on(server_url: str, database: str = METADATA_DATABASE) -> str:
    """The URL of ``database`` on the server of ``server_url`` (same user, host, socket and options)."""
    from sqlalchemy.engine import make_url

    from warehouse.db import as_psycopg_url

    return make_url(as_psycopg_url(server_url)).set(database=database).render_as_string(hide_password=False)


def metadata_url(settings: Settings) -> str:
    """Airflow's metadata database: the setting, SQLite when asked for, else ``airflow`` on the hub's server.

    Creates a missing PostgreSQL database (and starts the embedded server when the hub uses it).
    """
    from warehouse.db import database_url, ensure_database

    wanted = settings.airflow_database_url
    if wanted is not None and wanted.strip().lower() == "sqlite":
        return f"sqlite:///{settings.airflow_home / 'airflow.db'}"
    if wanted:
        url = metadata_url_on(wanted, database=_database_of(wanted))
    else:
        url = metadata_url_on(database_url())
    ensure_database(url)
    return url


def _database_of(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).database or METADATA_DATABASE


def new_secret(option: str) -> str:
    """A fresh value for one of ``SECRET_FILES`` (a Fernet key is 32 url-safe base64 bytes)."""
    if option == "AIRFLOW__CORE__FERNET_KEY":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(48)


def ensure_secrets(folder: Path) -> dict[str, Path]:
    """The secrets files under ``folder`` (mode 0600, folder 0700), generated on first use and then kept."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    files = {}
    for option, name in SECRET_FILES.items():
        path = folder / name
        if not path.exists():
            # Created 0600 before a byte is written: the secret is never readable by anyone else.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(new_secret(option))  # no newline: Airflow takes a command's output verbatim
        path.chmod(0o600)
        files[option] = path
    return files


def deployment_environment(environ: Mapping[str, str] | None = None,
                           settings: Settings | None = None) -> dict[str, str]:
    """Everything a real Airflow on this hub needs, for ``eval "$(contactpoint airflow-env)"``.

    Whatever ``environ`` already sets (a secret, the metadata database, ``AIRFLOW_HOME``...) is kept:
    the environment wins, the data folder supplies the rest.
    """
    environ = os.environ if environ is None else environ
    settings = settings or get_settings()
    env = {key: value for key, value in airflow_environment(settings.airflow_home).items() if key not in environ}
    if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" in env:  # not SQLite: the metadata database the settings name
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = metadata_url(settings)
    needed = [o for o in SECRET_FILES if o not in environ and f"{o}_CMD" not in environ]
    if needed:
        files = ensure_secrets(settings.data_dir / "airflow-secrets")
        env.update({f"{option}_CMD": f"cat {files[option]}" for option in needed})
    env["PATH"] = path_with_scripts(environ.get("PATH", ""), scripts_folder())
    return env


def apply_airflow_environment(home: Path | None = None) -> dict[str, str]:
    """Set the deployment's variables in this process (keeps any the caller already set)."""
    if home is not None:
        os.environ.setdefault("AIRFLOW_HOME", str(home))
    for key, value in deployment_environment().items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in airflow_environment(home)}


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
