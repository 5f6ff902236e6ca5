"""The identity commands: ``link-files`` (a dry run on CSV files), ``relink`` (the whole store afresh) and
``train-model`` (estimate the linkage model from the staged records).

Wiring only: the work is in ``matching.files``, ``pipeline.steps`` and ``matching.lifecycle``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from cli.usage import UsageError, writable_folder


def add_link_files(sub: Any) -> None:
    """Add ``link-files`` to the ``contactpoint`` parser's subparsers."""
    files = sub.add_parser("link-files", help="dry run: link CSV files in the canonical columns, store untouched")
    files.add_argument("files", type=Path, nargs="+")
    files.add_argument("--out", type=Path, required=True, help="record_id,cluster_id CSV to write")
    files.add_argument("--model", type=Path, default=None,
                       help="a trained model JSON (default: estimate one on these files and say what was estimated)")


def add_relink(sub: Any) -> None:
    """Add ``relink``."""
    relink = sub.add_parser("relink", help="link every record afresh; ContactPoint IDs carry over")
    relink.add_argument("--backend", choices=("duckdb", "spark"), default=None,
                        help="default: CONTACTPOINT_LINK_BACKEND (duckdb)")


def add_train_model(sub: Any) -> None:
    """Add ``train-model``."""
    train = sub.add_parser("train-model", help="estimate the linkage model (structure v4) from the staged records; "
                           "reports what it estimated and what had too little evidence")
    train.add_argument("--out", type=Path, default=None, help="write the model JSON here instead of the store")


def cmd_link_files(args: argparse.Namespace) -> int:
    """Link CSV files without touching the store."""
    from matching.files import link_files, write_clusters

    for path in [*args.files, *([args.model] if args.model else [])]:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
    writable_folder(args.out.parent if args.out.parent != Path("") else Path("."))
    linkage = link_files(args.files, args.model)
    clusters = write_clusters(linkage, args.out)
    if linkage.estimated is not None:
        print(estimation_report(linkage.estimated))
    print(f"{len(linkage.clustering.group_of):,} records → {clusters:,} clusters in {args.out}; "
          f"{len(linkage.review):,} pairs a steward should review")
    return 0


def estimation_report(estimated: dict[str, object]) -> str:
    """What link-files or train-model estimated on the data given, and what had too little evidence."""
    weak = estimated.get("too_little_evidence") or []
    failed = estimated.get("em_blocks_failed") or []
    lines = [f"model estimated on {estimated['records']:,} records: prior {float(estimated['prior']):.3g} "  # type: ignore[arg-type]
             f"(deterministic rules), u by random sampling, m by EM on "
             f"{', '.join(estimated['em_blocks'])}, term frequencies from the files"]  # type: ignore[arg-type]
    if failed:
        lines.append(f"EM stopped on: {', '.join(failed)}")  # type: ignore[arg-type]
    absent = estimated.get("not_in_the_data") or []
    if absent:
        lines.append(f"not in the data (no evidence either way): {', '.join(absent)}")  # type: ignore[arg-type]
    lines.append("too little evidence (Splink's default kept): " + ("; ".join(weak) if weak else "none"))  # type: ignore[arg-type]
    twins = estimated.get("twins")
    if isinstance(twins, dict):
        verdict = ("twins seen: the twin rules hold" if twins["twins_seen"]
                   else "no twins: another forename is weighed as evidence, the twin rules stand aside")
        lines.append(f"twins: one surname and birth date, another forename: {twins['other_forename_agreeing']:,} of "
                     f"{twins['other_forename']:,} pairs share an identifier (same forename: "
                     f"{twins['same_forename_agreeing']:,} of {twins['same_forename']:,}); {verdict}")
    return "\n".join(lines)


def cmd_relink(args: argparse.Namespace) -> int:
    """Full re-link of the store."""
    from pipeline.steps import publish, relink

    summary = relink(f"relink-{int(time.time())}", backend=args.backend)
    print(summary)
    print(publish())
    return 0


def cmd_train_model(args: argparse.Namespace) -> int:
    """Train the model on the staged records; store it (unpromoted) or write it to a file."""
    from matching.lifecycle import model_of
    from matching.model import ESTIMATION_KEY, load_model
    from pipeline.steps import train_model
    from warehouse.db import transaction

    version = train_model(args.out)
    if args.out is not None:
        model = load_model(args.out)
    else:
        with transaction() as conn:
            model = model_of(conn, version)
    print(estimation_report({**model[ESTIMATION_KEY], "prior": model["probability_two_random_records_match"]}))
    print(f"model {version} written" + (f" to {args.out}" if args.out else " to identity.model (not promoted)"))
    return 0


COMMANDS = {"link-files": cmd_link_files, "relink": cmd_relink, "train-model": cmd_train_model}
