"""What the retention stories share: the pass's day, sending a CSV feed's rows, where each child stands, and
a child archived after leaving England with the staff who may read the archive.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import text

from pipeline.steps import run_feed
from tests.factories import csv_file, drop, feed_file_name, gp_row
from warehouse.db import get_engine, transaction
from warehouse.retention.archive import age_out
from warehouse.users import add_user

TODAY = date(2026, 11, 25)  # the store fixture's clock


def send(dropzone: Path, feed: str, rows: list[dict[str, str]], stamp: str = "20261101T100000", seq: int = 1) -> str:
    name = feed_file_name(feed, stamp=stamp, seq=seq)
    drop(dropzone, feed, name, csv_file(rows))
    return name


def status_by_nhs() -> dict[str, tuple[str, bool, bool]]:
    """NHS number -> (identity status, in the directory, in the archive)."""
    with transaction() as conn:
        rows = conn.execute(text("""
            SELECT DISTINCT s.nhs_number, c.status, d.cp_id IS NOT NULL AS listed, a.cp_id IS NOT NULL AS archived
            FROM staging.source_record s JOIN identity.link l ON l.record_id = s.record_id
            JOIN identity.child c ON c.cp_id = l.cp_id
            LEFT JOIN directory.child d ON d.cp_id = c.cp_id LEFT JOIN archive.child a ON a.cp_id = c.cp_id
            WHERE s.nhs_number IS NOT NULL""")).all()
    return {r.nhs_number: (r.status, r.listed, r.archived) for r in rows}


def cp_id_of(nhs_number: str) -> str:
    with transaction() as conn:
        return str(conn.execute(text("""SELECT l.cp_id FROM staging.source_record s JOIN identity.link l
                                        ON l.record_id = s.record_id WHERE s.nhs_number = :n"""),
                                {"n": nhs_number}).scalar_one())


def archive_a_leaver(store: Path, *, as_of: date | None = None, left_on: str = "2026-11-01", **row: str) -> str:
    """The ContactPoint ID of a child born 2014-02-02 who left England on ``left_on``, archived on ``as_of``
    (by default today by the database's own clock, which decides the record's first year)."""
    child = gp_row(date_of_birth="2014-02-02", record_action="deregister", deregistration_date=left_on,
                   deregistration_reason="left_england", **row)
    send(store, "gp", [child])
    run_feed("gp", "run-1")
    if as_of is None:
        with transaction() as conn:
            as_of = conn.execute(text("SELECT current_date")).scalar_one()
    age_out(get_engine(), as_of)
    return cp_id_of(child["nhs_number"])


def add_staff(pin: str, **roles: str) -> dict[str, str]:
    """Users named as the keys, in the roles given, with one password and ``pin``: their TOTP secrets."""
    with transaction() as conn:
        return {name: add_user(conn, username=name, display_name=name, role=role, password="pw-long-enough", pin=pin)
                for name, role in roles.items()}
