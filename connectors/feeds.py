"""The feed registry: every feed the hub accepts, as data. A new feed is one entry here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Feed:
    """A feed of the interface specification (``docs/feeds.md``)."""

    name: str
    extension: str
    description: str
    full_snapshot: bool


FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed("school", "xml", "Common Transfer File from a school (one school's roll)", full_snapshot=True),
        Feed("gp", "csv", "GP registrations (delta)", full_snapshot=False),
        Feed("connexions", "csv", "Connexions young people's advice service (snapshot per LA)", True),
        Feed("ecaf", "xml", "Common Assessment notifications", full_snapshot=False),
        Feed("ics", "csv", "Social care involvement notifications", full_snapshot=False),
    )
}

def staged_asset_uri(feed: str) -> str:
    """The Airflow Asset an ingest DAG updates when it has staged a feed's rows (linking follows it)."""
    return f"contactpoint://staging/{feed}"


# ASCII only: \d would also take full-width and other scripts' digits, which no sender's clock writes.
FILE_NAME = re.compile(
    r"(?P<feed>[a-z]+)_(?P<sender>[A-Za-z0-9-]{1,40})_(?P<stamp>[0-9]{8}T[0-9]{6})_(?P<sequence>[0-9]{1,9})"
    r"\.(?P<extension>xml|csv)",
    re.ASCII,
)


@dataclass(frozen=True)
class FileName:
    """What a file's name says: feed, sender, extract time and sequence."""

    feed: str
    sender: str
    extract_time: datetime
    sequence: int


def parse_file_name(name: str) -> FileName:
    """Read ``<feed>_<sender>_<UTC yyyymmddThhmmss>_<sequence>.<ext>``; ValueError says what is wrong."""
    match = FILE_NAME.fullmatch(name)
    if not match:
        raise ValueError(f"file name {name[:120]!r} does not follow <feed>_<sender>_<yyyymmddThhmmss>_<seq>.<ext>")
    feed = FEEDS.get(match["feed"])
    if feed is None:
        raise ValueError(f"unknown feed {match['feed']!r} in file name")
    if match["extension"] != feed.extension:
        raise ValueError(f"a {feed.name} file must be .{feed.extension}")
    try:
        stamp = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{match['stamp']} in the file name is not a real UTC time") from None
    return FileName(feed.name, match["sender"], stamp, int(match["sequence"]))
