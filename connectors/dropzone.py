"""The drop zone: where senders put files and read receipts, behind one interface.

``FolderDropZone`` serves the embedded demo and backfills from a local folder; the SFTP drop zone
implements the same protocol. The decisions (which names are complete files) are pure functions.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

PART_SUFFIX = ".part"
CHECKSUM_SUFFIX = ".sha256"
# Receipts add ".receipt.json.part" (18 bytes) to a name, and most file systems stop at 255 bytes.
MAX_NAME_BYTES = 200
MAX_CHECKSUM_BYTES = 4096
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class IncomingFile:
    """A file waiting in ``inbound/<feed>/``, with the digest the sender announced, if any.

    ``refusal`` says why the hub will not read it at all (its name, a symbolic link, a malformed
    ``.sha256``): such a file is answered and moved to ``rejected/`` without its bytes being read.
    """

    feed: str
    name: str
    size: int
    announced_sha256: str | None = None
    refusal: str | None = None


def name_problem(name: str) -> str | None:
    """Why a name in ``inbound/`` cannot be a data file's name (None: it can be read).

    ``name`` is as ``os.listdir`` gives it: bytes that are not UTF-8 arrive as surrogate escapes.
    """
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "the file name is not UTF-8"
    if size > MAX_NAME_BYTES:
        return f"the file name is {size} bytes long; at most {MAX_NAME_BYTES} are accepted"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        return "the file name holds control or invisible characters"
    if name.startswith("."):
        return "a hidden file (its name starts with '.'): data files are named <feed>_<sender>_<time>_<seq>.<ext>"
    return None


def printable_name(name: str) -> str:
    """The name as text a database and a JSON receipt can hold (bytes that are not UTF-8 shown as U+FFFD)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def receipt_stem(name: str) -> str:
    """The name a file's receipt is written under: the file's own name when that is a safe name,
    else a short ASCII form of it plus a digest of its bytes (so two odd names never share a receipt)."""
    if name_problem(name) is None:
        return name
    raw = name.encode("utf-8", "surrogateescape")
    readable = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in printable_name(name))
    return f"{readable.lstrip('.')[:80]}~{hashlib.sha256(raw).hexdigest()[:16]}"


def select_complete(names: list[str]) -> list[str]:
    """Names to answer: everything but ``.part`` uploads under way and ``.sha256`` checksums (which wait
    for their file: a sender may upload the checksum first).

    Hidden files and odd names are kept: the pipeline refuses them with a receipt rather than leave them unanswered.
    """
    return sorted(
        name for name in names
        if not name.endswith((PART_SUFFIX, CHECKSUM_SUFFIX))
        and PurePosixPath(name).name == name and name not in (".", "..")
    )


class MalformedChecksum(ValueError):
    """A ``.sha256`` file that does not hold one sha256 digest."""


def parse_checksum(text: str) -> str:
    """The hex digest of a ``NAME.sha256`` file: the bare digest, ``sha256sum``'s ``DIGEST  NAME`` or the BSD
    ``SHA256 (NAME) = DIGEST``; anything else raises MalformedChecksum (a file is never accepted unchecked)."""
    line = text.strip()
    if not line:
        raise MalformedChecksum("the .sha256 file is empty")
    if "\n" in line:
        raise MalformedChecksum("the .sha256 file holds more than one line")
    if line.upper().startswith("SHA256 (") and ") = " in line:
        digest = line.rsplit(") = ", 1)[1].strip()
    else:
        digest = line.split()[0]
    digest = digest.lower()
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise MalformedChecksum(f"the .sha256 file does not hold a sha256 digest (64 hex characters): {line[:80]!r}")
    return digest


def read_announced_sha256(text: str) -> str | None:
    """The digest of a ``.sha256`` file, or None when it holds none (kept for callers that only peek)."""
    try:
        return parse_checksum(text)
    except MalformedChecksum:
        return None


