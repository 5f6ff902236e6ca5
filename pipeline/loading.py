"""Loading: each registered file parsed, validated and staged in one transaction, alone or in a pool.

A file ends in exactly one state (``accepted``, ``accepted_with_errors`` or ``rejected``); one that fails for
another reason stays ``received`` and is loaded again by the next try.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from connectors.feeds import FEEDS
from connectors.loading import load_feed_file
from connectors.parsers import FileRejected
from contactpoint import clock
from contactpoint.logs import configure_logging
from contactpoint.settings import get_settings
from warehouse.db import database_url, transaction
from warehouse.intake import FileCounts, claim_received, feeds_and_senders, finish_file
from warehouse.staging import Lineage
from warehouse.statistics import STAGED_TABLES, analyze

log = logging.getLogger(__name__)


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
