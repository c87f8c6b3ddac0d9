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
# Geometry arguments everywhere: stride (sh, sw), dilation (dh, dw), padding (top, bottom, left, right).


def _conv_windows(x, kernel_hw, stride, dilation, padding):
    """The im2col view cols[n, oh, ow, i, j, c] = x_padded[n, oh*sh + i*dh, ow*sw + j*dw, c]."""
    (kh, kw), (sh, sw), (dh, dw), (pt, pb, pl, pr) = kernel_hw, stride, dilation, padding
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    n, hp, wp, c = xp.shape
    out_h, out_w = (hp - (kh - 1) * dh - 1) // sh + 1, (wp - (kw - 1) * dw - 1) // sw + 1
    s0, s1, s2, s3 = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (n, out_h, out_w, kh, kw, c), (s0, sh * s1, sw * s2, dh * s1, dw * s2, s3),
        writeable=False)


def conv2d_forward(x, w, b, stride, dilation, padding):
    y = np.tensordot(_conv_windows(x, w.shape[:2], stride, dilation, padding), w, axes=3)
    return y + b if b is not None else y


def conv2d_backward_input(dy, w, input_hw, stride, dilation, padding):
    (kh, kw, c, _), (sh, sw), (dh, dw), (pt, pb, pl, pr) = w.shape, stride, dilation, padding
    n, out_h, out_w, _ = dy.shape
    h, wd = input_hw
    dcols = np.tensordot(dy, w, axes=([3], [3]))  # [n, out_h, out_w, kh, kw, c]
    dxp = np.zeros((n, h + pt + pb, wd + pl + pr, c), dy.dtype)
    for i in range(kh):  # col2im: every tap adds its slice of the column gradient back
        for j in range(kw):
            dxp[:, i * dh:i * dh + sh * (out_h - 1) + 1:sh,
                j * dw:j * dw + sw * (out_w - 1) + 1:sw] += dcols[:, :, :, i, j]
    return np.ascontiguousarray(dxp[:, pt:pt + h, pl:pl + wd])


def conv2d_backward_weight(x, dy, kernel_hw, stride, dilation, padding):
    cols = _conv_windows(x, kernel_hw, stride, dilation, padding)
    return np.tensordot(cols, dy, axes=([0, 1, 2], [0, 1, 2]))


def conv2d_backward_weight_bias(x, dy, kernel_hw, stride, dilation, padding):
    return (conv2d_backward_weight(x, dy, kernel_hw, stride, dilation, padding),
            conv2d_backward_bias(dy))


def conv2d_backward_bias(dy):
    return dy.sum(axis=(0, 1, 2))


def conv2d_forward_relu(x, w, b, stride, dilation, padding):
    return np.maximum(conv2d_forward(x, w, b, stride, dilation, padding), 0)


def conv2d_backward_input_relu(dy, y, w, input_hw, stride, dilation, padding):
    return conv2d_backward_input(dy * (y > 0), w, input_hw, stride, dilation, padding)


def conv2d_backward_weight_relu(x, dy, y, kernel_hw, stride, dilation, padding):
    return conv2d_backward_weight(x, dy * (y > 0), kernel_hw, stride, dilation, padding)


def conv2d_backward_weight_bias_relu(x, dy, y, kernel_hw, stride, dilation, padding):
    return conv2d_backward_weight_bias(x, dy * (y > 0), kernel_hw, stride, dilation, padding)


