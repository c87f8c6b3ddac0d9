"""The first-class differentiable ops: one Function each, forward (ndarrays) beside backward.

Everything else on Tensor (sqrt, abs, mean, var, softplus, gelu, flatten, stack, split, dropout, …)
is a one-line composition of these, written in tensor.py.

    binary      Add Sub Mul Div Pow Maximum Minimum Where Matmul
    unary       Neg Exp Log Relu Sigmoid Tanh Erf Clip Cast
    reduce      Sum Max Min
    movement    Reshape Permute Expand Getitem ScatterAdd Concatenate Pad

Conventions: backward returns one gradient per input (None where `needs_input_grad` is False)
and may return it in the broadcast shape, since the engine sums it back to the input's shape.
Constant masks (relu, clip, max ties, where) enter backward as plain arrays multiplied into the
gradient, so their second derivative is correctly zero. Kernel-backed ops (Matmul, Relu) check
is_grad_enabled() in backward: a differentiable Tensor-op formula under create_graph, straight
kernel calls on arrays otherwise.

Import cycle: like autograd.py, this module imports the tensor module at its bottom and reaches
tensor.Tensor only at call time.
"""
import math
import operator

import numpy as np

from ._backend import kernels
from .autograd import Function, is_grad_enabled

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)


def normalize_axes(axis, ndim):
    """axis (None, int or tuple of ints, negatives allowed) -> sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


# ***** binary ops *****

class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, grad):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, grad):
        a, b = self.inputs
        grad_a = grad / b
        return grad_a, (-grad_a * self.output if self.needs_input_grad[1] else None)


class Pow(Function):
    def forward(self, x, p):
        return x ** p

    def backward(self, grad):
        x, p = self.inputs
        need_x, need_p = self.needs_input_grad
        grad_x = grad * p * x ** (p - 1) if need_x else None
        return grad_x, (grad * self.output * x.log() if need_p else None)


class Maximum(Function):
    """Elementwise maximum; where a == b the gradient is split evenly between a and b."""
    def forward(self, a, b):
        self.share_a = ((a > b) + 0.5 * (a == b)).astype(np.result_type(a, b))
        return np.maximum(a, b)

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        grad_a = grad * self.share_a if need_a else None
        return grad_a, (grad * (1 - self.share_a) if need_b else None)


class Minimum(Maximum):
    """Elementwise minimum; where a == b the gradient is split evenly between a and b."""
    def forward(self, a, b):
        self.share_a = ((a < b) + 0.5 * (a == b)).astype(np.result_type(a, b))
        return np.minimum(a, b)


class Where(Function):
    def forward(self, cond, a, b):
        self.cond = cond.astype(bool, copy=False)
        return np.where(self.cond, a, b)

    def backward(self, grad):
        _, need_a, need_b = self.needs_input_grad
        return None, (grad * self.cond if need_a else None), (grad * ~self.cond if need_b else None)


class Matmul(Function):
    """np.matmul semantics (1-D operands, batched with broadcast batch dims) through kernels.matmul,
    the GEMM (float32/float64; other dtypes fall back to np.matmul there). Backward: two more."""
    def forward(self, a, b):
        return kernels.matmul(a, b)

    def backward(self, grad):
        a, b = self.inputs
        if is_grad_enabled():  # create_graph: differentiable Tensor matmuls
            return _matmul_grads(a, b, grad, self.needs_input_grad, operator.matmul)
        # NOTE: otherwise straight to the GEMM on arrays: two kernel calls, no graph bookkeeping
        grads = _matmul_grads(a.data, b.data, grad.data, self.needs_input_grad, kernels.matmul)
        return tuple(None if g is None else _tensor.Tensor._make(g, False, None) for g in grads)


def _matmul_grads(a, b, grad, needs, matmul):
    """(dL/da, dL/db) for a @ b on Tensors or arrays; 1-D operands get their dropped axis back."""
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a          # (k,) -> (1, k)
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b          # (k,) -> (k, 1)
    g2 = grad.reshape(grad.shape + (1,)) if b.ndim == 1 else grad  # restore n, then m
    g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if a.ndim == 1 else g2
    grad_a = grad_b = None
    if needs[0]:
        grad_a = matmul(g2, b2.swapaxes(-1, -2))
        grad_a = grad_a.squeeze(-2) if a.ndim == 1 else grad_a
    if needs[1]:
        grad_b = matmul(a2.swapaxes(-1, -2), g2)
        grad_b = grad_b.squeeze(-1) if b.ndim == 1 else grad_b
    return grad_a, grad_b


# ***** unary ops *****

class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Exp(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, grad):
        return grad * self.output


class Log(Function):
    def forward(self, x):
        return np.log(x)

    def backward(self, grad):
        return grad / self.inputs[0]


def _c_order(a):
    """a itself when C-contiguous, else a C-ordered copy (np.ascontiguousarray makes 0-d 1-d)."""
    return a if a.flags.c_contiguous else a.copy()


class Relu(Function):
    """max(x, 0); the gradient at exactly 0 is 0. float32/float64 run the C kernels, both ways."""
    def forward(self, x):
        if x.dtype in kernels.FLOAT_DTYPES:
            return kernels.relu_forward(_c_order(x))
        return np.maximum(x, 0)

    def backward(self, grad):
        x, dy = self.inputs[0].data, grad.data
        if is_grad_enabled() or x.dtype not in kernels.FLOAT_DTYPES or dy.dtype != x.dtype:
            return grad * (x > 0)  # differentiable in grad: the mask is a constant
        dx = kernels.relu_backward(_c_order(dy), _c_order(x))
        return _tensor.Tensor._make(dx, False, None)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x / 2)) / 2: no overflow for large |x|.

    The losses detect outputs of this class to compute binary cross-entropy from logits."""
    def forward(self, x):
        out = np.tanh(x * 0.5)
        out += 1
        out *= 0.5
        return out

    def backward(self, grad):
        out = self.output
        return grad * (out * (1 - out))


