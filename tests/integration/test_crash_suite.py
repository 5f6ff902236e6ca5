"""The crash suite: ``kill -9`` the ingest at each step from receive to publish; the next run ends as a clean run.

Each case starts a child interpreter (a new process, not a fork: a fork of a test process whose DuckDB thread pool
had run can spin for ever in the child), arms one kill point in it — a SIGKILL before or after the n-th call
of a step — and lets the child ingest the same small drop zone. The parent then runs the ingest again, unharmed, and
compares with a run that was never interrupted: the directory's children as sets of source records, every
file's state and counts, every receipt, the drop zone's folders, and nothing left in the landing folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from connectors.dropzone import FolderDropZone
from contactpoint.settings import get_settings
from pipeline.ingest import ingest_folder
from tests.factories import csv_file, ctf, drop, feed_file_name, gp_row, ics_row, pupil, school_file_name
from tests.integration.test_arrival_order import directory, empty_store
from warehouse.db import transaction

pytestmark = pytest.mark.postgres

GP = csv_file([gp_row(given_name="Ava", family_name="Hart", date_of_birth="2014-03-02", nhs_number="9990000042"),
               gp_row(given_name="Ben", family_name="Cole", date_of_birth="2012-07-08", nhs_number="9990000050")])
SENT = {
    ("school", school_file_name()): ctf([pupil(Forename="Cara", Surname="Lund", DOB="2015-05-06", Sex="F"),
                                          pupil(Forename="Dan", Surname="Pike", DOB="2011-01-12", Sex="M")]),
    ("gp", feed_file_name("gp", seq=1)): GP,
    ("gp", feed_file_name("gp", seq=2)): GP,  # the same bytes again: a duplicate
    ("gp", ".gp_372_20261101T100000_3.csv"): GP,  # a hidden file: refused
    ("ics", feed_file_name("ics")): csv_file([ics_row(given_name="Eve", nhs_number="9990000069")]),
}


def _half_download(original: Callable[..., Any]) -> Callable[..., Any]:
    def download(self: FolderDropZone, file: Any, destination: Path) -> None:
        content = (self.root / "inbound" / file.feed / file.name).read_bytes()
        destination.write_bytes(content[: len(content) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return download


# (where, attribute, which call, before or after it): each a moment of the pipeline a crash can hit.
KILL_POINTS = [
    ("receive: half downloaded", "connectors.dropzone.FolderDropZone.download", 1, "replace"),
    ("receive: landed, not registered", "pipeline.receiving.register_file", 1, "before"),
    ("receive: one file registered, the next not", "pipeline.receiving.register_file", 2, "before"),
    ("receive: refused, receipt not delivered", "pipeline.receiving._answer_refusal", 1, "before"),
    ("load: rows half staged", "connectors.loading.stage_records", 1, "after"),
    ("load: counted, not finished", "pipeline.loading.finish_file", 1, "before"),
    ("acknowledge: receipt written, file still in inbound", "connectors.dropzone.FolderDropZone.archive", 1,
     "before"),
    ("acknowledge: file moved, receipt not marked delivered", "pipeline.receiving.mark_receipt_delivered", 1,
     "before"),
    ("link: pairs scored, not committed", "pipeline.steps.link_unlinked", 1, "after"),
    ("link: the other feeds linked, GP not yet received", "pipeline.ingest.ingest_feed", 5, "before"),
    ("publish: written, not committed", "pipeline.steps.publish_directory", 1, "after"),
    ("publish: committed, age-out not run", "pipeline.steps.leave_directory", 1, "before"),
]


def arm(attribute: str, call: int, when: str) -> None:
    """In the child: SIGKILL this process at the chosen call of ``attribute``."""
    module_name, _, name = attribute.rpartition(".")
    owner: Any
    try:
        owner = __import__(module_name, fromlist=["_"])
    except ModuleNotFoundError:  # a class attribute: module.Class.method
        module_name, _, class_name = module_name.rpartition(".")
        owner = getattr(__import__(module_name, fromlist=["_"]), class_name)
    original = getattr(owner, name)
    if when == "replace":
        setattr(owner, name, _half_download(original))
        return
    calls = 0

    def killing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if calls == call and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, killing)


def send(dropzone: Path) -> None:
    shutil.rmtree(dropzone, ignore_errors=True)
    for (feed, name), content in SENT.items():
        drop(dropzone, feed, name, content)


def state(dropzone: Path) -> dict[str, Any]:
    """Everything a clean run is judged by (ContactPoint IDs and times aside)."""
    with transaction() as conn:
        files = sorted(tuple(r) for r in conn.execute(text(
            "SELECT feed, file_name, status, rows_read, rows_loaded, rows_quarantined FROM intake.file")))
        refused = sorted(tuple(r) for r in conn.execute(text(
            "SELECT feed, file_name, reason, delivered_at IS NOT NULL FROM intake.refused_delivery")))
        counts = conn.execute(text("""
            SELECT (SELECT count(*) FROM staging.source_record), (SELECT count(*) FROM identity.child),
                   (SELECT count(*) FROM intake.duplicate_delivery),
                   (SELECT count(*) FROM intake.receipt WHERE delivered_at IS NULL)""")).one()
    folders = {
        folder: sorted(str(p.relative_to(dropzone / folder)) for p in (dropzone / folder).rglob("*") if p.is_file())
        for folder in ("inbound", "processed", "rejected")}
    receipts = {str(p.relative_to(dropzone)): json.loads(p.read_bytes())["status"]
                for p in (dropzone / "outbound").rglob("*.json")}
    landing = get_settings().landing_dir
    return {"directory": directory(), "files": files, "refused": refused, "counts": tuple(counts),
            "folders": folders, "receipts": receipts,
            "landing": sorted(os.listdir(landing)) if landing.is_dir() else []}


@pytest.fixture(scope="module")
def clean_run() -> dict[str, Any]:
    """Filled in by the first case: the state a run that was never interrupted ends in."""
    return {}


REPO = Path(__file__).resolve().parents[2]
KILLED_RUN_TIMEOUT = 600  # seconds: far past a small ingest, so a child that never reaches its kill point fails


def killed_run(dropzone: str, attribute: str, call: int, when: str) -> None:  # pragma: no cover - in the child
    """The child: arm the kill point, then ingest (it ends by SIGKILL, or exits if the point is never reached)."""
    arm(attribute, call, when)
    ingest_folder(Path(dropzone), "run-killed")


def crash_then_rerun(dropzone: Path, attribute: str, call: int, when: str) -> int:
    """Run the ingest in a child killed at the point, then again here; the child's exit code."""
    empty_store()
    send(dropzone)
    shutil.rmtree(get_settings().landing_dir, ignore_errors=True)
    # A fresh interpreter (not multiprocessing's spawn: it re-runs the parent's __main__, which an xdist
    # worker does not have as a file); the environment carries the store and folders of this test.
    arguments = (str(dropzone), attribute, call, when)
    code = f"from tests.integration.test_crash_suite import killed_run; killed_run(*{arguments!r})"
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        child.wait(KILLED_RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        pytest.fail(f"the run to be killed at {attribute} neither got there nor ended in {KILLED_RUN_TIMEOUT} s")
    ingest_folder(dropzone, "run-again")
    return child.returncode


@pytest.mark.parametrize(("where", "attribute", "call", "when"), KILL_POINTS, ids=[p[0] for p in KILL_POINTS])
def test_a_run_killed_at_any_step_is_finished_by_the_next_run_as_if_never_killed(
        store: Path, clean_run: dict[str, Any], where: str, attribute: str, call: int, when: str) -> None:
    if not clean_run:
        empty_store()
        send(store)
        ingest_folder(store, "run-clean")
        clean_run.update(state(store))
        assert clean_run["folders"]["inbound"] == [] and clean_run["landing"] == []
        assert len(clean_run["receipts"]) == len(SENT) and len(clean_run["directory"]) == 5

    status = crash_then_rerun(store, attribute, call, when)

    assert status == -signal.SIGKILL, f"{where}: the kill point was not reached"
    assert state(store) == clean_run
