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

# ---- pooling ----

# ---- softmax / log-sum-exp ----

# ---- cross-entropy ----

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
