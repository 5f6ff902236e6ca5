"""The real thing: the README's Airflow lines on a throwaway data folder, a sender's upload, the scheduler.

No ``dag.test()`` here. The test starts ``airflow standalone`` exactly as the README says (``eval "$(.venv/bin/
contactpoint airflow-env)"`` with the venv *not* on ``PATH``), with Airflow's metadata in a throwaway PostgreSQL
database and the drop zone on the session's OpenSSH server. A sender uploads a GP file; the scheduler's own
hourly run picks it up, ``link_identities`` follows on the Asset, and a second file goes in through a
triggered run. Then: every run succeeded, the receipts are on the SFTP server, the directory holds the
children, and the load task's log names each file and its rows.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from connectors.feeds import FEEDS
from contactpoint.settings import PROJECT_ROOT
from pipeline.airflow_env import scripts_folder
from tests.conftest import ADMIN_URL
from tests.factories import csv_file, feed_file_name, gp_row
from tests.sftp_server import SftpServer, free_port, sftp_server  # noqa: F401
from warehouse.db import server_answers, transaction

BIN = scripts_folder()
README_LINES = f'eval "$({BIN}/contactpoint airflow-env)" && exec {BIN}/airflow standalone'
WAIT_SECONDS = 240


@pytest.fixture
def airflow_database() -> Iterator[str]:
    """A throwaway database for Airflow's metadata on the machine's PostgreSQL (created by airflow-env)."""
    if not server_answers(ADMIN_URL):
        pytest.skip("needs the machine's PostgreSQL for Airflow's metadata database")
    name = f"cp_airflow_{uuid.uuid4().hex[:10]}"
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _environment(data: Path, database_url: str, airflow_url: str, sftp: SftpServer, account: Path) -> dict[str, str]:
    """What a data team's shell holds: the hub's settings and the SFTP connection, nothing of Airflow's."""
    connection = {"conn_type": "sftp", "host": sftp.host, "port": sftp.port, "login": sftp.username,
                  "extra": {"host_key": sftp.host_public_key, "key_file": str(sftp.client_key), "root": str(account)}}
    api_port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "CONTACTPOINT_"))}
    env.update({
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # the venv not activated, as a new user's shell
        "PYTHONPATH": str(PROJECT_ROOT),
        "CONTACTPOINT_DATA_DIR": str(data),
        "CONTACTPOINT_DATABASE_URL": database_url,
        "CONTACTPOINT_AIRFLOW_DATABASE_URL": airflow_url,
        "CONTACTPOINT_SFTP_CONN_ID": "contactpoint_sftp",
        "CONTACTPOINT_AS_OF": "2026-11-25",
        "AIRFLOW_CONN_CONTACTPOINT_SFTP": json.dumps(connection),
        # Other test sessions may run an Airflow on this machine: no fixed port.
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    })
    return env


