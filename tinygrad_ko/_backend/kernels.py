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