def conv2d_backward_weight_bias_pooled(x, dp, p, argmax, out_hw, kernel_hw, stride, dilation,
                                       padding):
    (out_h, out_w), o = out_hw, dp.shape[3]
    dy = maxpool2d_backward_relu(dp, p, argmax, (x.shape[0], out_h, out_w, o),
                                 (2, 2, 2, 2, 0, 0, out_h // 2, out_w // 2))
    return conv2d_backward_weight_bias(x, dy, kernel_hw, stride, dilation, padding)


# ---- pooling ----
# NHWC windows come from sliding_window_view over the input padded to exactly cover every window;
# a mask of real (non-padding) pixels decides what may win a max and what counts in an average.


def _pool_windows(x, geometry, fill):
    """(windows [n, oh, ow, c, kh*kw], real-pixel mask [oh, ow, kh*kw]) of an NHWC input."""
    n, h, w, c = x.shape
    kh, kw, sh, sw, pt, pl, oh, ow = geometry
    hp, wp = (oh - 1) * sh + kh, (ow - 1) * sw + kw
    xp = np.pad(x, ((0, 0), (pt, max(hp - h - pt, 0)), (pl, max(wp - w - pl, 0)), (0, 0)),
                constant_values=fill)[:, :hp, :wp]
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]
    rows = np.arange(oh)[:, None] * sh - pt + np.arange(kh)        # [oh, kh] input row of each tap
    cols = np.arange(ow)[:, None] * sw - pl + np.arange(kw)        # [ow, kw]
    real_rows, real_cols = (rows >= 0) & (rows < h), (cols >= 0) & (cols < w)
    real = real_rows[:, None, :, None] & real_cols[None, :, None, :]
    return windows.reshape(n, oh, ow, c, kh * kw), real.reshape(oh, ow, kh * kw)


def maxpool2d_forward(x, geometry):
    kh, kw, sh, sw, pt, pl, oh, ow = geometry
    windows, real = _pool_windows(x, geometry, -np.inf)
    tap = np.argmax(windows, axis=-1)                               # first maximum (or first NaN)
    # A padding tap can only win a tie of -inf values: take the window's first real pixel instead.
    first_real = np.argmax(real, axis=-1)[None, :, :, None]
    picked_padding = ~np.take_along_axis(real[None, :, :, None, :], tap[..., None], -1)[..., 0]
    tap = np.where(picked_padding, first_real, tap)
    y = np.take_along_axis(windows, tap[..., None], axis=-1)[..., 0]
    oy = np.arange(oh)[None, :, None, None]
    ox = np.arange(ow)[None, None, :, None]
    in_y = oy * sh - pt + tap // kw
    in_x = ox * sw - pl + tap % kw
    return np.ascontiguousarray(y), (in_y * x.shape[2] + in_x).astype(np.int32)


def maxpool2d_backward(dy, argmax, x_shape, geometry):
    n, h, w, c = x_shape
    flat = ((np.arange(n)[:, None, None, None] * (h * w) + argmax) * c
            + np.arange(c)[None, None, None, :])
    dx = np.bincount(flat.ravel(), weights=dy.ravel(), minlength=n * h * w * c)
    return dx.astype(dy.dtype).reshape(x_shape)


def maxpool2d_backward_relu(dy, y, argmax, x_shape, geometry):
    return maxpool2d_backward(np.where(y > 0, dy, 0).astype(dy.dtype), argmax, x_shape, geometry)


def maxpool2d_gather(ddx, argmax):
    n, h, w, c = ddx.shape
    picked = np.take_along_axis(ddx.reshape(n, h * w, c), argmax.reshape(n, -1, c), axis=1)
    return picked.reshape(argmax.shape)


def avgpool2d_forward(x, geometry):
    windows, real = _pool_windows(x, geometry, 0)
    count = real.sum(-1)[None, :, :, None]
    return (windows.sum(-1) / count).astype(x.dtype)


def avgpool2d_backward(dy, x_shape, geometry):
    n, h, w, c = x_shape
    kh, kw, sh, sw, pt, pl, oh, ow = geometry
    _, real = _pool_windows(np.zeros((1, h, w, 1), dy.dtype), geometry, 0)
    share = dy / real.sum(-1)[None, :, :, None]
    hp, wp = max((oh - 1) * sh + kh, h + pt), max((ow - 1) * sw + kw, w + pl)
    dxp = np.zeros((n, hp, wp, c), dy.dtype)
    for ty in range(kh):
        for tx in range(kw):
            dxp[:, ty:ty + (oh - 1) * sh + 1:sh, tx:tx + (ow - 1) * sw + 1:sw] += share
    return np.ascontiguousarray(dxp[:, pt:pt + h, pl:pl + w])

# ---- softmax / log-sum-exp ----
# Same semantics as the C rows: the running max starts at the dtype's lowest finite value, so -inf
# entries contribute 0 and an all -inf row has lse -inf; a +inf entry gives lse +inf. Outputs are
# exp(x - max) / sum and (x - max) - log(sum), never through lse: x - max is exact, lse is not.


def _max_and_sum(x):
    m = np.maximum(x.max(axis=-1, keepdims=True), np.finfo(x.dtype).min)
    with np.errstate(invalid="ignore"):
        return m, np.exp(x - m).sum(axis=-1, keepdims=True)


def _log_of_sum(m, total):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m == np.inf, 0, np.log(total)).astype(m.dtype)


def logsumexp(x):
    m, total = _max_and_sum(x)
    return (m + _log_of_sum(m, total))[..., 0]


def logsumexp_backward(dy, x, lse):
    with np.errstate(invalid="ignore"):
        return dy[..., None] * np.exp(x - lse[..., None])


