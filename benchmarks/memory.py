"""Memory readings for the benchmarks: this process's RSS and peak RSS (Linux ``/proc/self``)."""

from __future__ import annotations


def status_kib(key: str) -> int | None:
    """A ``/proc/self/status`` figure in KiB (e.g. ``VmRSS``, ``VmHWM``); None where there is none."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mib() -> float | None:
    """The process's resident set size now (Linux ``VmRSS``)."""
    kib = status_kib("VmRSS")
    return None if kib is None else kib / 1024


def peak_rss_mib() -> float | None:
    """The process's peak resident set size since start or the last ``reset_peak_rss`` (``VmHWM``)."""
    kib = status_kib("VmHWM")
    if kib is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return kib / 1024


def reset_peak_rss() -> bool:
    """Reset the peak RSS to the current RSS (Linux ``clear_refs`` 5); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False
