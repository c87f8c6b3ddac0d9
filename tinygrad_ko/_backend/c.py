"""The only importer of the compiled module: hands NumPy arrays to the C kernels.

Callers (kernels.py) have already validated dtypes, shapes and contiguity; this module only allocates
outputs and workspaces, takes pointers with ffi.from_buffer (the cheap way) and calls tk_*.
cffi releases the GIL around every call.
"""
import numpy as np

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

_OPTIM_SUFFIX = {"float32": "_f32", "float64": "_f64"}
_OPTIM_CTYPE = {"float32": "float *", "float64": "double *"}


def _buf(arr, ctype):
    return ffi.NULL if arr is None else ffi.cast(ctype, ffi.from_buffer(arr))


def sgd_update(param, velocity, grad, learning_rate, momentum, nesterov, grad_scale, clipvalue,
               decay):
    name, ctype = param.dtype.name, _OPTIM_CTYPE[param.dtype.name]
    getattr(lib, "tk_sgd_update" + _OPTIM_SUFFIX[name])(
        _buf(param, ctype), _buf(velocity, ctype), _buf(grad, ctype), param.size, learning_rate,
        momentum, int(nesterov), grad_scale, clipvalue, decay)


def adam_update(param, m, v, v_hat, grad, alpha, beta_1, beta_2, epsilon, grad_scale, clipvalue,
                decay):
    name, ctype = param.dtype.name, _OPTIM_CTYPE[param.dtype.name]
    getattr(lib, "tk_adam_update" + _OPTIM_SUFFIX[name])(
        _buf(param, ctype), _buf(m, ctype), _buf(v, ctype), _buf(v_hat, ctype), _buf(grad, ctype),
        param.size, alpha, beta_1, beta_2, epsilon, grad_scale, clipvalue, decay)


def rmsprop_update(param, velocity, momentum_buf, average_grad, grad, learning_rate, rho, momentum,
                   epsilon, grad_scale, clipvalue, decay):
    name, ctype = param.dtype.name, _OPTIM_CTYPE[param.dtype.name]
    getattr(lib, "tk_rmsprop_update" + _OPTIM_SUFFIX[name])(
        _buf(param, ctype), _buf(velocity, ctype), _buf(momentum_buf, ctype),
        _buf(average_grad, ctype), _buf(grad, ctype), param.size, learning_rate, rho, momentum,
        epsilon, grad_scale, clipvalue, decay)


def sum_squares(x):
    workspace = np.empty(lib.tk_sum_squares_workspace_size(x.size) // 8, np.float64)
    ctype = _OPTIM_CTYPE[x.dtype.name]
    return getattr(lib, "tk_sum_squares" + _OPTIM_SUFFIX[x.dtype.name])(
        ffi.from_buffer("double[]", workspace), _buf(x, ctype), x.size)
