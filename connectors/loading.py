"""Load one file into staging: validate each row, stage it, quarantine it, or withhold it.

The feed registry (``connectors/feeds.py``) names each feed's reader and row contract; this loop is the
same for every feed, so the receipt's sums (read = loaded + quarantined + withheld + out of scope) hold by
construction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from connectors.feeds import FEEDS
from connectors.parsers import FileRejected, ParsedRow
from contactpoint.settings import get_settings
from schemas.child import RowIssue, RowOutcome, SourceRecord
from schemas.expectations import ProfileCollector, check_file
from warehouse.intake import FileCounts, file_name_of, previous_file_rows, quarantine_row, record_issues
from warehouse.retention.door import out_of_scope_keys
from warehouse.staging import (
    Lineage,
    keep_earlier_starts,
    mark_snapshot_presence,
    republish_outvoted_addresses,
    stage_records,
    withdraw_record,
)

BATCH_SIZE = 1_000
WITHHELD = RowIssue("row", "withheld")
OUT_OF_SCOPE = RowIssue("row", "out of scope")  # not why: that would say the child was archived
DUPLICATE_KEY = RowIssue("source key", "the same child appears twice in this file; only the first is loaded")

RowValidator = Callable[[ParsedRow], RowOutcome]


@dataclass
class LoadResult:
    """Counts and dropped field names of one file's rows."""

    counts: FileCounts = field(default_factory=FileCounts)
    dropped_fields: Counter[str] = field(default_factory=Counter)
    batch_checks: dict[str, Any] = field(default_factory=dict)  # check name -> success, observed


def load_feed_file(conn: Connection, lineage: Lineage, path: Path, today: date) -> LoadResult:
    """Parse, validate and stage one file of its feed; a full snapshot's file also says who has left (the
    children its sender no longer lists). Rows the law keeps out are withheld (counted, never stored)."""
    feed = FEEDS[lineage.feed]
    extracted = lineage.extract_time.date()  # a date of birth after it is refused
    contract = feed.contract()
    with path.open("rb") as stream:
        parsed = feed.read()(stream, lineage.sender, feed.header())
        result = load_rows(conn, lineage, parsed.rows,
                           lambda row: contract(row.values, parsed.context, today, extracted), today=today)
    result.dropped_fields.update(parsed.dropped)
    if feed.full_snapshot:
        mark_snapshot_presence(conn, lineage)
    return result


def load_rows(conn: Connection, lineage: Lineage, rows: Iterable[ParsedRow], validate: RowValidator, *,
              today: date, docs_dir: Path | None = None) -> LoadResult:
    """Validate and stage rows in batches; raises FileRejected if the file as a whole fails its checks.

    Each file's data-quality report (HTML) is written to ``docs_dir``, by default
    ``<data dir>/data_docs/<feed>/``, where a data team can open it.

    A full snapshot lists each child once, so a repeated source key is quarantined. In a delta feed a
    later row about the same child (an ICS ``close`` after its ``open``) supersedes the earlier one.
    """
    snapshot = FEEDS[lineage.feed].full_snapshot
    result = LoadResult()
    profile = ProfileCollector(today)  # a few bytes a row, for the batch checks at the end
    batch: dict[str, tuple[int, SourceRecord]] = {}
    batch_warnings: dict[str, list[RowIssue]] = {}
    seen_keys: set[str] = set()

    def stage_batch() -> None:
        """Stage the batch, minus rows for children already gone from the directory (counted, never stored)."""
        door = [{"source_key": key, "date_of_birth": record.date_of_birth, "nhs_number": record.nhs_number,
                 "upn": record.upn, "consent_extend_to_19": record.consent_extend_to_19,
                 "extend_to_25": record.extend_to_25} for key, (_, record) in batch.items()]
        for key in out_of_scope_keys(conn, lineage.feed, door, today) if door else ():
            row_number, _ = batch.pop(key)
            result.counts.loaded -= 1
            result.counts.out_of_scope += 1
            if batch_warnings.pop(key, None):
                result.counts.warned -= 1
            record_issues(conn, lineage.file_id, row_number, "out_of_scope", [OUT_OF_SCOPE])
        for key, (row_number, _) in batch.items():
            if key in batch_warnings:
                record_issues(conn, lineage.file_id, row_number, "warning", batch_warnings.pop(key))
        staged = list(batch.values())
        stage_records(conn, lineage, staged)
        if not snapshot:
            keep_earlier_starts(conn, lineage, staged)
        republish_outvoted_addresses(conn, lineage, list(batch))
        batch.clear()
    for row in rows:
        result.counts.read += 1
        result.dropped_fields.update(set(row.dropped))
        outcome = validate(row)
        if outcome.withheld:
            # Counted and listed by row number only: the receipt must not say why (that would disclose it).
            result.counts.withheld += 1
            record_issues(conn, lineage.file_id, row.row_number, "withheld", [WITHHELD])
            if outcome.withdraws:
                withdraw_record(conn, lineage, outcome.withdraws)
            profile.add(row.row_number, "withheld")  # its number only: nothing about it is kept
            continue
        record = outcome.record
        if record is not None and snapshot and record.source_key in seen_keys:
            outcome.errors.append(DUPLICATE_KEY)
            profile.add(row.row_number, "quarantined", record)  # keeps the repeated key
            record = None
        elif record is None:
            profile.add(row.row_number, "quarantined")
        if record is None:
            result.counts.quarantined += 1
            quarantine_row(conn, lineage.file_id, row.row_number, row.values, outcome.errors)
            continue
        if snapshot:
            seen_keys.add(record.source_key)
        result.counts.loaded += 1
        profile.add(row.row_number, "warned" if outcome.warnings else "loaded", record, outcome.warnings)
        # One statement cannot update a row twice: stage the earlier row first, so the upsert applies
        # the later one over it (same extract, later statement) exactly as it would across files.
        if record.source_key in batch or len(batch) >= BATCH_SIZE:
            stage_batch()
        if outcome.warnings:
            result.counts.warned += 1
            batch_warnings[record.source_key] = outcome.warnings
        batch[record.source_key] = (row.row_number, record)
    stage_batch()
    verdict = check_file(FEEDS[lineage.feed].suite, profile.frame(), previous_rows=previous_file_rows(conn, lineage),
                         docs_dir=docs_dir or get_settings().data_dir / "data_docs" / lineage.feed,
                         file_label=f"{lineage.feed}_{lineage.sender}_{lineage.file_id}",
                         file_name=file_name_of(conn, lineage.file_id))
    if not verdict.passed:
        raise FileRejected("; ".join(verdict.reasons))
    result.batch_checks = verdict.results
    return result
