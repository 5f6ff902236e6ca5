"""``contactpoint``: the hub's one command line.

Data: generate, demo, ingest, replay, quarantine, status, report. Identities: link-files, relink,
train-model, review, model. The store and its people: migrate, users, audit, retention. Airflow: airflow-env.
Wrong usage answers in one line and exits 2; a refusal exits 1.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import time
import warnings
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cli import operations, retention, review
from cli.usage import OneLineParser, UsageError, feed_list, fraction, positive_int, writable_folder
from contactpoint import clock
from contactpoint.logs import configure_logging
from contactpoint.roles import ROLES
from contactpoint.settings import get_settings

DEMO_FEEDS = ("school", "gp", "connexions", "ecaf", "ics")


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="contactpoint", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    sub.add_parser("migrate", help="create or upgrade the directory store's schemas")

    demo_says = "generate children, send all five feeds' files to the drop zone, run every DAG (dag.test), summarise"
    demo = sub.add_parser("demo", help=demo_says, description=f"The demo: {demo_says}.")
    demo.add_argument("--children", type=positive_int, default=3_000, help="population size (default 3,000)")
    demo.add_argument("--seed", type=int, default=1, help="random seed: the same seed sends the same files")
    demo.add_argument("--fault-rate", type=fraction, default=0.05, help="share of rows with an injected fault (0-1)")
    demo.add_argument("--local-authorities", type=positive_int, default=4, metavar="N",
                      help="spread the children over N local authorities (default 4, so the report compares them)")

    sub.add_parser("status", help="what the store holds: files by feed and state, records, children")

    files = sub.add_parser("link-files", help="dry run: link CSV files in the canonical columns, store untouched")
    files.add_argument("files", type=Path, nargs="+")
    files.add_argument("--out", type=Path, required=True, help="record_id,cluster_id CSV to write")
    files.add_argument("--model", type=Path, default=None,
                       help="a trained model JSON (default: estimate one on these files and say what was estimated)")

    relink = sub.add_parser("relink", help="link every record afresh; ContactPoint IDs carry over")
    relink.add_argument("--backend", choices=("duckdb", "spark"), default=None,
                        help="default: CONTACTPOINT_LINK_BACKEND (duckdb)")

    report = sub.add_parser("report", help="universal services: children without a current school or GP, by LA")
    report.add_argument("--out", type=Path, required=True,
                        help="folder for universal_services.csv and .html (created; must be writable)")

    train = sub.add_parser("train-model", help="estimate the linkage model (structure v2) from the staged records; "
                           "reports what it estimated and what had too little evidence")
    train.add_argument("--out", type=Path, default=None, help="write the model JSON here instead of the store")
    sub.add_parser("airflow-env", help="print the exports that point Airflow at this hub (eval them)")

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
    operations.add_parsers(sub)
    review.add_parsers(sub)
    retention.add_parsers(sub)
    return parser


def cmd_generate(args: argparse.Namespace) -> int:
    """Write synthetic feed files."""
    if args.next_night_of is not None:
        return _next_night(args)
    feeds = args.feeds
    writable_folder(args.out)
    summary = _generate_with_progress(args.out, args.children, args.seed, args.fault_rate, feeds, args.as_of,
                                      args.local_authorities)
    print(f"{summary.children:,} children → {args.out}")
    for feed in feeds:
        print(f"  {feed:<11} {summary.files.get(feed, 0):>6,} files {summary.rows.get(feed, 0):>10,} rows "
              f"{summary.faulty_rows.get(feed, 0):>8,} with faults")
    return 0


def _next_night(args: argparse.Namespace) -> int:
    """Write the next night of a generated folder and say what changed."""
    from tools.synthetic.nextnight import describe, next_night

    summary = next_night(args.next_night_of, args.out, seed=args.seed, new_share=args.new_share,
                         change_share=args.change_share, leaver_share=args.leaver_share,
                         fault_rate=args.fault_rate)
    print(f"next night ({summary.as_of}) of {args.next_night_of} → {args.out}")
    print(describe(summary))
    return 0


def _generate_with_progress(out: Path, children: int, seed: int, fault_rate: float, feeds: Sequence[str],
                            as_of: date, local_authorities: int | None = None) -> Any:
    from tqdm import tqdm

    from tools.synthetic import generate

    with tqdm(total=children, desc="generating children", unit=" children", file=sys.stderr) as bar:
        def progress(done: int) -> None:
            bar.update(done - bar.n)

        return generate(out, children=children, seed=seed, fault_rate=fault_rate, feeds=feeds, as_of=as_of,
                        progress=progress, local_authorities=local_authorities)


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


def cmd_demo(args: argparse.Namespace) -> int:
    """Synthetic feeds → drop zone → Airflow DAGs (``dag.test()``) → directory, with a summary."""
    from tqdm import tqdm

    from pipeline.airflow_env import prepare_airflow
    from pipeline.steps import open_dropzone
    from warehouse.migrate import upgrade

    settings = get_settings()
    started = time.monotonic()
    dag_ids = [f"ingest_{feed}" for feed in DEMO_FEEDS] + ["link_identities", "retention"]
    with tqdm(total=3 + len(dag_ids), desc="demo", unit=" step", file=sys.stderr) as bar:
        bar.set_postfix_str("migrating the store")
        upgrade()
        bar.update()
        bar.set_postfix_str("generating feeds")
        generated = settings.data_dir / "generated"
        shutil.rmtree(generated, ignore_errors=True)
        summary = _generate_with_progress(generated, args.children, args.seed, args.fault_rate, DEMO_FEEDS,
                                          date(2026, 11, 1), args.local_authorities)
        with open_dropzone() as dropzone:
            dropped = _send_files(generated, dropzone, DEMO_FEEDS)
        bar.update()
        bar.set_postfix_str("preparing Airflow")
        # dag.test() runs in this process: Airflow's INFO lines are for task logs, the demo prints its summary.
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
        prepare_airflow()
        bar.update()
        before = _watermarks()
        for dag_id in dag_ids:
            bar.set_postfix_str(f"running {dag_id}")
            state = _run_dag(dag_id)
            if state != "success":
                print(f"{dag_id} ended {state}; see {settings.airflow_home / 'logs'}", file=sys.stderr)
                return 1
            bar.update()
    _print_demo_summary(summary.children, dropped, before, time.monotonic() - started)
    return 0


def _send_files(generated: Path, dropzone: Any, feeds: Sequence[str]) -> int:
    """Upload generated files as their senders would (``.part``, then rename)."""
    count = 0
    for feed in feeds:
        folder = generated / "inbound" / feed
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            dropzone.upload(feed, path.name, path)
            count += 1
    return count


def _run_dag(dag_id: str) -> str:
    from airflow.dag_processing.dagbag import DagBag

    from pipeline.airflow_env import DAGS_FOLDER

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise RuntimeError(f"DAG {dag_id} did not load: {bag.import_errors}")
    run = dag.test()
    return str(run.state)


def _watermarks() -> tuple[int, int]:
    """Newest file id and duplicate delivery id, so a summary can count what one run added."""
    from sqlalchemy import text

    from warehouse.db import transaction

    with transaction() as conn:
        row = conn.execute(text("""
            SELECT (SELECT coalesce(max(file_id), 0) FROM intake.file),
                   (SELECT coalesce(max(delivery_id), 0) FROM intake.duplicate_delivery)""")).one()
    return int(row[0]), int(row[1])


def _print_demo_summary(children: int, dropped: int, before: tuple[int, int], seconds: float) -> None:
    from warehouse.db import transaction
    from warehouse.status import archived_by_reason, directory_counts, feeds_since

    with transaction() as conn:
        feeds = feeds_since(conn, *before)
        directory = directory_counts(conn)
        archived = archived_by_reason(conn)
    print(f"\nContactPoint Hub demo: {children:,} synthetic children, {dropped:,} files sent to the drop zone")
    print(f"  {'feed':<11}{'files':>7}{'rejected':>10}{'duplicate':>11}{'read':>9}{'loaded':>9}"
          f"{'quarantined':>13}{'withheld':>10}{'out of scope':>14}{'warnings':>10}")
    for f in feeds:
        print(f"  {f.feed:<11}{f.new_files:>7,}{f.rejected:>10,}{f.duplicates:>11,}{f.read:>9,}{f.loaded:>9,}"
              f"{f.quarantined:>13,}{f.withheld:>10,}{f.out_of_scope:>14,}{f.warned:>10,}")
    print(f"  directory: {directory.children:,} children ({directory.shielded:,} shielded), "
          f"{directory.current_involvements:,} current involvements, {directory.carers:,} parents/carers")
    print(f"  archive (past their leave date, as of {clock.today()}): {sum(n for _, n in archived):,} children"
          + (f" ({', '.join(f'{reason} {n:,}' for reason, n in archived)})" if archived else ""))
    print(f"  receipts: {get_settings().dropzone / 'outbound'}" if not get_settings().sftp_conn_id
          else "  receipts: outbound/<feed>/ on the SFTP drop zone")
    print(f"  time taken: {seconds:.1f} s")


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


def cmd_airflow_env(_: argparse.Namespace) -> int:
    """Print shell exports for running Airflow on this hub: paths, PATH, metadata database, shared secrets."""
    from pipeline.airflow_env import deployment_environment

    for key, value in deployment_environment().items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


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
    lines.append("too little evidence (Splink's default kept): " + ("; ".join(weak) if weak else "none"))  # type: ignore[arg-type]
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


COMMANDS = {"generate": cmd_generate, "report": cmd_report, "link-files": cmd_link_files, "relink": cmd_relink,
            "train-model": cmd_train_model, "migrate": cmd_migrate, "demo": cmd_demo, "status": cmd_status,
            "airflow-env": cmd_airflow_env, "audit": cmd_audit, "users": cmd_users, **operations.COMMANDS,
            **retention.COMMANDS, **review.COMMANDS}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``contactpoint`` command."""
    # Airflow imports FastAPI's test client, whose deprecation notice is noise on a data team's screen.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    args = _parser().parse_args(argv)
    configure_logging()
    from sqlalchemy.exc import DBAPIError

    from warehouse.db import is_disconnect
    from warehouse.migrate import StoreError

    try:
        return COMMANDS[args.command](args)
    except UsageError as wrong:
        print(f"contactpoint {args.command}: {wrong}", file=sys.stderr)
        return 2
    except StoreError as error:  # one line saying what to do, not a traceback
        print(f"contactpoint {args.command}: {error}", file=sys.stderr)
        return 2
    except DBAPIError as error:
        if not is_disconnect(error):
            raise
        print(f"contactpoint {args.command}: lost the store: {str(error.orig).strip().splitlines()[0]} "
              "(nothing is lost: run the command again once PostgreSQL answers)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
