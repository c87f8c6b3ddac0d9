"""Validating entry points to the kernels: every check happens here, once, before either backend runs.

Bad input raises TypeError/ValueError naming the argument, shapes and dtypes; the C core validates
nothing, so nothing reaches it unchecked.
"""
import functools
import math
import weakref

import numpy as np

from . import selection

# The checks every section shares. `op` names the operation in the message.
FLOAT_DTYPES = frozenset((np.dtype(np.float32), np.dtype(np.float64)))


def _check_float(op, name, a, ndim=None):
    """a must be a C-contiguous float32/float64 ndarray (with ndim axes when given)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be an ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {a.dtype} (shape {a.shape})")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{op}: {name} must be {ndim}-D, got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{op}: {name} must be C-contiguous "
                         f"(shape {a.shape}, strides {a.strides})")


def _check_real(op, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a real number, got {type(value).__name__}")

# ---- gemm ----


def matmul(a, b):
    """np.matmul semantics (1-D operands, 2-D, N-D with broadcast batch dims); always an ndarray.

    float32/float64 run on the active backend's GEMM. Mixed dtypes promote as NumPy does (float32 @
    float64 -> float64, float32 @ int -> float64) and then run there too; anything that does not
    promote to float32/float64 (ints, bool, float16, complex) is computed by np.matmul itself.
    """
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"matmul expects ndarrays, got {type(a).__name__} and {type(b).__name__}")
    a_shape, b_shape = a.shape, b.shape
    if not a_shape or not b_shape:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a_shape} and {b_shape}")
    if a_shape[-1] != b_shape[-2 if len(b_shape) > 1 else 0]:
        raise ValueError(f"matmul: inner dimensions differ: {a_shape} @ {b_shape}")
    # Batch axes always broadcast when equal or when one side has none; np.broadcast_shapes costs
    # several microseconds, more than a small matmul.
    if len(a_shape) > 2 and len(b_shape) > 2 and a_shape[:-2] != b_shape[:-2]:
        try:
            np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions do not broadcast: {a_shape} @ {b_shape}") from None
    dtype = a.dtype
    if dtype is not b.dtype or dtype not in FLOAT_DTYPES:  # builtin dtypes are singletons
        dtype = np.result_type(dtype, b.dtype)
        if dtype not in FLOAT_DTYPES:
            return np.asarray(np.matmul(a, b))
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    return selection.impl.matmul(a, b)


def gemm(a, b, out=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """BLAS GEMM on 2-D float32/float64 arrays: out = alpha * op(a) @ op(b) + beta * out.

    op(x) is x.T when trans_x, else x. Views (transposed, strided) are used in place. out must be a
    C-contiguous array of shape (M, N) and the operands' dtype, not overlapping a or b; with out=None
    a new array is returned (then beta must be 0). beta == 0 never reads out.
    """
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"gemm: {name} must be an ndarray, got {type(x).__name__}")
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"gemm: {name} must be float32 or float64, got {x.dtype}")
        if x.ndim != 2:
            raise ValueError(f"gemm: {name} must be 2-D, got shape {x.shape}")
    if a.dtype != b.dtype:
        raise TypeError(f"gemm: a and b dtypes differ: {a.dtype} and {b.dtype}")
    op_a = a.shape[::-1] if trans_a else a.shape
    op_b = b.shape[::-1] if trans_b else b.shape
    if op_a[1] != op_b[0]:
        raise ValueError(f"gemm: inner dimensions differ: op(a) {op_a} @ op(b) {op_b} "
                         f"(a {a.shape}, trans_a={bool(trans_a)}; b {b.shape}, trans_b={bool(trans_b)})")
    _check_real("gemm", "alpha", alpha)
    _check_real("gemm", "beta", beta)
    if out is None:
        if beta != 0:
            raise ValueError(f"gemm: beta={beta} needs an `out` array to scale")
    else:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"gemm: out must be an ndarray, got {type(out).__name__}")
        if out.shape != (op_a[0], op_b[1]) or out.dtype != a.dtype:
            raise ValueError(f"gemm: out must have shape {(op_a[0], op_b[1])} and dtype {a.dtype}, "
                             f"got {out.shape} {out.dtype} (a {a.shape}, b {b.shape})")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"gemm: out (shape {out.shape}) must be C-contiguous and writeable")
        if np.may_share_memory(out, a) or np.may_share_memory(out, b):
            raise ValueError(f"gemm: out (shape {out.shape}) overlaps an operand")
    return selection.impl.gemm(a, b, out, float(alpha), float(beta), bool(trans_a), bool(trans_b))

# ---- conv2d ----
# NHWC images, HWIO kernels (kh, kw, c_in, c_out). Hyper-parameters arrive resolved: stride and
# dilation as (h, w) pairs, padding as explicit (top, bottom, left, right).


def _same_dtype(op, **arrays):
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        raise TypeError(f"{op}: dtypes differ: " + ", ".join(f"{k}={v}" for k, v in dtypes.items()))


_INT = {int}


def _conv_ints(op, value, n, name):
    if type(value) is tuple and len(value) == n and set(map(type, value)) == _INT:
        return value  # the common case, checked cheaply
    if (not isinstance(value, (tuple, list)) or len(value) != n
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in value)):
        raise TypeError(f"{op}: {name} must be a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in value)


def _conv_hyper(op, stride, dilation, padding):
    stride, dilation = _conv_ints(op, stride, 2, "stride"), _conv_ints(op, dilation, 2, "dilation")
    padding = _conv_ints(op, padding, 4, "padding")
    if min(stride) < 1:
        raise ValueError(f"{op}: stride must be positive, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be positive, got {dilation}")
    if min(padding) < 0:
        raise ValueError(f"{op}: padding (top, bottom, left, right) must be >= 0, got {padding}")
    return stride, dilation, padding


def conv2d_output_hw(input_hw, kernel_hw, stride, dilation, padding, op="conv2d"):
    """Output (height, width); ValueError when the dilated kernel exceeds the padded input."""
    return _output_hw(tuple(input_hw), tuple(kernel_hw), tuple(stride), tuple(dilation),
                      tuple(padding), op)


@functools.lru_cache(maxsize=256)
def _output_hw(input_hw, kernel_hw, stride, dilation, padding, op):
    """conv2d_output_hw, cached (errors are not: each bad call raises again); a training loop
    checks the same few geometries on every step."""
    out = []
    for axis, (size, k, s, d, pads) in enumerate(zip(input_hw, kernel_hw, stride, dilation,
                                                     (padding[:2], padding[2:]))):
        if size < 1 or k < 1:
            raise ValueError(f"{op}: input and kernel sizes must be positive, got input "
                             f"{tuple(input_hw)} and kernel {tuple(kernel_hw)}")
        span, padded = (k - 1) * d + 1, size + sum(pads)
        if span > padded:
            raise ValueError(f"{op}: kernel {tuple(kernel_hw)} (dilation {tuple(dilation)}) spans "
                             f"{span} along {('height', 'width')[axis]}, larger than the padded "
                             f"input ({padded} = {size} + padding {pads})")
        out.append((padded - span) // s + 1)
    return tuple(out)


def conv2d_forward(x, w, b=None, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0)):
    """y[n, oh, ow, o] = b[o] + sum x_pad[n, oh*sh + i*dh, ow*sw + j*dw, c] * w[i, j, c, o]."""
    return selection.impl.conv2d_forward(*_check_forward("conv2d", x, w, b, stride, dilation,
                                                         padding))


def _check_forward(op, x, w, b, stride, dilation, padding):
    _check_float(op, "x", x, 4)
    _check_float(op, "w", w, 4)
    if b is not None:
        _check_float(op, "b", b, 1)
    _same_dtype(op, x=x, w=w, b=b)
    stride, dilation, padding = _conv_hyper(op, stride, dilation, padding)
    if x.shape[3] != w.shape[2]:
        raise ValueError(f"{op}: input channels differ: x {x.shape} has {x.shape[3]}, kernel w "
                         f"{w.shape} (kh, kw, c_in, c_out) expects {w.shape[2]}")
    if b is not None and b.shape != (w.shape[3],):
        raise ValueError(f"{op}: bias b must have shape ({w.shape[3]},), got {b.shape}")
    if min(w.shape[2:]) < 1:
        raise ValueError(f"{op}: kernel w {w.shape} needs at least one channel in and out")
    conv2d_output_hw(x.shape[1:3], w.shape[:2], stride, dilation, padding, op)
    return x, w, b, stride, dilation, padding


def conv2d_backward_input(dy, w, input_hw, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0)):
    """dx [n, *input_hw, c]: the gradient of conv2d_forward w.r.t. x (= conv_transpose2d of dy)."""
    return selection.impl.conv2d_backward_input(*_check_backward_input(
        "conv2d_backward_input", dy, w, input_hw, stride, dilation, padding))


def _check_backward_input(op, dy, w, input_hw, stride, dilation, padding):
    _check_float(op, "dy", dy, 4)
    _check_float(op, "w", w, 4)
    _same_dtype(op, dy=dy, w=w)
    stride, dilation, padding = _conv_hyper(op, stride, dilation, padding)
    if dy.shape[3] != w.shape[3]:
        raise ValueError(f"{op}: dy {dy.shape} has {dy.shape[3]} channels, kernel w {w.shape} "
                         f"(kh, kw, c_in, c_out) has {w.shape[3]} outputs")
    if min(w.shape[2:]) < 1:
        raise ValueError(f"{op}: kernel w {w.shape} needs at least one channel in and out")
    out = conv2d_output_hw(tuple(input_hw), w.shape[:2], stride, dilation, padding, op)
    if out != dy.shape[1:3]:
        raise ValueError(f"{op}: dy {dy.shape} does not match input size {tuple(input_hw)}, "
                         f"which gives output {out}")
    return dy, w, tuple(input_hw), stride, dilation, padding


def conv2d_backward_weight(x, dy, kernel_hw, stride=(1, 1), dilation=(1, 1),
                           padding=(0, 0, 0, 0)):
    """dw [*kernel_hw, c, o]: the gradient of conv2d_forward w.r.t. w."""
    args = _check_backward_weight("conv2d_backward_weight", x, dy, kernel_hw, stride, dilation,
                                  padding)
    return selection.impl.conv2d_backward_weight(*args)


def conv2d_backward_weight_bias(x, dy, kernel_hw, stride=(1, 1), dilation=(1, 1),
                                padding=(0, 0, 0, 0)):
    """(dw, db): conv2d_backward_weight and conv2d_backward_bias in one pass over dy."""
    args = _check_backward_weight("conv2d_backward_weight_bias", x, dy, kernel_hw, stride,
                                  dilation, padding)
    return selection.impl.conv2d_backward_weight_bias(*args)


def _check_backward_weight(op, x, dy, kernel_hw, stride, dilation, padding):
    _check_float(op, "x", x, 4)
    _check_float(op, "dy", dy, 4)
    _same_dtype(op, x=x, dy=dy)
    stride, dilation, padding = _conv_hyper(op, stride, dilation, padding)
    out = conv2d_output_hw(x.shape[1:3], tuple(kernel_hw), stride, dilation, padding, op)
    if dy.shape[0] != x.shape[0] or out != dy.shape[1:3] or dy.shape[3] < 1 or x.shape[3] < 1:
        raise ValueError(f"{op}: dy {dy.shape} does not match x {x.shape} with kernel "
                         f"{tuple(kernel_hw)}, which gives output {(x.shape[0], *out)}")
    return x, dy, tuple(kernel_hw), stride, dilation, padding


def conv2d_backward_bias(dy):
    """db [o]: dy summed over batch, height and width."""
    _check_float("conv2d_backward_bias", "dy", dy, 4)
    return selection.impl.conv2d_backward_bias(dy)


def conv2d_backward_weight_bias_pooled(x, dp, p, argmax, kernel_hw, stride=(1, 1),
                                       dilation=(1, 1), padding=(0, 0, 0, 0)):
    """(dw, db) of relu(conv2d(x, w, b)) followed by 2x2 / stride-2 'valid' max pooling, from the
    pooling's gradient dp, output p and argmax (maxpool2d_forward's, over the conv output): the
    conv output's gradient, dp at each argmax where p > 0, is rebuilt image by image in scratch
    and never stored whole."""
    op = "conv2d_backward_weight_bias_pooled"
    _check_float(op, "x", x, 4)
    _check_float(op, "dp", dp, 4)
    _check_float(op, "p", p, 4)
    _same_dtype(op, x=x, dp=dp, p=p)
    stride, dilation, padding = _conv_hyper(op, stride, dilation, padding)
    kernel_hw = tuple(kernel_hw)
    out = conv2d_output_hw(x.shape[1:3], kernel_hw, stride, dilation, padding, op)
    pooled = (x.shape[0], out[0] // 2, out[1] // 2)
    if dp.shape[:3] != pooled or dp.shape[3] < 1 or p.shape != dp.shape:
        raise ValueError(f"{op}: dp {dp.shape} and p {p.shape} must both be {pooled} + (C_out,): "
                         f"x {x.shape} with kernel {kernel_hw} gives a {out[0]}x{out[1]} output, "
                         f"pooled 2x2")
    _check_argmax(op, dp, argmax, (x.shape[0], *out, dp.shape[3]))
    return selection.impl.conv2d_backward_weight_bias_pooled(x, dp, p, argmax, out, kernel_hw,
                                                             stride, dilation, padding)


# Fused conv2d + ReLU. y = conv2d_forward_relu's output; its gradients read dz = dy * (y > 0)
# (relu_backward's product) wherever the plain gradients read dy, so dz is never stored.


def conv2d_forward_relu(x, w, b=None, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0)):
    """max(conv2d_forward(x, w, b), 0) in one pass, with relu_forward's semantics."""
    return selection.impl.conv2d_forward_relu(*_check_forward("conv2d_forward_relu", x, w, b,
                                                              stride, dilation, padding))


