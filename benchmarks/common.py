"""Shared benchmark driver pieces: warm-up, best-of-N timing, thread control, tables and --json.

Ratios are only meaningful when both sides are measured in the same run, interleaved: the machines we
run on are shared and noisy. Nothing here asserts a speed; it prints.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(description, **extra):
    """The flags every benchmark takes: --threads (list), --repeat, --json PATH; plus any `extra`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts to measure at (default: 1 2)")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement (best is kept)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    for flag, kwargs in extra.items():
        parser.add_argument("--" + flag.replace("_", "-"), **kwargs)
    return parser.parse_args()


# Seconds each contender runs untimed before its timed sample when threads > 1. Thread pools spin
# after a call before they sleep (OpenBLAS for about 0.12 s here, libgomp for milliseconds); a pool
# still spinning steals a core from the next contender's threads, which measured 2-8x slowdowns
# that had nothing to do with either library. Idle cores also take milliseconds to come back to
# speed on this VM, so the settling runs the contender itself rather than sleeping.
SETTLE_SECONDS = 0.15
_threads = 1


def set_threads(n):
    """Sets the thread count for tinygrad_ko, NumPy's BLAS (via threadpoolctl if present) and torch."""
    global _threads
    _threads = n
    import tinygrad_ko as tg
    tg.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
    except ImportError:
        pass
    torch = optional_torch()
    if torch is not None:
        torch.set_num_threads(n)


def optional_torch():
    try:
        import torch
        return torch
    except ImportError:
        return None


def best_time(fn, repeat=7, warmup=2, min_time=0.02, timer=time.perf_counter):
    """Best time per call of fn() in seconds; short calls are looped to at least min_time.

    timer: wall clock by default; time.thread_time measures only this thread's CPU time, which a
    busy shared machine disturbs far less (meaningful only when fn runs on the calling thread)."""
    for _ in range(warmup):
        fn()
    start = timer()
    fn()
    once = max(timer() - start, 1e-9)
    inner = max(1, int(min_time / once))
    best = float("inf")
    for _ in range(repeat):
        start = timer()
        for _ in range(inner):
            fn()
        best = min(best, (timer() - start) / inner)
    return best


def settle(fn, seconds):
    """Runs fn() untimed for `seconds` (at least once)."""
    end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < end:
        fn()


def race(fns, repeat=7, warmup=2, min_time=0.02, timer=time.perf_counter):
    """Times several callables interleaved (round-robin), so drift on a shared machine hits them alike.
    With more than one thread each timed sample follows SETTLE_SECONDS of untimed runs.

    Returns {name: best seconds per call}.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            if _threads > 1:
                settle(fn, SETTLE_SECONDS)
            best[name] = min(best[name], best_time(fn, repeat=1, warmup=0, min_time=min_time,
                                                       timer=timer))
    return best


def max_abs_err(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) if np.size(a) else 0.0


def print_table(rows, columns, title=None):
    """rows: list of dicts; columns: list of (key, header, format)."""
    if title:
        print(f"\n{title}")
    cells = [[header for _, header, _ in columns]]
    for row in rows:
        cells.append([("-" if row.get(key) is None else fmt.format(row[key])) for key, _, fmt in columns])
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for n, line in enumerate(cells):
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))
        if n == 0:
            print("  ".join("-" * width for width in widths))


def write_json(path, payload):
    if path:
        with open(path, "w") as f:
            json.dump(payload, f, indent=2)
        print(f"\nwrote {path}")
