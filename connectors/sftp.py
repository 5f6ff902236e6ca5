"""The SFTP drop zone: the ``DropZone`` protocol over one pinned, key-authenticated SSH connection.

Senders upload to ``inbound/<feed>/`` of their account (``docs/feeds.md``); this module lists
complete files, streams them to the temporary path ``connectors.landing.land`` gives it, moves them
to ``processed/`` or ``rejected/`` and writes receipts to ``outbound/`` atomically. The server's host
key is pinned (``RejectPolicy``; the user's ``~/.ssh/known_hosts`` is never read) and login is by key
only. A dropped connection is re-opened and the operation redone from scratch, with exponential backoff.

Configuration comes from an Airflow Connection, normally from the environment, e.g.::

    AIRFLOW_CONN_CONTACTPOINT_SFTP='{"conn_type": "sftp", "host": "sftp.example.org", "port": 22,
        "login": "hub", "extra": {"host_key": "ssh-ed25519 AAAAC3Nza...", "key_file": "/run/secrets/hub_ed25519",
        "root": ".", "conn_timeout": 30, "retries": 4, "backoff_seconds": 0.5}}'

or as a URI with every value URL-encoded (``urllib.parse.quote(value, safe="")``: the key's space is
``%20`` and any ``+`` in it ``%2B``, else the key is garbled and refused):
``sftp://hub@sftp.example.org:22?host_key=ssh-ed25519%20AAAAC3Nza...&key_file=%2Frun%2Fsecrets%2Fhub_ed25519``.
``extra`` takes the names Airflow's SFTP provider uses (the provider itself is not a dependency: its hook
checks no host key unless told to, and downloads straight to the final path): ``host_key`` (required; the
server's public key ``TYPE BASE64``), ``private_key`` (key text) or ``key_file`` (a path), ``private_key_passphrase``,
``conn_timeout``; plus this hub's ``root``, ``retries`` and ``backoff_seconds``. A connection with
``no_host_key_check`` or ``allow_host_key_change`` true, or without ``host_key``, is refused. Airflow is
imported only by ``SftpDropZone.from_airflow_connection``, so importing this module stays cheap.
An ``SftpDropZone`` holds one connection and is not meant to be shared between threads.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import posixpath
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TypeVar

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

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "contactpoint_sftp"
HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
CHUNK = 1 << 20
KEEPALIVE_SECONDS = 30
T = TypeVar("T")


class SftpError(Exception):
    """Something the SFTP drop zone could not do."""


class HostKeyRejected(SftpError):
    """The server's host key is not the pinned one: possibly another machine in between."""


class InsecureConnection(ValueError):
    """A connection configuration that would skip or weaken host key verification."""


class IncompleteDownload(SftpError):
    """Fewer or more bytes arrived than the remote file holds."""


class SftpUnavailable(SftpError, ConnectionError):
    """The connection kept dropping: every retry failed."""


@dataclass(frozen=True)
class SftpSettings:
    """Where the drop zone is and how to reach it; exactly one private key and at least one host key."""

    host: str
    username: str
    host_key: str | None = None  # "ssh-ed25519 AAAA..." or a known_hosts line for this server
    port: int = 22
    private_key_path: Path | None = None
    private_key: str | None = field(default=None, repr=False)
    private_key_passphrase: str | None = field(default=None, repr=False)
    known_hosts_file: Path | None = None  # an explicit file, never the user's own
    root: str = "."
    retries: int = 4
    backoff_seconds: float = 0.5
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.host or not self.username:
            raise ValueError("SFTP settings need a host and a username")
        if (self.private_key_path is None) == (self.private_key is None):
            raise ValueError("SFTP settings need exactly one of private_key_path and private_key (key login only)")
        if not self.host_key and self.known_hosts_file is None:
            raise InsecureConnection("SFTP settings need the server's host_key (or a known_hosts_file)")
        if not 0 < self.port < 65536 or self.retries < 0 or self.backoff_seconds < 0 or self.timeout <= 0:
            raise ValueError("SFTP settings: port 1-65535, retries >= 0, backoff_seconds >= 0, timeout > 0")