def _check_relu_output(op, dy, y):
    _check_float(op, "y", y, 4)
    if y.dtype != dy.dtype or y.shape != dy.shape:
        raise ValueError(f"{op}: y (the fused ReLU's output) {y.shape} {y.dtype} must match dy "
                         f"{dy.shape} {dy.dtype}")


def conv2d_backward_input_relu(dy, y, w, input_hw, stride=(1, 1), dilation=(1, 1),
                               padding=(0, 0, 0, 0)):
    """conv2d_backward_input(dy * (y > 0), w, ...), without storing the masked dy."""
    op = "conv2d_backward_input_relu"
    dy, w, input_hw, stride, dilation, padding = _check_backward_input(op, dy, w, input_hw,
                                                                       stride, dilation, padding)
    _check_relu_output(op, dy, y)
    return selection.impl.conv2d_backward_input_relu(dy, y, w, input_hw, stride, dilation,
                                                     padding)


def conv2d_backward_weight_relu(x, dy, y, kernel_hw, stride=(1, 1), dilation=(1, 1),
                                padding=(0, 0, 0, 0)):
    """conv2d_backward_weight(x, dy * (y > 0), ...), without storing the masked dy."""
    op = "conv2d_backward_weight_relu"
    args = _check_backward_weight(op, x, dy, kernel_hw, stride, dilation, padding)
    _check_relu_output(op, dy, y)
    return selection.impl.conv2d_backward_weight_relu(x, dy, y, *args[2:])


