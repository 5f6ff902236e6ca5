"""Streaming parsers, one per file format; pure (they read a stream and yield rows)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class FileRejected(Exception):
    """The whole file breaks the spec (not well formed, DOCTYPE, bad header): nothing of it loads."""


@dataclass
class ParsedRow:
    """One data row as the sender wrote it: spec fields only, plus the names of fields dropped."""

    row_number: int
    values: dict[str, Any]
    dropped: list[str]


@dataclass
class ParsedFile:
    """A file being read, as every feed's reader hands it to the loader.

    ``rows`` come lazily; ``context`` is what the row contract judges each row in besides its values (the
    sender, or a CTF's Header); ``dropped`` names file-level fields left out, complete once ``rows`` is read.
    """

    rows: Iterator[ParsedRow]
    context: Any
    dropped: list[str]
