"""The only importer of the compiled module: hands NumPy arrays to the C kernels.

Callers (kernels.py) have already validated dtypes, shapes and contiguity; this module only allocates
outputs and workspaces, takes pointers with ffi.from_buffer (the cheap way) and calls tk_*.
cffi releases the GIL around every call.
"""
import threading

import numpy as np

from .._tk import ffi, lib

# ---- runtime ----

# Pointer type per dtype.char (dtype.name builds a new string per call, ~3 us; cffi type-string
# lookups are a measurable part of a small kernel's cost, so the types are parsed once).
_CTYPES = {char: ffi.typeof(ctype) for char, ctype in (("f", "float[]"), ("d", "double[]"),
                                                       ("i", "int32_t[]"), ("l", "int64_t[]"),
                                                       ("q", "int64_t[]"))}
# Arrays of pointers per dtype.char, for the kernels that take several tensors at once.
_CTYPES_PTR_ARRAY = {"f": ffi.typeof("float *[]"), "d": ffi.typeof("double *[]")}
# Workspaces come from one cached buffer per Python thread (cffi releases the GIL, so two threads
# may run kernels at once), grown on demand, never allocated per call.
_scratch = threading.local()
_SUFFIX = {"f": "f32", "d": "f64"}
_kern_fns = {}


def _kern_fn(name, dtype):
    """lib.tk_<name>_<f32|f64> for dtype, looked up once (cffi attribute lookups cost
    microseconds)."""
    key = (name, dtype.char)
    fn = _kern_fns.get(key)
    if fn is None:
        fn = _kern_fns[key] = getattr(lib, f"tk_{name}_{_SUFFIX[dtype.char]}")
    return fn


def _ptr(x):
    """Pointer to x's first element without a copy (ffi.NULL for None): from_buffer for C-contiguous
    arrays (the cheap, common case, tried first), the raw address for other views (x stays alive
    in the caller for the duration of the C call)."""
    if x is None:
        return ffi.NULL
    ctype = _CTYPES[x.dtype.char]
    try:
        return ffi.from_buffer(ctype, x)
    except ValueError:  # not C-contiguous
        return ffi.cast(ctype.item.cname + " *", x.__array_interface__["data"][0])


def _aligned_bytes(nbytes):
    """A fresh uint8 array of nbytes whose data starts on a 64-byte boundary: the kernels'
    whole-vector stores into it then never straddle two cache lines (NumPy's large arrays start
    16 bytes past one)."""
    raw = np.empty(nbytes + 64, np.uint8)
    start = -raw.__array_interface__["data"][0] % 64
    return raw[start:start + nbytes]


def _workspace(nbytes):
    """This thread's kernel scratch (at least nbytes, 64-byte aligned), grown by doubling."""
    cached = getattr(_scratch, "workspace", None)
    if cached is None or cached[0] < nbytes:
        size = max(nbytes, 2 * cached[0] if cached else 0, 1 << 20)
        cached = (size, ffi.from_buffer(_aligned_bytes(size)))
        _scratch.workspace = cached
    return cached[1]


def set_num_threads(n):
    lib.tk_set_num_threads(n)
    _size_small_gemms()  # the GEMM workspace scales with the thread count
    _new_plan_epoch()  # and so do the convolutions' workspaces


def select_simd(level):
    _new_plan_epoch()  # the workspaces differ between the SIMD bodies
    return lib.tk_select_simd(level)


def _new_plan_epoch():
    """Retires the conv plans sized under the previous thread count or SIMD level: they are
    dropped, and the epoch in their keys keeps one made concurrently from ever matching again."""
    global _plan_epoch
    _plan_epoch += 1
    _conv_plans.clear()


def build_info():
    return {
        "simd": ffi.string(lib.tk_simd_name()).decode(),
        "openmp": bool(lib.tk_openmp_enabled()),
        "build_flags": ffi.string(lib.tk_build_flags()).decode(),
    }

# ---- gemm ----

