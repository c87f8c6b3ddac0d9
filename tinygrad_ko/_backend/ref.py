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
    return np.asarray(np.matmul(a, b))


def gemm(a, b, out=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    product = np.matmul(a.T if trans_a else a, b.T if trans_b else b)
    if out is None:
        return alpha * product
    if beta == 0:
        np.multiply(product, alpha, out=out)
    else:
        out *= beta
        out += alpha * product
    return out

# ---- conv2d ----

# ---- pooling ----

# ---- softmax / log-sum-exp ----

# ---- cross-entropy ----

# ---- optimizers ----
