"""The only importer of the compiled module: hands NumPy arrays to the C kernels.

Callers (kernels.py) have already validated dtypes, shapes and contiguity; this module only allocates
outputs and workspaces, takes pointers with ffi.from_buffer (the cheap way) and calls tk_*.
cffi releases the GIL around every call.
"""
from .._tk import ffi, lib

# ---- runtime ----


def set_num_threads(n):
    lib.tk_set_num_threads(n)


def select_simd(level):
    return lib.tk_select_simd(level)


def build_info():
    return {
        "simd": ffi.string(lib.tk_simd_name()).decode(),
        "openmp": bool(lib.tk_openmp_enabled()),
        "build_flags": ffi.string(lib.tk_build_flags()).decode(),
    }

# ---- gemm ----

from .ref import matmul  # noqa: E402,F401  (until tk_gemm lands: the GEMM work replaces this line)

# ---- conv2d ----

# ---- pooling ----

# ---- softmax / log-sum-exp ----

# ---- cross-entropy ----

# ---- optimizers ----
