"""The pipeline's steps as plain functions: receive → load → link → publish → acknowledge.

DAGs and the CLI call these; each step is idempotent and leaves every file in exactly one state
(``received`` until loaded, then ``accepted``, ``accepted_with_errors`` or ``rejected``).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy.exc import DBAPIError

from connectors.dropzone import DropZone, FolderDropZone, IncomingFile, printable_name, receipt_stem
from connectors.feeds import FEEDS, parse_file_name
from connectors.landing import ChecksumMismatch, abandoned_partials, land, landed_copies
from connectors.loading import load_feed_file
from connectors.parsers import FileRejected
from contactpoint import clock
from contactpoint.logs import configure_logging
from contactpoint.settings import get_settings
from matching.link import LinkSummary, keep_features, link_unlinked, relink_all
from warehouse.db import advisory_lock, database_url, get_engine, transaction
from warehouse.intake import (
    FileCounts,
    claim_received,
    duplicate_receipt,
    feeds_and_senders,
    finish_file,
    known_bytes,
    landed_copies_needed,
    mark_receipt_delivered,
    mark_refusal_delivered,
    receipts_to_deliver,
    record_refusal,
    refusals_to_deliver,
    register_file,
    waiting_files,
)
from warehouse.models import keep_model
from warehouse.publish import PublishSummary, publish_directory
from warehouse.record_features import canonical_records
from warehouse.staging import Lineage
from warehouse.statistics import LINKED_TABLES, PUBLISHED_TABLES, STAGED_TABLES, analyze

log = logging.getLogger(__name__)
T = TypeVar("T")
LANDING_LOCK = "landing folder"  # receiving holds it shared; the sweep of crash leftovers needs it alone

@contextmanager
def open_dropzone(dropzone: DropZone | None = None) -> Iterator[DropZone]:
    """The given drop zone, else the configured one: SFTP when an Airflow connection is named, else
    the folder drop zone. An SFTP connection opened here is closed on leaving."""
    if dropzone is not None:
        yield dropzone
        return
    settings = get_settings()
    if settings.sftp_conn_id:
        from connectors.sftp import SftpDropZone  # paramiko only when SFTP is configured

        with SftpDropZone.from_airflow_connection(settings.sftp_conn_id) as sftp:
            yield sftp
    else:
        yield FolderDropZone(settings.dropzone)


def _receipt_bytes(body: Mapping[str, object]) -> bytes:
    return json.dumps(body, indent=2, sort_keys=True).encode()


def _zone_lock(zone: DropZone, feed: str) -> AbstractContextManager[bool]:
    """One receive or acknowledge at a time per drop zone and feed, across processes sharing the store: a
    concurrent run never answers a file another has in hand, nor takes a re-sent file for one in flight."""
    return advisory_lock(f"dropzone {zone.identity} {feed}")


def receive(feed: str, dropzone: DropZone | None = None) -> list[int]:
    """Land and register every file of ``feed``; answer duplicates and refused files at once.

    Returns the ids of this feed's files from this drop zone waiting to be loaded (including any a crashed
    run left).
    """
    with open_dropzone(dropzone) as zone:
        sweep_landing()
        with _zone_lock(zone, feed), advisory_lock(LANDING_LOCK, shared=True):
            _receive(feed, zone)
        with transaction() as conn:
            waiting = waiting_files(conn, feed, zone.identity)
    log.info("%s: %d file(s) waiting to be loaded", feed, len(waiting))
    return waiting


def sweep_landing() -> None:
    """Remove what a crash left in the landing folder: partial downloads of dead processes, and copies no
    file still needs (answered, or never registered). Skipped while any other run is landing files."""
    landing = get_settings().landing_dir
    with advisory_lock(LANDING_LOCK, wait=False) as alone:
        if not alone:
            return
        for partial in abandoned_partials(landing):
            log.info("removing a partial download a crashed run left: %s", partial.name)
            partial.unlink(missing_ok=True)
        copies = landed_copies(landing)
        if copies:
            with transaction() as conn:
                needed = landed_copies_needed(conn, copies)
            for digest in set(copies) - needed:
                (landing / digest).unlink(missing_ok=True)


def _receive(feed: str, dropzone: DropZone) -> None:
    landing = get_settings().landing_dir
    complete = dropzone.list_complete(feed)
    log.info("%s: %d complete file(s) in the drop zone", feed, len(complete))
    for incoming in complete:
        try:
            _receive_one(feed, dropzone, incoming, landing)
        except (ConnectionError, DBAPIError):
            raise  # the drop zone or the store is gone: no later file would fare better
        except Exception as exc:
            # One file the hub cannot handle must never stop the others: it stays in inbound/ for the next run.
            log.error("%s/%s: not received: %s", feed, printable_name(incoming.name), exc, exc_info=True)


def _receive_one(feed: str, dropzone: DropZone, incoming: IncomingFile, landing: Path) -> None:
    if incoming.refusal:
        _refuse(feed, dropzone, incoming, incoming.refusal)
        return
    try:
        landed = land(dropzone, incoming, landing)
    except ChecksumMismatch as exc:
        _refuse(feed, dropzone, incoming, str(exc), sha256=exc.digest)
        return
    except FileNotFoundError:
        return  # moved by a concurrent run, or withdrawn by the sender, between listing and reading
    except ConnectionError:
        raise
    except OSError as exc:
        _refuse(feed, dropzone, incoming, f"the hub could not read the file: {exc.strerror or exc}")
        return
    with transaction() as conn:
        known = known_bytes(conn, landed.sha256)
        if known is not None and known.file_name == incoming.name and not known.answered:
            return  # a crashed run left this file unanswered: load() and acknowledge() finish it
        try:
            name = parse_file_name(incoming.name)
            bad_name = None if name.feed == feed else f"a {name.feed} file sent to the {feed} feed"
        except ValueError as exc:
            name, bad_name = None, str(exc)
        registration = register_file(
            conn, feed=feed, file_name=incoming.name, sha256=landed.sha256, size=landed.size,
            sender=name.sender if name else None, extract_time=name.extract_time if name else None,
            sequence=name.sequence if name else None, dropzone=dropzone.identity,
        )
        if not registration.duplicate:
            log.info("%s file %s received (%d bytes, sha256 %s)", feed, printable_name(incoming.name), landed.size,
                     landed.sha256[:12])
        if registration.duplicate:
            # Another drop zone's run may have registered the bytes since we looked.
            known = known or known_bytes(conn, landed.sha256)
            assert known is not None
            if known.file_name == incoming.name and known.receipt is not None:
                # The same file sent again under its own name: its receipt stands, never overwritten.
                body = known.receipt
            else:
                body = duplicate_receipt(conn, registration.file_id, incoming.name)
        elif bad_name:
            finish_file(conn, registration.file_id, counts=FileCounts(), status="rejected",
                        reason=bad_name, dropped_fields={})
    if registration.duplicate and known is not None:
        log.info("%s: duplicate of a file already received", incoming.name)
        dropzone.deliver_receipt(feed, incoming.name, _receipt_bytes(body))
        dropzone.archive(incoming, accepted=known.status != "rejected")
        if known.answered:
            landed.path.unlink(missing_ok=True)  # the original no longer needs its bytes: no copy stays


def _refuse(feed: str, dropzone: DropZone, incoming: IncomingFile, reason: str, sha256: str | None = None) -> None:
    """Answer a file the hub will not read (or whose bytes are not what the sender said) and move it to rejected/."""
    shown = printable_name(incoming.name)
    log.warning("%s/%s: rejected: %s", feed, shown, reason)
    with transaction() as conn:
        refusal_id, body = record_refusal(
            conn, dropzone=dropzone.identity, feed=feed, name_bytes=incoming.name.encode("utf-8", "surrogateescape"),
            file_name=shown, receipt_name=receipt_stem(incoming.name), reason=reason, sha256=sha256)
    _answer_refusal(feed, dropzone, refusal_id, incoming.name, body)


def _answer_refusal(feed: str, dropzone: DropZone, refusal_id: int, name: str, body: Mapping[str, object]) -> None:
    dropzone.deliver_receipt(feed, name, _receipt_bytes(body))
    dropzone.archive(IncomingFile(feed, name, 0), accepted=False)
    with transaction() as conn:
        mark_refusal_delivered(conn, refusal_id)


@dataclass(kw_only=True)
class FileOutcome(FileCounts):
    """One file's terminal state and counts (small enough for XCom)."""

    file_id: int
    file_name: str
    status: str
    reason: str | None = None


