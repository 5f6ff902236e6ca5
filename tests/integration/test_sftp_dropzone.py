"""The SFTP drop zone against a real OpenSSH server: what a sender uploads is what lands, exactly once."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import text

from connectors.dropzone import IncomingFile
from connectors.landing import land, sha256_of
from connectors.sftp import SftpDropZone
from connectors.sftp_connection import HostKeyRejected, InsecureConnection, SftpUnavailable
from pipeline.steps import run_feed
from tests.factories import ctf, pupil, school_file_name
from tests.sftp_server import CuttingProxy, SftpServer, sftp_server  # noqa: F401
from warehouse.db import transaction

pytestmark = pytest.mark.sftp

NAME = school_file_name()
# paramiko's read-ahead runs in a thread of its own; when the network cuts the connection that thread can
# die with "Socket is closed" while the download itself fails cleanly and is retried. Expected here.
PREFETCH_THREAD_DIES = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture
def account(sftp_server: SftpServer) -> Path:  # noqa: F811
    """This test's own account root on the shared server."""
    return sftp_server.new_account_root()


@pytest.fixture
def zone(sftp_server: SftpServer, account: Path) -> Iterator[SftpDropZone]:  # noqa: F811
    with SftpDropZone(sftp_server.settings(account)) as dropzone:
        yield dropzone


def another_host_key() -> str:
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_file_is_listed_only_once_its_upload_is_complete_and_downloads_byte_for_byte(
        sftp_server: SftpServer, account: Path, zone: SftpDropZone, tmp_path: Path) -> None:  # noqa: F811
    content = os.urandom(300_000)
    sftp_server.upload(account, f"inbound/school/{NAME}", content, complete=False)
    sftp_server.upload(account, "inbound/school/school_3722001_20261101T100000_2.xml", b"<half", complete=False)
    assert zone.list_complete("school") == []

    with sftp_server.sender() as sender:
        sender.posix_rename(str(account / f"inbound/school/{NAME}.part"), str(account / f"inbound/school/{NAME}"))
    # Neither a folder nor a symlink is an upload, whatever its name: listed to be refused, never read.
    (account / "inbound/school/school_3722001_20261101T100000_3.xml").mkdir()
    (account / "inbound/school/school_3722001_20261101T100000_4.xml").symlink_to("/etc/hostname")

    good, folder, link = zone.list_complete("school")
    assert good == IncomingFile("school", NAME, len(content), None)
    assert folder.refusal and link.refusal and "symbolic link" in link.refusal and link.size == 0
    zone.download(good, tmp_path / "download.part")
    assert sha256_of(tmp_path / "download.part") == hashlib.sha256(content).hexdigest()
    assert zone.list_complete("gp") == []  # a feed folder nobody has made yet
    assert zone.connections_opened == 1


def test_the_digest_a_sender_announces_in_a_sha256_file_is_read(
        sftp_server: SftpServer, account: Path, zone: SftpDropZone) -> None:  # noqa: F811
    content, other = ctf([pupil()]), school_file_name(seq=2)
    digest = hashlib.sha256(content).hexdigest()
    sftp_server.upload(account, f"inbound/school/{NAME}", content)
    sftp_server.upload(account, f"inbound/school/{NAME}.sha256", f"{digest}  {NAME}\n".encode())
    sftp_server.upload(account, f"inbound/school/{other}", content)

    listed = {f.name: f.announced_sha256 for f in zone.list_complete("school")}

    assert listed == {NAME: digest, other: None}


@PREFETCH_THREAD_DIES
def test_a_connection_dropped_mid_download_is_retried_and_the_file_lands_once_complete(
        sftp_server: SftpServer, account: Path, tmp_path: Path) -> None:  # noqa: F811
    content = os.urandom(3_000_000)
    sftp_server.upload(account, f"inbound/school/{NAME}", content)
    waits: list[float] = []
    # Cut after more than the first 1 MiB chunk has been written locally: the retry must start afresh.
    with CuttingProxy(sftp_server.port, cut_after=1_600_000) as proxy, \
            SftpDropZone(sftp_server.settings(account, port=proxy.port, retries=3), sleep=waits.append) as zone:
        [incoming] = zone.list_complete("school")
        landed = land(zone, incoming, tmp_path / "landing")

        assert proxy.cuts == 1 and proxy.connections == 2 and zone.connections_opened == 2
    assert landed.sha256 == hashlib.sha256(content).hexdigest() and landed.size == len(content)
    assert files_under(tmp_path / "landing") == [landed.sha256]  # nothing half-written left beside it
    assert waits == [0.01]


