"""The data team's commands: ``ingest DIR``, ``replay FILE``, ``quarantine list|release``.

Wiring only: the work is in ``pipeline.ingest``, ``pipeline.corrections`` and ``warehouse.operations``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from pathlib import Path
from typing import Any

from cli.usage import feed_name, positive_int
from pipeline.ingest import IngestSummary
from warehouse.runs import FeedCounts


def add_parsers(sub: Any) -> None:
    """Add the data team's subcommands to the ``contactpoint`` parser's subparsers."""
    ingest = sub.add_parser("ingest", help="the whole pipeline on a drop-zone folder (inbound/<feed>/...): backfill")
    ingest.add_argument("dir", type=Path, help="folder laid out as the feed spec's SFTP account")
    ingest.add_argument("--run-id", default=None, help="linking run id (default ingest-<unix time>)")

    replay = sub.add_parser("replay", help="load a sender's fixed file in place of a file the hub rejected")
    replay.add_argument("file", type=Path, help="the fixed file, named as the spec says (a new name)")
    replay.add_argument("--replaces", required=True, help="the rejected file's name or id")
    replay.add_argument("--reason", required=True, help="why (audited)")
    replay.add_argument("--by", default=None, help="the data team member acting (audited; an enabled data_team user, "
                        "default: your login name); "
                        "or sign in and put the session token in CONTACTPOINT_SESSION")
    replay.add_argument("--dropzone", type=Path, default=None, help="drop-zone folder (default: the configured one)")

    quarantine = sub.add_parser("quarantine", help="rows that could not be loaded: list them, release a corrected one")
    q_sub = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = q_sub.add_parser("list", help="file, row, field and reason of quarantined rows (never their values)")
    listing.add_argument("--feed", type=feed_name, default=None, help="only rows of this feed's files")
    listing.add_argument("--file-id", type=positive_int, default=None, help="only rows of this file")
    listing.add_argument("--released", action="store_true", help="include rows already released")
    listing.add_argument("--page", type=positive_int, default=1, help="page number (50 rows a page)")
    release = q_sub.add_parser("release", help="validate a corrected row, stage it, mark it released (audited)")
    release.add_argument("file_id", type=int)
    release.add_argument("row", type=int, help="row number, as the receipt lists it")
    release.add_argument("--set", dest="corrections", action="append", default=[], metavar="FIELD=VALUE",
                         help="a corrected value (repeat for several fields)")
    release.add_argument("--reason", required=True, help="why (audited)")
    release.add_argument("--by", default=None, help="the data team member acting (audited; an enabled data_team user, "
                        "default: your login name); "
                        "or sign in and put the session token in CONTACTPOINT_SESSION")


def _acting(args: argparse.Namespace) -> dict[str, str | None]:
    """Who acts: a signed-in data team member's session (``CONTACTPOINT_SESSION``: a token on the command
    line would show in the process list), else the member ``--by`` names (default: the login name)."""
    session = os.environ.get("CONTACTPOINT_SESSION") or None
    return {"session": session, "by": None if session else args.by or getpass.getuser()}


def _corrections(pairs: list[str]) -> dict[str, str]:
    corrections = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"--set takes FIELD=VALUE, not {pair!r}")
        corrections[name.strip()] = value
    return corrections


def print_feed_counts(feeds: list[FeedCounts]) -> None:
    """The per-feed table a data team reads after a run."""
    print(f"  {'feed':<11}{'files':>7}{'rejected':>10}{'duplicate':>11}{'read':>9}{'loaded':>9}"
          f"{'quarantined':>13}{'withheld':>10}{'out of scope':>14}{'warnings':>10}{'receipts':>10}")
    for f in feeds:
        print(f"  {f.feed:<11}{f.files:>7,}{f.rejected:>10,}{f.duplicates:>11,}{f.read:>9,}{f.loaded:>9,}"
              f"{f.quarantined:>13,}{f.withheld:>10,}{f.out_of_scope:>14,}{f.warned:>10,}{f.receipts:>10,}")


def _print_ingest(root: Path, summary: IngestSummary, seconds: float) -> None:
    print(f"ingested {root}")
    print_feed_counts(summary.feeds)
    if summary.link is not None:
        link = summary.link
        print(f"  linking: {link.records:,} new records, {link.joined_existing:,} joined a child, "
              f"{link.new_children:,} new children, {link.review_pairs:,} pairs for a steward")
    if summary.publish is not None:
        print(f"  directory: {summary.publish.children_written:,} children written, "
              f"{summary.publish.involvements_written:,} involvements, {summary.publish.carers_written:,} carers")
    if summary.archived:
        print(f"  left the directory (past their leave date): {summary.archived:,} children")
    print(f"  receipts: {root / 'outbound'}")
    print(f"  time taken: {seconds:.1f} s")


def cmd_ingest(args: argparse.Namespace) -> int:
    """Run every feed of a drop-zone folder, then link and publish."""
    from pipeline.ingest import ingest_folder
    from warehouse.migrate import ensure_store

    started = time.monotonic()
    if not args.dir.is_dir():
        print(f"no drop-zone folder at {args.dir}", file=sys.stderr)
        return 2
    ensure_store()  # a fresh data folder's embedded store is migrated; a configured one is checked
    try:
        summary = ingest_folder(args.dir, args.run_id or f"ingest-{int(time.time())}")
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    _print_ingest(args.dir, summary, time.monotonic() - started)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay a rejected file with the sender's fixed one."""
    from contactpoint.settings import get_settings
    from pipeline.ingest import ReplayRefused, replay_file

    try:
        outcome = replay_file(args.file, replaces=args.replaces, reason=args.reason, **_acting(args),
                              dropzone_root=args.dropzone or get_settings().dropzone,
                              run_id=f"replay-{int(time.time())}")
    except ReplayRefused as refused:
        print(f"not replayed: {refused}", file=sys.stderr)
        return 1
    print(f"{outcome.file_name} (file {outcome.file_id}) replaces {outcome.rejected_file_name} "
          f"(file {outcome.rejected_file_id}): {outcome.status}")
    print_feed_counts([outcome.counts])
    return 0 if outcome.status != "rejected" else 1


