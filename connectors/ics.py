"""The ics feed: social care involvement events (CSV) in, staged involvements out (a delta feed)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Connection

from connectors.loading import LoadResult, load_rows
from connectors.parsers.csv_feed import read_csv
from schemas.ics import ICS_COLUMNS, validate_ics_row
from warehouse.staging import Lineage


def load_ics_file(conn: Connection, lineage: Lineage, path: Path, today: date) -> LoadResult:
    """Parse, validate and stage one ICS file; rows the law keeps out are withheld (counted, never stored)."""
    extracted = lineage.extract_time.date()  # a date of birth after it is refused
    with path.open("rb") as stream:
        return load_rows(conn, lineage, read_csv(stream, ICS_COLUMNS),
                         lambda row: validate_ics_row(row.values, lineage.sender, today, extracted), today=today)
