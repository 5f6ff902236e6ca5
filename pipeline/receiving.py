"""Receiving and acknowledging: the drop zone's side of the pipeline.

``receive`` lands and registers every complete file of a feed (answering duplicates and refused files at once);
``acknowledge`` delivers the receipts the store holds and moves their files out of ``inbound/``. Both are
idempotent and serialised per drop zone and feed, so a crash anywhere is finished by the next run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from connectors.dropzone import DropZone, FolderDropZone, IncomingFile, printable_name, receipt_stem
from connectors.feeds import FEEDS, parse_file_name
from connectors.landing import ChecksumMismatch, abandoned_partials, land, landed_copies
from contactpoint.settings import get_settings
from warehouse.db import advisory_lock, transaction
from warehouse.intake import (
    FileCounts,
    duplicate_receipt,
    finish_file,
    known_bytes,
    landed_copies_needed,
    mark_receipt_delivered,
    mark_refusal_delivered,
    receipts_to_deliver,
    record_refusal,
    refusals_to_deliver,
    register_feed,
    register_file,
    waiting_files,
)

log = logging.getLogger(__name__)
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
    with transaction() as conn:  # a feed new in the registry needs no migration (migration 0020)
        register_feed(conn, feed, sender_is_local_authority=FEEDS[feed].sender_is_local_authority)
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
