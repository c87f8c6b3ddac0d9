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

# ---- softmax / log-sum-exp ----

# ---- cross-entropy ----

# ---- optimizers ----


def _check_update(name, param, grad, states):
    """param/grad/state buffers of one fused update: same float dtype and shape, contiguous, distinct."""
    if not isinstance(param, np.ndarray) or not isinstance(grad, np.ndarray):
        raise TypeError(f"{name}: param and grad must be ndarrays, got {type(param).__name__} and "
                        f"{type(grad).__name__}")
    if param.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: param must be float32 or float64, got {param.dtype}")
    buffers = {"param": param, "grad": grad, **{k: v for k, v in states.items() if v is not None}}
    for key, arr in buffers.items():
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name}: {key} must be an ndarray, got {type(arr).__name__}")
        if arr.dtype != param.dtype:
            raise TypeError(f"{name}: {key} has dtype {arr.dtype}, param has {param.dtype}")
        if arr.shape != param.shape:
            raise ValueError(f"{name}: {key} has shape {arr.shape}, param has {param.shape}")
        if not arr.flags.c_contiguous:
            raise ValueError(f"{name}: {key} must be C-contiguous")
        if key != "grad" and not arr.flags.writeable:
            raise ValueError(f"{name}: {key} is read-only; the update writes it in place")
    keys = list(buffers)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if np.may_share_memory(buffers[a], buffers[b]):
                raise ValueError(f"{name}: {a} and {b} overlap in memory")


def _check_scalars(name, **values):
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name}: {key} must be a real number, got {type(value).__name__}")
        if not np.isfinite(value):
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
                              bool(nesterov), float(grad_scale), _clip_bound("sgd_update", clipvalue),
                              float(decay))


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
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"sum_squares: x must be float32 or float64, got {x.dtype}")
    return selection.impl.sum_squares(np.ascontiguousarray(x))
