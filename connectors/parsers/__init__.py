"""Streaming parsers, one per file format; pure (they read a stream and yield rows)."""

from __future__ import annotations

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
