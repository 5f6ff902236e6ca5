"""The stewards' commands: ``review list|decide`` and ``model list|compare|promote``.

Wiring only: the queue and the actions are ``matching.stewardship`` (the console's own), the checks on who
may act are ``matching.steward_commands``, the model's lifecycle is ``matching.lifecycle``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from cli.usage import UsageError, feed_name, positive_int


def add_parsers(sub: Any) -> None:
    """Add ``review`` and ``model`` to the ``contactpoint`` parser's subparsers."""
    review = sub.add_parser("review", help="the stewards' review queue: list open pairs, link or keep one apart")
    r_sub = review.add_subparsers(dest="review_command", required=True)
    listing = r_sub.add_parser("list", help="open entries (one per pair of children, with the record pairs behind "
                                            "it) in the console's order (ids and weights only)")
    listing.add_argument("--feed", type=feed_name, default=None, help="only pairs with a record from this feed")
    listing.add_argument("--la", default=None, help="only pairs with a record of this local authority (code)")
    listing.add_argument("--page", type=positive_int, default=1, help="page number (default 1)")
    listing.add_argument("--per-page", type=positive_int, default=50, help="pairs a page (default 50)")
    decide = r_sub.add_parser("decide", help="link an entry's two children, or keep them apart: every record pair "
                                            "behind it (audited, as in the console)")
    decide.add_argument("pair", type=int, help="the entry's number, as review list shows it (or any of its pairs)")
    choice = decide.add_mutually_exclusive_group(required=True)
    choice.add_argument("--link", dest="decision", action="store_const", const="link")
    choice.add_argument("--keep-apart", dest="decision", action="store_const", const="keep_apart")
    decide.add_argument("--reason", required=True, help="why (required; kept with the decision)")
    decide.add_argument("--steward", required=True, help="the steward deciding (a user with the steward role)")

    model = sub.add_parser("model", help="the linkage model: precision and recall, compare, promote")
    m_sub = model.add_subparsers(dest="model_command", required=True)
    m_sub.add_parser("list", help="every model version with precision and recall from stewards' decisions")
    compare = m_sub.add_parser("compare", help="pairs a candidate model would decide differently from the current one")
    compare.add_argument("candidate", help="model version (see model list)")
    compare.add_argument("--examples", type=positive_int, default=5, help="examples per kind of change")
    promote = m_sub.add_parser("promote", help="make a version current (audited), re-link everything, publish")
    promote.add_argument("version")
    promote.add_argument("--reason", required=True)
    promote.add_argument("--steward", required=True, help="the steward promoting (a user with the steward role)")


def cmd_review(args: argparse.Namespace) -> int:
    """List the review queue, or decide one pair."""
    from matching import stewardship
    from matching.steward_commands import NotAllowed, decide_entry, entry_lines
    from warehouse.db import transaction

    if args.review_command == "list":
        with transaction() as conn:
            queue = stewardship.review_entries(conn, stewardship.QueueFilter(args.feed, args.la), page=args.page,
                                               per_page=args.per_page)
        print("\n".join(entry_lines(queue, page=args.page, per_page=args.per_page)))
        return 0
    try:
        with transaction() as conn:
            outcomes = decide_entry(conn, args.pair, args.decision, username=args.steward, reason=args.reason)
    except (NotAllowed, stewardship.StewardshipError) as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    merged = [o for o in outcomes if o.retired_cp_id]
    kept = f"; {merged[0].retired_cp_id} merged into {merged[0].kept_cp_id}" if merged else ""
    actions = ", ".join(str(o.action_id) for o in outcomes)
    print(f"entry {args.pair}: {outcomes[0].kind.replace('_', ' ')} recorded as action {actions} "
          f"for {len(outcomes)} record pair(s){kept}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    """List model versions, compare a candidate, or promote one."""
    from contactpoint.settings import get_settings
    from matching import lifecycle
    from matching.steward_commands import NotAllowed, comparison_lines, steward
    from warehouse.db import transaction
    from warehouse.publish import publish_directory

    backend = get_settings().link_backend
    if args.model_command == "list":
        with transaction() as conn:
            versions = lifecycle.model_versions(conn)
            matrices = lifecycle.confusion_by_version(conn, backend=backend)
        for version, matrix in zip(versions, matrices, strict=True):
            pct = {k: "n/a" if v is None else f"{100 * v:.1f}%"
                   for k, v in (("precision", matrix.precision), ("recall", matrix.recall))}
            print(f"{version.version}{' (current)' if version.current else ''}: {matrix.labelled} labels, "
                  f"precision {pct['precision']}, recall {pct['recall']}")
        return 0
    if args.model_command == "compare":
        with transaction() as conn:
            known = [v.version for v in lifecycle.model_versions(conn)]
            if args.candidate not in known:
                raise UsageError(f"unknown model version {args.candidate!r}; the versions are {', '.join(known)}")
            comparison = lifecycle.compare_models(conn, args.candidate, examples_per_change=args.examples,
                                                  backend=backend)
        print("\n".join(comparison_lines(comparison)))
        return 0
    try:
        with transaction() as conn:
            steward(conn, args.steward)
            promotion = lifecycle.promote(conn, args.version, steward=args.steward, reason=args.reason,
                                          run_id=f"promote-{int(time.time())}", backend=backend)
            published = publish_directory(conn)
    except (NotAllowed, PermissionError, ValueError, KeyError) as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    relink = promotion.relink
    print(f"{promotion.version} promoted over {promotion.previous} (audit entry {promotion.audit_entry_id}); "
          f"re-linked {relink.records} records: {relink.records_moved} moved, {relink.children_merged} children "
          f"merged, {relink.new_children} new; {published.children_written} directory children written")
    return 0


COMMANDS = {"review": cmd_review, "model": cmd_model}