def conv2d_backward_weight_bias_relu(x, dy, y, kernel_hw, stride=(1, 1), dilation=(1, 1),
                                     padding=(0, 0, 0, 0)):
    """(dw, db) of conv2d_backward_weight_bias(x, dy * (y > 0), ...) in one pass over dy."""
    op = "conv2d_backward_weight_bias_relu"
    args = _check_backward_weight(op, x, dy, kernel_hw, stride, dilation, padding)
    _check_relu_output(op, dy, y)
    return selection.impl.conv2d_backward_weight_bias_relu(x, dy, y, *args[2:])


# ---- pooling ----

def positive_int_pair(value):
    """Whether value is already a tuple of two positive Python ints: the layers' case, which the
    pair checks of conv and pooling accept cheaply before their general path."""
    return type(value) is tuple and len(value) == 2 and type(value[0]) is int \
        and type(value[1]) is int and value[0] >= 1 and value[1] >= 1


def _pair(name, op, value):
    if positive_int_pair(value):
        return value
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{op}: {name} must be positive, got {value!r}")
    return int(pair[0]), int(pair[1])


def pool2d_geometry(x_shape, pool_size, strides, padding, op="pool2d"):
    """(kh, kw, sh, sw, pad_top, pad_left, out_h, out_w) for an NHWC input, Keras semantics.

    strides default to pool_size; "same" gives ceil(size / stride) outputs with the padding split
    evenly, the extra row/column at the bottom/right (as Keras and TensorFlow do).
    """
    kh, kw = _pair("pool_size", op, pool_size)
    sh, sw = (kh, kw) if strides is None else _pair("strides", op, strides)
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    _, h, w, _ = x_shape
    if mode == "valid":
        if kh > h or kw > w:
            raise ValueError(f"{op}: pool_size {(kh, kw)} is larger than the input {(h, w)} "
                             f"(input shape {tuple(x_shape)}, padding 'valid')")
        return kh, kw, sh, sw, 0, 0, (h - kh) // sh + 1, (w - kw) // sw + 1
    oh, ow = -(-h // sh), -(-w // sw)
    pad_h, pad_w = max((oh - 1) * sh + kh - h, 0), max((ow - 1) * sw + kw - w, 0)
    return kh, kw, sh, sw, pad_h // 2, pad_w // 2, oh, ow


def _pool_input(op, x):
    _check_float(op, "x", x, 4)
    if x.shape[1] * x.shape[2] >= 2 ** 31:
        raise ValueError(f"{op}: an image of {x.shape[1]}x{x.shape[2]} pixels is too large "
                         "(argmax offsets are int32)")


# The argmax arrays maxpool2d_forward returned and are still alive: id -> (weak reference, image
# size h * w). They hold in-range offsets by construction and are handed out read-only, so the
# backward kernels may skip the range scan for them (a scan of argmax costs as much as the
# scatter it guards). A reused id is told apart by the weak reference.
_argmax_made = {}


def _forget_argmax(ref, key=None):
    if _argmax_made.get(key, (None,))[0] is ref:
        del _argmax_made[key]


def maxpool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """NHWC max pooling -> (y, argmax), argmax = iy * W + ix of each window's first maximum
    (read-only: the backward passes trust its offsets)."""
    _pool_input("max_pool2d", x)
    geometry = pool2d_geometry(x.shape, pool_size, strides, padding, "max_pool2d")
    y, argmax = selection.impl.maxpool2d_forward(x, geometry)
    argmax.flags.writeable = False
    key = id(argmax)
    _argmax_made[key] = (weakref.ref(argmax, functools.partial(_forget_argmax, key=key)),
                         x.shape[1] * x.shape[2])
    return y, argmax


def _argmax_in_range(argmax, hw):
    """Whether every offset of argmax lies in [0, hw): known for a read-only argmax made by
    maxpool2d_forward for images of at least hw pixels, scanned otherwise."""
    made = _argmax_made.get(id(argmax))
    if made is not None and made[0]() is argmax and made[1] <= hw \
            and not argmax.flags.writeable:
        return True
    return not argmax.size or (argmax.min() >= 0 and argmax.max() < hw)


def _check_argmax(op, dy, argmax, x_shape):
    _check_float(op, "dy", dy, 4)
    if not isinstance(argmax, np.ndarray) or argmax.dtype != np.int32 or argmax.shape != dy.shape \
            or not argmax.flags.c_contiguous:
        raise ValueError(f"{op}: argmax must be a contiguous int32 array of shape {dy.shape}")
    if len(x_shape) != 4 or x_shape[0] != dy.shape[0] or x_shape[3] != dy.shape[3]:
        raise ValueError(f"{op}: input shape {tuple(x_shape)} does not match dy {dy.shape}")
    if not _argmax_in_range(argmax, x_shape[1] * x_shape[2]):
        raise ValueError(f"{op}: argmax holds offsets outside the {x_shape[1]}x{x_shape[2]} image")


def _pool_backward_geometry(op, dy, x_shape, pool_size, strides, padding):
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input shape must be 4-D, got {x_shape}")
    geometry = pool2d_geometry(x_shape, pool_size, strides, padding, op)
    expected = (x_shape[0], geometry[6], geometry[7], x_shape[3])
    if dy.shape != expected:
        raise ValueError(f"{op}: dy has shape {dy.shape}, expected {expected} for input {x_shape}")
    return geometry


def maxpool2d_backward(dy, argmax, x_shape, pool_size=2, strides=None, padding="valid"):
    """dx of max pooling: zeros except dy routed to each window's saved argmax."""
    x_shape = tuple(int(v) for v in x_shape)
    _check_argmax("max_pool2d backward", dy, argmax, x_shape)
    geometry = _pool_backward_geometry("max_pool2d backward", dy, x_shape, pool_size, strides,
                                       padding)
    return selection.impl.maxpool2d_backward(dy, argmax, x_shape, geometry)


def maxpool2d_backward_relu(dy, y, argmax, x_shape, pool_size=2, strides=None, padding="valid"):
    """The gradient of max_pool2d(relu(z)) w.r.t. z from the pooled output y: maxpool2d_backward
    of dy * (y > 0), without storing the masked dy."""
    op = "max_pool2d backward (ReLU input)"
    x_shape = tuple(int(v) for v in x_shape)
    _check_argmax(op, dy, argmax, x_shape)
    geometry = _pool_backward_geometry(op, dy, x_shape, pool_size, strides, padding)
    _check_float(op, "y", y, 4)
    if y.shape != dy.shape or y.dtype != dy.dtype:
        raise ValueError(f"{op}: the pooled output y {y.shape} {y.dtype} must match dy {dy.shape} "
                         f"{dy.dtype}")
    return selection.impl.maxpool2d_backward_relu(dy, y, argmax, x_shape, geometry)


def maxpool2d_gather(ddx, argmax):
    """Gradient of max-pool backward w.r.t. dy: ddx gathered at argmax (shape of argmax)."""
    _check_float("max_pool2d double backward", "ddx", ddx, 4)
    _check_argmax("max_pool2d double backward", np.empty(argmax.shape, ddx.dtype), argmax,
                  ddx.shape)
    return selection.impl.maxpool2d_gather(ddx, argmax)


def avgpool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """NHWC average pooling; padding is excluded from each window's count (Keras)."""
    _pool_input("avg_pool2d", x)
    geometry = pool2d_geometry(x.shape, pool_size, strides, padding, "avg_pool2d")
    return selection.impl.avgpool2d_forward(x, geometry)


def avgpool2d_backward(dy, x_shape, pool_size=2, strides=None, padding="valid"):
    """dx of average pooling for an input of shape x_shape."""
    x_shape = tuple(int(v) for v in x_shape)
    _check_float("avg_pool2d backward", "dy", dy, 4)
    geometry = _pool_backward_geometry("avg_pool2d backward", dy, x_shape, pool_size, strides,
                                       padding)
    return selection.impl.avgpool2d_backward(dy, x_shape, geometry)

# ---- softmax / log-sum-exp ----
# All reduce the LAST axis of a C-contiguous array (functional.py moves any other axis last).


def _check_rows(op, x):
    _check_float(op, "x", x)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{op}: x needs a non-empty last axis, got shape {x.shape}")


def _check_like(op, name, a, like):
    _check_float(op, name, a)
    if a.shape != like.shape or a.dtype != like.dtype:
        raise ValueError(f"{op}: {name} must match {like.shape} {like.dtype}, "
                         f"got {a.shape} {a.dtype}")


def logsumexp(x):
    """log(sum(exp(x))) over the last axis; shape x.shape[:-1]."""
    _check_rows("logsumexp", x)
    return selection.impl.logsumexp(x)


def logsumexp_backward(dy, x, lse):
    """dx = dy[..., None] * exp(x - lse[..., None])."""
    _check_rows("logsumexp backward", x)
    _check_like("logsumexp backward", "dy", dy, np.empty(x.shape[:-1], x.dtype))
    _check_like("logsumexp backward", "lse", lse, dy)
    return selection.impl.logsumexp_backward(dy, x, lse)


def softmax(x):
    _check_rows("softmax", x)
    return selection.impl.softmax(x)


def softmax_backward(dy, y):
    """dx = y * (dy - sum(dy * y)) for y = softmax(x)."""
    _check_rows("softmax backward", y)
    _check_like("softmax backward", "dy", dy, y)
    return selection.impl.softmax_backward(dy, y)


def log_softmax(x):
    _check_rows("log_softmax", x)
    return selection.impl.log_softmax(x)


def log_softmax_backward(dy, y):
    """dx = dy - exp(y) * sum(dy) for y = log_softmax(x)."""
    _check_rows("log_softmax backward", y)
    _check_like("log_softmax backward", "dy", dy, y)
    return selection.impl.log_softmax_backward(dy, y)

# ---- cross-entropy ----


def _check_xent(op, logits, row_scale, smoothing):
    _check_rows(op, logits)
    _check_like(op, "row_scale", row_scale, np.empty(logits.shape[:-1], logits.dtype))
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {smoothing}")


def xent_sparse(logits, labels, row_scale, smoothing=0.0):
    """Fused softmax cross-entropy with integer labels: (loss per row, dlogits).

    dlogits = row_scale[..., None] * (softmax(logits) - q), q the (smoothed) one-hot target.
    """
    _check_xent("cross_entropy", logits, row_scale, smoothing)
    if not isinstance(labels, np.ndarray) or labels.dtype != np.int64 \
            or labels.shape != logits.shape[:-1] or not labels.flags.c_contiguous:
        got = (labels.shape, labels.dtype) if isinstance(labels, np.ndarray) else type(labels)
        raise ValueError(f"cross_entropy: labels must be a contiguous int64 array of shape "
                         f"{logits.shape[:-1]}, got {got}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[-1]):
        bad = labels[(labels < 0) | (labels >= logits.shape[-1])]
        raise ValueError(f"cross_entropy: labels must be in [0, {logits.shape[-1]}) for logits "
                         f"of shape {logits.shape}, got {bad[:5].tolist()}")
    return selection.impl.xent_sparse(logits, labels, row_scale, float(smoothing))


def xent_dense(logits, target, row_scale, smoothing=0.0):
    """Fused softmax cross-entropy with one-hot or soft targets: (loss per row, dlogits)."""
    _check_xent("cross_entropy", logits, row_scale, smoothing)
    _check_like("cross_entropy", "target", target, logits)
    return selection.impl.xent_dense(logits, target, row_scale, float(smoothing))

# ---- optimizers ----


def _owner(a):
    """The array that owns a's memory (a itself unless a is a view), or None when no array does
    (np.frombuffer over bytes, say): then only addresses tell what a shares."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a if a.flags.owndata else None


def _check_disjoint(name, buffers):
    """No buffer an update writes shares a byte with another buffer; gradients, only read, may
    share with each other. buffers: (label, array, written) triples. Arrays owned by different
    arrays cannot share memory, so only buffers of one owner (views of one array) and buffers no
    array owns are compared pairwise: linear in the common case of one array per buffer."""
    groups = {}
    for entry in buffers:
        if entry[1].nbytes:
            owner = _owner(entry[1])
            groups.setdefault(None if owner is None else id(owner), []).append(entry)
    for group in groups.values():
        for i, (label, a, written) in enumerate(group):
            for other, b, other_written in group[i + 1:]:
                if (written or other_written) and np.may_share_memory(a, b):
                    raise ValueError(f"{name}: {label} and {other} overlap in memory")


def _check_buffers(name, param, grad, states, prefix=""):
    """The buffers of one update, labelled `prefix + key`: same float dtype and shape, contiguous,
    the written ones writeable. Returns them as (label, array, written) triples."""
    if not isinstance(param, np.ndarray) or not isinstance(grad, np.ndarray):
        raise TypeError(f"{name}: {prefix}param and {prefix}grad must be ndarrays, got "
                        f"{type(param).__name__} and {type(grad).__name__}")
    dtype, shape = param.dtype, param.shape
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name}: {prefix}param must be float32 or float64, got {dtype}")
    buffers = [("param", param), ("grad", grad)]
    buffers += [(k, v) for k, v in states.items() if v is not None]
    for key, arr in buffers:
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name}: {prefix}{key} must be an ndarray, got {type(arr).__name__}")
        if arr.dtype != dtype:
            raise TypeError(f"{name}: {prefix}{key} has dtype {arr.dtype}, param has {dtype}")
        if arr.shape != shape:
            raise ValueError(f"{name}: {prefix}{key} has shape {arr.shape}, param has {shape}")
        flags = arr.flags
        if not flags.c_contiguous:
            raise ValueError(f"{name}: {prefix}{key} must be C-contiguous")
        if key != "grad" and not flags.writeable:
            raise ValueError(f"{name}: {prefix}{key} is read-only; the update writes it in place")
    return [(prefix + key, arr, key != "grad") for key, arr in buffers]


def _plain_buffers(updates):
    """The fast verdict on updates, (param, grad, *states) tuples: True when
    every buffer is a C-contiguous ndarray of the first param's dtype and its own param's shape,
    the written ones (all but grad) writeable, and no two share an owning array, so none overlap.
    False only means "not this simple": the labelled checks then decide, and name the problem."""
    dtype = updates[0][0].dtype if type(updates[0][0]) is np.ndarray else None
    if dtype not in FLOAT_DTYPES:
        return False
    owners, count = set(), 0
    for param, *buffers in updates:
        shape = param.shape
        for position, a in enumerate((param, *buffers)):
            if type(a) is not np.ndarray or a.dtype is not dtype or a.shape != shape:
                return False
            flags = a.flags
            if not flags.c_contiguous or (position != 1 and not flags.writeable):
                return False
            if a.nbytes:
                owner = _owner(a)
                if owner is None:
                    return False
                owners.add(id(owner))
                count += 1
    return len(owners) == count


def _check_update(name, param, grad, states):
    """The buffers of one fused update: same float dtype and shape, contiguous, distinct."""
    _check_disjoint(name, _check_buffers(name, param, grad, states))


def _check_scalars(name, **values):
    for key, value in values.items():
        _check_real(name, key, value)
        if not math.isfinite(value):
            raise ValueError(f"{name}: {key} must be finite, got {value}")


def _clip_bound(name, clipvalue):
    if clipvalue is None:
        return float("inf")
    _check_scalars(name, clipvalue=clipvalue)
    if clipvalue <= 0:
        raise ValueError(f"{name}: clipvalue must be > 0, got {clipvalue}")
    return float(clipvalue)


def sgd_update(param, velocity, grad, *, learning_rate, momentum=0.0, nesterov=False,
               grad_scale=1.0, clipvalue=None, decay=0.0):
    """In-place Keras SGD step on one tensor (velocity None when momentum == 0); see csrc/tk.h."""
    _check_update("sgd_update", param, grad, {"velocity": velocity})
    _check_scalars("sgd_update", learning_rate=learning_rate, momentum=momentum,
                   grad_scale=grad_scale, decay=decay)
    if (velocity is None) != (momentum == 0):
        raise ValueError("sgd_update: pass a velocity buffer exactly when momentum != 0")
    selection.impl.sgd_update(param, velocity, grad, float(learning_rate), float(momentum),
                              bool(nesterov), float(grad_scale),
                              _clip_bound("sgd_update", clipvalue), float(decay))


def adam_update(param, m, v, v_hat, grad, *, alpha, beta_1, beta_2, epsilon, grad_scale=1.0,
                clipvalue=None, decay=0.0):
    """In-place Keras Adam step on one tensor (v_hat None unless AMSGrad); see csrc/tk.h."""
    if m is None or v is None:
        raise ValueError("adam_update: m and v buffers are required")
    _check_update("adam_update", param, grad, {"m": m, "v": v, "v_hat": v_hat})
    _check_scalars("adam_update", alpha=alpha, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                   grad_scale=grad_scale, decay=decay)
    selection.impl.adam_update(param, m, v, v_hat, grad, float(alpha), float(beta_1),
                               float(beta_2), float(epsilon), float(grad_scale),
                               _clip_bound("adam_update", clipvalue), float(decay))


def adam_update_many(params, ms, vs, v_hats, grads, *, alpha, beta_1, beta_2, epsilon,
                     grad_scales=None, clipvalue=None, decays=None):
    """adam_update on several tensors of one dtype in one kernel call (one OpenMP region for all of
    them): lists params, ms, vs, grads (and v_hats, or None unless AMSGrad), one per tensor;
    grad_scales and decays: one per tensor (default 1 and 0). No two buffers may overlap."""
    count = len(params)
    lists = {"ms": ms, "vs": vs, "grads": grads, "v_hats": v_hats,
             "grad_scales": grad_scales, "decays": decays}
    for key, values in lists.items():
        if values is not None and len(values) != count:
            raise ValueError(f"adam_update_many: {count} params but {len(values)} {key}")
    if count == 0:
        return
    grad_scales = [1.0] * count if grad_scales is None else list(grad_scales)
    decays = [0.0] * count if decays is None else list(decays)
    states = (ms, vs) if v_hats is None else (ms, vs, v_hats)
    if not (_plain_buffers(list(zip(params, grads, *states)))
            and _finite_floats(grad_scales) and _finite_floats(decays)):
        _check_many_updates(params, ms, vs, v_hats, grads, grad_scales, decays)
    _check_scalars("adam_update_many", alpha=alpha, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    selection.impl.adam_update_many(list(params), list(ms), list(vs),
                                    None if v_hats is None else list(v_hats), list(grads),
                                    float(alpha), float(beta_1), float(beta_2), float(epsilon),
                                    [float(g) for g in grad_scales],
                                    _clip_bound("adam_update_many", clipvalue),
                                    [float(d) for d in decays])


def _finite_floats(values):
    """All Python floats and finite (their sum is, unless one is inf or NaN, or it overflows:
    then the per-value checks decide)."""
    return all(type(v) is float for v in values) and math.isfinite(sum(values))


def _check_many_updates(params, ms, vs, v_hats, grads, grad_scales, decays):
    """adam_update_many's labelled checks, one tensor at a time."""
    count = len(params)
    buffers = []
    for i in range(count):
        buffers += _check_buffers("adam_update_many", params[i], grads[i],
                                  {"m": ms[i], "v": vs[i],
                                   "v_hat": None if v_hats is None else v_hats[i]}, f"tensor {i}'s ")
        if v_hats is not None and v_hats[i] is None:
            raise ValueError(f"adam_update_many: tensor {i} has no v_hat (AMSGrad needs all)")
        if params[i].dtype != params[0].dtype:
            raise TypeError(f"adam_update_many: tensor {i} is {params[i].dtype}, tensor 0 is "
                            f"{params[0].dtype} (one call takes one dtype)")
        _check_scalars("adam_update_many", grad_scale=grad_scales[i], decay=decays[i])
    _check_disjoint("adam_update_many", buffers)


def rmsprop_update(param, velocity, momentum_buf, average_grad, grad, *, learning_rate, rho,
                   momentum, epsilon, grad_scale=1.0, clipvalue=None, decay=0.0):
    """In-place Keras RMSprop step on one tensor (momentum_buf None when momentum == 0,
    average_grad None unless centered); see csrc/tk.h."""
    if velocity is None:
        raise ValueError("rmsprop_update: the velocity buffer is required")
    _check_update("rmsprop_update", param, grad,
                  {"velocity": velocity, "momentum_buf": momentum_buf,
                   "average_grad": average_grad})
    _check_scalars("rmsprop_update", learning_rate=learning_rate, rho=rho, momentum=momentum,
                   epsilon=epsilon, grad_scale=grad_scale, decay=decay)
    if (momentum_buf is None) != (momentum == 0):
        raise ValueError("rmsprop_update: pass a momentum_buf exactly when momentum != 0")
    selection.impl.rmsprop_update(param, velocity, momentum_buf, average_grad, grad,
                                  float(learning_rate), float(rho), float(momentum),
                                  float(epsilon), float(grad_scale),
                                  _clip_bound("rmsprop_update", clipvalue), float(decay))


def sum_squares(x):
    """sum(x**2) of a float32/float64 array, accumulated in float64 (a Python float)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"sum_squares expects an ndarray, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"sum_squares: x must be float32 or float64, got {x.dtype}")
    return selection.impl.sum_squares(np.ascontiguousarray(x))

# ---- elementwise ----


def relu_forward(x):
    """np.maximum(x, 0) of a C-contiguous float32/float64 array (NaN propagates, -0.0 -> +0.0)."""
    _check_float("relu_forward", "x", x)
    return selection.impl.relu_forward(x)


def relu_backward(dy, x):
    """dy * (x > 0) for C-contiguous float32/float64 arrays of one shape and dtype."""
    _check_float("relu_backward", "dy", dy)
    _check_float("relu_backward", "x", x)
    if dy.dtype != x.dtype:
        raise TypeError(f"relu_backward: dy has dtype {dy.dtype}, x has {x.dtype}")
    if dy.shape != x.shape:
        raise ValueError(f"relu_backward: dy has shape {dy.shape}, x has {x.shape}")
    return selection.impl.relu_backward(dy, x)
