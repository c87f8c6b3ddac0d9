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
import numpy as np  # noqa: E402

# Keyed by dtype.char: dtype.name builds a new string per call (~3 us, more than a small kernel).
_CTYPES = {"f": "float[]", "d": "double[]", "i": "int32_t[]", "l": "int64_t[]", "q": "int64_t[]"}
_SUFFIX = {"f": "f32", "d": "f64"}
_kernels = {}


def _buf(a):
    return ffi.from_buffer(_CTYPES[a.dtype.char], a)


def _kernel(name, dtype):
    key = (name, dtype.char)
    fn = _kernels.get(key)
    if fn is None:
        fn = _kernels[key] = getattr(lib, f"tk_{name}_{_SUFFIX[dtype.char]}")
    return fn


def maxpool2d_forward(x, geometry):
    n, h, w, c = x.shape
    kh, kw, sh, sw, pt, pl, oh, ow = geometry
    y = np.empty((n, oh, ow, c), x.dtype)
    argmax = np.empty((n, oh, ow, c), np.int32)
    if y.size:
        _kernel("maxpool2d_forward", x.dtype)(_buf(y), _buf(argmax), _buf(x), n, h, w, c, kh, kw,
                                              sh, sw, pt, pl, oh, ow)
    return y, argmax


def maxpool2d_backward(dy, argmax, x_shape):
    n, h, w, c = x_shape
    dx = np.zeros(x_shape, dy.dtype)
    if dx.size and dy.size:
        _kernel("maxpool2d_backward", dy.dtype)(_buf(dx), _buf(dy), _buf(argmax), n, h, w, c,
                                                dy.shape[1], dy.shape[2])
    return dx


def maxpool2d_gather(ddx, argmax):
    n, h, w, c = ddx.shape
    ddy = np.empty(argmax.shape, ddx.dtype)
    if ddy.size:
        _kernel("maxpool2d_gather", ddx.dtype)(_buf(ddy), _buf(ddx), _buf(argmax), n, h, w, c,
                                               argmax.shape[1], argmax.shape[2])
    return ddy


def avgpool2d_forward(x, geometry):
    n, h, w, c = x.shape
    oh, ow = geometry[6:]
    y = np.empty((n, oh, ow, c), x.dtype)
    if y.size:
        _kernel("avgpool2d_forward", x.dtype)(_buf(y), _buf(x), n, h, w, c, *geometry)
    return y


def avgpool2d_backward(dy, x_shape, geometry):
    dx = np.zeros(x_shape, dy.dtype)
    if dx.size and dy.size:
        _kernel("avgpool2d_backward", dy.dtype)(_buf(dx), _buf(dy), *x_shape, *geometry)
    return dx

# ---- softmax / log-sum-exp ----


def _rows(x):
    return x.size // x.shape[-1], x.shape[-1]


def logsumexp(x):
    out = np.empty(x.shape[:-1], x.dtype)
    if out.size:
        _kernel("logsumexp_forward", x.dtype)(_buf(out), _buf(x), *_rows(x))
    return out


def logsumexp_backward(dy, x, lse):
    dx = np.empty_like(x)
    if dx.size:
        _kernel("logsumexp_backward", x.dtype)(_buf(dx), _buf(dy), _buf(x), _buf(lse), *_rows(x))
    return dx


def _rowwise(name, *arrays):
    out = np.empty_like(arrays[-1])
    if out.size:
        _kernel(name, out.dtype)(_buf(out), *(_buf(a) for a in arrays), *_rows(out))
    return out


def softmax(x):
    return _rowwise("softmax_forward", x)


def softmax_backward(dy, y):
    return _rowwise("softmax_backward", dy, y)


def log_softmax(x):
    return _rowwise("log_softmax_forward", x)


def log_softmax_backward(dy, y):
    return _rowwise("log_softmax_backward", dy, y)

# ---- cross-entropy ----


def _xent(name, logits, target, row_scale, smoothing):
    loss = np.empty(logits.shape[:-1], logits.dtype)
    dlogits = np.empty_like(logits)
    if dlogits.size:
        _kernel(name, logits.dtype)(_buf(loss), _buf(dlogits), _buf(logits), _buf(target),
                                    _buf(row_scale), *_rows(logits), smoothing)
    return loss, dlogits


def xent_sparse(logits, labels, row_scale, smoothing):
    return _xent("xent_sparse_forward", logits, labels, row_scale, smoothing)


def xent_dense(logits, target, row_scale, smoothing):
    return _xent("xent_dense_forward", logits, target, row_scale, smoothing)

# ---- optimizers ----
