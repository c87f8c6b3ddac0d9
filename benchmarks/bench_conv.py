"""conv2d speed: our C kernels vs our NumPy reference vs PyTorch CPU, on the toy CNN's conv layers.

    PYTHONPATH=. python benchmarks/bench_conv.py [--threads 1 2] [--repeat 7] [--batches 32 128 256]

Kernel against kernel, at the same thread count, interleaved: forward (bias fused), backward
(grad-weight + grad-bias, plus grad-input where the layer's input needs it: never for the input
layer, as in a real network) and their sum. PyTorch runs aten's convolution / convolution_backward
in the faster of NCHW and channels-last. Ratios > 1 mean ours is faster. Prints, never asserts.
"""
import numpy as np

import common
from tinygrad_ko._backend import kernels, ref, selection

# (name, height/width, c_in, c_out, input gradient needed)
LAYERS = [("28x28x1->32", 28, 1, 32, False), ("14x14x32->64", 14, 32, 64, True)]
BATCHES = (32, 128, 256)
GEOMETRY = dict(stride=(1, 1), dilation=(1, 1), padding=(1, 1, 1, 1))  # 3x3 'same'

COLUMNS = [("layer", "layer", "{}"), ("batch", "batch", "{}"), ("threads", "thr", "{}"),
           ("pass", "pass", "{}"), ("ours_ms", "ours ms", "{:.2f}"),
           ("ours_gflops", "GFLOP/s", "{:.0f}"), ("numpy_ms", "numpy ms", "{:.2f}"),
           ("vs_numpy", "x numpy", "{:.1f}"), ("torch_ms", "torch ms", "{:.2f}"),
           ("torch_layout", "torch fmt", "{}"), ("vs_torch", "x torch", "{:.2f}"),
           ("max_err", "max err", "{:.1e}")]


def _ours(impl, x, w, b, dy, need_dx):
    def forward():
        return impl.conv2d_forward(x, w, b, **GEOMETRY)

    def backward():
        if need_dx:
            impl.conv2d_backward_input(dy, w, x.shape[1:3], **GEOMETRY)
        impl.conv2d_backward_weight_bias(x, dy, w.shape[:2], **GEOMETRY)  # as F.conv2d does
    return forward, backward


def _torch(torch, x, w, b, dy, need_dx, layout):
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    tw = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous(memory_format=fmt)
    tb = torch.from_numpy(b)
    tdy = torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    conv = dict(stride=[1, 1], padding=[1, 1], dilation=[1, 1], transposed=False,
                output_padding=[0, 0], groups=1)

    def forward():
        return torch.ops.aten.convolution(tx, tw, tb, **conv)

    def backward():
        torch.ops.aten.convolution_backward(tdy, tx, tw, [tw.shape[0]], **conv,
                                            output_mask=[need_dx, True, True])
    return forward, backward


def _measure(fns, repeat):
    """Best seconds per call of each (forward, backward) pair, interleaved; fwd+bwd is their sum."""
    calls = {f"{name}:{part}": fn for name, pair in fns.items()
             for part, fn in zip(("fwd", "bwd"), pair)}
    best = common.race(calls, repeat=repeat, warmup=1, min_time=0.05)
    return {name: {"fwd": best[f"{name}:fwd"], "bwd": best[f"{name}:bwd"],
                   "fwd+bwd": best[f"{name}:fwd"] + best[f"{name}:bwd"]} for name in fns}


def run(threads, repeat, batches=BATCHES, numpy_max_batch=128):
    """One row per (layer, batch, threads, pass). The NumPy reference is timed up to
    numpy_max_batch (it is the slow side; the big batch is there for the PyTorch anchor)."""
    torch = common.optional_torch()
    rng = np.random.default_rng(0)
    rows = []
    for name, size, c_in, c_out, need_dx in LAYERS:
        for batch in batches:
            x = rng.random((batch, size, size, c_in), dtype=np.float32)
            w = (rng.standard_normal((3, 3, c_in, c_out)) * 0.1).astype(np.float32)
            b = rng.standard_normal(c_out).astype(np.float32)
            dy = rng.standard_normal((batch, size, size, c_out)).astype(np.float32)
            macs = batch * size * size * 9 * c_in * c_out
            flops = {"fwd": 2 * macs, "bwd": 2 * macs * (2 if need_dx else 1)}
            flops["fwd+bwd"] = flops["fwd"] + flops["bwd"]
            err = common.max_abs_err(kernels.conv2d_forward(x, w, b, **GEOMETRY),
                                     ref.conv2d_forward(x, w, b, **GEOMETRY))
            for n_threads in threads:
                common.set_threads(n_threads)
                fns = {"ours": _ours(kernels, x, w, b, dy, need_dx)}
                if batch <= numpy_max_batch:
                    fns["numpy"] = _ours(ref, x, w, b, dy, need_dx)
                if torch is not None:
                    for layout in ("nchw", "channels_last"):
                        fns[f"torch_{layout}"] = _torch(torch, x, w, b, dy, need_dx, layout)
                best = _measure(fns, repeat)
                for part in ("fwd", "bwd", "fwd+bwd"):
                    ours = best["ours"][part]
                    row = {"layer": name, "batch": batch, "threads": n_threads, "pass": part,
                           "ours_ms": ours * 1e3, "ours_gflops": flops[part] / ours / 1e9,
                           "max_err": err if part == "fwd" else None}
                    if "numpy" in best:
                        row["numpy_ms"] = best["numpy"][part] * 1e3
                        row["vs_numpy"] = best["numpy"][part] / ours
                    if torch is not None:
                        layout = min(("nchw", "channels_last"),
                                     key=lambda fmt: best[f"torch_{fmt}"][part])
                        row.update(torch_ms=best[f"torch_{layout}"][part] * 1e3,
                                   torch_layout=layout,
                                   vs_torch=best[f"torch_{layout}"][part] / ours)
                    rows.append(row)
    return rows


def main(args):
    if selection.get_backend() != "c":
        raise SystemExit("bench_conv: the C backend is not active (build it first)")
    rows = run(args.threads, args.repeat, tuple(args.batches))
    common.print_table(rows, COLUMNS, "conv2d 3x3 'same', float32 (x numpy / x torch: their time "
                                      "over ours)")
    common.write_json(args.json, {"conv2d": rows})


if __name__ == "__main__":
    main(common.parse_args(__doc__.splitlines()[0],
                           batches=dict(type=int, nargs="+", default=list(BATCHES),
                                        help="batch sizes (default: 32 128 256)")))