def incoming(feed: str, name: str, *, regular: bool, size: int, checksum: bytes | None,
             checksum_regular: bool = True) -> IncomingFile:
    """What a listed entry is: a file to read (with its announced digest) or one to refuse, and why.

    ``checksum`` is the first bytes of ``NAME.sha256`` (None: none sent)."""
    refusal = name_problem(name)
    announced = None
    if refusal is None and not regular:
        refusal = "not a regular file (a symbolic link or a folder): never followed or read"
    if refusal is None and checksum is not None:
        if not checksum_regular:
            refusal = "its .sha256 is not a regular file (a symbolic link or a folder): never followed or read"
        elif len(checksum) >= MAX_CHECKSUM_BYTES:
            refusal = "its .sha256 file is too large to be a checksum"
        else:
            try:
                announced = parse_checksum(checksum.decode("utf-8", "replace"))
            except MalformedChecksum as exc:
                refusal = f"{exc}; send the file again with a .sha256 holding its digest"
    return IncomingFile(feed, name, size, announced, refusal)


class DropZone(Protocol):
    """What the pipeline needs from any drop zone."""

    @property
    def identity(self) -> str:
        """Which drop zone this is (a folder's absolute path, an SFTP account): receipts go back to it alone."""
        ...

    def list_complete(self, feed: str) -> list[IncomingFile]:
        """Every file waiting in ``inbound/<feed>/`` (uploads under way excluded), odd ones with a refusal."""
        ...

    def download(self, file: IncomingFile, destination: Path) -> None:
        """Copy the file's bytes to ``destination`` (a temporary name the caller renames)."""
        ...

    def archive(self, file: IncomingFile, accepted: bool) -> None:
        """Move the file to ``processed/<feed>/`` or ``rejected/<feed>/``."""
        ...

    def deliver_receipt(self, feed: str, file_name: str, body: bytes) -> None:
        """Write ``outbound/<feed>/<receipt_stem(file_name)>.receipt.json``."""
        ...


class FolderDropZone:
    """A drop zone that is a local folder laid out as the spec's SFTP account."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def identity(self) -> str:
        """``folder:<absolute path>``."""
        return f"folder:{self.root.resolve()}"

    def list_complete(self, feed: str) -> list[IncomingFile]:
        """Files in ``inbound/<feed>/`` with their announced digests; links are listed, never followed."""
        inbound = self.root / "inbound" / feed
        if not inbound.is_dir():
            return []
        names = os.listdir(inbound)
        files = []
        for name in select_complete(names):
            try:
                attrs = os.lstat(inbound / name)
            except FileNotFoundError:
                continue  # taken by a concurrent run between listing and looking
            regular = stat.S_ISREG(attrs.st_mode)
            checksum, checksum_regular = None, True
            if name + CHECKSUM_SUFFIX in names:
                checksum_path = inbound / (name + CHECKSUM_SUFFIX)
                checksum_regular = stat.S_ISREG(os.lstat(checksum_path).st_mode)
                if checksum_regular:
                    with open(checksum_path, "rb") as handle:
                        checksum = handle.read(MAX_CHECKSUM_BYTES)
                else:
                    checksum = b""
            files.append(incoming(feed, name, regular=regular, size=attrs.st_size if regular else 0,
                                  checksum=checksum, checksum_regular=checksum_regular))
        return files

    def download(self, file: IncomingFile, destination: Path) -> None:
        """Copy the bytes (the caller checks the digest and renames); a link is never followed."""
        source = os.open(self.root / "inbound" / file.feed / file.name, os.O_RDONLY | os.O_NOFOLLOW)
        with open(source, "rb") as reader, destination.open("wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)

    def archive(self, file: IncomingFile, accepted: bool) -> None:
        """Move the file (and its checksum) out of ``inbound/``; a link is moved, not what it points to."""
        target = self.root / ("processed" if accepted else "rejected") / file.feed
        target.mkdir(parents=True, exist_ok=True)
        inbound = self.root / "inbound" / file.feed
        for name in (file.name, file.name + CHECKSUM_SUFFIX):
            try:
                os.replace(inbound / name, target / name)
            except FileNotFoundError:
                continue  # no checksum was sent, or an earlier, interrupted run already moved it
            except OSError as exc:
                if exc.errno != errno.ENAMETOOLONG:
                    raise  # a name too long for its ".sha256" cannot have one

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
        final = outbound / f"{receipt_stem(file_name)}.receipt.json"
        temporary = final.with_name(final.name + PART_SUFFIX)
        temporary.write_bytes(body)
        os.replace(temporary, final)
