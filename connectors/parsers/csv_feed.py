"""Streaming reader for the CSV feeds (gp, connexions, ics): a header row, then one child per row.

Bytes are decoded as UTF-8 (a leading byte-order mark is allowed) and read one physical line at a
time with a hard cap, so memory stays flat in the size of the file and no single row can exhaust it.
The cap is the reader's own (``MAX_ROW_CHARS``) rather than ``csv.field_size_limit``, which is
process-wide state; a row's cap also bounds each of its fields.

The header must name every spec column (case and surrounding spaces aside). A column the spec does
not name is never read into a row: only its name travels, in ``dropped``, so the receipt can say it
was dropped. Whole-file faults raise ``FileRejected``: not UTF-8, a NUL byte, broken quoting, a row
over the cap, and a row whose field count differs from the header's. The last could be a one-row
quarantine, but its values cannot be attributed to columns (a case-note value may have shifted into
a spec column), so nothing of it can be kept safely; a machine-written extract with a ragged row is
a broken export, and the receipt names the row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

from connectors.parsers import FileRejected, ParsedFile, ParsedRow

MAX_ROW_CHARS = 64 * 1024
MAX_COLUMN_NAME = 64  # a dropped column's name is echoed in receipts: keep it short


class _Lines:
    """Physical lines of the text, each row's total capped; the reader resets the count per row."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.row_chars = 0
        self.row_number = -1  # data rows read so far, for messages; -1 while the header is read

    def __iter__(self) -> Iterator[str]:
        while line := self.text.readline(MAX_ROW_CHARS + 1):
            self.row_chars += len(line)
            if self.row_chars > MAX_ROW_CHARS:
                raise FileRejected(f"{self.where()} is longer than {MAX_ROW_CHARS} characters")
            if "\x00" in line:
                raise FileRejected(f"{self.where()} holds a NUL byte: the file is not UTF-8 text")
            yield line

    def where(self) -> str:
        """The row being read, as a sender counts it."""
        return "the header row" if self.row_number < 0 else f"data row {self.row_number + 1}"


def _column_label(name: str, position: int) -> str:
    label = " ".join(name.split())
    if not label:
        return f"(column {position})"
    return label if len(label) <= MAX_COLUMN_NAME else label[: MAX_COLUMN_NAME - 1] + "…"


def _header(record: list[str], columns: tuple[str, ...]) -> tuple[dict[int, str], list[str]]:
    """Positions of the spec columns and labels of the others; rejects a header lacking spec columns."""
    wanted = {column.lower(): column for column in columns}
    kept: dict[int, str] = {}
    dropped: list[str] = []
    for position, name in enumerate(record, start=1):
        column = wanted.get(name.strip().lower())
        if column is None:
            dropped.append(_column_label(name, position))
        elif column in kept.values():
            raise FileRejected(f"the header names column {column} twice")
        else:
            kept[position - 1] = column
    missing = [column for column in columns if column not in kept.values()]
    if missing:
        raise FileRejected(f"the header lacks required column(s): {', '.join(missing)}")
    return kept, dropped


def read_csv(stream: IO[bytes], columns: tuple[str, ...]) -> Iterator[ParsedRow]:
    """Rows of a CSV feed file with their spec columns; row 1 is the first data row after the header.

    Blank lines, and rows whose fields are all empty, are skipped and not counted. Raises
    ``FileRejected`` (while rows are read) for a missing or incomplete header and for the whole-file
    faults the module describes.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    header: dict[int, str] | None = None
    dropped: list[str] = []
    width = 0
    try:
        for record in reader:
            lines.row_chars = 0
            if not any(field.strip() for field in record):
                continue
            if header is None:
                header, dropped = _header(record, columns)
                width, lines.row_number = len(record), 0
                continue
            lines.row_number += 1
            if len(record) != width:
                raise FileRejected(f"data row {lines.row_number} has {len(record)} fields; the header has {width}")
            values = {column: record[position] for position, column in header.items()}
            yield ParsedRow(row_number=lines.row_number, values=values, dropped=list(dropped))
    except UnicodeDecodeError:
        # Text is decoded a few kilobytes ahead of the rows, so the position is approximate.
        raise FileRejected(f"the file is not UTF-8 text (near {lines.where()})") from None
    except csv.Error as exc:
        raise FileRejected(f"{lines.where()} is not valid CSV: {exc}") from None
    finally:
        # The caller opened the stream and closes it; it may already have, if the load failed midway.
        if not stream.closed:
            text.detach()
    if header is None:
        raise FileRejected("the file has no header row")


def read_csv_file(stream: IO[bytes], sender: str, columns: tuple[str, ...]) -> ParsedFile:
    """A CSV feed's file for the loader: its rows, judged in the sender's name."""
    return ParsedFile(read_csv(stream, columns), sender, [])