def load(file_id: int) -> FileOutcome | None:
    """Load one registered file in one transaction; None if another worker already did."""
    started = time.monotonic()
    with transaction() as conn:
        f = claim_received(conn, file_id)
        if f is None:
            return None
        lineage = Lineage(f.feed, f.sender, f.file_id, f.extract_time, f.sequence)
        path = get_settings().landing_dir / f.sha256.strip()
        savepoint = conn.begin_nested()
        try:
            if f.feed not in FEEDS:
                raise FileRejected(f"the {f.feed} feed is not accepted yet")
            result = load_feed_file(conn, lineage, path, clock.today())
            savepoint.commit()
            counts, reason = result.counts, None
            status = "accepted_with_errors" if counts.quarantined or counts.warned else "accepted"
            dropped = dict(result.dropped_fields)
        except FileRejected as exc:
            savepoint.rollback()  # nothing of a rejected file stays staged or quarantined
            counts, reason, status, dropped = FileCounts(), str(exc), "rejected", {}
        except Exception:
            # The file stays 'received' (the transaction rolls back); the next try loads it again.
            log.exception("%s file %s (file %d) failed to load after %.1f s", f.feed, f.file_name, file_id,
                          time.monotonic() - started)
            raise
        finish_file(conn, file_id, counts=counts, status=status, reason=reason, dropped_fields=dropped)
    log_file_outcome(f.feed, f.file_name, status, counts, reason, time.monotonic() - started)
    return FileOutcome(**asdict(counts), file_id=file_id, file_name=f.file_name, status=status, reason=reason)


