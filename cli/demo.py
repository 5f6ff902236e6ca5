"""The Airflow commands: ``demo`` (synthetic feeds, the drop zone, every DAG run with ``dag.test()``, a
summary) and ``airflow-env`` (the exports that point Airflow at this hub).

Wiring only: the work is in ``pipeline.airflow_env``, the DAGs and ``warehouse.status``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.data import DEMO_FEEDS, generate_with_progress
from cli.usage import fraction, positive_int
from contactpoint import clock
from contactpoint.settings import get_settings

if TYPE_CHECKING:
    from warehouse.runs import Watermarks


def add_demo(sub: Any) -> None:
    """Add ``demo`` to the ``contactpoint`` parser's subparsers."""
    demo_says = "generate children, send all five feeds' files to the drop zone, run every DAG (dag.test), summarise"
    demo = sub.add_parser("demo", help=demo_says, description=f"The demo: {demo_says}.")
    demo.add_argument("--children", type=positive_int, default=3_000, help="population size (default 3,000)")
    demo.add_argument("--seed", type=int, default=1, help="random seed: the same seed sends the same files")
    demo.add_argument("--fault-rate", type=fraction, default=0.05, help="share of rows with an injected fault (0-1)")
    demo.add_argument("--local-authorities", type=positive_int, default=4, metavar="N",
                      help="spread the children over N local authorities (default 4, so the report compares them)")


def add_airflow_env(sub: Any) -> None:
    """Add ``airflow-env``."""
    sub.add_parser("airflow-env", help="print the exports that point Airflow at this hub (eval them)")


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
        summary = generate_with_progress(generated, args.children, args.seed, args.fault_rate, DEMO_FEEDS,
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


def _watermarks() -> Watermarks:
    """Newest file id and duplicate delivery id, so a summary can count what one run added."""
    from warehouse.db import transaction
    from warehouse.runs import watermarks

    with transaction() as conn:
        return watermarks(conn)


def _print_demo_summary(children: int, dropped: int, before: Watermarks, seconds: float) -> None:
    from warehouse.db import transaction
    from warehouse.runs import feeds_since
    from warehouse.status import archived_by_reason, directory_counts

    with transaction() as conn:
        feeds = feeds_since(conn, before)
        directory = directory_counts(conn)
        archived = archived_by_reason(conn)
    print(f"\nContactPoint Hub demo: {children:,} synthetic children, {dropped:,} files sent to the drop zone")
    print(f"  {'feed':<11}{'files':>7}{'rejected':>10}{'duplicate':>11}{'read':>9}{'loaded':>9}"
          f"{'quarantined':>13}{'withheld':>10}{'out of scope':>14}{'warnings':>10}")
    for f in feeds:
        print(f"  {f.feed:<11}{f.files:>7,}{f.rejected:>10,}{f.duplicates:>11,}{f.read:>9,}{f.loaded:>9,}"
              f"{f.quarantined:>13,}{f.withheld:>10,}{f.out_of_scope:>14,}{f.warned:>10,}")
    print(f"  directory: {directory.children:,} children ({directory.shielded:,} shielded), "
          f"{directory.current_involvements:,} current involvements, {directory.carers:,} parents/carers")
    print(f"  archive (past their leave date, as of {clock.today()}): {sum(n for _, n in archived):,} children"
          + (f" ({', '.join(f'{reason} {n:,}' for reason, n in archived)})" if archived else ""))
    print(f"  receipts: {get_settings().dropzone / 'outbound'}" if not get_settings().sftp_conn_id
          else "  receipts: outbound/<feed>/ on the SFTP drop zone")
    print(f"  time taken: {seconds:.1f} s")


def cmd_airflow_env(_: argparse.Namespace) -> int:
    """Print shell exports for running Airflow on this hub: paths, PATH, metadata database, shared secrets."""
    from pipeline.airflow_env import deployment_environment

    for key, value in deployment_environment().items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


COMMANDS = {"demo": cmd_demo, "airflow-env": cmd_airflow_env}