class Tanh(Function):
    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad):
        out = self.output
        return grad * (1 - out * out)


class Erf(Function):
    """The error function, exact to double precision (math.erf per element, so not fast)."""
    def forward(self, x):
        return np.asarray(_erf(x), x.dtype if x.dtype in _FLOATS else np.float64)  # 0-d: a float

    def backward(self, grad):
        x = self.inputs[0]
        return grad * ((-(x * x)).exp() * _TWO_OVER_SQRT_PI)


class Clip(Function):
    """Clamps to [low, high] (either may be None); the gradient passes where low <= x <= high."""
    def forward(self, x, low=None, high=None):
        self.low, self.high = low, high
        return np.clip(x, low, high)

    def backward(self, grad):
        x = self.inputs[0].data
        inside = np.ones(x.shape, bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return grad * inside


class Cast(Function):
    """Float-to-float dtype conversion (casts to integer or bool types detach, in Tensor.astype)."""
    exact_dtype = True

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return grad.astype(self.input_dtype)


# ***** reductions *****

class Sum(Function):
    def forward(self, x, axis=None, keepdims=False):
        self.input_shape = x.shape
        self.axes = normalize_axes(axis, x.ndim)
        return np.sum(x, axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        return grad.reshape(_kept_shape(self.input_shape, self.axes)).expand(self.input_shape)


class Max(Function):
    """Maximum over axes; the gradient is split evenly among tied maxima (like torch.amax)."""
    reduce = staticmethod(np.max)

    def forward(self, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"{type(self).__name__.lower()} of an empty tensor")
        self.axes = normalize_axes(axis, x.ndim)
        kept = self.reduce(x, axis=self.axes, keepdims=True)
        hit = x == kept
        self.share = (hit / hit.sum(axis=self.axes, keepdims=True)).astype(x.dtype)
        if keepdims:
            return kept
        return kept.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, grad):
        return grad.reshape(_kept_shape(self.share.shape, self.axes)) * self.share


class Min(Max):
    """Minimum over axes; the gradient is split evenly among tied minima."""
    reduce = staticmethod(np.min)


# ***** movement ops *****

class Reshape(Function):
    def forward(self, x, shape):
        self.input_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.input_shape)


class Permute(Function):
    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        return grad.permute(*np.argsort(self.axes).tolist())


class Expand(Function):
    """Broadcast to a larger shape (a read-only view); backward is the engine's sum to shape."""
    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, grad):
        return grad


class Getitem(Function):
    """x[index] for a normalized NumPy index; backward scatter-adds (repeats accumulate)."""
    def forward(self, x, index, advanced):
        self.input_shape, self.index, self.advanced = x.shape, index, advanced
        return x[index]

    def backward(self, grad):
        return ScatterAdd.apply(grad, index=self.index, advanced=self.advanced,
                                shape=self.input_shape)


class ScatterAdd(Function):
    """zeros(shape) with `values` added at `index` (np.add.at semantics); backward is Getitem."""
    def forward(self, values, index, advanced, shape):
        self.index, self.advanced = index, advanced
        out = np.zeros(shape, values.dtype)
        if advanced:
            np.add.at(out, index, values)
        else:
            out[index] = values  # basic indexing never repeats an element
        return out

    def backward(self, grad):
        return Getitem.apply(grad, index=self.index, advanced=self.advanced)


class Concatenate(Function):
    def forward(self, *arrays, axis=0):
        out = np.concatenate(arrays, axis=axis)
        self.axis = axis % out.ndim
        self.bounds = np.cumsum([0] + [a.shape[self.axis] for a in arrays]).tolist()
        return out

    def backward(self, grad):
        lead = (slice(None),) * self.axis
        pieces = zip(self.bounds, self.bounds[1:], self.needs_input_grad)
        return tuple(grad[lead + (slice(start, stop),)] if need else None
                     for start, stop, need in pieces)


class Pad(Function):
    """Constant padding with np.pad's pad_width; backward slices the interior back out."""
    def forward(self, x, pad_width, value=0.0):
        out = np.pad(x, pad_width, mode="constant", constant_values=value)
        widths = np.broadcast_to(pad_width, (x.ndim, 2)).tolist()
        self.interior = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return out

    def backward(self, grad):
        return grad[self.interior]


from . import tensor as _tensor  # noqa: E402  (late: tensor.py imports this module)
