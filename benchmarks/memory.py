"""Resident memory of this process, for the benchmarks' peak-memory columns."""

from __future__ import annotations

import os
import resource
import sys


def peak_rss_mb() -> float:
    """Peak resident size in MB. Linux: VmHWM, which starts afresh at exec (ru_maxrss would still
    include the parent's pages at fork time) and after :func:`reset_peak`."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def current_rss_mb() -> float:
    """Resident size now (Linux); the peak where that cannot be read."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except OSError:
        return peak_rss_mb()


def reset_peak() -> bool:
    """Reset Linux's peak-RSS counter to the current size (``clear_refs`` 5); False elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False