def describe_file_outcome(feed: str, file_name: str, status: str, counts: FileCounts, reason: str | None,
                          seconds: float) -> str:
    """One line a data team reads in a task log: the file, its feed, what became of its rows, how long."""
    if status == "rejected":
        return f"{feed} file {file_name}: rejected in {seconds:.1f} s: {reason}"
    return (f"{feed} file {file_name}: {status}, {counts.read:,} rows read, {counts.loaded:,} loaded, "
            f"{counts.quarantined:,} quarantined, {counts.withheld:,} withheld, {counts.out_of_scope:,} out of scope, "
            f"{counts.warned:,} loaded with warnings, in {seconds:.1f} s")


def log_file_outcome(feed: str, file_name: str, status: str, counts: FileCounts, reason: str | None,
                     seconds: float) -> None:
    """Log a file's outcome: a rejected file as a warning, anything else as information."""
    line = describe_file_outcome(feed, file_name, status, counts, reason, seconds)
    log.log(logging.WARNING if status == "rejected" else logging.INFO, "%s", line)


def load_files(file_ids: list[int], workers: int | None = None, *, analyze_after: bool = True
               ) -> list[dict[str, object]]:
    """Load each file; the outcomes as plain dicts (for XCom and summaries), in the order given."""
    return [asdict(o) for o in load_outcomes(file_ids, workers, analyze_after=analyze_after)]


def load_outcomes(file_ids: list[int], workers: int | None = None, *, analyze_after: bool = True
                  ) -> list[FileOutcome]:
    """Load each file; the outcomes in the order given (files another worker loaded are left out).

    With more than one worker, files are parsed, validated and staged by a pool of processes while
    PostgreSQL writes, so both cores work. Files of one feed run side by side (their source keys are
    the sender's own); feeds keep the registry's order, and one sender's files keep theirs, so the
    outcome is the one a single process gives.
    """
    workers = _workers(workers, len(file_ids))
    if workers <= 1:
        outcomes = _load_senders_files(file_ids)
    else:
        outcomes = _load_in_pool(file_ids, workers)
    if file_ids and analyze_after:
        analyze(STAGED_TABLES)
    return outcomes


def _workers(asked: int | None, files: int) -> int:
    configured = asked if asked is not None else get_settings().load_workers
    return min(files, configured or os.cpu_count() or 1)


def _files_by_feed_and_sender(file_ids: list[int]) -> dict[str, dict[str, list[int]]]:
    """Files by feed (in the registry's order), then by sender, each sender's files in the order given."""
    with transaction() as conn:
        where = feeds_and_senders(conn, file_ids)
    order = {feed: i for i, feed in enumerate(FEEDS)}
    by_feed: dict[str, dict[str, list[int]]] = {}
    for file_id in file_ids:
        feed, sender = where.get(file_id, ("", ""))
        by_feed.setdefault(feed, {}).setdefault(sender, []).append(file_id)
    return {feed: by_feed[feed] for feed in sorted(by_feed, key=lambda f: order.get(f, len(order)))}


def senders_files(file_ids: list[int]) -> list[list[int]]:
    """One feed's files grouped by sender: the units loaded side by side (a DAG maps a task over them)."""
    return [files for senders in _files_by_feed_and_sender(file_ids).values() for files in senders.values()]


