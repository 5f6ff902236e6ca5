"""``python -m tools.synthetic OUT_DIR --children N``: write a synthetic drop zone.

``python -m tools.synthetic OUT_DIR --next-night-of DIR``: write the next night of DIR.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from tools.synthetic.dropzone import FEEDS
from tools.synthetic.generator import generate
from tools.synthetic.nextnight import describe, next_night


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, generate, and report counts and speed on stderr."""
    parser = argparse.ArgumentParser(prog="python -m tools.synthetic", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--children", type=int, help="population size (not with --next-night-of)")
    parser.add_argument("--next-night-of", type=Path, metavar="DIR", help="write the next night of DIR instead")
    parser.add_argument("--new-share", type=float, default=0.01)
    parser.add_argument("--change-share", type=float, default=0.02)
    parser.add_argument("--leaver-share", type=float, default=0.004)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--feeds", default=",".join(FEEDS), help="comma-separated, from " + ",".join(FEEDS))
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument("--no-case-fields", action="store_true", help="leave attainment etc. out of CTFs")
    parser.add_argument("--case-note-columns", action="store_true", help="add case-note columns/elements")
    parser.add_argument("--checksums", action="store_true", help="write NAME.sha256 beside each file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.next_night_of is not None:
        night = next_night(args.next_night_of, args.out_dir, seed=args.seed, new_share=args.new_share,
                           change_share=args.change_share, leaver_share=args.leaver_share,
                           fault_rate=args.fault_rate)
        sys.stderr.write(f"next night ({night.as_of}) in {time.perf_counter() - started:.1f} s\n")
        sys.stderr.write(describe(night) + "\n")
        return 0
    if args.children is None:
        parser.error("--children is required (or --next-night-of)")

    def progress(done: int) -> None:
        sys.stderr.write(f"\r{done:,} / {args.children:,} children")

    summary = generate(
        args.out_dir, children=args.children, seed=args.seed, fault_rate=args.fault_rate,
        feeds=tuple(f for f in args.feeds.split(",") if f), as_of=args.as_of,
        case_fields=not args.no_case_fields, case_note_columns=args.case_note_columns,
        checksums=args.checksums, progress=progress,
    )
    elapsed = time.perf_counter() - started
    rate = summary.children / elapsed
    sys.stderr.write(f"\n{summary.children:,} children in {elapsed:.1f} s ({rate:,.0f}/s)\n")
    for feed, files in summary.files.items():
        sys.stderr.write(
            f"  {feed:<11} {files:>6} files {summary.rows[feed]:>9,} rows "
            f"{summary.faulty_rows[feed]:>7,} faulty\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