@PREFETCH_THREAD_DIES
def test_a_connection_that_keeps_dropping_gives_up_after_its_retries_and_lands_nothing(
        sftp_server: SftpServer, account: Path, tmp_path: Path) -> None:  # noqa: F811
    sftp_server.upload(account, f"inbound/school/{NAME}", os.urandom(2_000_000))
    waits: list[float] = []
    with CuttingProxy(sftp_server.port, cut_after=400_000, cut_connections=100) as proxy, \
            SftpDropZone(sftp_server.settings(account, port=proxy.port, retries=2), sleep=waits.append) as zone:
        [incoming] = zone.list_complete("school")
        with pytest.raises(SftpUnavailable, match=f"download .*{NAME}.* failed 3 times"):
            land(zone, incoming, tmp_path / "landing")

        assert proxy.connections == 3
    assert waits == [0.01, 0.02]  # exponential backoff
    assert files_under(tmp_path / "landing") == []


def test_a_connection_lost_while_idle_is_reopened_by_the_next_call(
        sftp_server: SftpServer, account: Path) -> None:  # noqa: F811
    sftp_server.upload(account, f"inbound/school/{NAME}", b"<CTfile/>")
    with CuttingProxy(sftp_server.port) as proxy, \
            SftpDropZone(sftp_server.settings(account, port=proxy.port)) as zone:
        [incoming] = zone.list_complete("school")
        proxy.drop_all()  # e.g. a long load between receive and acknowledge, and a firewall's idle timeout

        zone.archive(incoming, accepted=True)

        assert proxy.connections == 2 and zone.connections_opened == 2
    assert files_under(account) == [f"processed/school/{NAME}"]


def test_a_client_key_the_server_does_not_know_is_refused_without_retrying(
        sftp_server: SftpServer, account: Path, tmp_path: Path) -> None:  # noqa: F811
    stranger = tmp_path / "stranger_key"
    stranger.write_bytes(Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.OpenSSH,
                                                                    NoEncryption()))
    waits: list[float] = []
    zone = SftpDropZone(sftp_server.settings(account, private_key_path=stranger), sleep=waits.append)

    with pytest.raises(paramiko.AuthenticationException):
        zone.list_complete("school")
    assert waits == [] and zone.connections_opened == 0


def test_a_server_presenting_another_host_key_is_refused_at_once(
        sftp_server: SftpServer, account: Path, tmp_path: Path) -> None:  # noqa: F811
    waits: list[float] = []
    impostor = SftpDropZone(sftp_server.settings(account, host_key=another_host_key()), sleep=waits.append)

    with pytest.raises(HostKeyRejected, match=rf"server 127\.0\.0\.1:{sftp_server.port} presented an unknown host "
                                              r"key \(ssh-ed25519 SHA256:"):
        impostor.list_complete("school")
    assert waits == [] and impostor.connections_opened == 0  # a wrong key is not retried

    # A known_hosts file is read only when named, and only its entry for this server counts.
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:1 {sftp_server.host_public_key}\n")
    with pytest.raises(InsecureConnection, match="has no key for"):
        SftpDropZone(sftp_server.settings(account, host_key=None, known_hosts_file=known_hosts))
    known_hosts.write_text(f"[127.0.0.1]:{sftp_server.port} {sftp_server.host_public_key}\n")
    with SftpDropZone(sftp_server.settings(account, host_key=None, known_hosts_file=known_hosts)) as pinned:
        assert pinned.list_complete("school") == []


