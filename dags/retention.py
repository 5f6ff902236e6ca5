"""Retention, daily: children past their leave date move from the directory to the archive; archived
children whose six years are over are destroyed (rows, archive keys, and the pages that held them).

The work is in `pipeline.steps.retention` (`warehouse.retention`); the date is the hub's one clock
(`CONTACTPOINT_AS_OF` replays any day).
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import dag, task


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["retention", "directory", "archive"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=5)},
)
def retention() -> None:
    @task
    def age_out_and_destroy() -> dict[str, Any]:
        from dataclasses import asdict

        from contactpoint.logs import configure_task_logging
        from pipeline.steps import retention as retention_pass

        configure_task_logging()

        return asdict(retention_pass())

    age_out_and_destroy()


retention()
