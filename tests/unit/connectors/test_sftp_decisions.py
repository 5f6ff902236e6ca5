"""The SFTP drop zone's decisions, without a server: host key names and parsing, backoff, what is retried,
and which Airflow connections are refused."""

from __future__ import annotations

import base64
from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from connectors.dropzone import IncomingFile
from connectors.sftp import SftpDropZone
from connectors.sftp_connection import (
    HostKeyRejected,
    IncompleteDownload,
    InsecureConnection,
    SftpSettings,
    SftpUnavailable,
    backoff_delays,
    is_connection_fault,
    settings_from_connection,
)
from connectors.sftp_keys import known_hosts_name, load_private_key, parse_host_key

pytestmark = pytest.mark.unit

ED25519 = ed25519.Ed25519PrivateKey.generate()
PUBLIC = ED25519.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()  # "ssh-ed25519 AAAA"
PRIVATE = ED25519.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()


def extra(**changes: object) -> dict[str, object]:
    return {"host_key": PUBLIC, "private_key": PRIVATE, **changes}


@pytest.mark.parametrize(("host", "port", "name"), [
    ("sftp.example.org", 22, "sftp.example.org"),
    ("127.0.0.1", 2222, "[127.0.0.1]:2222"),
    ("::1", 2222, "[::1]:2222"),
])
def test_a_server_is_named_as_known_hosts_files_name_it(host: str, port: int, name: str) -> None:
    assert known_hosts_name(host, port) == name


def test_a_host_key_is_read_from_a_public_key_line_or_a_known_hosts_line() -> None:
    key = parse_host_key(PUBLIC)
    assert key.get_name() == "ssh-ed25519" and key.get_base64() == PUBLIC.split()[1]
    assert parse_host_key(f"{PUBLIC} root@sftp-1\n").get_base64() == key.get_base64()
    assert parse_host_key(f"[sftp.example.org]:2222 {PUBLIC}").get_base64() == key.get_base64()
    for private in (ec.generate_private_key(ec.SECP256R1()), rsa.generate_private_key(65537, 2048)):
        line = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
        assert parse_host_key(line).get_name() == line.split()[0]


@pytest.mark.parametrize(("text", "reason"), [
    pytest.param("", "not understood", id="empty"),
    pytest.param(PUBLIC.split()[1], "not understood", id="key data without its type"),
    pytest.param(f"@revoked * {PUBLIC}", "@revoked", id="a revocation is not a key to trust"),
    pytest.param(f"@cert-authority * {PUBLIC}", "@cert-authority", id="a certificate authority"),
    pytest.param("ssh-ed25519 not*base64", "unreadable", id="not base64"),
    pytest.param("ssh-ed25519 " + base64.b64encode(b"rubbish").decode(), "unreadable", id="not a key"),
    pytest.param("ssh-rsa " + PUBLIC.split()[1], "ssh-rsa", id="the stated type must be the key's own"),
    pytest.param(PUBLIC[:40] + " " + PUBLIC[40:], "unreadable", id="a URI's + read as a space"),
    pytest.param("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "not understood", id="DSA"),
])
def test_a_host_key_that_is_not_one_clear_key_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_host_key(text)


def test_retries_wait_exponentially_longer_up_to_a_cap() -> None:
    assert backoff_delays(4, 0.5) == [0.5, 1.0, 2.0, 4.0]
    assert backoff_delays(0, 0.5) == []
    assert backoff_delays(6, 10, cap=30) == [10, 20, 30, 30, 30, 30]
    with pytest.raises(ValueError):
        backoff_delays(-1, 0.5)


@pytest.mark.parametrize(("error", "transport_active", "retried"), [
    (paramiko.SSHException("Server connection dropped: "), False, True),
    (EOFError(), False, True),
    (ConnectionResetError(104, "reset"), True, True),
    (TimeoutError("timed out"), True, True),
    (OSError("Socket is closed"), False, True),
    (IncompleteDownload("short"), True, True),
    (FileNotFoundError(2, "No such file"), True, False),  # the server's answer, not a fault
    (PermissionError(13, "Permission denied"), True, False),
    (HostKeyRejected("unknown host key"), False, False),
    (paramiko.AuthenticationException("denied"), False, False),
    # The connection cut while the key was being checked: a cut like any other.
    (paramiko.AuthenticationException("Authentication failed: transport shut down or saw EOF"), False, True),
    (ValueError("bug"), False, False),
])
def test_only_a_failed_connection_is_retried(error: BaseException, transport_active: bool, retried: bool) -> None:
    assert is_connection_fault(error, transport_active) is retried


def test_a_connection_pinning_the_host_key_gives_settings() -> None:
    settings = settings_from_connection(
        host="sftp.example.org", port=None, login="hub",
        extra=extra(no_host_key_check="false", root="/drop", retries="2", backoff_seconds=1, conn_timeout=5))
    assert (settings.host, settings.port, settings.username, settings.root) == ("sftp.example.org", 22, "hub", "/drop")
    assert (settings.retries, settings.backoff_seconds, settings.timeout) == (2, 1.0, 5.0)
    assert settings.host_key == PUBLIC and settings.private_key == PRIVATE
    assert "PRIVATE KEY" not in repr(settings)  # settings may be logged; the key must not be


@pytest.mark.parametrize("changes", [
    {"no_host_key_check": True}, {"no_host_key_check": "true"}, {"no_host_key_check": "True"},
    {"no_host_key_check": "yes"}, {"no_host_key_check": "perhaps"}, {"allow_host_key_change": "true"},
    {"host_key": None}, {"host_key": "  "},
])
def test_a_connection_that_would_not_verify_the_server_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InsecureConnection):
        settings_from_connection(host="sftp.example.org", port=22, login="hub", extra=extra(**changes))


