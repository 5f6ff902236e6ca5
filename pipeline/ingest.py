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

from sqlalchemy import Connection, text

from connectors.dropzone import FolderDropZone
from connectors.feeds import FEEDS, parse_file_name
from connectors.landing import sha256_of
from contactpoint.roles import Role
from matching.link import LinkSummary
from pipeline import steps
from warehouse import audit
from warehouse.corrections import data_team_member
from warehouse.db import retrying, transaction
from warehouse.publish import PublishSummary
from warehouse.steward_actions import NotEntitled

DATA_TEAM_ROLE = Role.DATA_TEAM


@dataclass
class FeedCounts:
    """What one feed's files came to in one run (the ``files`` include rejected ones, not duplicates)."""

    feed: str
    files: int = 0
    rejected: int = 0
    duplicates: int = 0
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    withheld: int = 0
    out_of_scope: int = 0
    warned: int = 0
    receipts: int = 0


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


def _watermarks(conn: Connection) -> tuple[int, int]:
    row = conn.execute(text("""
        SELECT (SELECT coalesce(max(file_id), 0) FROM intake.file),
               (SELECT coalesce(max(delivery_id), 0) FROM intake.duplicate_delivery)""")).one()
    return int(row[0]), int(row[1])


def _feed_counts(conn: Connection, feed: str, files_after: int, deliveries_after: int,
                 loaded_ids: list[int], receipts: int) -> FeedCounts:
    """Counts of the files this run registered (or loaded: a crashed run's leftovers) and its duplicates."""
    row = conn.execute(text("""
        SELECT count(*) AS files, count(*) FILTER (WHERE status = 'rejected') AS rejected,
               coalesce(sum(rows_read), 0) AS read, coalesce(sum(rows_loaded), 0) AS loaded,
               coalesce(sum(rows_quarantined), 0) AS quarantined, coalesce(sum(rows_withheld), 0) AS withheld,
               coalesce(sum(rows_out_of_scope), 0) AS out_of_scope, coalesce(sum(rows_warned), 0) AS warned
        FROM intake.file WHERE feed = :feed AND (file_id > :after OR file_id = ANY(:loaded))"""),
        {"feed": feed, "after": files_after, "loaded": loaded_ids}).one()
    duplicates = conn.execute(text("""
        SELECT count(*) FROM intake.duplicate_delivery d JOIN intake.file f USING (file_id)
        WHERE f.feed = :feed AND d.delivery_id > :after"""), {"feed": feed, "after": deliveries_after}).scalar_one()
    return FeedCounts(feed, files=row.files, rejected=row.rejected, duplicates=int(duplicates), read=row.read,
                      loaded=row.loaded, quarantined=row.quarantined, withheld=row.withheld,
                      out_of_scope=row.out_of_scope, warned=row.warned,
                      receipts=receipts)


def ingest_feed(feed: str, zone: FolderDropZone) -> FeedCounts:
    """Receive, load and acknowledge one feed's files in ``zone`` (no linking)."""
    with transaction() as conn:
        files_after, deliveries_after = _watermarks(conn)
    # Each step is idempotent, so a dropped connection costs a retry of the step, not the run.
    file_ids = retrying(f"receive {feed}", lambda: steps.receive(feed, zone))
    retrying(f"load {feed}", lambda: steps.load_files(file_ids))  # a file already loaded is skipped
    receipts = retrying(f"acknowledge {feed}", lambda: steps.acknowledge(feed, zone))
    with transaction() as conn:
        return _feed_counts(conn, feed, files_after, deliveries_after, file_ids, receipts)


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
    found = conn.execute(text("""
        SELECT file_id, file_name, feed, sender, status FROM intake.file
        WHERE file_name = :name OR (:name ~ '^[0-9]{1,18}$' AND file_id = CAST(:name AS bigint))
        ORDER BY file_id DESC LIMIT 1"""), {"name": replaces}).one_or_none()
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
        seen = conn.execute(text("SELECT file_name FROM intake.file WHERE sha256 = :s"), {"s": digest}).scalar()
    if seen is not None:
        raise ReplayRefused(f"{path.name} holds the same bytes as {seen}, already received: "
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
        new = conn.execute(text("SELECT file_id, file_name, status FROM intake.file WHERE sha256 = :s"),
                           {"s": digest}).one()
        audit.append(conn, username=by, role=DATA_TEAM_ROLE, action="file_replayed", purpose=reason.strip(),
                     detail={"feed": feed, "rejected_file_id": rejected_id, "file_id": int(new.file_id),
                             "status": str(new.status), "rows_loaded": counts.loaded,
                             "rows_quarantined": counts.quarantined})
    steps.link(run_id)
    steps.publish()
    return ReplayOutcome(rejected_id, rejected_name, int(new.file_id), str(new.file_name), str(new.status), counts)
