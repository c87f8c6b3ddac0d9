"""Issue 4's kernels and ReLU: log-sum-exp, fused cross-entropy, pooling, ReLU (plus convolution,
benchmarks/bench_conv.py), our C kernels vs our NumPy references vs PyTorch CPU, side by side.

    PYTHONPATH=. python benchmarks/bench_kernels.py [--threads 1 2] [--repeat 7] [--json out.json]

Every row is measured interleaved (common.race) at one thread count for all three contenders.
"x numpy" and "x torch" are speed-ups of our C kernel (their time / ours). GB/s counts the bytes a
kernel must move at least (inputs read once, outputs written once); "of bw" compares it with the
machine's DRAM bandwidth at that thread count (ANCHORS.md: ~20 GB/s on 1 thread, ~33 GB/s on 2)
for working sets beyond the per-core caches. That is the issue's yardstick, not a ceiling: a big
L3 can hold these working sets between repeats, so more than 100% is possible. max err is the
largest |C - reference| (float64 reference for the row kernels) over the outputs.
"""
import os
import sys

import numpy as np

import common
from tinygrad_ko._backend import c_available, ref

DRAM_BYTES_PER_S = {1: 20e9, 2: 33e9}
CACHE_BYTES = 4 << 20  # working sets within L1/L2: no bandwidth fraction shown
LSE_SHAPES = [(256, 10), (4096, 1000), (64, 100000)]
XENT_SHAPES = [(128, 10), (4096, 1000)]
POOL_SHAPES = [(32, 28, 28, 32), (128, 28, 28, 32), (32, 14, 14, 64), (128, 14, 14, 64)]

COLUMNS = [("op", "op", "{}"), ("shape", "shape", "{}"), ("threads", "thr", "{}"),
           ("c_ms", "C ms", "{:.3f}"), ("numpy_ms", "numpy ms", "{:.3f}"),
           ("torch_ms", "torch ms", "{:.3f}"), ("vs_numpy", "x numpy", "{:.1f}"),
           ("vs_torch", "x torch", "{:.1f}"), ("gbps", "GB/s", "{:.1f}"),
           ("bw_fraction", "of bw", "{:.0%}"), ("max_err", "max err", "{:.1e}")]


def _row(op, shape, threads, times, nbytes, err):
    c_s, numpy_s, torch_s = times["c"], times["numpy"], times.get("torch")
    row = {"op": op, "shape": "x".join(map(str, shape)), "threads": threads,
           "c_ms": c_s * 1e3, "numpy_ms": numpy_s * 1e3, "vs_numpy": numpy_s / c_s,
           "torch_ms": None if torch_s is None else torch_s * 1e3,
           "vs_torch": None if torch_s is None else torch_s / c_s,
           "gbps": nbytes / c_s / 1e9, "max_err": err}
    if nbytes > CACHE_BYTES:
        row["bw_fraction"] = nbytes / c_s / DRAM_BYTES_PER_S.get(threads, DRAM_BYTES_PER_S[2])
    return row


def _logsumexp(c, torch, shape, threads, repeat, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    fns = {"c": lambda: c.logsumexp(x), "numpy": lambda: ref.logsumexp(x)}
    if torch is not None:
        xt = torch.from_numpy(x)
        fns["torch"] = lambda: torch.logsumexp(xt, -1)
    err = common.max_abs_err(c.logsumexp(x), ref.logsumexp(x.astype(np.float64)))
    nbytes = x.nbytes + x.nbytes // shape[1]
    return _row("logsumexp", shape, threads, common.race(fns, repeat), nbytes, err)


def _cross_entropy(c, torch, shape, threads, repeat, rng):
    """Forward + backward of the mean loss over integer labels: ours is one fused call (the
    gradient of a mean loss seeded with 1 is the kernel's dlogits as they are)."""
    rows, cols = shape
    x = rng.standard_normal(shape).astype(np.float32)
    labels = rng.integers(0, cols, rows)
    scale = np.full(rows, 1 / rows, np.float32)
    fns = {"c": lambda: c.xent_sparse(x, labels, scale, 0.0),
           "numpy": lambda: ref.xent_sparse(x, labels, scale, 0.0)}
    if torch is not None:
        xt, lt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(labels)
        fns["torch"] = lambda: torch.autograd.grad(torch.nn.functional.cross_entropy(xt, lt), xt)
    ours = c.xent_sparse(x, labels, scale, 0.0)[1]
    err = common.max_abs_err(ours, ref.xent_sparse(x.astype(np.float64), labels,
                                                   scale.astype(np.float64), 0.0)[1])
    return _row("xent fwd+bwd", shape, threads, common.race(fns, repeat),
                2 * x.nbytes + labels.nbytes, err)


def _torch_pool(torch, kind, x, dy):
    """PyTorch's pooling forward + backward in its faster layout (timed both, keeps the best)."""
    pool = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    candidates = {}
    for layout in (torch.channels_last, torch.contiguous_format):
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=layout)
        xt.requires_grad_()
        dyt = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=layout)
        candidates[str(layout)] = (lambda xt=xt, dyt=dyt:
                                   torch.autograd.grad(pool(xt, 2), xt, dyt))
    times = common.race(candidates, repeat=3)
    return candidates[min(times, key=times.get)]