def softmax(x):
    m, total = _max_and_sum(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.exp(x - m) * (1 / total)


def softmax_backward(dy, y):
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


def log_softmax(x):
    m, total = _max_and_sum(x)
    with np.errstate(invalid="ignore"):
        return (x - m) - _log_of_sum(m, total)


def log_softmax_backward(dy, y):
    return dy - np.exp(y) * dy.sum(axis=-1, keepdims=True)

# ---- cross-entropy ----
# Loss per row = sum_j q_j (lse - x_j), written around the row max so a confident row keeps its
# small loss exactly; dlogits = row_scale * (softmax(x) * sum(q) - q).


def xent_sparse(logits, labels, row_scale, smoothing):
    cols = logits.shape[-1]
    m, total = _max_and_sum(logits)
    x_label = np.take_along_axis(logits, labels[..., None], axis=-1)
    loss = (1 - smoothing) * (m - x_label) + _log_of_sum(m, total)
    if smoothing:
        loss = loss + smoothing / cols * (cols * m - logits.sum(axis=-1, keepdims=True))
    scale = row_scale[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        dlogits = np.exp(logits - m) * (scale / total) - smoothing / cols * scale
    np.put_along_axis(dlogits, labels[..., None],
                      np.take_along_axis(dlogits, labels[..., None], -1) - (1 - smoothing) * scale,
                      axis=-1)
    return loss[..., 0].astype(logits.dtype), dlogits.astype(logits.dtype)


def xent_dense(logits, target, row_scale, smoothing):
    cols = logits.shape[-1]
    q = (1 - smoothing) * target + smoothing / cols
    sum_q = q.sum(axis=-1, keepdims=True)
    m, total = _max_and_sum(logits)
    loss = (q * (m - logits)).sum(axis=-1) + sum_q[..., 0] * _log_of_sum(m, total)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        dlogits = np.exp(logits - m) * (sum_q * row_scale[..., None] / total) \
            - q * row_scale[..., None]
    return loss.astype(logits.dtype), dlogits.astype(logits.dtype)

# ---- optimizers ----
# Each update is the textbook chain of NumPy expressions (one temporary per operation): the ground
# truth for the fused C pass, and the baseline bench_optim.py races it against.


def _clipped_grad_and_decay(param, grad, grad_scale, clipvalue, decay):
    g = np.clip(grad * grad_scale, -clipvalue, clipvalue)
    param -= param * decay
    return g


def sgd_update(param, velocity, grad, learning_rate, momentum, nesterov, grad_scale, clipvalue,
               decay):
    g = _clipped_grad_and_decay(param, grad, grad_scale, clipvalue, decay)
    if velocity is None:
        param -= g * learning_rate
        return
    velocity[...] = velocity * momentum - g * learning_rate
    if nesterov:
        param += velocity * momentum - g * learning_rate
    else:
        param += velocity


def adam_update(param, m, v, v_hat, grad, alpha, beta_1, beta_2, epsilon, grad_scale, clipvalue,
                decay):
    g = _clipped_grad_and_decay(param, grad, grad_scale, clipvalue, decay)
    m += (g - m) * (1.0 - beta_1)
    v += (g * g - v) * (1.0 - beta_2)
    if v_hat is not None:
        np.maximum(v_hat, v, out=v_hat)
        v = v_hat
    param -= (m * alpha) / (np.sqrt(v) + epsilon)


def adam_update_many(params, ms, vs, v_hats, grads, alpha, beta_1, beta_2, epsilon, grad_scales,
                     clipvalue, decays):
    for i, param in enumerate(params):
        adam_update(param, ms[i], vs[i], None if v_hats is None else v_hats[i], grads[i], alpha,
                    beta_1, beta_2, epsilon, grad_scales[i], clipvalue, decays[i])


def rmsprop_update(param, velocity, momentum_buf, average_grad, grad, learning_rate, rho, momentum,
                   epsilon, grad_scale, clipvalue, decay):
    g = _clipped_grad_and_decay(param, grad, grad_scale, clipvalue, decay)
    velocity[...] = rho * velocity + (1.0 - rho) * (g * g)
    if average_grad is not None:
        average_grad[...] = rho * average_grad + (1.0 - rho) * g
        denominator = velocity - average_grad * average_grad + epsilon
    else:
        denominator = velocity + epsilon
    increment = (learning_rate * g) / np.sqrt(denominator)
    if momentum_buf is not None:
        momentum_buf[...] = momentum * momentum_buf + increment
        increment = momentum_buf
    param -= increment


def sum_squares(x):
    flat = x.reshape(-1).astype(np.float64, copy=False)
    return float(np.dot(flat, flat))

# ---- elementwise ----


def relu_forward(x):
    return np.maximum(x, 0)


def relu_backward(dy, x):
    return dy * (x > 0)
