"""The directory API benchmark reports what it measured: nearest-rank percentiles, and the run with the
median p99 (not the best one) stands for a set of repeats."""

from __future__ import annotations

import pytest

from benchmarks.directory_api import median_of
from benchmarks.directory_api_load import percentile, summary
from benchmarks.directory_api_store import cp_id

pytestmark = pytest.mark.unit


def test_percentiles_are_nearest_rank_of_what_was_measured() -> None:
    latencies = [float(v) for v in range(1, 101)]  # 1..100
    assert (percentile(latencies, 50), percentile(latencies, 99), percentile(latencies, 100)) == (50.0, 99.0, 100.0)
    assert percentile([], 99) is None
    assert summary([0.001, 0.002, 0.003]) == {"p50_ms": 2.0, "p95_ms": 3.0, "p99_ms": 3.0, "max_ms": 3.0}


def test_the_median_run_by_p99_stands_for_the_repeats_not_the_best() -> None:
    runs = [{"latency_from_schedule": {"p99_ms": p99}, "n": n} for n, p99 in enumerate([41.9, 10.6, 11.3])]
    assert median_of(runs) == runs[2]
    rates = [{"reads_per_second": r} for r in (488.4, 402.0, 342.4)]
    assert median_of(rates, by="rate") == {"reads_per_second": 402.0}
    assert median_of([]) is None


def test_the_benchmark_reads_the_ids_its_build_makes() -> None:
    # The build's SQL: 'CP' || lpad(n::text, 9, '0') || chr(65 + n % 26)
    assert (cp_id(1), cp_id(26), cp_id(100_000)) == ("CP000000001B", "CP000000026A", "CP000100000E")
