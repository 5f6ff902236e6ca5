"""The SFTP drop zone's connection: its settings, read from an Airflow Connection, the errors it raises, and
which failures are the connection's (reconnect and retry, with exponential backoff) rather than the request's.

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
``no_host_key_check`` or ``allow_host_key_change`` true, or without ``host_key``, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

DEFAULT_CONN_ID = "contactpoint_sftp"


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