def test_the_airflow_connection_must_pin_the_host_key(
        sftp_server: SftpServer, account: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    sftp_server.upload(account, f"inbound/school/{NAME}", b"<CTfile/>")
    extra = {"host_key": sftp_server.host_public_key, "key_file": str(sftp_server.client_key),
             "root": str(account), "retries": 1, "backoff_seconds": 0.01}

    def connection(**changes: object) -> str:
        return json.dumps({"conn_type": "sftp", "host": sftp_server.host, "port": sftp_server.port,
                           "login": sftp_server.username, "extra": {**extra, **changes}})

    uri = (f"sftp://{sftp_server.username}@{sftp_server.host}:{sftp_server.port}?"
           + "&".join(f"{key}={quote(str(value), safe='')}" for key, value in extra.items()))
    for form in (connection(), uri):
        monkeypatch.setenv("AIRFLOW_CONN_CONTACTPOINT_SFTP", form)
        with SftpDropZone.from_airflow_connection() as zone:
            assert [f.name for f in zone.list_complete("school")] == [NAME]

    for unsafe, reason in [({"no_host_key_check": True}, "no_host_key_check"),
                           ({"no_host_key_check": "True"}, "no_host_key_check"),
                           ({"allow_host_key_change": "true"}, "allow_host_key_change"),
                           ({"host_key": ""}, "no host_key")]:
        monkeypatch.setenv("AIRFLOW_CONN_CONTACTPOINT_SFTP", connection(**unsafe))
        with pytest.raises(InsecureConnection, match=reason):
            SftpDropZone.from_airflow_connection("contactpoint_sftp")


def test_archive_moves_the_file_and_its_checksum_and_receipts_are_written_whole(
        sftp_server: SftpServer, account: Path, zone: SftpDropZone) -> None:  # noqa: F811
    bad = school_file_name(seq=2)
    sftp_server.upload(account, f"inbound/school/{NAME}", b"good")
    sftp_server.upload(account, f"inbound/school/{NAME}.sha256", hashlib.sha256(b"good").hexdigest().encode())
    sftp_server.upload(account, f"inbound/school/{bad}", b"bad")
    good_file, bad_file = zone.list_complete("school")

    zone.archive(good_file, accepted=True)
    zone.archive(good_file, accepted=True)  # a retry after a crash between the move and its record
    zone.archive(bad_file, accepted=False)
    zone.deliver_receipt("school", NAME, b'{"status": "draft"}')
    zone.deliver_receipt("school", NAME, b'{"status": "accepted"}')

    assert files_under(account) == sorted([
        f"outbound/school/{NAME}.receipt.json", f"processed/school/{NAME}", f"processed/school/{NAME}.sha256",
        f"rejected/school/{bad}"])
    assert (account / "processed/school" / NAME).read_bytes() == b"good"
    assert json.loads((account / "outbound/school" / f"{NAME}.receipt.json").read_bytes()) == {"status": "accepted"}
    assert zone.connections_opened == 1


@pytest.mark.postgres
def test_a_school_file_sent_over_sftp_is_loaded_once_archived_and_answered(
        sftp_server: SftpServer, account: Path, store: Path) -> None:  # noqa: F811
    content = ctf([pupil(), pupil(Forename="Maisie", Sex="F")])
    sftp_server.upload(account, f"inbound/school/{NAME}", content)
    sftp_server.upload(account, f"inbound/school/{NAME}.sha256", hashlib.sha256(content).hexdigest().encode())

    with SftpDropZone(sftp_server.settings(account)) as zone:
        first = run_feed("school", "run-1", dropzone=zone)
        second = run_feed("school", "run-2", dropzone=zone)
        connections = zone.connections_opened

    assert [(o.file_name, o.status, o.read, o.loaded) for o in first] == [(NAME, "accepted", 2, 2)]
    assert second == []
    assert connections == 1  # both runs, every step, over one SSH connection
    with transaction() as conn:
        assert conn.execute(text("SELECT count(*) FROM directory.child")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM intake.file")).scalar() == 1
    assert files_under(account) == sorted([
        f"outbound/school/{NAME}.receipt.json", f"processed/school/{NAME}", f"processed/school/{NAME}.sha256"])
    receipt = json.loads((account / "outbound/school" / f"{NAME}.receipt.json").read_text())
    assert receipt["status"] == "accepted" and receipt["sha256"] == hashlib.sha256(content).hexdigest()
    assert not any((store.parent / "data" / "landing").iterdir())  # the landed copy is gone once answered
