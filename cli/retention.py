"""The retention commands: ``retention [--as-of DATE] [--dry-run]`` and ``retention prove-destroyed``.

Wiring only: the work is in ``pipeline.steps.retention`` and ``warehouse.retention``.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any


def add_parsers(sub: Any) -> None:
    """Add ``retention`` to the ``contactpoint`` parser's subparsers."""
    retention = sub.add_parser(
        "retention", help="age-out children past their leave date into the archive; destroy after six years")
    retention.add_argument("--as-of", type=date.fromisoformat, default=None,
                           help="run as of this date (default: the hub's clock, CONTACTPOINT_AS_OF)")
    retention.add_argument("--dry-run", action="store_true", help="print who would move and why; change nothing")
    actions = retention.add_subparsers(dest="retention_command", required=False)
    prove = actions.add_parser(
        "prove-destroyed", help="search every text, json and bytea column for a destroyed child's details")
    prove.add_argument("--detail", action="append", default=[], metavar="VALUE",
                       help="a name, date of birth (YYYY-MM-DD), postcode or identifier; repeat for each")
    prove.add_argument("--cp-id", default=None, help="also confirm the destruction log holds this ContactPoint ID")


def cmd_retention(args: argparse.Namespace) -> int:
    """Run the daily pass, or prove a destruction."""
    if args.retention_command == "prove-destroyed":
        return _prove(args)
    from contactpoint import clock
    from pipeline.steps import retention
    from warehouse.db import transaction
    from warehouse.retention.destroy import destruction_due
    from warehouse.retention.due import children_due

    day = args.as_of or clock.today()
    if args.dry_run:
        with transaction() as conn:
            due = children_due(conn, day, mark_deaths=False)
            destroy = destruction_due(conn, day)
        print(f"retention as of {day} (dry run): {len(due):,} children would leave the directory, "
              f"{len(destroy):,} archived children would be destroyed")
        for d in due:
            print(f"  archive {d.cp_id}: left on {d.leave.on} ({d.leave.reason})")
        for cp_id, after in destroy:
            print(f"  destroy {cp_id}: destroy after {after}")
        return 0
    outcome = retention(day)
    print(f"retention as of {outcome.as_of}: {outcome.archived:,} children archived "
          f"{outcome.archived_by_rule or ''}; {outcome.destroyed:,} destroyed ({outcome.rows_destroyed:,} rows; "
          f"tables rewritten: {', '.join(outcome.tables_rewritten) or 'none'})")
    return 0


def _prove(args: argparse.Namespace) -> int:
    from warehouse.db import transaction
    from warehouse.retention.proof import destruction_logged, prove_destroyed

    if not args.detail:
        print("give the details to look for with --detail (names, date of birth, postcode, identifiers)")
        return 2
    with transaction() as conn:
        hits = prove_destroyed(conn, args.detail)
        logged = destruction_logged(conn, args.cp_id) if args.cp_id else None
    for hit in hits:
        print(f"FOUND {hit.detail!r} in {hit.table}.{hit.column} ({hit.rows} rows)")
    if args.cp_id:
        print(f"destruction log: {args.cp_id} destroyed on {logged['destroyed_on']}, rows removed "
              f"{logged['rows_removed']}" if logged else f"destruction log: no entry for {args.cp_id}")
    print(f"{len(args.detail)} details searched in every text, json and bytea column: "
          f"{'nothing found' if not hits else f'{len(hits)} hits'}")
    return 1 if hits or (args.cp_id and not logged) else 0


COMMANDS = {"retention": cmd_retention}