def _load_in_pool(file_ids: list[int], workers: int) -> list[FileOutcome]:
    by_feed = _files_by_feed_and_sender(file_ids)
    done: dict[int, FileOutcome] = {}
    # Fresh interpreters, not forks: by now this process may run other threads (DuckDB's, after a link),
    # and a fork copies their locks mid-use (seen: lxml crashing in a forked loader).
    context = multiprocessing.get_context("spawn")
    with _importable_main(), ProcessPoolExecutor(workers, mp_context=context, initializer=_pool_worker,
                                                 initargs=(database_url(),)) as pool:
        for senders in by_feed.values():
            for outcomes in pool.map(_load_senders_files, senders.values()):
                done.update({o.file_id: o for o in outcomes})
    return [done[i] for i in file_ids if i in done]


@contextmanager
def _importable_main() -> Iterator[None]:
    """A spawned worker re-imports the parent's ``__main__`` from its file; a host whose ``__main__`` names
    no file (pytest-xdist's workers) would make that fail, so such a name is hidden while workers start."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or os.path.isfile(path):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _pool_worker(url: str) -> None:
    os.environ["CONTACTPOINT_DATABASE_URL"] = url  # the parent's store (an embedded server is not started twice)
    get_settings.cache_clear()
    configure_logging()


def _load_senders_files(file_ids: list[int]) -> list[FileOutcome]:
    return [o for o in (load(i) for i in file_ids) if o is not None]


def link(run_id: str) -> LinkSummary:
    """Link every record without a child (the nightly delta)."""
    started = time.monotonic()
    with transaction() as conn:  # committed first: the Spark link step's executors read them from the store
        keep_features(conn)
    with transaction() as conn:
        summary = link_unlinked(conn, run_id, backend=get_settings().link_backend)
    if summary.records:
        analyze(LINKED_TABLES)
    log_link(summary, time.monotonic() - started)
    return summary


def log_link(summary: LinkSummary, seconds: float) -> None:
    """What a linking run did, in one line."""
    log.info("link (%s): %d records linked in %.1f s: %d joined an existing child, %d new children, %d children "
             "merged, %d pairs for review", summary.mode, summary.records, seconds, summary.joined_existing,
             summary.new_children, summary.children_merged, summary.review_pairs)


def relink(run_id: str, backend: str | None = None) -> LinkSummary:
    """Link every record afresh (IDs carry over by maximum overlap)."""
    started = time.monotonic()
    with transaction() as conn:
        keep_features(conn)
    with transaction() as conn:
        summary = relink_all(conn, run_id, backend=backend or get_settings().link_backend)
    log_link(summary, time.monotonic() - started)
    analyze(LINKED_TABLES)
    return summary


def train_model(out: Path | None = None) -> str:
    """Estimate the model from the staged records; keep it in the store unpromoted, or write it out."""
    from matching.features import features_frame
    from matching.model import save_model, train

    with transaction() as conn:
        records = list(canonical_records(conn))
    model = train(features_frame(records))
    version = f"{model['linker_uid']}-{clock.now():%Y%m%dT%H%M%S}"
    if out is not None:
        save_model(model, out)
        return version
    with transaction() as conn:
        keep_model(conn, version, model)
    return version


def publish() -> PublishSummary:
    """Publish what changed to the directory."""
    started = time.monotonic()
    with transaction() as conn:
        summary = publish_directory(conn)
    log.info("publish: %d children considered, %d written (%d carers, %d involvements), %d rows removed, in %.1f s",
             summary.children_considered, summary.children_written, summary.carers_written,
             summary.involvements_written, summary.rows_removed, time.monotonic() - started)
    if summary.children_considered:
        analyze(PUBLISHED_TABLES)
    return summary


def acknowledge(feed: str, dropzone: DropZone | None = None) -> int:
    """Deliver this drop zone's receipts not yet delivered and move their files out of ``inbound/``;
    returns how many."""
    with open_dropzone(dropzone) as zone, _zone_lock(zone, feed):
        return _acknowledge(feed, zone)


def _acknowledge(feed: str, dropzone: DropZone) -> int:
    with transaction() as conn:
        pending = receipts_to_deliver(conn, feed, dropzone.identity)
        refused = refusals_to_deliver(conn, feed, dropzone.identity)
    for p in pending:
        dropzone.deliver_receipt(feed, p.file_name, _receipt_bytes(p.body))
        dropzone.archive(IncomingFile(feed, p.file_name, p.size_bytes), accepted=p.status != "rejected")
        with transaction() as conn:
            mark_receipt_delivered(conn, p.file_id)
        log.info("%s file %s: receipt (%s) delivered to outbound/%s/, file moved to %s/", feed, p.file_name,
                 p.status, feed, "rejected" if p.status == "rejected" else "processed")
        # The landed copy may hold what a feed must not send (a CTF's attainment): gone once answered.
        (get_settings().landing_dir / p.sha256.strip()).unlink(missing_ok=True)
    for r in refused:  # refusals a crash kept from being answered
        _answer_refusal(feed, dropzone, r.refusal_id, bytes(r.name_bytes).decode("utf-8", "surrogateescape"), r.body)
    return len(pending) + len(refused)


class Attempt(Protocol):
    """How a step is tried: once, or again when the connection drops (``warehouse.db.retrying``)."""

    def __call__(self, what: str, operation: Callable[[], T], /) -> T: ...


def _once(_: str, operation: Callable[[], T]) -> T:
    return operation()


@dataclass
class TakenIn:
    """What receiving, loading and acknowledging one feed's files came to."""

    file_ids: list[int]
    outcomes: list[FileOutcome]
    receipts: int


