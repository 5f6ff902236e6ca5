"""The archive's keys, kept outside the database so that destroying a key destroys every copy of a record.

Each archived child's record is encrypted with its own AES-256-GCM key. The ciphertext lives in
PostgreSQL (and so in its WAL and backups); the key lives here, in one file per destroy-after date. On
that date the file is overwritten and removed: from then on no copy of the ciphertext, wherever it sits,
can be read (crypto-shredding). In production this folder is a key-management service with a
destroy-key operation; this folder is its stand-in on one machine, never backed up with the database.

Keys are written durably *before* the archive transaction commits (a committed archive row without its
key would be a record nobody can read), and shredded only after destruction has committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contactpoint.settings import get_settings

HASH_KEY_FILE = "destruction-log.key"


class KeyVault:
    """Per-child archive keys grouped by the date they must be destroyed."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or get_settings().key_vault
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _file(self, destroy_after: date) -> Path:
        return self.folder / f"{destroy_after.isoformat()}.keys"

    def _read(self, destroy_after: date) -> dict[str, str]:
        path = self._file(destroy_after)
        if not path.exists():
            return {}
        return dict(line.split(" ", 1) for line in path.read_text().splitlines() if line)

    def put(self, destroy_after: date, keys: dict[str, bytes]) -> None:
        """Append keys (ContactPoint ID -> key) to a date's file and fsync. Appending, never rewriting to a new
        file, keeps every key in the one file that shredding overwrites (a replaced copy's blocks would linger)."""
        lines = "".join(f"{cp_id} {base64.b64encode(key).decode()}\n" for cp_id, key in keys.items())
        fd = os.open(self._file(destroy_after), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, lines.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(self.folder)

    def get(self, destroy_after: date, cp_id: str) -> bytes | None:
        """One child's key, or None once it has been shredded."""
        found = self._read(destroy_after).get(cp_id)
        return base64.b64decode(found) if found else None

    def dates(self) -> list[date]:
        """Destroy-after dates that still hold keys."""
        return sorted(date.fromisoformat(p.name.removesuffix(".keys")) for p in self.folder.glob("*.keys"))

    def shred_through(self, as_of: date) -> list[date]:
        """Overwrite and remove every key file due on or before ``as_of``; returns the dates shredded."""
        shredded = []
        for day in self.dates():
            if day > as_of:
                break
            path = self._file(day)
            size = path.stat().st_size
            with path.open("r+b") as handle:  # overwrite in place first: unlink alone leaves the blocks
                handle.write(b"\0" * size)
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()
            shredded.append(day)
        if shredded:
            _fsync_dir(self.folder)
        return shredded

    def id_hash(self, cp_id: str) -> str:
        """Keyed hash of a ContactPoint ID for the destruction log: confirmable by whoever holds the ID and
        the vault's hash key, not reversible by enumerating IDs from the database alone."""
        path = self.folder / HASH_KEY_FILE
        if not path.exists():
            _write_durably(path, secrets.token_bytes(32))
        return hmac.new(path.read_bytes(), cp_id.encode(), hashlib.sha256).hexdigest()


def new_key() -> bytes:
    """A fresh AES-256 key."""
    return AESGCM.generate_key(bit_length=256)


def encrypt(key: bytes, cp_id: str, plaintext: bytes) -> tuple[bytes, bytes]:
    """(nonce, ciphertext); the ContactPoint ID is bound as associated data, so rows cannot be swapped."""
    nonce = secrets.token_bytes(12)
    return nonce, AESGCM(key).encrypt(nonce, plaintext, cp_id.encode())


def decrypt(key: bytes, cp_id: str, nonce: bytes, ciphertext: bytes) -> bytes:
    """The plaintext of an archived record (raises if the key, ID or bytes do not belong together)."""
    return AESGCM(key).decrypt(nonce, ciphertext, cp_id.encode())


def _write_durably(path: Path, data: bytes) -> None:
    temp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    temp.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
