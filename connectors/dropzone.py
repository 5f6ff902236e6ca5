"""The drop zone: where senders put files and read receipts, behind one interface.

``FolderDropZone`` serves the embedded demo and backfills from a local folder; the SFTP drop zone
implements the same protocol. The decisions (which names are complete files) are pure functions.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

PART_SUFFIX = ".part"
CHECKSUM_SUFFIX = ".sha256"


@dataclass(frozen=True)
class IncomingFile:
    """A complete file waiting in ``inbound/<feed>/``, with the digest the sender announced, if any."""

    feed: str
    name: str
    size: int
    announced_sha256: str | None = None


def select_complete(names: list[str]) -> list[str]:
    """Names of complete data files: not ``.part`` uploads, checksums, receipts or hidden files."""
    return sorted(
        name for name in names
        if not name.startswith(".")
        and not name.endswith((PART_SUFFIX, CHECKSUM_SUFFIX, ".receipt.json"))
        and PurePosixPath(name).name == name
    )


def read_announced_sha256(text: str) -> str | None:
    """The hex digest of a ``NAME.sha256`` file (``sha256sum`` format or the bare digest)."""
    words = text.split()
    digest = words[0].lower() if words else ""
    return digest if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) else None


class DropZone(Protocol):
    """What the pipeline needs from any drop zone."""

    def list_complete(self, feed: str) -> list[IncomingFile]:
        """Complete files waiting in ``inbound/<feed>/``."""
        ...

    def download(self, file: IncomingFile, destination: Path) -> None:
        """Copy the file's bytes to ``destination`` (a temporary name the caller renames)."""
        ...

    def archive(self, file: IncomingFile, accepted: bool) -> None:
        """Move the file to ``processed/<feed>/`` or ``rejected/<feed>/``."""
        ...

    def deliver_receipt(self, feed: str, file_name: str, body: bytes) -> None:
        """Write ``outbound/<feed>/<file_name>.receipt.json``."""
        ...


class FolderDropZone:
    """A drop zone that is a local folder laid out as the spec's SFTP account."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def list_complete(self, feed: str) -> list[IncomingFile]:
        """Complete files in ``inbound/<feed>/`` with their announced digests."""
        inbound = self.root / "inbound" / feed
        if not inbound.is_dir():
            return []
        files = []
        for name in select_complete(os.listdir(inbound)):
            path = inbound / name
            if not path.is_file():
                continue
            checksum = inbound / (name + CHECKSUM_SUFFIX)
            announced = read_announced_sha256(checksum.read_text(errors="replace")) if checksum.exists() else None
            files.append(IncomingFile(feed, name, path.stat().st_size, announced))
        return files

    def download(self, file: IncomingFile, destination: Path) -> None:
        """Copy the bytes (the caller checks the digest and renames)."""
        shutil.copyfile(self.root / "inbound" / file.feed / file.name, destination)

    def archive(self, file: IncomingFile, accepted: bool) -> None:
        """Move the file (and its checksum) out of ``inbound/``."""
        target = self.root / ("processed" if accepted else "rejected") / file.feed
        target.mkdir(parents=True, exist_ok=True)
        inbound = self.root / "inbound" / file.feed
        for name in (file.name, file.name + CHECKSUM_SUFFIX):
            if (inbound / name).exists():
                os.replace(inbound / name, target / name)

    def upload(self, feed: str, name: str, source: Path) -> None:
        """Send a file as a sender does (``NAME.part``, then rename): demos and tests."""
        inbound = self.root / "inbound" / feed
        inbound.mkdir(parents=True, exist_ok=True)
        part = inbound / (name + PART_SUFFIX)
        shutil.copyfile(source, part)
        os.replace(part, inbound / name)

    def deliver_receipt(self, feed: str, file_name: str, body: bytes) -> None:
        """Write the receipt atomically, so a sender never reads half of one."""
        outbound = self.root / "outbound" / feed
        outbound.mkdir(parents=True, exist_ok=True)
        final = outbound / f"{file_name}.receipt.json"
        temporary = final.with_name(final.name + PART_SUFFIX)
        temporary.write_bytes(body)
        os.replace(temporary, final)