def take_in(feed: str, dropzone: DropZone | None = None, *, workers: int | None = 1, analyze_after: bool = True,
            attempt: Attempt = _once) -> TakenIn:
    """Receive, load and acknowledge one feed's files (no linking): what a feed's DAG does, in one call.

    Each step is idempotent, so ``attempt`` may run one again (a file already loaded is skipped)."""
    file_ids = attempt(f"receive {feed}", lambda: receive(feed, dropzone))
    outcomes = attempt(f"load {feed}", lambda: load_outcomes(file_ids, workers, analyze_after=analyze_after))
    receipts = attempt(f"acknowledge {feed}", lambda: acknowledge(feed, dropzone))
    return TakenIn(file_ids, outcomes, receipts)


def run_feed(feed: str, run_id: str, dropzone: DropZone | None = None) -> list[FileOutcome]:
    """Every step for one feed, in order, outside Airflow (tests, backfills)."""
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}")
    taken = take_in(feed, dropzone, analyze_after=False)
    link(run_id)
    publish()
    return taken.outcomes


@dataclass
class RetentionOutcome:
    """One retention pass (small enough for XCom): who left the directory and by which rule, what was destroyed."""

    as_of: str
    archived: int
    archived_by_rule: dict[str, int]
    destroyed: int
    rows_destroyed: int
    tables_rewritten: list[str]


def leave_directory(as_of: date | None = None) -> int:
    """After a publish: archive every child a later file has taken past their leave date (a death, a move
    out of England, an age limit), so no one stays published until the nightly retention run. Returns how many."""
    from warehouse.retention.archive import age_out

    return len(age_out(get_engine(), as_of or clock.today()).archived)


def retention(as_of: date | None = None) -> RetentionOutcome:
    """The daily retention pass: age-out into the archive, then destroy what has had its six years."""
    from warehouse.retention.archive import age_out
    from warehouse.retention.destroy import destroy_due

    day = as_of or clock.today()
    engine = get_engine()
    aged = age_out(engine, day)
    destroyed = destroy_due(engine, day)
    log.info("retention %s: %d children moved to the archive %s, %d destroyed (%d rows)", day.isoformat(),
             len(aged.archived), aged.by_reason(), destroyed.destroyed, sum(destroyed.rows_removed.values()))
    return RetentionOutcome(day.isoformat(), len(aged.archived), aged.by_reason(), destroyed.destroyed,
                            sum(destroyed.rows_removed.values()), destroyed.tables_rewritten)


def anchor_audit(path: Path | None = None) -> dict[str, object]:
    """Anchor the audit chain's head outside the database (the anchors file, appended and fsynced), after
    verifying the chain; the ``audit_anchor`` DAG runs it every hour, so whoever can rewrite the database
    can rewrite at most the entries of the last hour unnoticed."""
    from warehouse.audit import anchor_head, default_anchors_path

    target = path or default_anchors_path()
    with transaction() as conn:
        anchor = anchor_head(conn, target)
    return {"path": str(target), "entry_id": anchor.entry_id if anchor else None,
            "entry_hash": anchor.entry_hash if anchor else None}
