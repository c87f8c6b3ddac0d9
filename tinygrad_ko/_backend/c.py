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
# Workspaces come from one cached buffer per Python thread (cffi releases the GIL, so two threads
# may run kernels at once), grown on demand and sliced to a 64-byte-aligned start.
import threading  # noqa: E402

import numpy as np  # noqa: E402

_conv_scratch = threading.local()


def _workspace(nbytes):
    buf = getattr(_conv_scratch, "buf", None)
    if buf is None or buf.size < nbytes + 64:
        buf = _conv_scratch.buf = np.empty(max(nbytes + 64, 1 << 16), np.uint8)
    start = -buf.__array_interface__["data"][0] % 64
    return ffi.from_buffer(buf[start:start + max(nbytes, 1)])


def _geometry(x_shape, w_shape, out_hw, stride, dilation, padding):
    n, h, w, c = x_shape
    kh, kw, _, o = w_shape
    return ffi.new("tk_conv2d_geometry *", {
        "n": n, "h": h, "w": w, "c": c, "kh": kh, "kw": kw, "o": o,
        "out_h": out_hw[0], "out_w": out_hw[1], "stride_h": stride[0], "stride_w": stride[1],
        "dilation_h": dilation[0], "dilation_w": dilation[1], "pad_top": padding[0],
        "pad_bottom": padding[1], "pad_left": padding[2], "pad_right": padding[3]})


def _run(kernel, dtype, geometry, out, *inputs):
    suffix, ctype = ("f32", "float[]") if dtype == np.float32 else ("f64", "double[]")
    size = getattr(lib, f"tk_conv2d_workspace_size_{kernel}_{suffix}")(geometry)
    args = [ffi.from_buffer(ctype, a) if a is not None else ffi.NULL for a in (out, *inputs)]
    getattr(lib, f"tk_conv2d_{kernel}_{suffix}")(*args, geometry, _workspace(size))
    return out


def conv2d_forward(x, w, b, stride, dilation, padding):
    n, h, wd, _ = x.shape
    kh, kw, _, o = w.shape
    out_h = (h + padding[0] + padding[1] - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    out_w = (wd + padding[2] + padding[3] - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    y = np.empty((n, out_h, out_w, o), x.dtype)
    if y.size == 0:
        return y
    geometry = _geometry(x.shape, w.shape, (out_h, out_w), stride, dilation, padding)
    return _run("forward", x.dtype, geometry, y, x, w, b)


def conv2d_backward_input(dy, w, input_hw, stride, dilation, padding):
    n, out_h, out_w, _ = dy.shape
    dx = np.empty((n, *input_hw, w.shape[2]), dy.dtype)
    if dx.size == 0:
        return dx
    geometry = _geometry(dx.shape, w.shape, (out_h, out_w), stride, dilation, padding)
    return _run("backward_input", dy.dtype, geometry, dx, dy, w)


def conv2d_backward_weight(x, dy, kernel_hw, stride, dilation, padding):
    dw = np.empty((*kernel_hw, x.shape[3], dy.shape[3]), x.dtype)
    if x.shape[0] == 0:
        dw.fill(0)
        return dw
    geometry = _geometry(x.shape, dw.shape, dy.shape[1:3], stride, dilation, padding)
    return _run("backward_weight", x.dtype, geometry, dw, x, dy)


def conv2d_backward_bias(dy):
    n, out_h, out_w, o = dy.shape
    db = np.empty((o,), dy.dtype)
    if dy.size == 0:
        db.fill(0)
        return db
    geometry = _geometry((n, out_h, out_w, 1), (1, 1, 1, o), (out_h, out_w), (1, 1), (1, 1),
                         (0, 0, 0, 0))
    return _run("backward_bias", dy.dtype, geometry, db, dy)

# ---- pooling ----

# ---- softmax / log-sum-exp ----

# ---- cross-entropy ----

# ---- optimizers ----
