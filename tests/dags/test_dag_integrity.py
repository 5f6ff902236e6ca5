"""Every DAG file imports cleanly and cheaply, is wired as the house style asks, and really runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from connectors.feeds import FEEDS, staged_asset_uri
from contactpoint.settings import get_settings
from pipeline.airflow_env import DAGS_FOLDER, prepare_airflow
from tests.factories import ctf, drop, pupil, school_file_name, valid_upn
from warehouse.db import transaction

DAG_FILES = sorted(DAGS_FOLDER.glob("*.py"))
HEAVY_MODULES = ("sqlalchemy", "pandas", "lxml", "great_expectations", "splink", "pipeline.steps")


@pytest.fixture(scope="session")
def dagbag() -> Iterator[object]:
    prepare_airflow()  # the session's private Airflow home (tests/conftest.py)
    from airflow.dag_processing.dagbag import DagBag

    yield DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.mark.dags
def test_every_dag_file_imports_without_errors_and_every_feed_has_its_dag(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert {Path(d.fileloc).name for d in dagbag.dags.values()} == {p.name for p in DAG_FILES}
    assert set(dagbag.dags) == {f"ingest_{feed}" for feed in FEEDS} | {"link_identities", "retention",
                                                                       "audit_anchor"}


@pytest.mark.dags
def test_linking_is_scheduled_on_every_feed_s_staged_asset(dagbag) -> None:
    produced = {outlet.uri for dag_id, dag in dagbag.dags.items() if dag_id.startswith("ingest_")
                for task in dag.tasks for outlet in task.outlets}
    consumed = {asset.uri for asset in dagbag.get_dag("link_identities").timetable.asset_condition.objects}
    assert produced == consumed == {staged_asset_uri(feed) for feed in FEEDS}


@pytest.mark.dags
def test_every_dag_is_tagged_documented_and_retries(dagbag) -> None:
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.doc_md, dag.dag_id
        assert dag.max_active_runs == 1, dag.dag_id
        for task in dag.tasks:
            assert task.retries >= 2, (dag.dag_id, task.task_id)


@pytest.mark.dags
@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_a_dag_file_does_no_heavy_work_at_import(dag_file: Path) -> None:
    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('probe', {str(dag_file)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    # Airflow itself imports SQLAlchemy; what must not load at parse time is the hub's own heavy code.
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1])) - {"sqlalchemy"}
    assert loaded == set(), f"{dag_file.name} imports {loaded} at parse time"


@pytest.mark.dags
@pytest.mark.postgres
def test_ingest_school_then_link_identities_under_dag_test_load_a_file_and_answer_the_sender(
        dagbag, store: Path) -> None:
    name = school_file_name()
    drop(store, "school", name, ctf([pupil(), pupil(Forename="Maisie", Sex="F", DOB="2016-02-30")]))

    assert str(dagbag.get_dag("ingest_school").test().state) == "success"
    assert str(dagbag.get_dag("link_identities").test().state) == "success"

    receipt = json.loads((store / "outbound" / "school" / f"{name}.receipt.json").read_text())
    assert receipt["status"] == "accepted_with_errors" and receipt["rows"]["loaded"] == 1
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM directory.child")).scalar_one() == 1


@pytest.mark.dags
@pytest.mark.postgres
def test_the_daily_retention_dag_archives_a_pupil_on_the_18th_birthday(
        dagbag, store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTPOINT_AS_OF", "2026-11-24")  # the roll arrives the day before the birthday
    get_settings.cache_clear()
    drop(store, "school", school_file_name(), ctf([pupil(DOB="2008-11-25"),
                                                   pupil(UPN=valid_upn(serial=7), Forename="Maisie", Sex="F")]))
    assert str(dagbag.get_dag("ingest_school").test().state) == "success"
    assert str(dagbag.get_dag("link_identities").test().state) == "success"
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM directory.child")).scalar_one() == 2

    monkeypatch.setenv("CONTACTPOINT_AS_OF", "2026-11-25")
    get_settings.cache_clear()
    assert str(dagbag.get_dag("retention").test().state) == "success"

    with transaction() as conn:
        assert conn.execute(text("SELECT reason FROM archive.child")).scalars().all() == ["age_18"]
        assert conn.execute(text("SELECT count(*) FROM directory.child")).scalar_one() == 1


@pytest.mark.dags
@pytest.mark.postgres
def test_the_hourly_audit_anchor_dag_writes_the_chain_head_outside_the_database(dagbag, store: Path) -> None:
    from warehouse import audit

    with transaction() as conn:
        entry_id = audit.append(conn, username="system", role=None, action="sign_in")
    assert dagbag.get_dag("audit_anchor").schedule == "@hourly"
    assert str(dagbag.get_dag("audit_anchor").test().state) == "success"
    anchors = audit.read_anchors(audit.default_anchors_path())
    assert [a.entry_id for a in anchors] == [entry_id]
    with transaction() as conn:
        result = audit.verify_chain(conn, max_unanchored=0)
    assert result.ok and result.after_newest_anchor == 0
