"""The pipeline's steps as plain functions: receive → load → acknowledge → link → publish, then retention
and the audit anchor. The one runner: the DAGs, the CLI and the tests call these (receiving in
``pipeline/receiving.py``, loading in ``pipeline/loading.py``, named here too).

Each step is idempotent and leaves every file in exactly one state (``received`` until loaded, then
``accepted``, ``accepted_with_errors`` or ``rejected``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol, TypeVar

from connectors.dropzone import DropZone
from connectors.feeds import FEEDS
from contactpoint import clock
from contactpoint.settings import get_settings
from matching.link import LinkSummary, keep_features, link_unlinked, relink_all
from pipeline.loading import (
    FileOutcome,
    describe_file_outcome,
    load,
    load_files,
    load_outcomes,
    log_file_outcome,
    senders_files,
)
from pipeline.receiving import acknowledge, open_dropzone, receive, sweep_landing
from warehouse.db import get_engine, transaction
from warehouse.models import keep_model
from warehouse.publish import PublishSummary, publish_directory
from warehouse.record_features import canonical_records
from warehouse.statistics import LINKED_TABLES, PUBLISHED_TABLES, STAGED_TABLES, analyze

__all__ = [
    "STAGED_TABLES", "FileOutcome", "RetentionOutcome", "TakenIn", "acknowledge", "analyze", "anchor_audit",
    "describe_file_outcome", "leave_directory", "link", "load", "load_files", "load_outcomes", "log_file_outcome",
    "open_dropzone", "publish", "receive", "relink", "retention", "run_feed", "senders_files", "sweep_landing",
    "take_in", "train_model",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


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
