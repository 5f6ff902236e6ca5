"""Ingest one feed: drop zone → parse → validate → stage (or quarantine, or withhold) → receipts.

One DAG per feed of the registry (`connectors/feeds.py`), all built by `ingest_dag()`. Each sender's
files are loaded by a task of their own, mapped over the senders, so the executor loads them side by
side; the run's receipts then update the feed's Asset, which schedules `link_identities`. The work is
in `pipeline.steps`.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, dag, task

from connectors.feeds import FEEDS, staged_asset_uri


def ingest_dag(feed: str) -> DAG:
    """The `ingest_<feed>` DAG: receive, load, acknowledge."""

    @dag(
        dag_id=f"ingest_{feed}",
        schedule="@hourly",  # files arrive overnight; an empty drop zone costs one listing
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        tags=["feed", feed],
        doc_md=f"{__doc__}\n\nFeed: **{feed}** ({FEEDS[feed].description}).",
        default_args={"retries": 2, "retry_delay": pendulum.duration(seconds=30)},
    )
    def ingest() -> None:
        @task
        def receive() -> list[list[int]]:
            from contactpoint.logs import configure_task_logging
            from pipeline.steps import receive as receive_files  # lazy: keeps DAG parsing cheap
            from pipeline.steps import senders_files

            configure_task_logging()
            return senders_files(receive_files(feed))

        # One task per sender, run side by side by the executor (LocalExecutor on one machine, Celery
        # across several); a sender's own files stay in order within its task.
        @task
        def load(file_ids: list[int]) -> list[dict[str, Any]]:
            from contactpoint.logs import configure_task_logging
            from pipeline.steps import load_files

            configure_task_logging()
            return load_files(file_ids, workers=1, analyze_after=False)

        @task(outlets=[Asset(name=f"staged_{feed}", uri=staged_asset_uri(feed))])
        def acknowledge(outcomes: list[list[dict[str, Any]]]) -> int:
            from contactpoint.logs import configure_task_logging
            from pipeline.steps import STAGED_TABLES, analyze
            from pipeline.steps import acknowledge as deliver_receipts

            configure_task_logging()
            analyze(STAGED_TABLES)  # once for the run, not once per sender
            return deliver_receipts(feed)

        # TaskFlow passes XComArgs where the functions declare values; mypy cannot see through that.
        acknowledge(load.expand(file_ids=receive()))  # type: ignore[arg-type]

    return ingest()


for _feed in FEEDS:
    globals()[f"ingest_{_feed}"] = ingest_dag(_feed)
