"""The ecaf feed: Common Assessment notifications (XML) in, staged CAF involvements out (a delta feed)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Connection

from connectors.loading import LoadResult, load_rows
from connectors.parsers.ecaf_xml import read_ecaf
from schemas.ecaf import validate_ecaf_row
from warehouse.staging import Lineage


def load_ecaf_file(conn: Connection, lineage: Lineage, path: Path, today: date) -> LoadResult:
    """Parse, validate and stage one eCAF file: that an assessment exists and who to contact, nothing more."""
    extracted = lineage.extract_time.date()  # a date of birth after it is refused
    with path.open("rb") as stream:
        ecaf = read_ecaf(stream)
        result = load_rows(conn, lineage, ecaf.rows,
                           lambda row: validate_ecaf_row(row.values, lineage.sender, today, extracted), today=today)
    result.dropped_fields.update(ecaf.dropped)
    return result
