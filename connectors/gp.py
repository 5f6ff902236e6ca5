"""The gp feed: a CSV of GP registrations in, staged records out (a delta: only listed children change)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Connection

from connectors.loading import LoadResult, load_rows
from connectors.parsers.csv_feed import read_csv
from schemas.gp import GP_COLUMNS, validate_gp_row
from warehouse.staging import Lineage


def load_gp_file(conn: Connection, lineage: Lineage, path: Path, today: date) -> LoadResult:
    """Parse, validate and stage one GP registrations file."""
    extracted = lineage.extract_time.date()  # a date of birth after it is refused
    with path.open("rb") as stream:
        return load_rows(conn, lineage, read_csv(stream, GP_COLUMNS),
                         lambda row: validate_gp_row(row.values, lineage.sender, today, extracted), today=today)
