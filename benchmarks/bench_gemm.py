"""GEMM speed: tinygrad_ko's float32 matmul against numpy.matmul (OpenBLAS), side by side.

For square sizes and the deep-learning shapes of the toy CNN/MLP, at each thread count: our GFLOP/s,
NumPy's, the ratio ours/NumPy (timed interleaved, best of --repeat), the max abs error of both against
a float64 product, and our fraction of the machine's peak FP32 rate, which the script measures first
with an FMA loop on every thread (tk_peak_flops_probe_f32, timed by the thread's CPU clock).

    PYTHONPATH=. python benchmarks/bench_gemm.py [--threads 1 2] [--repeat 7] [--cpu-time]
                                                 [--min-time S] [--json PATH]

--cpu-time times the 1-thread rows by the calling thread's CPU time (both libraries then run on
that thread), which other jobs on a shared machine disturb far less; multi-thread rows always use
wall time. A small --min-time (seconds per timed sample; a sample
loops short calls up to it) with a large --repeat keeps the best single calls, which on a busy
machine are the ones that found both cores free.
"""
import threading
import time

import numpy as np

from common import max_abs_err, parse_args, print_table, race, set_threads, write_json

import tinygrad_ko as tg
from tinygrad_ko._backend import kernels

SQUARES = [64, 128, 256, 512, 1024, 2048]
DL_SHAPES = [(32, 784, 300), (128, 3136, 100), (25088, 9, 32), (6272, 288, 64)]  # (M, K, N)


def peak_gflops(threads, iters=20_000_000):
    """Sum over `threads` concurrent FMA-loop probes (cffi drops the GIL during the C call)."""
    from tinygrad_ko._tk import lib
    lib.tk_peak_flops_probe_f32(iters // 10)  # wake the cores up to their sustained clock
    rates = [0.0] * threads

    def probe(i):
        rates[i] = lib.tk_peak_flops_probe_f32(iters)

    workers = [threading.Thread(target=probe, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(rates) / 1e9


def measure(M, K, N, repeat, rng, timer, min_time):
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    best = race({"ours": lambda: kernels.matmul(a, b), "numpy": lambda: np.matmul(a, b)},
                repeat=repeat, timer=timer, min_time=min_time)
    flops = 2.0 * M * N * K
    return {"ours": flops / best["ours"] / 1e9, "numpy": flops / best["numpy"] / 1e9,
            "ratio": best["numpy"] / best["ours"], "err": max_abs_err(kernels.matmul(a, b), exact),
            "err_numpy": max_abs_err(np.matmul(a, b), exact)}


def main():
    args = parse_args(__doc__.splitlines()[0],
                      cpu_time=dict(action="store_true", help="1-thread rows: time by thread CPU time"),
                      min_time=dict(type=float, default=0.02, help="seconds per timed sample"))
    tg.set_backend("c")
    rng = np.random.default_rng(0)
    info = tg.backend_info()
    print(f"tinygrad_ko C core: simd={info['simd']} openmp={info['openmp']}")
    results = {"peak_gflops": {}, "rows": []}
    for threads in args.threads:
        set_threads(threads)
        peak = max(peak_gflops(threads) for _ in range(3))
        results["peak_gflops"][threads] = peak
        rows = []
        cpu = args.cpu_time and threads == 1
        timer = time.thread_time if cpu else time.perf_counter
        for M, K, N in [(n, n, n) for n in SQUARES] + DL_SHAPES:
            shape = f"{M}^3" if M == K == N else f"({M}x{K})@({K}x{N})"
            row = {"threads": threads, "shape": shape,
                   **measure(M, K, N, args.repeat, rng, timer, args.min_time),
                   "timer": "thread cpu" if cpu else "wall"}
            row["peak_pct"] = 100.0 * row["ours"] / peak
            rows.append(row)
        print_table(rows, [("shape", "shape", "{}"), ("ours", "ours GFLOP/s", "{:.1f}"),
                           ("numpy", "numpy GFLOP/s", "{:.1f}"), ("ratio", "ours/numpy", "{:.2f}"),
                           ("peak_pct", "% of peak", "{:.0f}"), ("err", "max err ours", "{:.1e}"),
                           ("err_numpy", "max err numpy", "{:.1e}")],
                    title=f"float32 GEMM, {threads} thread(s), {'thread CPU' if cpu else 'wall'} time; "
                          f"measured peak {peak:.0f} GFLOP/s")
        results["rows"] += rows
    write_json(args.json, results)


if __name__ == "__main__":
    main()
