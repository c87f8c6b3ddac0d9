"""Validating entry points to the kernels: every check happens here, once, before either backend runs.

Bad input raises TypeError/ValueError naming the argument, shapes and dtypes; the C core validates
nothing, so nothing reaches it unchecked.
"""
import numpy as np

from . import selection

# ---- gemm ----


def matmul(a, b):
    """np.matmul semantics (2-D, batched N-D with broadcast batch dims) for float32/float64 arrays."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"matmul expects ndarrays, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
    return selection.impl.matmul(a, b)

# ---- conv2d ----

# ---- pooling ----

# ---- softmax / log-sum-exp ----

# ---- cross-entropy ----

# ---- optimizers ----
