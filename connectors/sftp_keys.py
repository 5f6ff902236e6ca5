"""Host-key pinning and key login: the server must present the pinned key (``RejectPolicy``; the user's
``~/.ssh/known_hosts`` is never read), and the hub logs in with its own private key only."""

from __future__ import annotations

import base64
import binascii
import io
from typing import NoReturn

import paramiko

from connectors.sftp_connection import HostKeyRejected, InsecureConnection, SftpSettings

HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")


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


class RefuseUnknownHost(paramiko.RejectPolicy):
    """paramiko's ``RejectPolicy`` with an error that says what was presented."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> NoReturn:
        raise HostKeyRejected(f"server {hostname} presented an unknown host key ({key.get_name()} "
                              f"{key.fingerprint}); refusing to connect")