def _pool(c, torch, kind, shape, threads, repeat, rng):
    from tinygrad_ko._backend import kernels
    x = rng.standard_normal(shape).astype(np.float32)
    geometry = kernels.pool2d_geometry(shape, 2, None, "valid")
    dy = rng.standard_normal((shape[0], shape[1] // 2, shape[2] // 2, shape[3])).astype(np.float32)

    if kind == "max":
        def run(impl):
            y, argmax = impl.maxpool2d_forward(x, geometry)
            return impl.maxpool2d_backward(dy, argmax, shape, geometry)
        moved = 2 * x.nbytes + 2 * (dy.nbytes + dy.size * 4)  # x, dx; y, dy and int32 argmax twice
    else:
        def run(impl):
            impl.avgpool2d_forward(x, geometry)
            return impl.avgpool2d_backward(dy, shape, geometry)
        moved = 2 * x.nbytes + 2 * dy.nbytes
    fns = {"c": lambda: run(c), "numpy": lambda: run(ref)}
    if torch is not None:
        fns["torch"] = _torch_pool(torch, kind, x, dy)
    err = common.max_abs_err(run(c), run(ref))
    return _row(f"{kind}pool 2x2 fwd+bwd", shape, threads, common.race(fns, repeat), moved, err)


def _relu(c, torch, shape, threads, repeat, rng):
    """Forward + backward: ours two kernel calls, NumPy's np.maximum then the masked product."""
    x, dy = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    fns = {"c": lambda: (c.relu_forward(x), c.relu_backward(dy, x)),
           "numpy": lambda: (ref.relu_forward(x), ref.relu_backward(dy, x))}
    if torch is not None:
        xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
        fns["torch"] = lambda: (torch.relu(xt), torch.ops.aten.threshold_backward(dyt, xt, 0))
    err = common.max_abs_err(c.relu_backward(dy, x), ref.relu_backward(dy, x))
    return _row("relu fwd+bwd", shape, threads, common.race(fns, repeat), 5 * x.nbytes, err)


def run(threads, repeat):
    """Rows for every kernel at every thread count in `threads`."""
    from tinygrad_ko._backend import c
    torch = common.optional_torch()
    rng = np.random.default_rng(0)
    rows = []
    for n in threads:
        common.set_threads(n)
        rows += [_logsumexp(c, torch, shape, n, repeat, rng) for shape in LSE_SHAPES]
        rows += [_cross_entropy(c, torch, shape, n, repeat, rng) for shape in XENT_SHAPES]
        rows += [_pool(c, torch, kind, shape, n, repeat, rng)
                 for kind in ("max", "avg") for shape in POOL_SHAPES]
        rows.append(_relu(c, torch, (128, 28, 28, 32), n, repeat, rng))
    return rows


def main(args):
    if not c_available():
        raise SystemExit("bench_kernels: the C backend is not built (python setup.py build_ext "
                         "--inplace)")
    torch = common.optional_torch()
    print(f"torch: {torch.__version__ if torch else 'not installed (its columns stay empty)'}")
    rows = run(args.threads, args.repeat)
    common.print_table(rows, COLUMNS, "log-sum-exp, fused cross-entropy, pooling, ReLU (float32)")
    payload = {"kernels": rows}
    if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_conv.py")):
        import bench_conv
        conv_rows = bench_conv.run(args.threads, args.repeat)
        common.print_table(conv_rows, bench_conv.COLUMNS, "conv2d (benchmarks/bench_conv.py)")
        payload["conv2d"] = conv_rows
    common.write_json(args.json, payload)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main(common.parse_args(__doc__.splitlines()[0]))
