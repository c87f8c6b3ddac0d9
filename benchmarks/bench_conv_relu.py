"""Fused conv2d + ReLU against conv2d followed by the ReLU kernels, and PyTorch, on the toy CNN's
conv layers.

    PYTHONPATH=. python benchmarks/bench_conv_relu.py [--threads 1 2] [--repeat 7] \
        [--batches 32 128]

Forward: conv2d_forward_relu vs conv2d_forward + relu_forward. Backward: the fused gradient
kernels (grad-weight + grad-bias, plus grad-input where the layer's input needs it) vs
relu_backward + the plain ones. PyTorch: aten convolution + relu, threshold_backward +
convolution_backward, in the faster of NCHW and channels-last. Then the input layer's backward
under a 2x2 max pool (the weight and bias gradients from the pooled gradient in one kernel, against
the pool's masked scatter + the plain kernels), and whole training steps of the toy CNN
(examples/train_cnn.py) on the C backend, Conv2D(activation="relu") against Conv2D followed by an
Activation("relu") layer, one train_on_batch each. Interleaved (common.race); ratios > 1 mean the
fused kernels are faster. Prints, never asserts.
"""
import numpy as np

import common
from tinygrad_ko._backend import kernels, selection

# (name, height/width, c_in, c_out, input gradient needed), as bench_conv.py
LAYERS = [("28x28x1->32", 28, 1, 32, False), ("14x14x32->64", 14, 32, 64, True)]
GEOMETRY = dict(stride=(1, 1), dilation=(1, 1), padding=(1, 1, 1, 1))

POOLED_COLUMNS = [("batch", "batch", "{}"), ("threads", "thr", "{}"),
                  ("pooled_ms", "pooled ms", "{:.3f}"), ("separate_ms", "separate ms", "{:.3f}"),
                  ("vs_separate", "x separate", "{:.2f}")]
STEP_COLUMNS = [("batch", "batch", "{}"), ("threads", "thr", "{}"),
                ("fused_ms", "fused ms/step", "{:.2f}"),
                ("unfused_ms", "unfused ms/step", "{:.2f}"), ("vs_unfused", "x unfused", "{:.2f}")]
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


def run_pooled(threads, repeat, batches):
    """The input layer's dw and db under relu -> 2x2 max pool, from the pooled gradient."""
    rng = np.random.default_rng(0)
    rows = []
    for batch in batches:
        x = rng.random((batch, 28, 28, 1), dtype=np.float32)
        w = (rng.standard_normal((3, 3, 1, 32)) * 0.3).astype(np.float32)
        b = rng.standard_normal(32).astype(np.float32) * 0.1
        y = kernels.conv2d_forward_relu(x, w, b, **GEOMETRY)
        p, argmax = kernels.maxpool2d_forward(y, 2)
        dp = rng.standard_normal(p.shape).astype(np.float32)

        def separate():
            dy = kernels.maxpool2d_backward_relu(dp, p, argmax, y.shape, 2)
            kernels.conv2d_backward_weight_bias(x, dy, (3, 3), **GEOMETRY)

        def pooled():
            kernels.conv2d_backward_weight_bias_pooled(x, dp, p, argmax, (3, 3), **GEOMETRY)
        for n_threads in threads:
            common.set_threads(n_threads)
            best = common.race({"pooled": pooled, "separate": separate}, repeat=repeat,
                               min_time=0.05)
            rows.append({"batch": batch, "threads": n_threads, "pooled_ms": best["pooled"] * 1e3,
                         "separate_ms": best["separate"] * 1e3,
                         "vs_separate": best["separate"] / best["pooled"]})
    return rows


def _cnn(fused):
    """The toy CNN, with the ReLU of each Conv2D fused or as a layer of its own."""
    from tinygrad_ko import keras
    layers = keras.layers

    def conv(filters, **kwargs):
        if fused:
            return [layers.Conv2D(filters, 3, activation="relu", padding="same", **kwargs)]
        return [layers.Conv2D(filters, 3, padding="same", **kwargs), layers.Activation("relu")]
    model = keras.Sequential(
        conv(32, input_shape=(28, 28, 1)) + [layers.MaxPooling2D(2)] + conv(64)
        + [layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(100, activation="relu"),
           layers.Dropout(0.3), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def run_steps(threads, repeat, batches):
    rng = np.random.default_rng(0)
    rows = []
    for batch in batches:
        x = rng.random((batch, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, batch)
        models = {"fused": _cnn(True), "unfused": _cnn(False)}
        for n_threads in threads:
            common.set_threads(n_threads)
            best = common.race({name: (lambda m=model: m.train_on_batch(x, y))
                                for name, model in models.items()}, repeat=repeat, min_time=0)
            rows.append({"batch": batch, "threads": n_threads, "fused_ms": best["fused"] * 1e3,
                         "unfused_ms": best["unfused"] * 1e3,
                         "vs_unfused": best["unfused"] / best["fused"]})
    return rows


def main(args):
    if selection.get_backend() != "c":
        raise SystemExit("bench_conv_relu: the C backend is not active (build it first)")
    rows = run(args.threads, args.repeat, tuple(args.batches))
    common.print_table(rows, COLUMNS, "conv2d 3x3 'same' + ReLU, float32 (x unfused / x torch: "
                                      "their time over the fused kernels')")
    pooled = run_pooled(args.threads, args.repeat, tuple(args.batches))
    common.print_table(pooled, POOLED_COLUMNS, "28x28x1->32 conv + ReLU under a 2x2 max pool: dw "
                                               "and db from the pooled gradient (x separate: "
                                               "masked scatter + plain kernels over ours)")
    steps = run_steps(args.threads, 4 * args.repeat, tuple(args.batches))
    common.print_table(steps, STEP_COLUMNS, "toy CNN training step (train_on_batch), best of "
                                            f"{4 * args.repeat} interleaved")
    common.write_json(args.json, {"conv2d_relu": rows, "pooled": pooled, "cnn_step": steps})


if __name__ == "__main__":
    main(common.parse_args(__doc__.splitlines()[0],
                           batches=dict(type=int, nargs="+", default=[32, 128],
                                        help="batch sizes (default: 32 128)")))
