"""The crash suite over SFTP: the connection to the drop zone cut at any byte, the next run ends as a clean run.

A proxy between the hub and a real OpenSSH server cuts the connection once so many bytes have come from
the server (no retries, so the run stops there: listing, a checksum, a download, a receipt or a move); the
next run, over a sound connection, must end exactly as a run that was never cut.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from connectors.feeds import FEEDS
from connectors.sftp import SftpDropZone
from connectors.sftp_connection import SftpUnavailable
from contactpoint.settings import get_settings
from pipeline import steps as pipeline
from pipeline.ingest import LAST_FEED
from tests.integration.test_arrival_order import directory, empty_store
from tests.integration.test_crash_suite import SENT
from tests.sftp_server import CuttingProxy, SftpServer, sftp_server  # noqa: F401

pytestmark = [pytest.mark.sftp, pytest.mark.postgres,
              # paramiko's read-ahead thread may die with "Socket is closed" when the network cuts: expected.
              pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")]


def run(zone: SftpDropZone) -> None:
    """What ``contactpoint ingest`` does, over an SFTP drop zone."""
    for feed in [f for f in FEEDS if f != LAST_FEED] + [LAST_FEED]:
        for file_id in pipeline.receive(feed, zone):
            pipeline.load(file_id)
        pipeline.acknowledge(feed, zone)
    pipeline.link("run")
    pipeline.publish()
    pipeline.leave_directory()


def account_state(account: Path) -> dict[str, Any]:
    folders = {folder: sorted(str(p.relative_to(account / folder)) for p in (account / folder).rglob("*")
                              if p.is_file() or p.is_symlink())
               for folder in ("inbound", "processed", "rejected")}
    receipts = {str(p.relative_to(account)): json.loads(p.read_bytes())["status"]
                for p in (account / "outbound").rglob("*.json")}
    landing = get_settings().landing_dir
    return {"directory": directory(), "folders": folders, "receipts": receipts,
            "landing": sorted(p.name for p in landing.iterdir()) if landing.is_dir() else []}


def send(server: SftpServer) -> Path:
    account = server.new_account_root()
    for (feed, name), content in SENT.items():
        server.upload(account, f"inbound/{feed}/{name}", content)
    return account


@pytest.mark.parametrize("cut_after", [1_500, 4_000, 7_000, 10_000, 14_000])
def test_a_run_whose_sftp_connection_is_cut_is_finished_by_the_next_run_as_if_never_cut(
        store: Path, sftp_server: SftpServer, cut_after: int) -> None:  # noqa: F811
    empty_store()
    clean = send(sftp_server)
    with SftpDropZone(sftp_server.settings(clean)) as zone:
        run(zone)
    expected = account_state(clean)
    assert expected["folders"]["inbound"] == [] and len(expected["receipts"]) == len(SENT)

    empty_store()
    shutil.rmtree(get_settings().landing_dir, ignore_errors=True)
    account = send(sftp_server)
    with CuttingProxy(sftp_server.port, cut_after=cut_after, cut_connections=1) as proxy, \
            SftpDropZone(sftp_server.settings(account, port=proxy.port, retries=0)) as cut:
        with pytest.raises(SftpUnavailable):
            run(cut)
        assert proxy.cuts == 1
    with SftpDropZone(sftp_server.settings(account)) as zone:
        run(zone)

    assert account_state(account) == expected


def test_odd_names_and_links_on_the_sftp_drop_zone_are_refused_with_a_receipt_and_the_rest_is_loaded(
        store: Path, sftp_server: SftpServer) -> None:  # noqa: F811
    account = sftp_server.new_account_root()
    sftp_server.upload(account, "inbound/gp/gp_372_20261101T100000_1.csv", SENT["gp", "gp_372_20261101T100000_1.csv"])
    inbound = os.fsencode(account / "inbound" / "gp")
    with open(inbound + b"/gp_372_20261101T100000_\xff.csv", "wb") as odd:  # not UTF-8: paramiko's listing fails
        odd.write(b"nhs_number\n")
    os.symlink("/etc/passwd", inbound + b"/gp_372_20261101T100000_2.csv")

    with SftpDropZone(sftp_server.settings(account)) as zone:
        run(zone)

    state = account_state(account)
    assert state["folders"]["inbound"] == [] and len(state["folders"]["rejected"]) == 2
    assert sorted(state["receipts"].values()) == ["accepted", "rejected", "rejected"]
    assert len(state["directory"]) == 2 and state["landing"] == []