# Per dtype: the kernels, the size query and the pointer type, looked up once (cffi attribute and
# type-string lookups are a measurable part of a small matmul's cost).
_GEMM = {
    np.dtype(np.float32): (lib.tk_gemm_f32, lib.tk_gemm_batched_f32, lib.tk_gemm_workspace_size_f32,
                           ffi.typeof("float[]")),
    np.dtype(np.float64): (lib.tk_gemm_f64, lib.tk_gemm_batched_f64, lib.tk_gemm_workspace_size_f64,
                           ffi.typeof("double[]")),
}
# The size query is a C call (~0.3 us, as much as a 4x4 product's arithmetic). Its answer never
# decreases as M, N or K grows, so the answer for SMALL_GEMM^3 covers every smaller problem;
# it is kept per dtype and recomputed when the thread count changes.
SMALL_GEMM = 64
_small_gemm_bytes = {}


def _size_small_gemms():
    for dtype, (_, _, workspace_size, _) in _GEMM.items():
        _small_gemm_bytes[dtype] = workspace_size(SMALL_GEMM, SMALL_GEMM, SMALL_GEMM)


_size_small_gemms()


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


def _matrix(x):
    """(x or a contiguous copy, pointer, trans, ld) for BLAS: copies only when neither matrix axis
    has unit stride."""
    layout = None if x.flags.c_contiguous else _matrix_layout(x)
    if layout is None:
        x = np.ascontiguousarray(x)
        return x, _ptr(x), 0, x.shape[-1]
    return x, _ptr(x), layout[0], layout[1]


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
    # The common case (both operands C-contiguous) inline, saving a call per operand; views go
    # through _matrix.
    if a.flags.c_contiguous:
        pointer_a, trans_a, lda = ffi.from_buffer(ctype, a), 0, K
    else:
        a, pointer_a, trans_a, lda = _matrix(a)
    if b.flags.c_contiguous:
        pointer_b, trans_b, ldb = ffi.from_buffer(ctype, b), 0, N
    else:
        b, pointer_b, trans_b, ldb = _matrix(b)
    if M <= SMALL_GEMM and N <= SMALL_GEMM and K <= SMALL_GEMM:
        nbytes = _small_gemm_bytes[a.dtype]
    else:
        nbytes = workspace_size(M, N, K)
    gemm(trans_a, trans_b, M, N, K, alpha, pointer_a, lda, pointer_b, ldb, beta,
         ffi.from_buffer(ctype, out), N, _workspace(nbytes))
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


def _zeros(out):
    out.fill(0)
    return out


def matmul(a, b):
    if a.ndim == 2 and b.ndim == 2:
        (M, K), N = a.shape, b.shape[1]
        out = np.empty((M, N), a.dtype)
        return _gemm2d(a, b, out, 1.0, 0.0) if M and N and K else _zeros(out)
    vector_a, vector_b = a.ndim == 1, b.ndim == 1
    out = _batched_matmul(a[None, :] if vector_a else a, b[:, None] if vector_b else b)
    if vector_a or vector_b:  # NumPy drops the axis a 1-D operand was promoted with
        out = out.reshape(out.shape[:-2] + out.shape[-2:][vector_a:2 - vector_b])
    return out


def _batch_shape(a, b):
    """np.broadcast_shapes of the batch axes, skipping its several microseconds in the common cases
    (equal batch axes, or one operand a single matrix)."""
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    if batch_a == batch_b or not batch_b:
        return batch_a
    if not batch_a:
        return batch_b
    return np.broadcast_shapes(batch_a, batch_b)


