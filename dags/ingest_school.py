"""School CTF files: drop zone → parse → validate → stage → link → publish → receipts.

Feed spec: `shared/feeds/README.md` (school). The work is in `contactpoint.pipeline`; this file only wires it.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import dag, task

FEED = "school"


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["feed", FEED],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=1)},
)
def ingest_school() -> None:
    @task
    def receive() -> list[int]:
        from contactpoint.pipeline import receive as receive_files  # lazy: keeps DAG parsing cheap

        return receive_files(FEED)

    @task
    def load(file_ids: list[int]) -> list[dict[str, Any]]:
        from dataclasses import asdict

        from contactpoint.pipeline import load as load_file

        return [asdict(o) for o in (load_file(i) for i in file_ids) if o is not None]

    @task
    def link(outcomes: list[dict[str, Any]], run_id: str | None = None) -> dict[str, Any]:
        from dataclasses import asdict

        from contactpoint.pipeline import link as link_records

        return asdict(link_records(run_id or "manual"))

    @task
    def publish(link_summary: dict[str, Any]) -> dict[str, Any]:
        from dataclasses import asdict

        from contactpoint.pipeline import publish as publish_directory

        return asdict(publish_directory())

    @task
    def acknowledge(publish_summary: dict[str, Any]) -> int:
        from contactpoint.pipeline import acknowledge as deliver_receipts

        return deliver_receipts(FEED)

    # TaskFlow passes XComArgs where the functions declare their values; mypy cannot see through that.
    acknowledge(publish(link(load(receive()))))  # type: ignore[arg-type]


ingest_school()
