"""Validating entry points to the kernels: every check happens here, once, before either backend runs.

Bad input raises TypeError/ValueError naming the argument, shapes and dtypes; the C core validates
nothing, so nothing reaches it unchecked.
"""
import numpy as np

from . import selection

# ---- gemm ----


def matmul(a, b):
    """np.matmul semantics (2-D, batched N-D with broadcast batch dims) for float32/float64 arrays."""
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"matmul expects ndarrays, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
    return selection.impl.matmul(a, b)

# ---- conv2d ----

# ---- pooling ----

# ---- softmax / log-sum-exp ----

# ---- cross-entropy ----

# ---- optimizers ----


def _check_update(name, param, grad, states):
    """param/grad/state buffers of one fused update: same float dtype and shape, contiguous, distinct."""
    if not isinstance(param, np.ndarray) or not isinstance(grad, np.ndarray):
        raise TypeError(f"{name}: param and grad must be ndarrays, got {type(param).__name__} and "
                        f"{type(grad).__name__}")
    if param.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: param must be float32 or float64, got {param.dtype}")
    buffers = {"param": param, "grad": grad, **{k: v for k, v in states.items() if v is not None}}
    for key, arr in buffers.items():
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name}: {key} must be an ndarray, got {type(arr).__name__}")
        if arr.dtype != param.dtype:
            raise TypeError(f"{name}: {key} has dtype {arr.dtype}, param has {param.dtype}")
        if arr.shape != param.shape:
            raise ValueError(f"{name}: {key} has shape {arr.shape}, param has {param.shape}")
        if not arr.flags.c_contiguous:
            raise ValueError(f"{name}: {key} must be C-contiguous")
        if key != "grad" and not arr.flags.writeable:
            raise ValueError(f"{name}: {key} is read-only; the update writes it in place")
    keys = list(buffers)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if np.may_share_memory(buffers[a], buffers[b]):
                raise ValueError(f"{name}: {a} and {b} overlap in memory")


def _check_scalars(name, **values):
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise TypeError(f"{name}: {key} must be a real number, got {type(value).__name__}")
        if not np.isfinite(value):
            raise ValueError(f"{name}: {key} must be finite, got {value}")


def _clip_bound(name, clipvalue):
    if clipvalue is None:
        return float("inf")
    _check_scalars(name, clipvalue=clipvalue)
    if clipvalue <= 0:
        raise ValueError(f"{name}: clipvalue must be > 0, got {clipvalue}")
    return float(clipvalue)


def sgd_update(param, velocity, grad, *, learning_rate, momentum=0.0, nesterov=False,
               grad_scale=1.0, clipvalue=None, decay=0.0):
    """In-place Keras SGD step on one tensor (velocity None when momentum == 0); see csrc/tk.h."""
    _check_update("sgd_update", param, grad, {"velocity": velocity})
    _check_scalars("sgd_update", learning_rate=learning_rate, momentum=momentum,
                   grad_scale=grad_scale, decay=decay)
    if (velocity is None) != (momentum == 0):
        raise ValueError("sgd_update: pass a velocity buffer exactly when momentum != 0")
    selection.impl.sgd_update(param, velocity, grad, float(learning_rate), float(momentum),
                              bool(nesterov), float(grad_scale), _clip_bound("sgd_update", clipvalue),
                              float(decay))


def adam_update(param, m, v, v_hat, grad, *, alpha, beta_1, beta_2, epsilon, grad_scale=1.0,
                clipvalue=None, decay=0.0):
    """In-place Keras Adam step on one tensor (v_hat None unless AMSGrad); see csrc/tk.h."""
    if m is None or v is None:
        raise ValueError("adam_update: m and v buffers are required")
    _check_update("adam_update", param, grad, {"m": m, "v": v, "v_hat": v_hat})
    _check_scalars("adam_update", alpha=alpha, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                   grad_scale=grad_scale, decay=decay)
    selection.impl.adam_update(param, m, v, v_hat, grad, float(alpha), float(beta_1),
                               float(beta_2), float(epsilon), float(grad_scale),
                               _clip_bound("adam_update", clipvalue), float(decay))


def rmsprop_update(param, velocity, momentum_buf, average_grad, grad, *, learning_rate, rho,
                   momentum, epsilon, grad_scale=1.0, clipvalue=None, decay=0.0):
    """In-place Keras RMSprop step on one tensor (momentum_buf None when momentum == 0,
    average_grad None unless centered); see csrc/tk.h."""
    if velocity is None:
        raise ValueError("rmsprop_update: the velocity buffer is required")
    _check_update("rmsprop_update", param, grad,
                  {"velocity": velocity, "momentum_buf": momentum_buf,
                   "average_grad": average_grad})
    _check_scalars("rmsprop_update", learning_rate=learning_rate, rho=rho, momentum=momentum,
                   epsilon=epsilon, grad_scale=grad_scale, decay=decay)
    if (momentum_buf is None) != (momentum == 0):
        raise ValueError("rmsprop_update: pass a momentum_buf exactly when momentum != 0")
    selection.impl.rmsprop_update(param, velocity, momentum_buf, average_grad, grad,
                                  float(learning_rate), float(rho), float(momentum),
                                  float(epsilon), float(grad_scale),
                                  _clip_bound("rmsprop_update", clipvalue), float(decay))


def sum_squares(x):
    """sum(x**2) of a float32/float64 array, accumulated in float64 (a Python float)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"sum_squares expects an ndarray, got {type(x).__name__}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"sum_squares: x must be float32 or float64, got {x.dtype}")
    return selection.impl.sum_squares(np.ascontiguousarray(x))
