"""The school feed: a CTF file in, staged pupils out (one school's full roll per file)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Connection

from connectors.loading import LoadResult, load_rows
from connectors.parsers import FileRejected
from connectors.parsers.school_xml import read_ctf
from schemas.school import validate_pupil
from warehouse.staging import Lineage, mark_snapshot_presence


def load_school_file(conn: Connection, lineage: Lineage, path: Path, today: date) -> LoadResult:
    """Parse, validate and stage one CTF; the pupils it no longer lists have left that school."""
    extracted = lineage.extract_time.date()  # a date of birth after it is refused
    with path.open("rb") as stream:
        ctf = read_ctf(stream)
        school = f"{ctf.header['SourceSchool/LEA']}{ctf.header['SourceSchool/Estab']}"
        if school != lineage.sender:
            raise FileRejected(f"the Header's school {school} is not the sender {lineage.sender} in the file name")
        result = load_rows(conn, lineage, ctf.rows,
                           lambda row: validate_pupil(row.values, ctf.header, today, extracted), today=today)
    result.dropped_fields.update(ctf.header_dropped)
    mark_snapshot_presence(conn, lineage)
    return result
