"""Validating entry points to the kernels: every check happens here, once, before either backend runs.

Bad input raises TypeError/ValueError naming the argument, shapes and dtypes; the C core validates
nothing, so nothing reaches it unchecked.
"""
import numpy as np

from . import selection

# ---- gemm ----

GEMM_DTYPES = frozenset((np.dtype(np.float32), np.dtype(np.float64)))


def matmul(a, b):
    """np.matmul semantics (1-D operands, 2-D, N-D with broadcast batch dims); always an ndarray.

    float32/float64 run on the active backend's GEMM. Mixed dtypes promote as NumPy does (float32 @
    float64 -> float64, float32 @ int -> float64) and then run there too; anything that does not
    promote to float32/float64 (ints, bool, float16, complex) is computed by np.matmul itself.
    """
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"matmul expects ndarrays, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
    if a.ndim > 2 or b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
        except ValueError:
            raise ValueError(f"matmul: batch dimensions do not broadcast: {a.shape} @ {b.shape}") from None
    if a.dtype is not b.dtype and a.dtype != b.dtype or a.dtype not in GEMM_DTYPES:
        dtype = np.result_type(a.dtype, b.dtype)
        if dtype not in GEMM_DTYPES:
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
        if x.dtype not in GEMM_DTYPES:
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
    for name, value in (("alpha", alpha), ("beta", beta)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"gemm: {name} must be a real number, got {type(value).__name__}")
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

# ---- pooling ----

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _check_float(name, op, a, ndim=None):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: {name} must be an ndarray, got {type(a).__name__}")
    if a.dtype not in _FLOATS:
        raise TypeError(f"{op}: {name} must be float32 or float64, got {a.dtype} (shape {a.shape})")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{op}: {name} must be {ndim}-D, got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{op}: {name} must be C-contiguous (shape {a.shape}, strides {a.strides})")


def _pair(name, op, value):
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
    _check_float("x", op, x, ndim=4)
    if x.shape[1] * x.shape[2] >= 2 ** 31:
        raise ValueError(f"{op}: an image of {x.shape[1]}x{x.shape[2]} pixels is too large "
                         "(argmax offsets are int32)")


def maxpool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """NHWC max pooling: returns (y, argmax); argmax = iy * W + ix of each window's first maximum."""
    _pool_input("max_pool2d", x)
    geometry = pool2d_geometry(x.shape, pool_size, strides, padding, "max_pool2d")
    return selection.impl.maxpool2d_forward(x, geometry)


def _check_argmax(op, dy, argmax, x_shape):
    _check_float("dy", op, dy, ndim=4)
    if not isinstance(argmax, np.ndarray) or argmax.dtype != np.int32 or argmax.shape != dy.shape \
            or not argmax.flags.c_contiguous:
        raise ValueError(f"{op}: argmax must be a contiguous int32 array of shape {dy.shape}")
    if len(x_shape) != 4 or x_shape[0] != dy.shape[0] or x_shape[3] != dy.shape[3]:
        raise ValueError(f"{op}: input shape {tuple(x_shape)} does not match dy {dy.shape}")
    hw = x_shape[1] * x_shape[2]
    if argmax.size and (argmax.min() < 0 or argmax.max() >= hw):
        raise ValueError(f"{op}: argmax holds offsets outside the {x_shape[1]}x{x_shape[2]} image")


def maxpool2d_backward(dy, argmax, x_shape):
    """dx of max pooling: zeros except dy routed to each window's saved argmax."""
    x_shape = tuple(int(v) for v in x_shape)
    _check_argmax("max_pool2d backward", dy, argmax, x_shape)
    return selection.impl.maxpool2d_backward(dy, argmax, x_shape)


def maxpool2d_gather(ddx, argmax):
    """Gradient of max-pool backward w.r.t. dy: ddx gathered at argmax (shape of argmax)."""
    _check_float("ddx", "max_pool2d double backward", ddx, ndim=4)
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
    _check_float("dy", "avg_pool2d backward", dy, ndim=4)
    if len(x_shape) != 4:
        raise ValueError(f"avg_pool2d backward: input shape must be 4-D, got {x_shape}")
    geometry = pool2d_geometry(x_shape, pool_size, strides, padding, "avg_pool2d backward")
    expected = (x_shape[0], geometry[6], geometry[7], x_shape[3])
    if dy.shape != expected:
        raise ValueError(f"avg_pool2d backward: dy has shape {dy.shape}, expected {expected} "
                         f"for input {x_shape}")
    return selection.impl.avgpool2d_backward(dy, x_shape, geometry)

# ---- softmax / log-sum-exp ----
# All reduce the LAST axis of a C-contiguous array (functional.py moves any other axis last).


def _check_rows(op, x):
    _check_float("x", op, x)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{op}: x needs a non-empty last axis, got shape {x.shape}")


def _check_like(op, name, a, like):
    _check_float(name, op, a)
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