def known_hosts_name(host: str, port: int) -> str:
    """The name a known_hosts file (and paramiko) files a server under: ``host`` or ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def parse_host_key(text: str) -> paramiko.PKey:
    """The public key in ``TYPE BASE64 [comment]`` or a known_hosts line ``HOSTS TYPE BASE64`` (hosts unread)."""
    words = text.split()
    if words and words[0].startswith("@"):
        # "@revoked" and "@cert-authority" lines mean something other than "trust this key".
        raise ValueError(f"host key {words[0]} lines are not accepted; give the server's key itself")
    for index, word in enumerate(words[:-1]):
        if word in HOST_KEY_TYPES:
            try:
                blob = base64.b64decode(words[index + 1], validate=True)
                key = paramiko.PKey.from_type_string(word, blob)
            except (binascii.Error, paramiko.SSHException, ValueError, TypeError) as exc:
                raise ValueError(f"host key of type {word} has unreadable key data: {exc}") from None
            if key.get_name() != word:
                raise ValueError(f"host key says {word} but its key data is {key.get_name()}")
            if key.asbytes() != blob:
                # paramiko pads a truncated blob (a key cut short in a copy, or a URI's "+" read as a
                # space) into some other key; refuse it here rather than as a mismatch at every connect.
                raise ValueError(f"host key of type {word} has unreadable key data: truncated or malformed")
            return key
    raise ValueError(
        "host key not understood: expected the server's public key as 'TYPE BASE64', e.g. 'ssh-ed25519 AAAA...' "
        f"(types: {', '.join(HOST_KEY_TYPES)})"
    )


def backoff_delays(retries: int, base: float, cap: float = 30.0) -> list[float]:
    """Seconds to wait before each retry: ``base``, doubling, at most ``cap``."""
    if retries < 0 or base < 0:
        raise ValueError("retries and base must not be negative")
    return [min(cap, base * 2**attempt) for attempt in range(retries)]


# paramiko's AuthenticationException when the transport closes mid-authentication (auth_handler.py), as
# opposed to a refused key: a connection cut during the handshake is retried like any other cut.
AUTH_CUT_OFF = "transport shut down or saw EOF"


def is_connection_fault(exc: BaseException, transport_active: bool) -> bool:
    """Whether ``exc`` means the connection failed (reconnect and retry) rather than the request did."""
    if isinstance(exc, paramiko.AuthenticationException) and AUTH_CUT_OFF in str(exc):
        return True  # the connection died while the key was being checked (paramiko says so in these words)
    if isinstance(exc, HostKeyRejected | paramiko.AuthenticationException | paramiko.BadHostKeyException):
        return False  # retrying cannot fix a wrong key or credentials, and hammering looks like an attack
    if isinstance(exc, IncompleteDownload | EOFError | ConnectionError | TimeoutError | paramiko.SSHException):
        return True
    if isinstance(exc, OSError):
        # Over a live session an OSError is the server's answer (no such file, permission denied).
        return not transport_active
    return False


def _flag(value: object) -> bool | None:
    """An Airflow extra's boolean (JSON true or the strings the SSH hook accepts); None if unclear."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    return True if word in ("true", "1", "yes", "on") else False if word in ("false", "0", "no", "off") else None


