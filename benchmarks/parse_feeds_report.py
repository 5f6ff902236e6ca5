"""The parse benchmark's report: where it ran, and its figures as a plain table."""

from __future__ import annotations

import os
import platform
from typing import Any

from benchmarks.parse_feeds_timing import FeedResult


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict[str, Any]:
    """Where the figures were measured, and how busy the machine was (other processes skew timings)."""
    return {"cpus": os.cpu_count(), "cpu_model": _cpu_model(), "platform": platform.platform(),
            "python": platform.python_version(), "load_average_1_5_15": _load_average()}


def _load_average() -> list[float] | None:
    try:
        return [round(load, 2) for load in os.getloadavg()]
    except OSError:
        return None


def print_table(results: list[FeedResult], flatness: dict[str, Any] | None) -> None:
    """The figures as a plain table."""
    print(f"{'feed':<11}{'files':>6}{'rows':>9}{'MiB':>8}{'median rows/s':>15}{'min':>10}{'max':>10}"
          f"{'rows/CPU s':>12}{'MiB/s':>8}{'peak RSS MiB':>14}"
          "  outcomes (loaded/quarantined/withheld, rejected files, crashes)")
    for r in results:
        o = r.outcomes
        print(f"{r.feed:<11}{r.files:>6}{r.rows:>9}{r.megabytes:>8.1f}{r.median_rows_per_s:>15,.0f}"
              f"{min(r.rows_per_s):>10,.0f}{max(r.rows_per_s):>10,.0f}{r.median_rows_per_cpu_s:>12,.0f}"
              f"{r.median_mb_per_s:>8.2f}"
              f"{r.peak_rss_mib or 0:>14.1f}  {o['loaded']}/{o['quarantined']}/{o['withheld']}, "
              f"{o['rejected_files']}, {o['crashed_rows']}")
        for crash in r.crashes:
            print(f"{'':<11}crash: {crash}")
    checked = [r for r in results if r.batch_checks]
    if checked:
        print()
        print(f"{'feed':<11}{'batch checks, CPU ms a file (median / max; first call s)':<58}")
        for r in checked:
            line = "   ".join(f"{engine}: {f['median_cpu_ms']:.1f} / {f['max_cpu_ms']:.1f}; {f['first_call_cpu_s']:.2f}"
                               for engine, f in (r.batch_checks or {}).items())
            print(f"{r.feed:<11}{line}")
    if flatness:
        print()
        print(f"{'GP file':<9}{'rows':>10}{'MiB':>8}{'seconds':>9}{'rows/s':>10}{'baseline RSS':>14}"
              f"{'peak RSS':>10}{'RSS above base':>16}{'tracemalloc peak':>18}")
        for label in ("small", "large"):
            f = flatness[label]
            print(f"{label:<9}{f['rows']:>10,}{f['file_mib']:>8.1f}{f['seconds']:>9.1f}{f['rows_per_s']:>10,.0f}"
                  f"{f['baseline_rss_mib']:>14.1f}{f['peak_rss_mib']:>10.1f}{f['rss_above_baseline_mib']:>16.1f}"
                  f"{f['tracemalloc_peak_mib']:>18.3f}")
        print(f"{'ratio':<9}{'large/small':>18}{'':>33}{flatness['ratio_peak_rss'] or 0:>10.3f}"
              f"{flatness['ratio_rss_above_baseline'] or 0:>16.3f}{flatness['ratio_tracemalloc_peak'] or 0:>18.3f}")
