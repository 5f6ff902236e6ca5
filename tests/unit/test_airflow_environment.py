"""What `contactpoint airflow-env` hands every Airflow component: its own tools on PATH, one set of secrets
kept in the data folder (never printed), and Airflow's metadata in PostgreSQL unless SQLite is asked for."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from contactpoint.settings import Settings
from pipeline.airflow_env import (
    SECRET_FILES,
    deployment_environment,
    ensure_secrets,
    metadata_url_on,
    path_with_scripts,
    scripts_folder,
)

pytestmark = pytest.mark.unit


def test_standalone_finds_its_components_because_the_venv_s_scripts_come_first_on_path() -> None:
    venv = Path("/srv/hub/.venv/bin")
    assert path_with_scripts("/usr/bin:/bin", venv) == "/srv/hub/.venv/bin:/usr/bin:/bin"
    assert path_with_scripts("/usr/bin:/srv/hub/.venv/bin", venv) == "/srv/hub/.venv/bin:/usr/bin"
    assert path_with_scripts("/srv/hub/.venv/bin:/usr/bin", venv) == "/srv/hub/.venv/bin:/usr/bin"
    assert (scripts_folder() / "airflow").exists()


def test_the_metadata_database_sits_on_the_hub_s_own_server_socket_included() -> None:
    embedded = metadata_url_on("postgresql://postgres:@/postgres?host=/data/pgdata")
    assert make_url(embedded).database == "airflow"
    assert make_url(embedded).query["host"] == "/data/pgdata"
    assert make_url(embedded).drivername == "postgresql+psycopg"
    remote = make_url(metadata_url_on("postgresql://hub:pw@db.example:5432/contactpoint"))
    assert (remote.host, remote.port, remote.username, remote.password, remote.database) == (
        "db.example", 5432, "hub", "pw", "airflow")


def test_secrets_are_generated_once_readable_by_the_owner_only(tmp_path: Path) -> None:
    files = ensure_secrets(tmp_path / "airflow-secrets")
    assert set(files) == set(SECRET_FILES)
    first = {option: path.read_text() for option, path in files.items()}
    assert all(len(value) >= 32 and "\n" not in value for value in first.values())
    assert len(set(first.values())) == len(first)
    for path in files.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "airflow-secrets").stat().st_mode) == 0o700
    again = ensure_secrets(tmp_path / "airflow-secrets")
    assert {option: path.read_text() for option, path in again.items()} == first


def test_the_exports_point_at_the_secret_files_and_never_contain_a_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, airflow_database_url="sqlite")
    env = deployment_environment({"PATH": "/usr/bin"}, settings)
    secrets = {path.read_text() for path in (tmp_path / "airflow-secrets").iterdir()}
    assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"] == f"cat {tmp_path / 'airflow-secrets' / 'jwt_secret'}"
    assert not any(secret in value for secret in secrets for value in env.values())
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}"
    assert env["PATH"].split(":")[0] == str(scripts_folder())


def test_what_the_environment_already_sets_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, airflow_database_url="sqlite")
    given = {"PATH": "/usr/bin", "AIRFLOW__API_AUTH__JWT_SECRET": "from-the-vault",
             "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow@db/airflow"}
    env = deployment_environment(given, settings)
    assert "AIRFLOW__API_AUTH__JWT_SECRET_CMD" not in env and "AIRFLOW__API_AUTH__JWT_SECRET" not in env
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in env
    assert "AIRFLOW__API__SECRET_KEY_CMD" in env