def settings_from_connection(
    *, host: str | None, port: int | None, login: str | None, extra: Mapping[str, Any]
) -> SftpSettings:
    """Settings from an Airflow Connection's fields; refuses any that would not verify the host key."""
    for name in ("no_host_key_check", "allow_host_key_change"):
        if name in extra and _flag(extra[name]) is not False:
            raise InsecureConnection(
                f"the SFTP connection sets {name}={extra[name]!r}: the hub only connects to a server whose "
                "host key it can verify; remove it and set host_key"
            )
    host_key = str(extra.get("host_key") or "").strip()
    if not host_key:
        raise InsecureConnection(
            "the SFTP connection has no host_key in its extra: set it to the server's public key, "
            "e.g. the output of `ssh-keyscan -t ed25519 HOST` without the host name ('ssh-ed25519 AAAA...')"
        )
    private_key, key_file = extra.get("private_key"), extra.get("key_file")
    if bool(private_key) == bool(key_file):
        raise ValueError("the SFTP connection needs exactly one of private_key and key_file in its extra "
                         "(the hub logs in by key only)")
    timeout = extra.get("conn_timeout", extra.get("timeout", 30))
    return SftpSettings(
        host=host or "", username=login or "", host_key=host_key, port=int(port or 22),
        private_key_path=Path(str(key_file)) if key_file else None,
        private_key=str(private_key) if private_key else None,
        private_key_passphrase=extra.get("private_key_passphrase") or None,
        root=str(extra.get("root") or "."), retries=int(extra.get("retries", 4)),
        backoff_seconds=float(extra.get("backoff_seconds", 0.5)), timeout=float(timeout),
    )


def load_private_key(settings: SftpSettings) -> paramiko.PKey:
    """The client key from its file or its text; an encrypted key needs ``private_key_passphrase``."""
    password = settings.private_key_passphrase
    try:
        if settings.private_key_path is not None:
            return paramiko.PKey.from_path(settings.private_key_path, password)
        for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
            try:
                return key_class.from_private_key(io.StringIO(settings.private_key or ""), password)
            except paramiko.PasswordRequiredException:
                raise
            except (paramiko.SSHException, ValueError):
                continue
    except paramiko.PasswordRequiredException:
        raise ValueError("the SFTP private key is encrypted: set private_key_passphrase") from None
    except (paramiko.SSHException, ValueError, TypeError) as exc:
        raise ValueError(f"the SFTP private key cannot be read: {exc}") from None
    raise ValueError("the SFTP private_key is not an OpenSSH or PEM Ed25519, ECDSA or RSA private key")


def expected_host_keys(settings: SftpSettings) -> dict[str, paramiko.PKey]:
    """The keys the server may present, by type, from ``host_key`` and/or ``known_hosts_file``."""
    keys: dict[str, paramiko.PKey] = {}
    if settings.known_hosts_file is not None:
        known = paramiko.HostKeys(str(settings.known_hosts_file))
        found = known.lookup(known_hosts_name(settings.host, settings.port))
        keys.update(dict(found) if found is not None else {})
    if settings.host_key:
        key = parse_host_key(settings.host_key)
        keys[key.get_name()] = key
    if not keys:
        raise InsecureConnection(f"{settings.known_hosts_file} has no key for "
                                 f"{known_hosts_name(settings.host, settings.port)}")
    return keys


def _segment(name: str) -> str:
    """A single path segment, so no name from a listing or the database can leave its folder."""
    if not name or "/" in name or "\x00" in name or name in (".", ".."):
        raise ValueError(f"not a plain file or folder name: {name!r}")
    return name


def _raw(path: str) -> bytes:
    """A remote path as bytes: a name that is not UTF-8 (listed as surrogate escapes) is sent as it came."""
    return path.encode("utf-8", "surrogateescape")


def _listdir_attr(sftp: paramiko.SFTPClient, path: str) -> list[paramiko.SFTPAttributes]:
    """``SFTPClient.listdir_attr`` that reads names as bytes: paramiko's own decodes them as UTF-8 and fails
    on the first name that is not, which would block the whole folder; here such a name comes as surrogate
    escapes (like ``os.listdir``), to be refused with a receipt."""
    from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR, SFTPError

    client: Any = sftp  # no public call lists names as bytes: the same requests listdir_attr makes
    attributes: Any = paramiko.SFTPAttributes
    kind, msg = client._request(CMD_OPENDIR, _raw(path))
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    handle = msg.get_binary()
    entries = []
    try:
        while True:
            try:
                kind, msg = client._request(CMD_READDIR, handle)
            except EOFError:
                break
            if kind != CMD_NAME:
                raise SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                name = msg.get_string().decode("utf-8", "surrogateescape")
                longname = msg.get_string().decode("utf-8", "replace")
                attrs = attributes._from_msg(msg, name, longname)
                if name not in (".", ".."):
                    entries.append(attrs)
    finally:
        client._request(CMD_CLOSE, handle)
    return entries


