"""Audit anchor, hourly: the audit chain's head is written outside the database (the anchors file under
the hub's data folder; on a production host, an append-only file or a write-once store), after the chain
is verified. `contactpoint audit verify` fails when too many entries stand after the newest anchor.

The work is in `pipeline.steps.anchor_audit` (`warehouse.audit.anchor_head`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["audit"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=2)},
)
def audit_anchor() -> None:
    @task
    def anchor_chain_head() -> dict[str, object]:
        from pipeline.steps import anchor_audit

        return anchor_audit()

    anchor_chain_head()


audit_anchor()
