"""The store missing, silent, unmigrated or gone mid-transaction: the hub says so in one line, never hangs.

A newcomer's first ``contactpoint ingest DIR`` on a store without the hub's schema is told what to run; a
server that accepts the connection but never answers is given up after the connect timeout; a client that
vanishes inside a transaction has it ended by the server, so its row lock on a file is released.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cli.main import main
from tests.conftest import ADMIN_URL, _reset_caches
from tests.factories import csv_file, drop, feed_file_name, gp_row
from warehouse import db
from warehouse.migrate import StoreError, ensure_store

pytestmark = pytest.mark.postgres


@pytest.fixture
def other_store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lets a test point the hub at another store; the session's store is back afterwards."""
    db.get_engine().dispose()
    yield monkeypatch
    db.get_engine().dispose()
    monkeypatch.undo()
    _reset_caches()


def point_at(monkeypatch: pytest.MonkeyPatch, url: str, **settings: str) -> None:
    monkeypatch.setenv("CONTACTPOINT_DATABASE_URL", url)
    for name, value in settings.items():
        monkeypatch.setenv(f"CONTACTPOINT_{name.upper()}", value)
    _reset_caches()


def one_line_error(folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    folder.mkdir(exist_ok=True)
    assert main(["ingest", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_ingest_on_a_store_nobody_listens_at_says_so_in_one_line(
        other_store: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once the socket is closed
    point_at(other_store, f"postgresql://postgres@127.0.0.1:{port}/hub")

    err = one_line_error(tmp_path / "dropzone", capsys)

    assert "cannot reach the store at" in err and f":{port}/hub" in err and "CONTACTPOINT_DATABASE_URL" in err


def test_a_server_that_accepts_but_never_answers_is_given_up_after_the_connect_timeout(
        other_store: pytest.MonkeyPatch) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nothing ever speaks PostgreSQL
        point_at(other_store, f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/hub",
                 db_connect_timeout="2")
        started = time.monotonic()
        with pytest.raises(StoreError, match="cannot reach the store"):
            ensure_store()
        assert time.monotonic() - started < 15


def test_a_store_without_the_hubs_schema_gets_a_one_line_hint_to_migrate(
        other_store: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"cp_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        point_at(other_store, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
        err = one_line_error(tmp_path / "dropzone", capsys)
        assert "has no hub schema yet: run `contactpoint migrate` first" in err
        point_at(other_store, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}_missing")
        assert "does not exist" in one_line_error(tmp_path / "dropzone", capsys)
    finally:
        db.get_engine().dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_every_session_carries_statement_lock_and_idle_in_transaction_timeouts(store: Path) -> None:
    with db.transaction() as conn:
        shown = {name: conn.execute(text(f"SHOW {name}")).scalar_one()
                 for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")}
    assert shown == {"statement_timeout": "30min", "lock_timeout": "2min",
                     "idle_in_transaction_session_timeout": "15min"}


def test_a_client_gone_quiet_inside_a_transaction_loses_it_and_the_files_row_lock_is_released(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drop(store, "gp", feed_file_name("gp"), csv_file([gp_row()]))
    from pipeline import steps as pipeline

    [file_id] = pipeline.receive("gp")
    monkeypatch.setenv("CONTACTPOINT_DB_IDLE_IN_TRANSACTION_TIMEOUT", "1")
    _reset_caches()
    stuck = db.get_engine().connect()
    stuck.execute(text("SELECT 1 FROM intake.file WHERE file_id = :f FOR UPDATE"), {"f": file_id})
    time.sleep(2.5)  # the loader hangs (a dead link, a stalled sender) holding the lock
    monkeypatch.delenv("CONTACTPOINT_DB_IDLE_IN_TRANSACTION_TIMEOUT")
    _reset_caches()
    try:
        # The server has ended that transaction: another worker loads the file at once.
        with db.transaction() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '1s'"))
            assert conn.execute(text("SELECT file_id FROM intake.file WHERE file_id = :f FOR UPDATE"),
                                {"f": file_id}).scalar_one() == file_id
        outcome = pipeline.load(file_id)
        assert outcome is not None and outcome.status == "accepted"
    finally:
        stuck.invalidate()
        stuck.close()


def test_ingest_shows_the_hubs_own_progress_and_no_library_noise(
        store: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    folder = store.parent / "backfill"
    assert main(["generate", "--children", "40", "--seed", "4", "--out", str(folder)]) == 0
    caplog.clear()
    caplog.set_level(logging.INFO)

    with warnings.catch_warnings(record=True) as shown:
        assert main(["ingest", str(folder)]) == 0

    hub = [r for r in caplog.records
           if r.name.startswith(("contactpoint", "warehouse", "connectors", "matching", "pipeline"))]
    noise = [f"{r.name}: {r.getMessage()[:80]}" for r in caplog.records if r not in hub and r.levelno < logging.ERROR]
    assert hub and noise == []
    assert not [w for w in shown if "XDG_RUNTIME_DIR" in str(w.message)]
    assert "linking:" in capsys.readouterr().out
