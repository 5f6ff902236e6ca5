"""``contactpoint``: the hub's one command line.

Data: generate, demo, ingest, replay, quarantine, status, report. Identities: link-files, relink,
train-model, review, model. The store and its people: migrate, users, audit, retention. Airflow: airflow-env.
Wrong usage answers in one line and exits 2; a refusal exits 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from cli import data, demo, identities, operations, retention, review, store
from cli.usage import OneLineParser, UsageError
from contactpoint.logs import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="contactpoint", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # In the order --help has always listed them.
    for add in (data.add_generate, store.add_migrate, demo.add_demo, data.add_status, identities.add_link_files,
                identities.add_relink, data.add_report, identities.add_train_model, demo.add_airflow_env,
                store.add_audit, store.add_users, operations.add_parsers, review.add_parsers, retention.add_parsers):
        add(sub)
    return parser


COMMANDS = {**data.COMMANDS, **store.COMMANDS, **demo.COMMANDS, **identities.COMMANDS, **operations.COMMANDS,
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
