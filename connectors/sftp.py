"""The SFTP drop zone: the ``DropZone`` protocol over one pinned, key-authenticated SSH connection.

Senders upload to ``inbound/<feed>/`` of their account (``docs/feeds.md``); this module lists
complete files, streams them to the temporary path ``connectors.landing.land`` gives it, moves them
to ``processed/`` or ``rejected/`` and writes receipts to ``outbound/`` atomically. The server's host
key is pinned (``RejectPolicy``; the user's ``~/.ssh/known_hosts`` is never read) and login is by key
only. A dropped connection is re-opened and the operation redone from scratch, with exponential backoff.

Configuration (an Airflow Connection) and fault classification are ``connectors.sftp_connection``, host-key
pinning and key login ``connectors.sftp_keys``, remote names and listings ``connectors.sftp_remote``.
Airflow is imported only by ``SftpDropZone.from_airflow_connection``, so importing this module stays cheap.
An ``SftpDropZone`` holds one connection and is not meant to be shared between threads.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import paramiko

from connectors.dropzone import (
    CHECKSUM_SUFFIX,
    MAX_CHECKSUM_BYTES,
    PART_SUFFIX,
    IncomingFile,
    incoming,
    receipt_stem,
    select_complete,
)
from connectors.sftp_connection import (
    DEFAULT_CONN_ID,
    HostKeyRejected,
    IncompleteDownload,
    SftpSettings,
    SftpUnavailable,
    backoff_delays,
    is_connection_fault,
    settings_from_connection,
)
from connectors.sftp_keys import RefuseUnknownHost, expected_host_keys, known_hosts_name, load_private_key
from connectors.sftp_remote import is_regular, listdir_attr, plain_segment, raw_path

log = logging.getLogger(__name__)

CHUNK = 1 << 20
KEEPALIVE_SECONDS = 30
T = TypeVar("T")


class SftpDropZone:
    """The drop zone of one SFTP account; one connection, reused until it drops or ``close()``."""

    def __init__(self, settings: SftpSettings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        # Read keys now: a bad key is a configuration error to report at once, not a fault to retry.
        self._private_key = load_private_key(settings)
        self._host_keys = expected_host_keys(settings)
        self._sleep = sleep
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self.connections_opened = 0

    @classmethod
    def from_airflow_connection(cls, conn_id: str = DEFAULT_CONN_ID) -> SftpDropZone:
        """The drop zone of an Airflow Connection (e.g. ``AIRFLOW_CONN_CONTACTPOINT_SFTP``)."""
        from airflow.sdk import Connection  # lazy: importing Airflow reads its configuration

        conn = Connection.get(conn_id)
        return cls(settings_from_connection(host=conn.host, port=conn.port, login=conn.login,
                                            extra=conn.extra_dejson))

    def __enter__(self) -> SftpDropZone:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection, if open; the next call opens a new one."""
        client, self._client, self._sftp = self._client, None, None
        if client is not None:
            client.close()

    # -- the DropZone protocol ------------------------------------------------------------------

    @property
    def identity(self) -> str:
        """``sftp://user@<host key>/root``: the account whose ``outbound/`` gets this zone's receipts. The server
        is named by its pinned host key, not its address, so a new route to it (a proxy, a changed DNS name)
        is still the same drop zone."""
        server = ",".join(sorted(key.fingerprint for key in self._host_keys.values()))
        return f"sftp://{self.settings.username}@{server}/{self.settings.root}"

    def list_complete(self, feed: str) -> list[IncomingFile]:
        """Files in ``inbound/<feed>/``, with the digest of ``NAME.sha256`` if sent; links listed, never followed."""
        inbound = self._path("inbound", feed)

        def listing(sftp: paramiko.SFTPClient) -> list[IncomingFile]:
            try:
                entries = {attrs.filename: attrs for attrs in listdir_attr(sftp, inbound)}
            except FileNotFoundError:
                return []
            files = []
            for name in select_complete(list(entries)):
                regular = is_regular(entries[name])  # symlinks and folders are not uploads
                checksum = entries.get(name + CHECKSUM_SUFFIX)
                announced = None
                if checksum is not None and is_regular(checksum):
                    announced = self._read_small(sftp, posixpath.join(inbound, checksum.filename))
                files.append(incoming(feed, name, regular=regular, size=(entries[name].st_size or 0) if regular else 0,
                                      checksum=announced if checksum is None or is_regular(checksum) else b"",
                                      checksum_regular=checksum is None or is_regular(checksum)))
            return files

        return self._retrying(f"list {inbound}", listing)

    def download(self, file: IncomingFile, destination: Path) -> None:
        """Stream the file to ``destination`` (the caller's temporary name); retried whole on a drop."""
        remote = self._path("inbound", file.feed, file.name)

        def fetch(sftp: paramiko.SFTPClient) -> None:
            copied = 0
            # "wb" truncates: each attempt starts from nothing, so no bytes of a dropped try survive.
            with sftp.open(raw_path(remote), "rb") as source, destination.open("wb") as target:
                size = source.stat().st_size
                source.prefetch(size, max_concurrent_requests=64)
                while chunk := source.read(CHUNK):
                    target.write(chunk)
                    copied += len(chunk)
            if size is None or copied != size:
                raise IncompleteDownload(f"{remote}: received {copied} bytes, the server says {size}")

        self._retrying(f"download {remote}", fetch)

    def archive(self, file: IncomingFile, accepted: bool) -> None:
        """Move the file and its ``.sha256`` to ``processed/<feed>/`` or ``rejected/<feed>/``; idempotent."""
        inbound = self._path("inbound", file.feed)

        def move(sftp: paramiko.SFTPClient) -> None:
            target = self._makedirs(sftp, "processed" if accepted else "rejected", file.feed)
            for name in (plain_segment(file.name), file.name + CHECKSUM_SUFFIX):
                try:
                    sftp.posix_rename(raw_path(posixpath.join(inbound, name)), raw_path(posixpath.join(target, name)))
                except FileNotFoundError:
                    continue  # no checksum was sent, or an earlier, interrupted try already moved it

        self._retrying(f"archive {file.name}", move)

    def deliver_receipt(self, feed: str, file_name: str, body: bytes) -> None:
        """Write ``outbound/<feed>/<file_name>.receipt.json`` via a ``.part`` name, replacing any earlier one."""

        def write(sftp: paramiko.SFTPClient) -> None:
            stem = plain_segment(receipt_stem(file_name))
            final = posixpath.join(self._makedirs(sftp, "outbound", feed), f"{stem}.receipt.json")
            with sftp.open(final + PART_SUFFIX, "wb") as handle:
                handle.write(body)
            sftp.posix_rename(final + PART_SUFFIX, final)

        self._retrying(f"receipt for {file_name}", write)

    def upload(self, feed: str, name: str, source: Path) -> None:
        """Send a file as a sender does (``inbound/<feed>/NAME.part``, then rename): demos and tests."""

        def put(sftp: paramiko.SFTPClient) -> None:
            final = posixpath.join(self._makedirs(sftp, "inbound", feed), plain_segment(name))
            sftp.put(str(source), final + PART_SUFFIX)
            sftp.posix_rename(final + PART_SUFFIX, final)

        self._retrying(f"upload {name}", put)

    # -- the connection -------------------------------------------------------------------------

    def _path(self, *segments: str) -> str:
        return posixpath.join(self.settings.root, *(plain_segment(s) for s in segments))

    def _makedirs(self, sftp: paramiko.SFTPClient, *segments: str) -> str:
        path = self.settings.root
        for segment in segments:
            path = posixpath.join(path, plain_segment(segment))
            try:
                sftp.stat(path)
            except FileNotFoundError:
                try:
                    sftp.mkdir(path)
                except OSError:
                    sftp.stat(path)  # another pass made it first: fine if it exists now
        return path

    @staticmethod
    def _read_small(sftp: paramiko.SFTPClient, path: str) -> bytes | None:
        try:
            with sftp.open(raw_path(path), "rb") as handle:
                return bytes(handle.read(MAX_CHECKSUM_BYTES))
        except FileNotFoundError:
            return None  # withdrawn between listing and reading: as if never sent

    def _active(self) -> bool:
        transport = self._client.get_transport() if self._client is not None else None
        return transport is not None and transport.is_active()

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._active():
            return self._sftp
        self.close()
        s = self.settings
        client = paramiko.SSHClient()
        # No load_system_host_keys(): only the pinned key may vouch for the server.
        client.set_missing_host_key_policy(RefuseUnknownHost())
        for key_type, key in self._host_keys.items():
            client.get_host_keys().add(known_hosts_name(s.host, s.port), key_type, key)
        try:
            client.connect(s.host, s.port, s.username, pkey=self._private_key, timeout=s.timeout,
                           banner_timeout=s.timeout, auth_timeout=s.timeout, channel_timeout=s.timeout,
                           look_for_keys=False, allow_agent=False)
            transport = client.get_transport()
            if transport is not None:
                transport.set_keepalive(KEEPALIVE_SECONDS)  # long loads between receive and acknowledge
            sftp = client.open_sftp()
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyRejected(
                f"server {s.host}:{s.port} presented an unknown host key ({exc.key.get_name()} "
                f"{exc.key.fingerprint}); the connection's host_key is {exc.expected_key.get_name()} "
                f"{exc.expected_key.fingerprint}; refusing to connect"
            ) from None
        except BaseException:
            client.close()
            raise
        channel = sftp.get_channel()
        if channel is not None:
            channel.settimeout(s.timeout)  # a stalled server becomes a timeout, which is retried
        self._client, self._sftp = client, sftp
        self.connections_opened += 1
        return sftp

    def _retrying(self, what: str, operation: Callable[[paramiko.SFTPClient], T]) -> T:
        delays = backoff_delays(self.settings.retries, self.settings.backoff_seconds)
        attempt = 0
        while True:
            try:
                return operation(self._session())
            except (OSError, EOFError, paramiko.SSHException, IncompleteDownload) as exc:
                if not is_connection_fault(exc, self._active()):
                    raise
                self.close()
                if attempt >= len(delays):
                    raise SftpUnavailable(f"{what}: the connection to {self.settings.host}:{self.settings.port} "
                                          f"failed {attempt + 1} times; last error: {exc!r}") from exc
                log.warning("%s: connection failed (%r); retry %d of %d in %.2f s",
                            what, exc, attempt + 1, len(delays), delays[attempt])
                self._sleep(delays[attempt])
                attempt += 1
