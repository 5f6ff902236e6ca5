"""The connexions feed: one LA's Connexions clients (CSV), a full snapshot per LA."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Connection

from connectors.loading import LoadResult, load_rows
from connectors.parsers.csv_feed import read_csv
from schemas.connexions import CONNEXIONS_COLUMNS, validate_connexions_row
from warehouse.staging import Lineage, mark_snapshot_presence


def load_connexions_file(conn: Connection, lineage: Lineage, path: Path, today: date) -> LoadResult:
    """Parse, validate and stage one snapshot; the clients it no longer lists have left the service."""
    extracted = lineage.extract_time.date()  # a date of birth after it is refused
    with path.open("rb") as stream:
        result = load_rows(conn, lineage, read_csv(stream, CONNEXIONS_COLUMNS),
                           lambda row: validate_connexions_row(row.values, lineage.sender, today, extracted),
                           today=today)
    mark_snapshot_presence(conn, lineage)
    return result
