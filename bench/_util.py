"""Small helpers shared by the benchmark scripts (timing, memory, printing)."""

from __future__ import annotations

import platform
import resource
import time
from collections.abc import Callable


def best_of(func: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """The fastest of ``repeat`` runs in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def header(title: str) -> None:
    print(f"# {title}  (python {platform.python_version()}, {platform.machine()})")


def verdict(value: float, target: float, unit: str = "s", lower_is_better: bool = True) -> str:
    ok = value < target if lower_is_better else value >= target
    return f"{'PASS' if ok else 'MISS'} (target {'<' if lower_is_better else '>='} {target:g} {unit})"
