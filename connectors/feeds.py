"""The feed registry: every feed the hub accepts, as data. A new feed is one entry here, plus its parser
(``connectors/parsers/``), its row contract (``schemas/<feed>.py``) and its batch checks (``schemas/expectations/``).

Everything that knows a feed reads this table: the loader, a quarantined row's release, the DAGs, the CLI, the
console's filters, the synthetic generator and the tests. Entries name their parser and row contract as
``module:attribute`` and resolve them when a file is loaded, so a DAG file importing the registry at parse time
loads no parser (lxml) and no row model (pydantic).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.parsers import ParsedFile
    from schemas.child import RowOutcome

Reader = Callable[[IO[bytes], str, tuple[str, ...]], "ParsedFile"]  # stream, sender, columns
RowContract = Callable[[dict[str, Any], Any, date, "date | None"], "RowOutcome"]  # values, context, today, extract
ReleaseContext = Callable[[str, "str | None"], Any]  # sender, organisation a loaded row of the file names


def resolve(reference: str) -> Any:
    """The object ``module:attribute`` names (imported now, not when the registry is)."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Feed:
    """A feed of the interface specification (``docs/feeds.md``).

    ``reader`` reads a file's bytes into rows and the context each row is judged in (the sender, or a CTF's
    Header); ``row_contract`` judges one row; ``columns`` is a CSV feed's header in order; ``suite`` names the
    batch checks in ``schemas/expectations``; ``release_context`` rebuilds a row's context when a quarantined
    row is released, the file being gone (the sender otherwise); ``sender_is_local_authority``: the sender code
    is a local authority's (the store finds a shielded child's ContactPoint team by it).
    """

    name: str
    extension: str
    description: str
    full_snapshot: bool
    reader: str
    row_contract: str
    suite: str
    columns: str | None = None
    release_context: str | None = None
    sender_is_local_authority: bool = False

    def read(self) -> Reader:
        """The feed's reader."""
        reader: Reader = resolve(self.reader)
        return reader

    def contract(self) -> RowContract:
        """The feed's row contract."""
        contract: RowContract = resolve(self.row_contract)
        return contract

    def header(self) -> tuple[str, ...]:
        """The columns a CSV file of this feed has, in order (none for an XML feed)."""
        return tuple(resolve(self.columns)) if self.columns else ()

    def context_for_release(self, sender: str, organisation: str | None) -> Any:
        """What a released row of this feed is judged in: what its file gave its rows."""
        if self.release_context is None:
            return sender
        rebuild: ReleaseContext = resolve(self.release_context)
        return rebuild(sender, organisation)


CSV = "connectors.parsers.csv_feed:read_csv_file"
FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed("school", "xml", "Common Transfer File from a school (one school's roll)", full_snapshot=True,
             reader="connectors.parsers.school_xml:read_ctf_file", row_contract="schemas.school:validate_pupil",
             suite="school", release_context="connectors.parsers.school_xml:ctf_header_of"),
        Feed("gp", "csv", "GP registrations (delta)", full_snapshot=False, reader=CSV,
             row_contract="schemas.gp:validate_gp_row", suite="gp", columns="schemas.gp:GP_COLUMNS"),
        Feed("connexions", "csv", "Connexions young people's advice service (snapshot per LA)", True, reader=CSV,
             row_contract="schemas.connexions:validate_connexions_row", suite="connexions",
             columns="schemas.connexions:CONNEXIONS_COLUMNS", sender_is_local_authority=True),
        Feed("ecaf", "xml", "Common Assessment notifications", full_snapshot=False,
             reader="connectors.parsers.ecaf_xml:read_ecaf_file", row_contract="schemas.ecaf:validate_ecaf_row",
             suite="ecaf"),
        Feed("ics", "csv", "Social care involvement notifications", full_snapshot=False, reader=CSV,
             row_contract="schemas.ics:validate_ics_row", suite="ics", columns="schemas.ics:ICS_COLUMNS",
             sender_is_local_authority=True),
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