@pytest.mark.parametrize(("changes", "reason"), [
    ({"private_key": None}, "exactly one of private_key and key_file"),
    ({"key_file": "/run/secrets/key"}, "exactly one of private_key and key_file"),
])
def test_a_connection_logs_in_with_exactly_one_key(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        settings_from_connection(host="sftp.example.org", port=22, login="hub", extra=extra(**changes))


def test_settings_need_a_host_key_and_one_private_key() -> None:
    with pytest.raises(InsecureConnection):
        SftpSettings(host="h", username="u", private_key=PRIVATE)
    with pytest.raises(ValueError, match="exactly one"):
        SftpSettings(host="h", username="u", host_key=PUBLIC)
    with pytest.raises(ValueError, match="retries"):
        SftpSettings(host="h", username="u", host_key=PUBLIC, private_key=PRIVATE, retries=-1)


def test_private_keys_are_read_from_text_or_a_file_and_an_encrypted_one_needs_its_passphrase(tmp_path: Path) -> None:
    assert load_private_key(SftpSettings("h", "u", PUBLIC, private_key=PRIVATE)).get_name() == "ssh-ed25519"
    (tmp_path / "key").write_text(PRIVATE)
    assert load_private_key(SftpSettings("h", "u", PUBLIC, private_key_path=tmp_path / "key")).get_name() == (
        "ssh-ed25519")
    encrypted = ED25519.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, BestAvailableEncryption(b"pw")).decode()
    with pytest.raises(ValueError, match="private_key_passphrase"):
        load_private_key(SftpSettings("h", "u", PUBLIC, private_key=encrypted))
    assert load_private_key(SftpSettings("h", "u", PUBLIC, private_key=encrypted, private_key_passphrase="pw"))
    with pytest.raises(ValueError, match="private key"):
        load_private_key(SftpSettings("h", "u", PUBLIC, private_key="-----BEGIN NONSENSE-----"))


def test_a_drop_zone_with_an_unreadable_host_key_fails_before_connecting() -> None:
    # 203.0.113.0/24 is reserved for documentation: a connection attempt would hang, not fail fast.
    with pytest.raises(ValueError, match="host key"):
        SftpDropZone(SftpSettings("203.0.113.1", "hub", "ssh-ed25519", private_key=PRIVATE))


class _ShortFile:
    """A remote file that says it holds 10 bytes and yields 5: the one failure a real server cannot stage."""

    def __init__(self) -> None:
        self.unread = b"12345"

    def __enter__(self) -> _ShortFile:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def stat(self) -> SimpleNamespace:
        return SimpleNamespace(st_size=10)

    def prefetch(self, size: int, max_concurrent_requests: int) -> None:
        pass

    def read(self, size: int) -> bytes:
        chunk, self.unread = self.unread, b""
        return chunk


def test_a_download_with_fewer_bytes_than_the_remote_size_is_retried_then_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    zone = SftpDropZone(SftpSettings("h", "u", PUBLIC, private_key=PRIVATE, retries=1, backoff_seconds=0.01),
                        sleep=waits.append)
    opened: list[str] = []

    def open_remote(path: str, mode: str) -> _ShortFile:
        opened.append(path)
        return _ShortFile()

    monkeypatch.setattr(zone, "_session", lambda: SimpleNamespace(open=open_remote))

    with pytest.raises(SftpUnavailable, match="received 5 bytes, the server says 10"):
        zone.download(IncomingFile("school", "school_3722001_20261101T100000_1.xml", 10), tmp_path / "x.part")
    assert len(opened) == 2 and waits == [0.01]  # retried once, from the start
