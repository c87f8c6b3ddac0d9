"""NumPy references: one function for every C kernel, with the same signature and semantics.

They are the ground truth the C kernels are tested against, the "numpy" backend, and the baseline the
benchmarks race. Inputs arrive validated by kernels.py.
"""
import numpy as np

# ---- runtime ----


def set_num_threads(n):
    """NumPy's BLAS threads are fixed at load; the reference kernels themselves are single-threaded."""

# ---- gemm ----


def matmul(a, b):
    return np.matmul(a, b)

# ---- conv2d ----

# ---- pooling ----

# ---- softmax / log-sum-exp ----

# ---- cross-entropy ----

# ---- optimizers ----
