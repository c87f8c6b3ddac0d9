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

import threading  # noqa: E402

import numpy as np  # noqa: E402

_GEMM = {
    np.dtype(np.float32): (lib.tk_gemm_f32, lib.tk_gemm_batched_f32, lib.tk_gemm_workspace_size_f32,
                           "float *"),
    np.dtype(np.float64): (lib.tk_gemm_f64, lib.tk_gemm_batched_f64, lib.tk_gemm_workspace_size_f64,
                           "double *"),
}
_scratch = threading.local()


def _workspace(nbytes):
    """This thread's GEMM scratch: one 64-byte aligned buffer, grown (never per call) as needed."""
    cached = getattr(_scratch, "gemm", None)
    if cached is None or cached[0] < nbytes:
        size = max(nbytes, 2 * cached[0] if cached else 0, 1 << 20)
        raw = np.empty(size + 64, np.uint8)
        start = -raw.__array_interface__["data"][0] % 64
        cached = (size, ffi.from_buffer(raw[start:start + size], require_writable=True))
        _scratch.gemm = cached
    return cached[1]


def _pointer(x, ctype):
    """Pointer to x's first element without a copy: from_buffer for contiguous arrays (cheap), the
    raw address for other views (x stays alive in the caller for the duration of the C call)."""
    if x.flags.c_contiguous:
        return ffi.from_buffer(ctype, x)
    if x.flags.f_contiguous:
        return ffi.from_buffer(ctype, x.T)
    return ffi.cast(ctype, x.__array_interface__["data"][0])


def _matrix_layout(x):
    """(trans, ld) describing x's last two axes to BLAS, or None if neither axis has unit stride."""
    es = x.itemsize
    rows, cols = x.shape[-2:]
    row_stride, col_stride = x.strides[-2:]
    if (col_stride == es or cols == 1) and row_stride % es == 0:
        return 0, (row_stride // es if rows > 1 else cols)
    if (row_stride == es or rows == 1) and col_stride % es == 0:
        return 1, (col_stride // es if cols > 1 else rows)
    return None


def _matrix(x, ctype):
    """(x or a contiguous copy, pointer, trans, ld) for BLAS: copies only when neither matrix axis
    has unit stride."""
    if x.flags.c_contiguous:
        return x, ffi.from_buffer(ctype, x), 0, x.shape[-1]
    layout = _matrix_layout(x)
    if layout is None:
        x = np.ascontiguousarray(x)
        return x, ffi.from_buffer(ctype, x), 0, x.shape[-1]
    return x, _pointer(x, ctype), layout[0], layout[1]


def _batch_stride(x, batch_shape):
    """(x or a copy, stride in elements) so that matrix i of the flattened batch starts at
    x + i * stride; stride 0 when x is broadcast over the whole batch."""
    es, lead = x.itemsize, len(batch_shape) - (x.ndim - 2)
    strides = [0] * lead + [0 if n == 1 else s for n, s in zip(x.shape[:-2], x.strides[:-2])]
    stride, span = None, 1
    for size, step in zip(reversed(batch_shape), reversed(strides)):
        if size > 1:
            if stride is None:
                stride = step
            if step != stride * span:
                stride = None
                break
        span *= size
    else:
        stride = stride or 0
        if stride % es == 0:
            return x, stride // es
    full = np.ascontiguousarray(np.broadcast_to(x, tuple(batch_shape) + x.shape[-2:]))
    return full, full.shape[-1] * full.shape[-2]


def _gemm2d(a, b, out, alpha, beta):
    """out = alpha * a @ b + beta * out for non-empty 2-D a [M, K], b [K, N], C-contiguous out."""
    gemm, _, workspace_size, ctype = _GEMM[a.dtype]
    (M, K), N = a.shape, b.shape[1]
    _, pointer_a, trans_a, lda = _matrix(a, ctype)
    _, pointer_b, trans_b, ldb = _matrix(b, ctype)
    gemm(trans_a, trans_b, M, N, K, alpha, pointer_a, lda, pointer_b, ldb, beta,
         ffi.from_buffer(ctype, out, require_writable=True), N, _workspace(workspace_size(M, N, K)))
    return out


def gemm(a, b, out=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    if out.size == 0:
        return out
    if a.shape[1] == 0:
        if beta == 0:
            out.fill(0)
        else:
            out *= beta
        return out
    return _gemm2d(a, b, out, alpha, beta)


def matmul(a, b):
    vector_a, vector_b = a.ndim == 1, b.ndim == 1
    if vector_a:
        a = a[None, :]
    if vector_b:
        b = b[:, None]
    if a.ndim == 2 and b.ndim == 2:
        out = np.empty((a.shape[0], b.shape[1]), a.dtype)
        if out.size and a.shape[1]:
            _gemm2d(a, b, out, 1.0, 0.0)
        elif out.size:
            out.fill(0)
    else:
        out = _batched_matmul(a, b)
    if vector_a or vector_b:  # NumPy drops the axis a 1-D operand was promoted with
        out = out.reshape(out.shape[:-2] + out.shape[-2:][vector_a:2 - vector_b])
    return out


def _batched_matmul(a, b):
    batch_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    (M, K), N = a.shape[-2:], b.shape[-1]
    out = np.empty(batch_shape + (M, N), a.dtype)
    if out.size == 0 or K == 0:
        out.fill(0)
        return out
    _, batched, workspace_size, ctype = _GEMM[a.dtype]
    a, stride_a = _batch_stride(a if _matrix_layout(a) else np.ascontiguousarray(a), batch_shape)
    b, stride_b = _batch_stride(b if _matrix_layout(b) else np.ascontiguousarray(b), batch_shape)
    (trans_a, lda), (trans_b, ldb) = _matrix_layout(a), _matrix_layout(b)
    batched(trans_a, trans_b, out.size // (M * N), M, N, K, 1.0, _pointer(a, ctype), lda, stride_a,
            _pointer(b, ctype), ldb, stride_b, 0.0, ffi.from_buffer(ctype, out, require_writable=True),
            N, M * N, _workspace(workspace_size(M, N, K)))
    return out

# ---- conv2d ----

# ---- pooling ----

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