def _runs(airflow_url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(airflow_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT dag_id, run_type, state FROM dag_run"))]
    except Exception:  # the metadata tables appear only once standalone has migrated them
        return []
    finally:
        engine.dispose()


def _wait_for(what: str, check, airflow_url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check(_runs(airflow_url)):
            return
        if process.poll() is not None:
            break
        time.sleep(2)
    raise AssertionError(f"{what} not seen; runs: {_runs(airflow_url)}\n{output.read_text(errors='replace')[-6000:]}")


def _succeeded(runs: list[tuple[str, str, str]], dag_id: str, run_type: str) -> bool:
    return any(d == dag_id and t == run_type and s == "success" for d, t, s in runs)


def _settled(runs: list[tuple[str, str, str]]) -> bool:
    """No ingest or link run queued or running (every empty feed's load also updates its Asset, so linking
    runs often); the daily retention run is not what these tests wait for."""
    return bool(runs) and all(state in ("success", "failed") for dag, _, state in runs if dag != "retention")


def _children() -> list[str]:
    with transaction() as conn:
        return list(conn.execute(text("SELECT given_name FROM directory.child ORDER BY given_name")).scalars())


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user stops standalone (it stops its components), then make sure the group is gone."""
    with_group = os.getpgid(process.pid)
    os.killpg(with_group, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    time.sleep(1)
    try:
        os.killpg(with_group, signal.SIGKILL)  # anything standalone left behind (its api-server's workers)
    except ProcessLookupError:
        pass


@pytest.mark.dags
@pytest.mark.postgres
@pytest.mark.sftp
def test_the_readme_s_airflow_runs_a_scheduled_and_a_triggered_ingest_of_a_sender_s_upload(
        store: Path, database_url: str, airflow_database: str, sftp_server: SftpServer,  # noqa: F811
        tmp_path: Path) -> None:
    account = sftp_server.new_account_root()
    first = feed_file_name("gp", sender="13R", seq=1)
    sftp_server.upload(account, f"inbound/gp/{first}", csv_file([gp_row(), gp_row(given_name="Maisie", gender="F",
                                                                                  date_of_birth="2017-05-06")]))
    # A second practice's file in the same run: the ingest DAG maps its load task over senders.
    other = feed_file_name("gp", sender="14S", seq=1)
    sftp_server.upload(account, f"inbound/gp/{other}", csv_file([gp_row(
        given_name="Nia", family_name="Okafor", gender="F", date_of_birth="2016-02-03")]))
    data = tmp_path / "airflow-data"
    env = _environment(data, database_url, airflow_database, sftp_server, account)
    output = tmp_path / "standalone.log"
    started = time.monotonic()
    with output.open("wb") as sink:
        process = subprocess.Popen(["bash", "-c", README_LINES], cwd=PROJECT_ROOT, env=env, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # The scheduler's own hourly run (catchup off: the latest hour at once), then linking on the Asset.
        _wait_for("a scheduled ingest_gp, then link_identities, putting three children in the directory",
                  lambda runs: _succeeded(runs, "ingest_gp", "scheduled") and _settled(runs)
                  and len(_children()) == 3, airflow_database, process, output)
        scheduled_seconds = time.monotonic() - started

        second = feed_file_name("gp", sender="13R", seq=2)
        sftp_server.upload(account, f"inbound/gp/{second}", csv_file([gp_row(given_name="Theo", gender="M",
                                                                             date_of_birth="2018-07-08")]))
        trigger = subprocess.run(["bash", "-c", f'eval "$({BIN}/contactpoint airflow-env)" && '
                                                f"{BIN}/airflow dags trigger ingest_gp"],
                                 cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert trigger.returncode == 0, trigger.stderr[-3000:]
        _wait_for("a triggered ingest_gp, then link_identities, adding the third child",
                  lambda runs: _succeeded(runs, "ingest_gp", "manual") and _settled(runs)
                  and len(_children()) == 4, airflow_database, process, output)
        logging.getLogger(__name__).info("scheduled ingest + link in %.0f s, both in %.0f s", scheduled_seconds,
                                         time.monotonic() - started)
    finally:
        _stop(process)

    runs = _runs(airflow_database)
    assert {s for d, _, s in runs if d != "retention"} == {"success"}, runs
    assert _succeeded(runs, "link_identities", "asset_triggered"), runs
    assert {f"ingest_{feed}" for feed in FEEDS} <= {d for d, _, _ in runs}, "every feed's DAG was scheduled"

    with sftp_server.sender() as sftp:
        outbound = set(sftp.listdir(str(account / "outbound" / "gp")))
        processed = set(sftp.listdir(str(account / "processed" / "gp")))
    assert {f"{first}.receipt.json", f"{second}.receipt.json"} <= outbound
    assert {first, second} <= processed
    assert _children() == ["Alfie", "Maisie", "Nia", "Theo"]

    # LocalExecutor ran the two practices' load tasks side by side, each in its own process.
    engine = create_engine(airflow_database)
    try:
        with engine.connect() as conn:
            loads = conn.execute(text("""
                SELECT t.map_index, t.start_date, t.end_date, t.pid FROM task_instance t
                JOIN dag_run r ON r.dag_id = t.dag_id AND r.run_id = t.run_id
                WHERE t.dag_id = 'ingest_gp' AND t.task_id = 'load' AND r.run_type = 'scheduled'
                  AND t.state = 'success' ORDER BY t.map_index""")).fetchall()
    finally:
        engine.dispose()
    assert [m for m, *_ in loads] == [0, 1], loads
    (_, start_a, end_a, pid_a), (_, start_b, end_b, pid_b) = loads
    assert start_a < end_b and start_b < end_a, f"the two senders' loads did not overlap: {loads}"
    assert pid_a != pid_b

    load_logs = sorted((data / "airflow" / "logs" / "dag_id=ingest_gp").glob("run_id=*/task_id=load/**/attempt=*.log"))
    told = "\n".join(json.loads(line).get("event", "") for log in load_logs for line in log.read_text().splitlines()
                     if line.startswith("{"))
    assert f"gp file {first}: accepted, 2 rows read, 2 loaded, 0 quarantined, 0 withheld" in told, told
    assert f"gp file {second}: accepted, 1 rows read, 1 loaded" in told, told


@pytest.mark.dags
@pytest.mark.postgres
@pytest.mark.browser
def test_airflow_s_own_ui_lists_the_dags_shows_the_run_green_and_opens_the_console(
        store: Path, database_url: str, airflow_database: str, tmp_path: Path, chromium: Any) -> None:
    from tests.factories import drop

    name = feed_file_name("gp", sender="13R", seq=1)
    drop(store, "gp", name, csv_file([gp_row()]))  # the folder drop zone: a sender's file already complete
    data = tmp_path / "airflow-data"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "CONTACTPOINT_"))}
    api_port = free_port()
    env.update({
        "PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT),
        "CONTACTPOINT_DATA_DIR": str(data), "CONTACTPOINT_DROPZONE_DIR": str(store),
        "CONTACTPOINT_DATABASE_URL": database_url, "CONTACTPOINT_AIRFLOW_DATABASE_URL": airflow_database,
        "CONTACTPOINT_AS_OF": "2026-11-25", "CONTACTPOINT_CONSOLE_SECURE_COOKIE": "false",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # the UI without Airflow's own login
        "AIRFLOW__API__PORT": str(api_port), "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    })
    output = tmp_path / "standalone.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(["bash", "-c", README_LINES], cwd=PROJECT_ROOT, env=env, stdout=sink,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Only what the page shows: the GP ingest and the linking after it (the other feeds' runs do not matter).
        _wait_for("a scheduled ingest_gp and link_identities",
                  lambda runs: _succeeded(runs, "ingest_gp", "scheduled")
                  and _settled([r for r in runs if r[0] in ("ingest_gp", "link_identities")])
                  and len(_children()) == 1, airflow_database, process, output)
        shots = PROJECT_ROOT / "docs" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        base = f"http://localhost:{api_port}"
        page = chromium.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(f"{base}/dags")
            page.wait_for_selector("text=ingest_gp", timeout=60_000)
            listed = page.inner_text("body")
            assert all(f"ingest_{feed}" in listed for feed in FEEDS) and "link_identities" in listed
            page.screenshot(path=str(shots / "airflow-dags.png"))
            page.get_by_text("Browse", exact=True).first.click()  # the plugin's entry is in Airflow's Browse menu
            page.wait_for_selector("text=ContactPoint console", timeout=30_000)
            page.goto(f"{base}/dags/ingest_gp/runs")
            page.wait_for_selector("text=scheduled__", timeout=60_000)
            assert "success" in page.inner_text("body").lower()
            page.screenshot(path=str(shots / "airflow-run.png"))
            page.goto(f"{base}/console/")
            page.wait_for_selector("text=One-time code", timeout=30_000)  # the console's own sign-in
        finally:
            page.close()
    finally:
        _stop(process)
