"""The store and its people: ``migrate`` (the schemas), ``audit verify|anchor|misuse`` (the hash chain and
the misuse review) and ``users add|list``.

Wiring only: the work is in ``warehouse.migrate``, ``warehouse.audit``, ``warehouse.misuse`` and ``warehouse.users``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contactpoint.roles import ROLES
from contactpoint.settings import get_settings


def _moment(value: str) -> datetime:
    """An ISO date or date-time for ``--since``; UTC unless it says otherwise."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_migrate(sub: Any) -> None:
    """Add ``migrate`` to the ``contactpoint`` parser's subparsers."""
    sub.add_parser("migrate", help="create or upgrade the directory store's schemas")


def add_audit(sub: Any) -> None:
    """Add ``audit``."""
    audit = sub.add_parser("audit", help="verify the audit log's hash chain, or anchor its head outside the store")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    for name, what in (("verify", "check every entry and every anchor; exit 1 where the chain breaks"),
                       ("anchor", "append the chain head to the anchors file (after verifying the chain)")):
        action = audit_sub.add_parser(name, help=what)
        action.add_argument("--anchors", type=Path, default=None,
                            help="anchors file (default <data_dir>/audit/anchors.log)")
    misuse = audit_sub.add_parser("misuse", help="who read like a trawler since a time; exit 1 when anyone is flagged")
    misuse.add_argument("--since", required=True, type=_moment,
                        help="ISO date or date-time (UTC unless it says otherwise), e.g. 2026-12-01")


def add_users(sub: Any) -> None:
    """Add ``users``."""
    users = sub.add_parser("users", help="people who may use the directory")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="create a user; prints the one-time-code provisioning URI once")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display-name", required=True)
    add.add_argument("--shielded", action="store_true", help="may see shielded children")
    add.add_argument("--sensitive", action="store_true", help="may see sensitive services")
    add.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    add.add_argument("--pin-env", metavar="VAR", help="read the PIN from this environment variable")
    users_sub.add_parser("list", help="every user, their role, entitlements and state (never secrets)")


def cmd_migrate(_: argparse.Namespace) -> int:
    """Bring the store to the newest schema."""
    from warehouse.db import database_url
    from warehouse.migrate import upgrade

    upgrade()
    print(f"store is up to date ({_describe(database_url())})")
    return 0


def _describe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _audit_misuse(since: datetime) -> int:
    from warehouse.db import transaction
    from warehouse.misuse import MISUSE_RULES, misuse_report

    with transaction() as conn:
        patterns = misuse_report(conn, since)
    print("user\trole\treads\tchildren\tunsearched\toff_hours\tbudget_refusals\tflags")
    for p in patterns:
        print(f"{p.username}\t{p.role}\t{p.reads}\t{p.children}\t{p.unsearched}\t{p.off_hours}\t"
              f"{p.budget_refusals}\t{','.join(p.broken) or '-'}")
    flagged = [p for p in patterns if p.broken]
    for rule in MISUSE_RULES:
        print(f"# {rule.name}: {rule.figure} >= {rule.at_least} ({rule.why})")
    print(f"{len(flagged)} of {len(patterns)} reading users flagged since {since.isoformat()}")
    return 1 if flagged else 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Verify the audit chain (exit 1 on a break) or anchor its head."""
    from warehouse.audit import anchor_head, default_anchors_path, verify_chain
    from warehouse.db import transaction

    if args.audit_command == "misuse":
        return _audit_misuse(args.since)
    path = args.anchors or default_anchors_path()
    with transaction() as conn:
        if args.audit_command == "anchor":
            anchor = anchor_head(conn, path)
            print(f"anchored entry {anchor.entry_id} ({anchor.entry_hash}) in {path}" if anchor
                  else "the audit log is empty: nothing to anchor")
            return 0
        result = verify_chain(conn, path, max_unanchored=get_settings().audit_unanchored_max)
    print(f"{result.after_newest_anchor:,} entries stand after the newest anchor")
    if result.ok:
        print(f"OK: {result.entries:,} entries, {result.anchors_checked:,} anchors checked ({path})")
        return 0
    where = f"at entry {result.first_break}" if result.first_break is not None else ""
    print(f"BROKEN {where}: {result.reason}", file=sys.stderr)
    return 1


def _secret(label: str, env_var: str | None) -> str:
    import getpass
    import os

    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise SystemExit(f"{env_var} is not set")
        return value
    value = getpass.getpass(f"{label}: ")
    if getpass.getpass(f"{label} again: ") != value:
        raise SystemExit(f"the two {label.lower()}s differ")
    return value


def cmd_users(args: argparse.Namespace) -> int:
    """Add a user or list users."""
    from warehouse.db import transaction
    from warehouse.users import add_user, list_users, provisioning_uri

    if args.users_command == "list":
        with transaction() as conn:
            people = list_users(conn)
        for u in people:
            flags = ",".join(f for f, on in (("shielded", u["may_see_shielded"]), ("sensitive", u["may_see_sensitive"]),
                                             ("disabled", u["disabled"]), ("locked", u["locked"])) if on)
            print(f"{u['username']:<24} {u['role']:<10} {flags or '-':<28} {u['display_name']}")
        return 0
    password = _secret("Password", args.password_env)
    pin = _secret("PIN", args.pin_env)
    if len(password) < 12:
        raise SystemExit("a password needs at least 12 characters")
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise SystemExit("a PIN is 4 to 8 digits")
    with transaction() as conn:
        secret = add_user(conn, username=args.username, display_name=args.display_name, role=args.role,
                          password=password, pin=pin, may_see_shielded=args.shielded,
                          may_see_sensitive=args.sensitive)
    print(f"user {args.username} added ({args.role}). Security token, shown once; add it to an authenticator app:")
    print(provisioning_uri(args.username, secret))
    return 0


COMMANDS = {"migrate": cmd_migrate, "audit": cmd_audit, "users": cmd_users}
