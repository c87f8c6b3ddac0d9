"""Fused conv2d + ReLU against conv2d followed by the ReLU kernels, and PyTorch, on the toy CNN's
conv layers.

    PYTHONPATH=. python benchmarks/bench_conv_relu.py [--threads 1 2] [--repeat 7] [--batches 32 128]

Forward: conv2d_forward_relu vs conv2d_forward + relu_forward. Backward: the fused gradient
kernels (grad-weight + grad-bias, plus grad-input where the layer's input needs it) vs
relu_backward + the plain ones. PyTorch: aten convolution + relu, threshold_backward +
convolution_backward, in the faster of NCHW and channels-last. Interleaved (common.race); ratios
> 1 mean the fused kernels are faster. Prints, never asserts.
"""
import numpy as np

import common
from tinygrad_ko._backend import kernels, selection

# (name, height/width, c_in, c_out, input gradient needed), as bench_conv.py
LAYERS = [("28x28x1->32", 28, 1, 32, False), ("14x14x32->64", 14, 32, 64, True)]
GEOMETRY = dict(stride=(1, 1), dilation=(1, 1), padding=(1, 1, 1, 1))

COLUMNS = [("layer", "layer", "{}"), ("batch", "batch", "{}"), ("threads", "thr", "{}"),
           ("pass", "pass", "{}"), ("fused_ms", "fused ms", "{:.2f}"),
           ("unfused_ms", "unfused ms", "{:.2f}"), ("vs_unfused", "x unfused", "{:.2f}"),
           ("torch_ms", "torch ms", "{:.2f}"), ("vs_torch", "x torch", "{:.2f}")]


def _fused(x, w, b, dy, y, need_dx):
    def backward():
        if need_dx:
            kernels.conv2d_backward_input_relu(dy, y, w, x.shape[1:3], **GEOMETRY)
        kernels.conv2d_backward_weight_bias_relu(x, dy, y, w.shape[:2], **GEOMETRY)
    return lambda: kernels.conv2d_forward_relu(x, w, b, **GEOMETRY), backward


def _unfused(x, w, b, dy, y, need_dx):
    def backward():
        dz = kernels.relu_backward(dy, y)
        if need_dx:
            kernels.conv2d_backward_input(dz, w, x.shape[1:3], **GEOMETRY)
        kernels.conv2d_backward_weight_bias(x, dz, w.shape[:2], **GEOMETRY)
    return lambda: kernels.relu_forward(kernels.conv2d_forward(x, w, b, **GEOMETRY)), backward


def _torch(torch, x, w, b, dy, y, need_dx, layout):
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    tx, ty, tdy = (torch.from_numpy(a).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
                   for a in (x, y, dy))
    tw = torch.from_numpy(w).permute(3, 2, 0, 1).contiguous(memory_format=fmt)
    tb = torch.from_numpy(b)
    conv = dict(stride=[1, 1], padding=[1, 1], dilation=[1, 1], transposed=False,
                output_padding=[0, 0], groups=1)

    def backward():
        dz = torch.ops.aten.threshold_backward(tdy, ty, 0)
        torch.ops.aten.convolution_backward(dz, tx, tw, [tw.shape[0]], **conv,
                                            output_mask=[need_dx, True, True])
    return lambda: torch.relu(torch.ops.aten.convolution(tx, tw, tb, **conv)), backward


def run(threads, repeat, batches):
    torch = common.optional_torch()
    rng = np.random.default_rng(0)
    rows = []
    for name, size, c_in, c_out, need_dx in LAYERS:
        for batch in batches:
            x = rng.random((batch, size, size, c_in), dtype=np.float32)
            w = (rng.standard_normal((3, 3, c_in, c_out)) * 0.1).astype(np.float32)
            b = rng.standard_normal(c_out).astype(np.float32) * 0.1
            dy = rng.standard_normal((batch, size, size, c_out)).astype(np.float32)
            y = kernels.conv2d_forward_relu(x, w, b, **GEOMETRY)
            for n_threads in threads:
                common.set_threads(n_threads)
                pairs = {"fused": _fused(x, w, b, dy, y, need_dx),
                         "unfused": _unfused(x, w, b, dy, y, need_dx)}
                if torch is not None:
                    for layout in ("nchw", "channels_last"):
                        pairs[f"torch_{layout}"] = _torch(torch, x, w, b, dy, y, need_dx, layout)
                calls = {f"{who}:{part}": fn for who, pair in pairs.items()
                         for part, fn in zip(("fwd", "bwd"), pair)}
                best = common.race(calls, repeat=repeat, warmup=1, min_time=0.05)
                for part in ("fwd", "bwd", "fwd+bwd"):
                    def seconds(who):
                        return sum(best[f"{who}:{p}"] for p in part.split("+"))
                    fused = seconds("fused")
                    row = {"layer": name, "batch": batch, "threads": n_threads, "pass": part,
                           "fused_ms": fused * 1e3, "unfused_ms": seconds("unfused") * 1e3,
                           "vs_unfused": seconds("unfused") / fused}
                    if torch is not None:
                        theirs = min(seconds("torch_nchw"), seconds("torch_channels_last"))
                        row.update(torch_ms=theirs * 1e3, vs_torch=theirs / fused)
                    rows.append(row)
    return rows


def main(args):
    if selection.get_backend() != "c":
        raise SystemExit("bench_conv_relu: the C backend is not active (build it first)")
    rows = run(args.threads, args.repeat, tuple(args.batches))
    common.print_table(rows, COLUMNS, "conv2d 3x3 'same' + ReLU, float32 (x unfused / x torch: "
                                      "their time over the fused kernels')")
    common.write_json(args.json, {"conv2d_relu": rows})


if __name__ == "__main__":
    main(common.parse_args(__doc__.splitlines()[0],
                           batches=dict(type=int, nargs="+", default=[32, 128],
                                        help="batch sizes (default: 32 128)")))
