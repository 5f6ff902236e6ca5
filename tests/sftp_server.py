"""A real OpenSSH server on loopback for the test session, and a TCP proxy that can cut a connection.

``sftp_server`` (session scope) generates throwaway ed25519 host and client keys, writes an
``sshd_config`` that allows only that client key and only SFTP, starts ``/usr/sbin/sshd -D`` on a free
port and stops it at the end. Use it with ``from tests.sftp_server import sftp_server  # noqa: F401``.
``CuttingProxy`` stands in for ``tc netem`` (not available here): it forwards to sshd and closes the
first connections after N bytes from the server, as a network that drops mid-download does.
"""

from __future__ import annotations

import os
import posixpath
import pwd
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import pytest

from connectors.sftp_connection import SftpSettings
from connectors.sftp_keys import known_hosts_name, parse_host_key

SSHD = Path("/usr/sbin/sshd")
HOST = "127.0.0.1"


@dataclass(frozen=True)
class SftpServer:
    """The running server: where it listens, who may log in with which key, and its host key."""

    host: str
    port: int
    username: str
    client_key: Path
    host_public_key: str
    root: Path
    log: Path

    def new_account_root(self) -> Path:
        """A fresh, empty folder to use as one test's account root (tests share one server)."""
        folder = self.root / uuid.uuid4().hex[:12]
        folder.mkdir()
        return folder

    def settings(self, root: Path | str = ".", **overrides: Any) -> SftpSettings:
        """Settings that reach this server (override ``port``, ``host_key``... to break them)."""
        values: dict[str, Any] = dict(host=self.host, port=self.port, username=self.username,
                                      private_key_path=self.client_key, host_key=self.host_public_key,
                                      root=str(root), retries=2, backoff_seconds=0.01, timeout=5.0)
        values.update(overrides)
        return SftpSettings(**values)

    @contextmanager
    def sender(self) -> Iterator[paramiko.SFTPClient]:
        """An SFTP session as a feeder system has one (host key pinned too)."""
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        key = parse_host_key(self.host_public_key)
        client.get_host_keys().add(known_hosts_name(self.host, self.port), key.get_name(), key)
        client.connect(self.host, self.port, self.username, key_filename=str(self.client_key),
                       look_for_keys=False, allow_agent=False, timeout=5)
        try:
            yield client.open_sftp()
        finally:
            client.close()

    def upload(self, root: Path | str, relative: str, content: bytes, *, complete: bool = True) -> None:
        """Upload as the spec says a sender does: ``NAME.part``, then rename to ``NAME`` when complete."""
        path = posixpath.join(str(root), relative)
        with self.sender() as sftp:
            folder = str(root)
            for part in posixpath.dirname(relative).split("/"):
                folder = posixpath.join(folder, part)
                with suppress(OSError):
                    sftp.mkdir(folder)
            with sftp.open(path + ".part", "wb") as handle:
                handle.set_pipelined(True)  # one round trip per 32 KiB write makes megabytes take seconds
                handle.write(content)
            if complete:
                sftp.posix_rename(path + ".part", path)


def free_port() -> int:
    """A TCP port nobody listens on just now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cp-test", "-f", str(path)], check=True)


def _config(folder: Path, port: int, root: Path, user: str) -> str:
    lines = [
        f"Port {port}", f"ListenAddress {HOST}", f"HostKey {folder / 'host_key'}",
        f"AuthorizedKeysFile {folder / 'client_key'}.pub", f"AllowUsers {user}",
        "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password", "UsePAM no", "StrictModes no", f"PidFile {folder / 'sshd.pid'}",
        "Subsystem sftp internal-sftp", f"ForceCommand internal-sftp -d {root}", "ChrootDirectory none",
        "AllowTcpForwarding no", "X11Forwarding no", "PermitTTY no", "MaxStartups 100:30:200", "LogLevel VERBOSE",
        # OpenSSH >= 9.8 refuses a source for a while after failed handshakes; the refusal tests make those.
        "PerSourcePenalties no",
    ]
    return "\n".join(lines) + "\n"


def _write_config(folder: Path, port: int, root: Path, user: str) -> Path:
    config = folder / "sshd_config"
    text = _config(folder, port, root, user)
    config.write_text(text)
    check = subprocess.run([str(SSHD), "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0 and "PerSourcePenalties" in check.stderr:
        config.write_text(text.replace("PerSourcePenalties no\n", ""))  # older OpenSSH: nothing to turn off
        check = subprocess.run([str(SSHD), "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"sshd rejects the test configuration: {check.stderr}")
    return config


def _wait_for_port(process: subprocess.Popen[bytes], port: int, log: Path, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}: {log.read_text(errors='replace')}")
        with suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on {port} within {seconds} s: {log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """A real sshd serving SFTP to the current user by key, for the whole test session."""
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH server not installed: apt-get install -y openssh-server")
    try:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation folder
    except PermissionError:
        pytest.skip("sshd needs /run/sshd; run the sftp tests as root (as CI does)")
    folder = tmp_path_factory.mktemp("sshd")
    root = folder / "accounts"
    root.mkdir()
    _keygen(folder / "host_key")
    _keygen(folder / "client_key")
    port, user, log = free_port(), _current_user(), folder / "sshd.log"
    config = _write_config(folder, port, root, user)
    process = subprocess.Popen([str(SSHD), "-D", "-f", str(config), "-E", str(log)])
    try:
        _wait_for_port(process, port, log)
        host_key = " ".join((folder / "host_key.pub").read_text().split()[:2])
        yield SftpServer(HOST, port, user, folder / "client_key", host_key, root, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


class CuttingProxy:
    """Forwards ``127.0.0.1:port`` to a target port; the first ``cut_connections`` connections are
    closed once ``cut_after`` bytes have gone from the server to the client (never, if it is None)."""

    def __init__(self, target_port: int, cut_after: int | None = None, cut_connections: int = 1) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self._cuts_left = cut_connections if cut_after is not None else 0
        self.connections = 0
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="cutting-proxy", daemon=True)

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting and close every forwarded connection."""
        self._stopped.set()
        self._thread.join(timeout=2)
        self._listener.close()
        self.drop_all()

    def drop_all(self) -> None:
        """Close every connection open now, as an idle timeout or a restarted firewall does; keep listening."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection((HOST, self.target_port))
            with self._lock:
                self.connections += 1
                cut = self._cuts_left > 0  # decided at accept, so which connection is cut is predictable
                self._cuts_left -= int(cut)
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.cut_after if cut else None),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, cut_after: int | None) -> None:
        sent = 0
        try:
            while chunk := source.recv(65536):
                if cut_after is not None and sent + len(chunk) >= cut_after:
                    sink.sendall(chunk[: cut_after - sent])
                    with self._lock:
                        self.cuts += 1
                    break
                sink.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        _shut(source)
        _shut(sink)


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()