def _is_regular(attrs: paramiko.SFTPAttributes) -> bool:
    return attrs.st_mode is not None and stat.S_ISREG(attrs.st_mode)


class _RefuseUnknownHost(paramiko.RejectPolicy):
    """paramiko's ``RejectPolicy`` with an error that says what was presented."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> NoReturn:
        raise HostKeyRejected(f"server {hostname} presented an unknown host key ({key.get_name()} "
                              f"{key.fingerprint}); refusing to connect")


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
                entries = {attrs.filename: attrs for attrs in _listdir_attr(sftp, inbound)}
            except FileNotFoundError:
                return []
            files = []
            for name in select_complete(list(entries)):
                regular = _is_regular(entries[name])  # symlinks and folders are not uploads
                checksum = entries.get(name + CHECKSUM_SUFFIX)
                announced = None
                if checksum is not None and _is_regular(checksum):
                    announced = self._read_small(sftp, posixpath.join(inbound, checksum.filename))
                files.append(incoming(feed, name, regular=regular, size=(entries[name].st_size or 0) if regular else 0,
                                      checksum=announced if checksum is None or _is_regular(checksum) else b"",
                                      checksum_regular=checksum is None or _is_regular(checksum)))
            return files

        return self._retrying(f"list {inbound}", listing)

    def download(self, file: IncomingFile, destination: Path) -> None:
        """Stream the file to ``destination`` (the caller's temporary name); retried whole on a drop."""
        remote = self._path("inbound", file.feed, file.name)

        def fetch(sftp: paramiko.SFTPClient) -> None:
            copied = 0
            # "wb" truncates: each attempt starts from nothing, so no bytes of a dropped try survive.
            with sftp.open(_raw(remote), "rb") as source, destination.open("wb") as target:
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
            for name in (_segment(file.name), file.name + CHECKSUM_SUFFIX):
                try:
                    sftp.posix_rename(_raw(posixpath.join(inbound, name)), _raw(posixpath.join(target, name)))
                except FileNotFoundError:
                    continue  # no checksum was sent, or an earlier, interrupted try already moved it

        self._retrying(f"archive {file.name}", move)

    def deliver_receipt(self, feed: str, file_name: str, body: bytes) -> None:
        """Write ``outbound/<feed>/<file_name>.receipt.json`` via a ``.part`` name, replacing any earlier one."""

        def write(sftp: paramiko.SFTPClient) -> None:
            stem = _segment(receipt_stem(file_name))
            final = posixpath.join(self._makedirs(sftp, "outbound", feed), f"{stem}.receipt.json")
            with sftp.open(final + PART_SUFFIX, "wb") as handle:
                handle.write(body)
            sftp.posix_rename(final + PART_SUFFIX, final)

        self._retrying(f"receipt for {file_name}", write)

    def upload(self, feed: str, name: str, source: Path) -> None:
        """Send a file as a sender does (``inbound/<feed>/NAME.part``, then rename): demos and tests."""

        def put(sftp: paramiko.SFTPClient) -> None:
            final = posixpath.join(self._makedirs(sftp, "inbound", feed), _segment(name))
            sftp.put(str(source), final + PART_SUFFIX)
            sftp.posix_rename(final + PART_SUFFIX, final)

        self._retrying(f"upload {name}", put)

    # -- the connection -------------------------------------------------------------------------

    def _path(self, *segments: str) -> str:
        return posixpath.join(self.settings.root, *(_segment(s) for s in segments))

    def _makedirs(self, sftp: paramiko.SFTPClient, *segments: str) -> str:
        path = self.settings.root
        for segment in segments:
            path = posixpath.join(path, _segment(segment))
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
            with sftp.open(_raw(path), "rb") as handle:
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
        client.set_missing_host_key_policy(_RefuseUnknownHost())
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
