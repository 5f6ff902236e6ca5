"""Landing: bring a drop-zone file to local disk, durably, under its own sha256.

The bytes go to a temporary name, are fsynced and hashed, and only then renamed; a half-downloaded
file never sits under a final name, and a digest that disagrees with the sender's ``.sha256`` is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from connectors.dropzone import PART_SUFFIX, DropZone, IncomingFile

CHUNK = 1 << 20
_PARTIAL = re.compile(r"^\.[a-z]+\.(?P<pid>[0-9]+)\.[0-9]+\.part$")
_LANDED = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class LandedFile:
    """A verified local copy of an incoming file."""

    source: IncomingFile
    path: Path
    sha256: str
    size: int


class ChecksumMismatch(Exception):
    """The bytes received do not match the digest the sender announced."""

    def __init__(self, message: str, digest: str) -> None:
        super().__init__(message)
        self.digest = digest


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def land(dropzone: DropZone, file: IncomingFile, landing_dir: Path) -> LandedFile:
    """Download, fsync, hash, verify and rename to ``landing_dir/<sha256>``."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    temporary = landing_dir / f".{file.feed}.{os.getpid()}.{abs(hash(file.name))}{PART_SUFFIX}"
    try:
        dropzone.download(file, temporary)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        digest = sha256_of(temporary)
        if file.announced_sha256 and digest != file.announced_sha256:
            raise ChecksumMismatch(
                f"{file.name}: sha256 of the bytes received is {digest}, the sender's .sha256 says "
                f"{file.announced_sha256}",
                digest,
            )
        final = landing_dir / digest
        size = temporary.stat().st_size
        os.replace(temporary, final)
        directory = os.open(landing_dir, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return LandedFile(file, final, digest, size)
    finally:
        temporary.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def abandoned_partials(landing_dir: Path) -> list[Path]:
    """Partial downloads whose process has died (a crash mid-download): nothing else will remove them."""
    if not landing_dir.is_dir():
        return []
    return [landing_dir / name for name in os.listdir(landing_dir)
            if (m := _PARTIAL.match(name)) and int(m["pid"]) != os.getpid() and not _alive(int(m["pid"]))]


def landed_copies(landing_dir: Path) -> list[str]:
    """The sha256 names of the landed copies in ``landing_dir``."""
    return sorted(name for name in os.listdir(landing_dir) if _LANDED.match(name)) if landing_dir.is_dir() else []
