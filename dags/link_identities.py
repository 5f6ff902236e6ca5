"""Link staged records to children, publish what changed to the directory, then archive anyone a new
file took past their leave date (a death, a move out of England), so no one stays published until the
nightly retention run.

Scheduled on the Assets the ingest DAGs update, so it runs after any feed staged new rows. The work
is in `pipeline.steps` (`matching.link`, `warehouse.publish`).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import Asset, AssetAny, dag, task

from connectors.feeds import FEEDS, staged_asset_uri

STAGED = [Asset(name=f"staged_{feed}", uri=staged_asset_uri(feed)) for feed in FEEDS]


@dag(
    schedule=AssetAny(*STAGED),  # any feed's new rows
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["identity", "directory"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(seconds=30)},
)
def link_identities() -> None:
    @task
    def link(run_id: str | None = None) -> dict[str, Any]:
        from dataclasses import asdict

        from contactpoint.logs import configure_task_logging
        from pipeline.steps import link as link_records

        configure_task_logging()

        return asdict(link_records(run_id or "manual"))

    @task
    def publish(link_summary: dict[str, Any]) -> dict[str, Any]:
        from dataclasses import asdict

        from contactpoint.logs import configure_task_logging
        from pipeline.steps import publish as publish_directory

        configure_task_logging()

        return asdict(publish_directory())

    @task
    def leave_directory(publish_summary: dict[str, Any]) -> int:
        from pipeline.steps import leave_directory as archive_past_leave_date

        return archive_past_leave_date()

    leave_directory(publish(link()))  # type: ignore[arg-type]


link_identities()
