"""The output side: drop-zone file names, atomic file completion, ground truth and counts.

Files are written as ``NAME.part`` and renamed when complete, exactly as a sender uploads them,
so a hub watching the folder while the generator runs never reads half a file.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import IO, Any, Protocol

from connectors.feeds import FEEDS as REGISTRY

FEEDS: tuple[str, ...] = tuple(REGISTRY)  # the generator writes every feed of the registry
GROUND_TRUTH_COLUMNS = ("feed", "file_name", "row_number", "source_key", "child_id", "fault")


class RowWriter(Protocol):
    """What ``csv.writer`` returns (its class is private to the ``_csv`` module)."""

    def writerow(self, row: Iterable[Any], /) -> Any:
        """Write one row."""


def file_stamp(seed: int, feed: str, sender: str, as_of: date) -> tuple[datetime, int]:
    """Extract time (UTC, in the small hours of ``as_of``) and sequence number for a sender's file.

    Derived from the seed, never from the wall clock, so reruns give the same file names.
    """
    rng = Random(f"{seed}/stamp/{feed}/{sender}")
    moment = datetime.combine(as_of, time(0, 0)) + timedelta(seconds=rng.randint(1800, 6 * 3600 - 1))
    return moment, rng.randint(1, 400)


def file_name(feed: str, sender: str, stamp: datetime, sequence: int, ext: str) -> str:
    """``<feed>_<sender id>_<UTC yyyymmddThhmmss>_<sequence>.<ext>`` as the feed spec defines it."""
    if "_" in sender:
        raise ValueError(f"sender id may not contain '_': {sender!r}")
    return f"{feed}_{sender}_{stamp:%Y%m%dT%H%M%S}_{sequence}.{ext}"


class DropZone:
    """``out_dir/inbound/<feed>/`` plus ``ground_truth.csv``; counts what was written per feed."""

    def __init__(self, out_dir: Path, seed: int, as_of: date, checksums: bool = False) -> None:
        self.out_dir = out_dir
        self.seed = seed
        self.as_of = as_of
        self.checksums = checksums
        self.files: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        self.faulty: Counter[str] = Counter()
        out_dir.mkdir(parents=True, exist_ok=True)
        self._truth_handle = open(out_dir / "ground_truth.csv", "w", encoding="utf-8", newline="")
        self.truth: RowWriter = csv.writer(self._truth_handle, lineterminator="\n")
        self.truth.writerow(GROUND_TRUTH_COLUMNS)

    def open(self, feed: str, sender: str, ext: str) -> FeedFile:
        """A new file for ``sender`` in ``inbound/<feed>/``, open for writing under its .part name."""
        stamp, sequence = file_stamp(self.seed, feed, sender, self.as_of)
        folder = self.out_dir / "inbound" / feed
        folder.mkdir(parents=True, exist_ok=True)
        return FeedFile(self, feed, folder / file_name(feed, sender, stamp, sequence, ext), stamp)

    def close(self) -> None:
        """Flush and close the ground truth."""
        self._truth_handle.close()


class FeedFile:
    """One file being written: counts its data rows and records each in the ground truth."""

    def __init__(self, zone: DropZone, feed: str, path: Path, stamp: datetime) -> None:
        self.zone = zone
        self.feed = feed
        self.path = path
        self.name = path.name
        self.stamp = stamp
        self.rows = 0
        self.faulty = 0
        self._part = path.with_name(path.name + ".part")
        self.handle: IO[str] = open(self._part, "w", encoding="utf-8", newline="")

    def record(self, source_key: str, child_id: str, fault: str) -> None:
        """Note one data row (the N-th Pupil, CSV row or Notification) in the ground truth."""
        self.rows += 1
        if fault:
            self.faulty += 1
        self.zone.truth.writerow((self.feed, self.name, self.rows, source_key, child_id, fault))

    def close(self) -> None:
        """Complete the file: close, rename from .part, optionally write NAME.sha256."""
        self.handle.close()
        os.replace(self._part, self.path)
        if self.zone.checksums:
            with open(self.path, "rb") as stream:
                digest = hashlib.file_digest(stream, "sha256").hexdigest()
            self.path.with_name(self.name + ".sha256").write_text(digest + "\n", encoding="ascii")
        self.zone.files[self.feed] += 1
        self.zone.rows[self.feed] += self.rows
        self.zone.faulty[self.feed] += self.faulty