def cmd_quarantine(args: argparse.Namespace) -> int:
    """List quarantined rows, or release a corrected one (then link and publish)."""
    from contactpoint import clock
    from pipeline import steps as pipeline
    from pipeline.corrections import ReleaseRefused, release_quarantined_row
    from warehouse.db import transaction
    from warehouse.operations import quarantined_rows

    if args.quarantine_command == "list":
        with transaction() as conn:
            page = quarantined_rows(conn, feed=args.feed, file_id=args.file_id, include_released=args.released,
                                    page=args.page)
        print(f"{page.total:,} quarantine reasons (page {page.page}, {page.page_size} a page)")
        for issue in page.issues:
            released = "  released" if issue.released else ""
            print(f"  file {issue.file_id:<6} {issue.file_name:<44} row {issue.row_number:<6} "
                  f"{issue.field}: {issue.reason}{released}")
        return 0
    try:
        with transaction() as conn:
            record_id = release_quarantined_row(conn, args.file_id, args.row, _corrections(args.corrections),
                                                reason=args.reason, today=clock.today(), **_acting(args))
    except ReleaseRefused as refused:
        print(f"not released: {refused}", file=sys.stderr)
        return 1
    link = pipeline.link(f"release-{int(time.time())}")
    published = pipeline.publish()
    print(f"row {args.row} of file {args.file_id} released as record {record_id}; "
          f"linked ({link.joined_existing} joined a child, {link.new_children} new) and published "
          f"({published.children_written} children written)")
    return 0


COMMANDS = {"ingest": cmd_ingest, "replay": cmd_replay, "quarantine": cmd_quarantine}
