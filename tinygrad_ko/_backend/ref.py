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
