"""Process memory for the benchmarks (Linux /proc, with getrusage as the fallback)."""

from __future__ import annotations

import contextlib
import resource
from pathlib import Path


def _status_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def memory_baseline() -> float:
    """Current RSS, after resetting the peak (Linux clear_refs): setup peaks hide no growth."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    current = _status_mib("VmRSS")
    return current if current is not None else _maxrss_mib()


def peak_mib() -> float:
    peak = _status_mib("VmHWM")
    return peak if peak is not None else _maxrss_mib()


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
