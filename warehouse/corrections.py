"""The store's side of the data team's corrections: the quarantined row as sent, whether its child is already
staged from its file, and the row marked released (kept as evidence, never deleted); and who on the data team
acts, as the database finds them.

The release itself (the feed's own row contract on the corrected row, then staging and the audit) is
``pipeline.corrections.release_quarantined_row``. Listing quarantined rows is ``warehouse.operations.quarantined_rows``
(reasons only, never values).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from warehouse.steward_actions import NotEntitled, tool_session


def data_team_member(conn: Connection, *, session: str | None, by: str | None) -> str:
    """The data team member a live ``session`` signs in, as the database finds them (``console.reader``:
    an enabled user whose role is data_team), or :class:`~warehouse.steward_actions.NotEntitled`. The hub's
    own tools, which run as the store's owner, may name the member (``by``) instead: a short session for them.
    Who released or replayed is then the database's answer, never a name typed into an audit entry."""
    if session is None:
        if not by:
            raise NotEntitled("this needs a data team member's session or name")
        session = tool_session(conn, by)
    try:
        with conn.begin_nested():
            return str(conn.execute(text("SELECT (console.reader(:s, ARRAY['data_team'])).username"),
                                    {"s": session}).scalar_one())
    except DBAPIError:
        raise NotEntitled("not allowed: this needs a live data team member's session") from None


def quarantined_row(conn: Connection, file_id: int, row_number: int) -> Any | None:
    """The quarantined row as sent, with its file's lineage and whether it was released; locked for the release."""
    return conn.execute(text("""
        SELECT q.raw, q.released_at, f.feed, f.sender, f.extract_time, f.sequence, f.file_name
        FROM intake.quarantined_row q JOIN intake.file f USING (file_id)
        WHERE q.file_id = :f AND q.row_number = :r FOR UPDATE OF q"""), {"f": file_id, "r": row_number}).one_or_none()


def organisation_of_file(conn: Connection, file_id: int) -> str | None:
    """The organisation a row of the file that did load names (a CTF's school, its Header not being kept)."""
    name = conn.execute(text("""
        SELECT involvement ->> 'organisation_name' FROM staging.source_record
        WHERE file_id = :f AND involvement IS NOT NULL LIMIT 1"""), {"f": file_id}).scalar()
    return None if name is None else str(name)


def staged_from_file(conn: Connection, feed: str, source_key: str, file_id: int) -> bool:
    """Whether the feed's record ``source_key`` is staged from this very file (a repeated row's child)."""
    return conn.execute(text("""SELECT 1 FROM staging.source_record
                                WHERE feed = :feed AND source_key = :key AND file_id = :f"""),
                        {"feed": feed, "key": source_key, "f": file_id}).first() is not None


def record_id_of(conn: Connection, feed: str, source_key: str) -> int:
    """The staged record of the feed's ``source_key``."""
    return int(conn.execute(
        text("SELECT record_id FROM staging.source_record WHERE feed = :feed AND source_key = :key"),
        {"feed": feed, "key": source_key}).scalar_one())


def mark_released(conn: Connection, file_id: int, row_number: int) -> None:
    """The quarantined row is released: kept, as what the sender sent, never deleted."""
    conn.execute(text("UPDATE intake.quarantined_row SET released_at = now() WHERE file_id = :f AND row_number = :r"),
                 {"f": file_id, "r": row_number})
