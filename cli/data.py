"""The data commands: ``generate`` (synthetic feed files, or the next night of them), ``status`` (what the
store holds) and ``report`` (universal services by local authority).

Wiring only: the work is in ``tools.synthetic``, ``warehouse.status`` and ``warehouse.reports``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from cli.usage import UsageError, feed_list, fraction, positive_int, writable_folder
from connectors.feeds import FEEDS
from contactpoint import clock

DEMO_FEEDS = tuple(FEEDS)  # every feed of the registry
CHECKOUT = Path(__file__).resolve().parents[1]


def reach_the_generator() -> None:
    """Make ``tools.synthetic`` importable, or say why it cannot be.

    The generator is a repository tool, not shipped in the wheel, and an editable install maps only the
    shipped packages: the console script finds it only once the checkout that ``cli/`` runs from is on
    the path. An installed wheel has no checkout beside it, which is a usage error (one line, exit 2).
    """
    try:
        if importlib.util.find_spec("tools.synthetic") is not None:
            return
    except ModuleNotFoundError:  # no ``tools`` at all (another distribution may ship a ``tools`` of its own)
        pass
    if not (CHECKOUT / "tools" / "synthetic").is_dir():
        raise UsageError("the synthetic generator (tools/synthetic) is not installed with the hub: "
                         "run generate and demo from a checkout of the repository")
    # Ahead of site-packages, where another distribution's ``tools`` (a namespace, already cached by the look
    # above) would otherwise hide the checkout's.
    sys.path.insert(0, str(CHECKOUT))
    sys.modules.pop("tools", None)


def add_generate(sub: Any) -> None:
    """Add ``generate`` to the ``contactpoint`` parser's subparsers."""
    gen = sub.add_parser("generate", help="write synthetic feed files and their ground truth")
    gen.add_argument("--children", type=positive_int, default=1_000, help="population size (default 1,000)")
    gen.add_argument("--seed", type=int, default=1, help="random seed: the same seed writes the same files")
    gen.add_argument("--fault-rate", type=fraction, default=0.05, help="share of rows with an injected fault (0-1)")
    gen.add_argument("--feeds", type=feed_list, default=DEMO_FEEDS, help="comma-separated feeds (default: all five)")
    gen.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1),
                     help="the date the files are extracted on (YYYY-MM-DD)")
    gen.add_argument("--out", type=Path, required=True, help="drop-zone folder to write (inbound/<feed>/...)")
    gen.add_argument("--local-authorities", type=positive_int, default=None, metavar="N",
                     help="spread the children over N local authorities (default: one per 5,000 children)")
    gen.add_argument("--next-night-of", type=Path, metavar="DIR",
                     help="write instead the next night of the folder DIR that generate wrote (same children)")
    gen.add_argument("--new-share", type=float, default=0.01, help="with --next-night-of: share of new children")
    gen.add_argument("--change-share", type=float, default=0.02, help="with --next-night-of: share changed")
    gen.add_argument("--leaver-share", type=float, default=0.004, help="with --next-night-of: share leaving")


def add_status(sub: Any) -> None:
    """Add ``status``."""
    sub.add_parser("status", help="what the store holds: files by feed and state, records, children")


def add_report(sub: Any) -> None:
    """Add ``report``."""
    report = sub.add_parser("report", help="universal services: children without a current school or GP, by LA")
    report.add_argument("--out", type=Path, required=True,
                        help="folder for universal_services.csv and .html (created; must be writable)")


def cmd_generate(args: argparse.Namespace) -> int:
    """Write synthetic feed files."""
    if args.next_night_of is not None:
        return _next_night(args)
    feeds = args.feeds
    writable_folder(args.out)
    summary = generate_with_progress(args.out, args.children, args.seed, args.fault_rate, feeds, args.as_of,
                                     args.local_authorities)
    print(f"{summary.children:,} children → {args.out}")
    for feed in feeds:
        print(f"  {feed:<11} {summary.files.get(feed, 0):>6,} files {summary.rows.get(feed, 0):>10,} rows "
              f"{summary.faulty_rows.get(feed, 0):>8,} with faults")
    return 0


def _next_night(args: argparse.Namespace) -> int:
    """Write the next night of a generated folder and say what changed."""
    reach_the_generator()
    from tools.synthetic.nextnight import describe, next_night

    summary = next_night(args.next_night_of, args.out, seed=args.seed, new_share=args.new_share,
                         change_share=args.change_share, leaver_share=args.leaver_share,
                         fault_rate=args.fault_rate)
    print(f"next night ({summary.as_of}) of {args.next_night_of} → {args.out}")
    print(describe(summary))
    return 0


def generate_with_progress(out: Path, children: int, seed: int, fault_rate: float, feeds: Sequence[str],
                            as_of: date, local_authorities: int | None = None) -> Any:
    """The generator's summary, with a progress bar on stderr (generate and the demo)."""
    from tqdm import tqdm

    reach_the_generator()
    from tools.synthetic import generate

    with tqdm(total=children, desc="generating children", unit=" children", file=sys.stderr) as bar:
        def progress(done: int) -> None:
            bar.update(done - bar.n)

        return generate(out, children=children, seed=seed, fault_rate=fault_rate, feeds=feeds, as_of=as_of,
                        progress=progress, local_authorities=local_authorities)


def cmd_status(_: argparse.Namespace) -> int:
    """Print what the store holds."""
    from warehouse.db import transaction
    from warehouse.status import files_by_state, holdings

    with transaction() as conn:
        files = files_by_state(conn)
        counts = holdings(conn)
    print("files:")
    for f in files:
        print(f"  {f.feed:<11} {f.status:<21} {f.n:>6,} files  {f.loaded:>9,} rows loaded  "
              f"{f.quarantined:>6,} quarantined")
    for name, n in counts.items():
        print(f"{name:<28} {n:>10,}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the universal services report."""
    from warehouse.db import transaction
    from warehouse.reports import universal_services, write_report

    writable_folder(args.out)
    with transaction() as conn:
        rows = universal_services(conn, clock.today())
    csv_path, html_path = write_report(rows, args.out, clock.today())
    print(f"{len(rows)} local authorities: {csv_path}, {html_path}")
    for r in rows:
        school = "n/a" if r.no_school_rate is None else f"{100 * r.no_school_rate:.1f}%"
        gp = "n/a" if r.no_gp_rate is None else f"{100 * r.no_gp_rate:.1f}%"
        print(f"  {r.name} ({r.la}): {r.no_school:,} of {r.school_age:,} children of school age without a school "
              f"({school}); {r.no_gp:,} of {r.children:,} children without a GP ({gp})")
    return 0


COMMANDS = {"generate": cmd_generate, "status": cmd_status, "report": cmd_report}