def _batched_matmul(a, b):
    (M, K), N = a.shape[-2:], b.shape[-1]
    if b.ndim == 2 and a.flags.c_contiguous and a.size and N:
        # A stack of row-major matrices times one matrix is one tall GEMM (the Dense layer on N-D
        # input; also a 1-D operand promoted to a matrix): fewer edge tiles, one thread split over
        # all the rows, and no batch bookkeeping.
        out = np.empty((a.size // K, N), a.dtype)
        return _gemm2d(a.reshape(-1, K), b, out, 1.0, 0.0).reshape(a.shape[:-1] + (N,))
    batch_shape = _batch_shape(a, b)
    out = np.empty(batch_shape + (M, N), a.dtype)
    if out.size == 0 or K == 0:
        return _zeros(out)
    if a.ndim == 2 and b.ndim == 2:  # a 1-D operand promoted to a matrix, as a view
        return _gemm2d(a, b, out, 1.0, 0.0)
    _, batched, workspace_size, _ = _GEMM[a.dtype]
    a, stride_a = _batch_stride(a if _matrix_layout(a) else np.ascontiguousarray(a), batch_shape)
    b, stride_b = _batch_stride(b if _matrix_layout(b) else np.ascontiguousarray(b), batch_shape)
    (trans_a, lda), (trans_b, ldb) = _matrix_layout(a), _matrix_layout(b)
    batch = out.size // (M * N)
    if stride_b == 0 and not trans_a and stride_a == M * lda:
        # The same tall GEMM for a B broadcast over the batch, or an A that is a row-major view.
        gemm = _GEMM[out.dtype][0]
        gemm(0, trans_b, batch * M, N, K, 1.0, _ptr(a), lda, _ptr(b), ldb, 0.0, _ptr(out), N,
             _workspace(workspace_size(batch * M, N, K)))
        return out
    batched(trans_a, trans_b, batch, M, N, K, 1.0, _ptr(a), lda, stride_a, _ptr(b), ldb, stride_b,
            0.0, _ptr(out), N, M * N, _workspace(workspace_size(M, N, K)))
    return out

# ---- conv2d ----


def _aligned_empty(shape, dtype):
    """np.empty whose data starts on a 64-byte boundary (see _aligned_bytes)."""
    count = 1
    for n in shape:
        count *= n
    return _aligned_bytes(count * dtype.itemsize).view(dtype).reshape(shape)


def _geometry(x_shape, w_shape, out_hw, stride, dilation, padding):
    # the field order of tk_conv2d_geometry
    return (*x_shape, *w_shape[:2], w_shape[3], *out_hw, *stride, *dilation, *padding)


# (kernel, dtype char, geometry fields, epoch) -> (geometry struct, kernel, workspace bytes).
# Building the struct and asking C for the workspace size cost more than the rest of a call's
# Python; a training loop repeats a handful of geometries. The struct is const to the kernels, so
# calls (and threads) share it. The size depends on the thread count and SIMD level: changing
# either starts a new epoch (_new_plan_epoch).
_conv_plans = {}
_plan_epoch = 0
_CONV_PLANS_MAX = 256


def _conv_plan(kernel, dtype, fields):
    key = (kernel, dtype.char, fields, _plan_epoch)
    plan = _conv_plans.get(key)
    if plan is None:
        geometry = ffi.new("tk_conv2d_geometry *", list(fields))
        size = _kern_fn(f"conv2d_workspace_size_{kernel}", dtype)(geometry)
        if len(_conv_plans) >= _CONV_PLANS_MAX:
            _conv_plans.clear()
        plan = _conv_plans[key] = (geometry, _kern_fn(f"conv2d_{kernel}", dtype), size)
    return plan


def _run(kernel, dtype, fields, out, *inputs):
    geometry, run, workspace_bytes = _conv_plan(kernel, dtype, fields)
    run(*[_ptr(a) for a in (out, *inputs)], geometry, _workspace(workspace_bytes))
    return out


def conv2d_forward(x, w, b, stride, dilation, padding):
    return _forward("forward", x, w, b, stride, dilation, padding)


def conv2d_forward_relu(x, w, b, stride, dilation, padding):
    return _forward("forward_relu", x, w, b, stride, dilation, padding)


def _forward(kernel, x, w, b, stride, dilation, padding):
    n, h, wd, _ = x.shape
    kh, kw, _, o = w.shape
    out_h = (h + padding[0] + padding[1] - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    out_w = (wd + padding[2] + padding[3] - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    y = _aligned_empty((n, out_h, out_w, o), x.dtype)
    if y.size == 0:
        return y
    geometry = _geometry(x.shape, w.shape, (out_h, out_w), stride, dilation, padding)
    return _run(kernel, x.dtype, geometry, y, x, w, b)


def conv2d_backward_input(dy, w, input_hw, stride, dilation, padding):
    return _backward_input("backward_input", (dy,), w, input_hw, stride, dilation, padding)


def conv2d_backward_input_relu(dy, y, w, input_hw, stride, dilation, padding):
    return _backward_input("backward_input_relu", (dy, y), w, input_hw, stride, dilation,
                           padding)


def _backward_input(kernel, grads, w, input_hw, stride, dilation, padding):
    """grads: (dy,) or, for the fused ReLU, (dy, y)."""
    n, out_h, out_w, _ = grads[0].shape
    dx = _aligned_empty((n, *input_hw, w.shape[2]), w.dtype)
    if dx.size == 0:
        return dx
    geometry = _geometry(dx.shape, w.shape, (out_h, out_w), stride, dilation, padding)
    return _run(kernel, w.dtype, geometry, dx, *grads, w)


def conv2d_backward_weight(x, dy, kernel_hw, stride, dilation, padding):
    return _backward_weight("backward_weight", x, (dy,), kernel_hw, stride, dilation, padding,
                            None)


def conv2d_backward_weight_bias(x, dy, kernel_hw, stride, dilation, padding):
    db = np.empty((dy.shape[3],), dy.dtype)
    return _backward_weight("backward_weight", x, (dy,), kernel_hw, stride, dilation, padding,
                            db), db


def conv2d_backward_weight_relu(x, dy, y, kernel_hw, stride, dilation, padding):
    return _backward_weight("backward_weight_relu", x, (dy, y), kernel_hw, stride, dilation,
                            padding, None)


def conv2d_backward_weight_bias_relu(x, dy, y, kernel_hw, stride, dilation, padding):
    db = np.empty((dy.shape[3],), dy.dtype)
    return _backward_weight("backward_weight_relu", x, (dy, y), kernel_hw, stride, dilation,
                            padding, db), db


def conv2d_backward_weight_bias_pooled(x, dp, p, argmax, out_hw, kernel_hw, stride, dilation,
                                       padding):
    db = np.empty((dp.shape[3],), dp.dtype)
    dw = np.empty((*kernel_hw, x.shape[3], dp.shape[3]), x.dtype)
    if x.shape[0] == 0:
        dw.fill(0)
        db.fill(0)
        return dw, db
    geometry = _geometry(x.shape, dw.shape, out_hw, stride, dilation, padding)
    if _kern_fn("conv2d_winograd_passes", x.dtype)(_conv_plan("backward_weight_pooled", x.dtype,
                                                              geometry)[0]) & 4:
        # Winograd's grad-weight, faster than the direct kernels there, reads a whole dy
        dy = maxpool2d_backward_relu(dp, p, argmax, (x.shape[0], *out_hw, dp.shape[3]),
                                     (2, 2, 2, 2, 0, 0, out_hw[0] // 2, out_hw[1] // 2))
        return conv2d_backward_weight_bias(x, dy, kernel_hw, stride, dilation, padding)
    return _run("backward_weight_pooled", x.dtype, geometry, dw, db, x, dp, p, argmax), db


def _backward_weight(kernel, x, grads, kernel_hw, stride, dilation, padding, db):
    """grads: (dy,) or, for the fused ReLU, (dy, y)."""
    dw = np.empty((*kernel_hw, x.shape[3], grads[0].shape[3]), x.dtype)
    if x.shape[0] == 0:
        dw.fill(0)
        if db is not None:
            db.fill(0)
        return dw
    geometry = _geometry(x.shape, dw.shape, grads[0].shape[1:3], stride, dilation, padding)
    return _run(kernel, x.dtype, geometry, dw, db, x, *grads)


_WINOGRAD_PASSES = ((1, "forward"), (2, "backward_input"), (4, "backward_weight"))


def conv2d_winograd_passes(x_shape, w_shape, stride, dilation, padding, dtype=np.float32):
    """The conv2d kernels ("forward", "backward_input", "backward_weight") that run this geometry
    as Winograd F(2x2, 3x3); the others run as the direct implicit GEMM."""
    n, h, wd, _ = x_shape
    kh, kw = w_shape[:2]
    out_h = (h + padding[0] + padding[1] - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    out_w = (wd + padding[2] + padding[3] - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    fields = _geometry(x_shape, w_shape, (out_h, out_w), stride, dilation, padding)
    geometry = ffi.new("tk_conv2d_geometry *", list(fields))
    bits = _kern_fn("conv2d_winograd_passes", np.dtype(dtype))(geometry)
    return frozenset(name for bit, name in _WINOGRAD_PASSES if bits & bit)


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

def maxpool2d_forward(x, geometry):
    n, h, w, c = x.shape
    kh, kw, sh, sw, pt, pl, oh, ow = geometry
    y = np.empty((n, oh, ow, c), x.dtype)
    argmax = np.empty((n, oh, ow, c), np.int32)
    if y.size:
        _kern_fn("maxpool2d_forward", x.dtype)(_ptr(y), _ptr(argmax), _ptr(x),
                                               n, h, w, c, kh, kw, sh, sw, pt, pl, oh, ow)
    return y, argmax


def maxpool2d_backward(dy, argmax, x_shape, geometry):
    if not dy.size:
        return np.zeros(x_shape, dy.dtype)
    dx = np.empty(x_shape, dy.dtype)
    _kern_fn("maxpool2d_backward", dy.dtype)(_ptr(dx), _ptr(dy), _ptr(argmax),
                                             *x_shape, *geometry)
    return dx


def maxpool2d_backward_relu(dy, y, argmax, x_shape, geometry):
    if not dy.size:
        return np.zeros(x_shape, dy.dtype)
    dx = np.empty(x_shape, dy.dtype)
    _kern_fn("maxpool2d_backward_relu", dy.dtype)(_ptr(dx), _ptr(dy), _ptr(y), _ptr(argmax),
                                                  *x_shape, *geometry)
    return dx


def maxpool2d_gather(ddx, argmax):
    n, h, w, c = ddx.shape
    ddy = np.empty(argmax.shape, ddx.dtype)
    if ddy.size:
        _kern_fn("maxpool2d_gather", ddx.dtype)(_ptr(ddy), _ptr(ddx), _ptr(argmax),
                                                n, h, w, c, argmax.shape[1], argmax.shape[2])
    return ddy


def avgpool2d_forward(x, geometry):
    n, h, w, c = x.shape
    oh, ow = geometry[6:]
    y = np.empty((n, oh, ow, c), x.dtype)
    if y.size:
        _kern_fn("avgpool2d_forward", x.dtype)(_ptr(y), _ptr(x), n, h, w, c, *geometry)
    return y


def avgpool2d_backward(dy, x_shape, geometry):
    if not dy.size:
        return np.zeros(x_shape, dy.dtype)
    dx = np.empty(x_shape, dy.dtype)  # the kernel writes every pixel
    _kern_fn("avgpool2d_backward", dy.dtype)(_ptr(dx), _ptr(dy), *x_shape, *geometry)
    return dx

# ---- softmax / log-sum-exp ----


def _rows(x):
    return x.size // x.shape[-1], x.shape[-1]


def logsumexp(x):
    out = np.empty(x.shape[:-1], x.dtype)
    if out.size:
        _kern_fn("logsumexp_forward", x.dtype)(_ptr(out), _ptr(x), *_rows(x))
    return out


def logsumexp_backward(dy, x, lse):
    dx = np.empty_like(x)
    if dx.size:
        _kern_fn("logsumexp_backward", x.dtype)(_ptr(dx), _ptr(dy), _ptr(x), _ptr(lse),
                                                *_rows(x))
    return dx


def _rowwise(name, *arrays):
    out = np.empty_like(arrays[-1])
    if out.size:
        _kern_fn(name, out.dtype)(_ptr(out), *(_ptr(a) for a in arrays), *_rows(out))
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
        _kern_fn(name, logits.dtype)(_ptr(loss), _ptr(dlogits), _ptr(logits), _ptr(target),
                                     _ptr(row_scale), *_rows(logits), smoothing)
    return loss, dlogits


def xent_sparse(logits, labels, row_scale, smoothing):
    return _xent("xent_sparse_forward", logits, labels, row_scale, smoothing)


def xent_dense(logits, target, row_scale, smoothing):
    return _xent("xent_dense_forward", logits, target, row_scale, smoothing)

# ---- optimizers ----


def sgd_update(param, velocity, grad, learning_rate, momentum, nesterov, grad_scale, clipvalue,
               decay):
    sgd = _kern_fn("sgd_update", param.dtype)
    sgd(_ptr(param), _ptr(velocity), _ptr(grad), param.size, learning_rate, momentum,
        int(nesterov), grad_scale, clipvalue, decay)


def adam_update(param, m, v, v_hat, grad, alpha, beta_1, beta_2, epsilon, grad_scale, clipvalue,
                decay):
    adam = _kern_fn("adam_update", param.dtype)
    adam(_ptr(param), _ptr(m), _ptr(v), _ptr(v_hat), _ptr(grad), param.size, alpha, beta_1, beta_2,
         epsilon, grad_scale, clipvalue, decay)


def adam_update_many(params, ms, vs, v_hats, grads, alpha, beta_1, beta_2, epsilon, grad_scales,
                     clipvalue, decays):
    char = params[0].dtype.char
    pointers, ctype, from_buffer = _CTYPES_PTR_ARRAY[char], _CTYPES[char], ffi.from_buffer
    # every buffer was checked C-contiguous: from_buffer directly, without _ptr's fallback
    param_ptrs, m_ptrs, v_ptrs, grad_ptrs = (
        ffi.new(pointers, [from_buffer(ctype, a) for a in arrays])
        for arrays in (params, ms, vs, grads))
    v_hat_ptrs = ffi.NULL if v_hats is None else ffi.new(pointers, [_ptr(a) for a in v_hats])
    _kern_fn("adam_update_many", params[0].dtype)(
        param_ptrs, m_ptrs, v_ptrs, v_hat_ptrs, grad_ptrs, [a.size for a in params], grad_scales,
        decays, len(params), alpha, beta_1, beta_2, epsilon, clipvalue)


def rmsprop_update(param, velocity, momentum_buf, average_grad, grad, learning_rate, rho, momentum,
                   epsilon, grad_scale, clipvalue, decay):
    rmsprop = _kern_fn("rmsprop_update", param.dtype)
    rmsprop(_ptr(param), _ptr(velocity), _ptr(momentum_buf), _ptr(average_grad), _ptr(grad),
            param.size, learning_rate, rho, momentum, epsilon, grad_scale, clipvalue, decay)


def sum_squares(x):
    workspace = ffi.cast("double *", _workspace(lib.tk_sum_squares_workspace_size(x.size)))
    return _kern_fn("sum_squares", x.dtype)(workspace, _ptr(x), x.size)

# ---- elementwise ----


def relu_forward(x):
    out = np.empty_like(x)
    _kern_fn("relu_forward", x.dtype)(_ptr(out), _ptr(x), x.size)
    return out


def relu_backward(dy, x):
    dx = np.empty_like(x)
    _kern_fn("relu_backward", x.dtype)(_ptr(dx), _ptr(dy), _ptr(x), x.size)
    return dx
