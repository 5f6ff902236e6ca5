"""Backfill and replay: the whole pipeline on one drop-zone folder, and one sender's fixed file.

``ingest_folder`` runs every feed's receive → load → acknowledge on ``DIR/inbound/<feed>/`` (receipts in
``DIR/outbound/<feed>/``, files moved to ``processed/`` or ``rejected/`` as the feed spec says), then links
and publishes once. Bytes already received are acknowledged as duplicates and never loaded twice, so a
second run over the same folder, or over the same files dropped again, loads nothing new.

``replay_file`` puts a sender's corrected file through the same steps on behalf of a file the hub
rejected, and audits who replayed it, why, and what became of it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from sqlalchemy import Connection

from connectors.dropzone import FolderDropZone
from connectors.feeds import FEEDS, parse_file_name
from connectors.landing import sha256_of
from contactpoint.roles import Role
from matching.link import LinkSummary
from pipeline import steps
from warehouse import audit
from warehouse.corrections import data_team_member
from warehouse.db import retrying, transaction
from warehouse.intake import known_bytes
from warehouse.publish import PublishSummary
from warehouse.runs import FeedCounts, feed_counts, newest_file_named, watermarks
from warehouse.steward_actions import NotEntitled

DATA_TEAM_ROLE = Role.DATA_TEAM


@dataclass
class IngestSummary:
    """Per-feed counts, then what linking and publishing did."""

    feeds: list[FeedCounts] = field(default_factory=list)
    link: LinkSummary | None = None
    publish: PublishSummary | None = None
    archived: int = 0  # children a file of this run took past their leave date

    @property
    def loaded(self) -> int:
        """Rows loaded across every feed."""
        return sum(f.loaded for f in self.feeds)


def ingest_feed(feed: str, zone: FolderDropZone) -> FeedCounts:
    """Receive, load and acknowledge one feed's files in ``zone`` (no linking)."""
    with transaction() as conn:
        since = watermarks(conn)
    # Each step is idempotent, so a dropped connection costs a retry of the step, not the run.
    taken = steps.take_in(feed, zone, workers=None, attempt=retrying)
    with transaction() as conn:
        return feed_counts(conn, feed, since, taken.file_ids, taken.receipts)


# Whether a GP row of a young adult is in scope depends on the other feeds' records of the same person
# being linked to a child the directory holds (a care leaver an ICS file keeps in scope to 25), and GP, a
# delta feed, never sends the row again: GP is loaded last, after the other feeds' records are linked.
LAST_FEED = "gp"


def _added(first: LinkSummary | None, second: LinkSummary) -> LinkSummary:
    """One run's two linking passes as one summary."""
    if first is None:
        return second
    total = replace(second)
    for f in fields(LinkSummary):
        if isinstance(value := getattr(second, f.name), int):
            setattr(total, f.name, value + getattr(first, f.name))
    total.by_method = dict(Counter(first.by_method) + Counter(second.by_method))
    return total


def ingest_folder(root: Path, run_id: str) -> IngestSummary:
    """Every feed of the folder drop zone at ``root`` (GP last, after the others are linked), then linking
    and one publish, after which children a file took past their leave date leave the directory."""
    if not root.is_dir():
        raise FileNotFoundError(f"no drop-zone folder at {root}")
    zone = FolderDropZone(root)
    summary = IngestSummary(feeds=[ingest_feed(feed, zone) for feed in FEEDS if feed != LAST_FEED])
    before_gp = None
    if zone.list_complete(LAST_FEED):
        before_gp = retrying("link", lambda: steps.link(f"{run_id}-before-{LAST_FEED}"))
    summary.feeds.append(ingest_feed(LAST_FEED, zone))
    summary.link = _added(before_gp, retrying("link", lambda: steps.link(run_id)))
    summary.publish = retrying("publish", steps.publish)
    summary.archived = retrying("age-out", steps.leave_directory)
    return summary


class ReplayRefused(ValueError):
    """A replay the hub will not do, and why."""


@dataclass(frozen=True)
class ReplayOutcome:
    """The rejected file, its replacement, and what became of the replacement."""

    rejected_file_id: int
    rejected_file_name: str
    file_id: int
    file_name: str
    status: str
    counts: FeedCounts


def _rejected_file(conn: Connection, replaces: str) -> tuple[int, str, str, str | None]:
    found = newest_file_named(conn, replaces)
    if found is None:
        raise ReplayRefused(f"no file {replaces!r} was ever received")
    if found.status != "rejected":
        raise ReplayRefused(f"{found.file_name} was not rejected ({found.status}): nothing to replay")
    return int(found.file_id), str(found.file_name), str(found.feed), found.sender


def replay_file(path: Path, *, replaces: str, reason: str, dropzone_root: Path, run_id: str, by: str | None = None,
                session: str | None = None) -> ReplayOutcome:
    """Load the sender's fixed file ``path`` in place of the rejected file ``replaces`` (name or id).

    The new file goes through the drop zone at ``dropzone_root`` like any delivery (receipt to the
    sender's ``outbound/``), then linking and publishing; the replay is audited with who, why and the
    outcome. The same bytes as the rejected file are refused: only a fixed file can be replayed. Who: the
    data team member ``session`` signs in (or, for the hub's tools, ``by`` names), as the database finds them.
    """
    if not reason.strip():
        raise ReplayRefused("a replay needs a reason")
    if not path.is_file():
        raise ReplayRefused(f"no file at {path}")
    with transaction() as conn:
        rejected_id, rejected_name, feed, sender = _rejected_file(conn, replaces)
    try:
        name = parse_file_name(path.name)
    except ValueError as error:
        raise ReplayRefused(str(error)) from None
    if name.feed != feed or (sender is not None and name.sender != sender):
        raise ReplayRefused(f"{path.name} is not from the sender of {rejected_name} ({feed}, {sender})")
    if path.name == rejected_name:
        raise ReplayRefused("the fixed file needs a new name (a later extract time or sequence), as the spec says")

    digest = sha256_of(path)
    with transaction() as conn:
        seen = known_bytes(conn, digest)
    if seen is not None:
        raise ReplayRefused(f"{path.name} holds the same bytes as {seen.file_name}, already received: "
                            "ask the sender for a fixed file")

    with transaction() as conn:
        try:
            by = data_team_member(conn, session=session, by=by)
        except NotEntitled as refused:
            raise ReplayRefused(str(refused)) from None
    zone = FolderDropZone(dropzone_root)
    zone.upload(feed, path.name, path)
    counts = ingest_feed(feed, zone)
    with transaction() as conn:
        new = known_bytes(conn, digest)
        assert new is not None  # ingest_feed has registered the bytes
        audit.append(conn, username=by, role=DATA_TEAM_ROLE, action="file_replayed", purpose=reason.strip(),
                     detail={"feed": feed, "rejected_file_id": rejected_id, "file_id": int(new.file_id),
                             "status": str(new.status), "rows_loaded": counts.loaded,
                             "rows_quarantined": counts.quarantined})
    steps.link(run_id)
    steps.publish()
    return ReplayOutcome(rejected_id, rejected_name, int(new.file_id), str(new.file_name), str(new.status), counts)
