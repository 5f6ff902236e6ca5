"""Wrong usage of the ``contactpoint`` command line: one line naming what is wrong, and exit 2.

Argument types check what they can before any work starts (an unknown feed lists the known ones);
commands raise ``UsageError`` for what only they can check (a missing file, an unknown model version).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn


class UsageError(Exception):
    """The command was asked for something it cannot do as asked (exit 2, one line)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but wrong usage is one line naming the command and what is wrong (exit 2), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def positive_int(value: str) -> int:
    """A count of at least 1 (children, examples, pages)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def fraction(value: str) -> float:
    """A share between 0 and 1."""
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {number}")
    return number


def feed_name(value: str) -> str:
    """One of the registry's feeds (``connectors/feeds.py``)."""
    from connectors.feeds import FEEDS

    if value not in FEEDS:
        raise argparse.ArgumentTypeError(f"unknown feed {value!r}; the feeds are {', '.join(sorted(FEEDS))}")
    return value


def feed_list(value: str) -> tuple[str, ...]:
    """Comma-separated feeds of the registry."""
    return tuple(feed_name(f.strip()) for f in value.split(",") if f.strip())


def writable_folder(folder: Path) -> Path:
    """``folder``, created if needed, after proving a file can be written there (before any work is done)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".contactpoint-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to {folder}: {exc.strerror or exc}") from exc
    return folder
