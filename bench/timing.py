"""Timing helpers the benchmarks share."""

from __future__ import annotations

import os
import time


def interleaved(fns: dict, rounds: int = 60, batch_s: float = 0.001) -> dict:
    """Best mean time per call (seconds) of each function over `rounds` batches of about `batch_s`
    each; the functions take turns batch by batch. Short batches, many of them: on a machine shared
    by more processes than cores, a batch shorter than a scheduler slice often runs uninterrupted,
    and the best batch is then the function's own speed."""
    number = {}
    for name, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < batch_s * 5:
            fn()
            n += 1
        number[name] = max(n // 5, 1)
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = number[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / n)
    return best


def load_line() -> str:
    """"load average 1.23 1.10 0.98 on 2 cores": the machine is shared, so numbers come with it."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def finish(failures: list[str]) -> int:
    """Print each missed target as "FAIL: ..." and then OK or FAILED; the exit code (1 on a miss)."""
    for f in failures:
        print(f"FAIL: {f}")
    print("OK" if not failures else "FAILED")
    return 1 if failures else 0
