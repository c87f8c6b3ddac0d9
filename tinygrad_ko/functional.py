"""tinygrad_ko.functional (imported as F): the kernel-backed differentiable ops.

Each op is a Function whose forward calls a kernel through tinygrad_ko._backend.kernels and whose backward
is itself built from differentiable ops (often another kernel-backed Function), so gradients of gradients
work. Layouts follow Keras: images NHWC, convolution kernels HWIO (kh, kw, C_in, C_out).
"""
import functools
import math

import numpy as np

from . import ops as _ops
from . import tensor as _tg_tensor
from ._backend import kernels as _kernels
from .autograd import Function, is_grad_enabled
from .ops import normalize_axes as _normalize_axes


def _c_order(a):
    """a itself when C-contiguous (the kernels' layout), else a contiguous copy."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _contiguous(*arrays):
    """C-contiguous arrays of one float dtype (gradients may arrive as broadcast views)."""
    dtype = np.result_type(*arrays)
    if dtype.kind != "f":
        dtype = np.dtype(np.float32)
    return [_c_order(a.astype(dtype, copy=False)) for a in arrays]


def _tensor(t):
    return t if isinstance(t, _tg_tensor.Tensor) else _tg_tensor.Tensor(t)


def _constant(array):
    """A Tensor outside the graph, wrapping array without a copy."""
    return _tg_tensor.Tensor._make(array, False, None)

# ---- dense ----

class Linear(Function):
    """y = x @ w + b for 2-D x, rectified when relu: one GEMM, then the bias and the ReLU applied to
    its output in place, so one graph node and one (batch, units) array where matmul, add and relu
    record three nodes and allocate three arrays. The gradient masks dy by (y > 0) when rectified,
    then takes Matmul's two GEMMs and the bias gradient as the column sum; under create_graph, the
    same formula in Tensor ops (the mask is a constant, as in Relu)."""

    def forward(self, x, w, b=None, relu=False):
        self.relu = relu
        y = _kernels.matmul(x, w)
        if b is not None:
            np.add(y, b, out=y)
        if relu:
            np.maximum(y, 0, out=y)
        return y

    def backward(self, grad):
        x, w = self.inputs[:2]
        need, y = self.needs_input_grad, self.output.data
        with_bias = len(need) == 3 and need[2]
        if is_grad_enabled():
            g = grad * (y > 0) if self.relu else grad
            return (g @ w.transpose() if need[0] else None, x.transpose() @ g if need[1] else None,
                    g.sum(axis=0) if with_bias else None)[:len(need)]
        g = grad.data
        if self.relu:
            g = _kernels.relu_backward(_c_order(g), y) if g.dtype == y.dtype else g * (y > 0)
        grads = (_kernels.matmul(g, w.data.T) if need[0] else None,
                 _kernels.matmul(x.data.T, g) if need[1] else None,
                 g.sum(axis=0) if with_bias else None)
        return tuple(None if a is None else _constant(a) for a in grads)[:len(need)]


def linear(x, w, b=None, activation=None):
    """x @ w + b over the last axis of x (w: (in, out), b: (out,) or None), then activation: None or
    "relu", fused (the same values and gradients as ``(x @ w + b).relu()``, in one graph node).
    The op behind keras.layers.Dense.

    >>> F.linear(tg.ones((2, 3)), tg.ones((3, 4)), tg.zeros(4), activation="relu").shape
    (2, 4)
    """
    if activation not in (None, "relu"):
        raise ValueError(f"linear: activation must be None or 'relu', got {activation!r}")
    x, w = _tensor(x), _tensor(w)
    b = None if b is None else _tensor(b)
    if w.ndim != 2:
        raise ValueError(f"linear: kernel w must be 2-D (in, out), got shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(f"linear: the last axis of x {x.shape} must match the first of w "
                         f"{w.shape}")
    if b is not None and b.shape != (w.shape[1],):
        raise ValueError(f"linear: bias b must have shape ({w.shape[1]},), got {b.shape}")
    dtypes = {x.dtype, w.dtype} | ({b.dtype} if b is not None else set())
    if len(dtypes) > 1 or w.dtype not in _kernels.FLOAT_DTYPES:  # mixed: NumPy's promotion
        y = x @ w if b is None else x @ w + b
        return y.relu() if activation else y
    x2 = x if x.ndim == 2 else x.reshape((-1, w.shape[0]))
    y = Linear.apply(*((x2, w) if b is None else (x2, w, b)), relu=activation == "relu")
    return y if x.ndim == 2 else y.reshape(x.shape[:-1] + (w.shape[1],))

# ---- convolution ----
# Cross-correlation, as in every DL framework: y[i] = sum_k x[i*s + k*d] * w[k], with no flip of
# the kernel. The convolution of signal processing (np.convolve, scipy.signal.convolve2d) flips it:
# conv2d(x, w[::-1, ::-1]) equals scipy.signal.convolve2d(x, w, mode="same") for odd kernels.
# Layouts: x NHWC, w HWIO (kh, kw, c_in, c_out), b (c_out,).


def _conv_pair(value, name):
    if _kernels.positive_int_pair(value):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in value)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(value) < 1:
        raise ValueError(f"{name} must be positive, got {tuple(value)}")
    return int(value[0]), int(value[1])


def conv_padding(padding, input_hw, kernel_hw, stride, dilation):
    """Explicit (top, bottom, left, right) pads for a padding spec of conv2d.

    "valid": none. "same" (Keras): total = max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0),
    top/left = total // 2, the extra row/column at the bottom/right, so the output is ceil(n / s).
    "full": (k - 1) * d on every side. An int p pads p everywhere, (ph, pw) pads ph above and below
    and pw left and right, ((top, bottom), (left, right)) is explicit.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0, 0, 0
        spans = [(k - 1) * d + 1 for k, d in zip(kernel_hw, dilation)]
        if mode == "full":
            return spans[0] - 1, spans[0] - 1, spans[1] - 1, spans[1] - 1
        if mode == "same":
            return _same_padding(tuple(input_hw), tuple(spans), tuple(stride))
        raise ValueError(f"padding must be 'valid', 'same', 'full', an int or pairs, "
                         f"got {padding!r}")
    ints = (int, np.integer)
    if isinstance(padding, ints) and not isinstance(padding, bool):
        pads = (padding,) * 4
    elif (isinstance(padding, (tuple, list)) and len(padding) == 2
          and all(isinstance(p, ints) and not isinstance(p, bool) for p in padding)):
        pads = (padding[0], padding[0], padding[1], padding[1])
    elif (isinstance(padding, (tuple, list)) and len(padding) == 2
          and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in padding)
          and all(isinstance(v, ints) and not isinstance(v, bool) for p in padding for v in p)):
        pads = (*padding[0], *padding[1])
    else:
        raise TypeError(f"padding must be 'valid', 'same', 'full', an int, (ph, pw) or "
                        f"((top, bottom), (left, right)), got {padding!r}")
    if min(pads) < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    return tuple(int(p) for p in pads)


@functools.lru_cache(maxsize=256)
def _same_padding(input_hw, spans, stride):
    """Keras's "same" pads (conv_padding); cached: a model asks the same few questions each step."""
    pads = []
    for n, s, span in zip(input_hw, stride, spans):
        total = max((math.ceil(n / s) - 1) * s + span - n, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


class Conv2d(Function):
    """y = conv2d(x, w) + b; inputs (x, w) or (x, w, b)."""

    kernel = staticmethod(_kernels.conv2d_forward)

    def forward(self, x, w, b=None, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0)):
        self.geometry = dict(stride=stride, dilation=dilation, padding=padding)
        arrays = _contiguous(x, w) if b is None else _contiguous(x, w, b)
        return self.kernel(*arrays, **self.geometry)

    def backward(self, grad):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        gx = Conv2dGradInput.apply(grad, w, input_hw=x.shape[1:3], **self.geometry) \
            if need[0] else None
        if len(need) == 3 and need[1] and need[2] and not is_grad_enabled():
            # No graph to build: dw and db from one pass over dy (the fused kernel).
            dw, db = _kernels.conv2d_backward_weight_bias(
                *_contiguous(x.data, grad.data), w.shape[:2], **self.geometry)
            return gx, _constant(dw), _constant(db)
        gw = Conv2dGradWeight.apply(x, grad, kernel_hw=w.shape[:2], **self.geometry) \
            if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, Conv2dGradBias.apply(grad) if need[2] else None


class Conv2dRelu(Conv2d):
    """y = max(conv2d(x, w) + b, 0) from one kernel that writes y once; inputs as Conv2d.

    The gradient is Relu's (zero where y == 0) chained into Conv2d's: the C gradient kernels read
    dy * (y > 0) where the plain ones read dy, so neither the pre-activation nor the masked dy is
    ever stored. Under create_graph it is the composable formula, Conv2d's backward of the masked
    grad (the mask is a constant, as in Relu)."""

    kernel = staticmethod(_kernels.conv2d_forward_relu)

    def backward(self, grad):
        y = self.output.data
        if is_grad_enabled() or grad.dtype != y.dtype:
            return super().backward(grad * (y > 0))
        x, w = (_c_order(t.data.astype(y.dtype, copy=False)) for t in self.inputs[:2])
        dy, need, geometry = _c_order(grad.data), self.needs_input_grad, self.geometry
        gx = _kernels.conv2d_backward_input_relu(dy, y, w, x.shape[1:3], **geometry) \
            if need[0] else None
        gw = gb = None
        if need[1] and len(need) == 3 and need[2]:
            gw, gb = _kernels.conv2d_backward_weight_bias_relu(x, dy, y, w.shape[:2], **geometry)
        elif need[1]:
            gw = _kernels.conv2d_backward_weight_relu(x, dy, y, w.shape[:2], **geometry)
        elif len(need) == 3 and need[2]:
            gb = _kernels.conv2d_backward_bias(_kernels.relu_backward(dy, y))
        grads = tuple(None if g is None else _constant(g) for g in (gx, gw, gb))
        return grads[:len(need)]


class Conv2dGradInput(Function):
    """dx = the gradient of conv2d w.r.t. its input, from dy and w (also conv_transpose2d)."""

    def forward(self, dy, w, input_hw, stride, dilation, padding):
        self.geometry = dict(stride=stride, dilation=dilation, padding=padding)
        return _kernels.conv2d_backward_input(*_contiguous(dy, w), input_hw, **self.geometry)

    def backward(self, grad):
        dy, w = self.inputs
        need = self.needs_input_grad
        # dx is bilinear in (dy, w): its derivatives are the forward conv and the weight gradient.
        gdy = Conv2d.apply(grad, w, **self.geometry) if need[0] else None
        gw = Conv2dGradWeight.apply(grad, dy, kernel_hw=w.shape[:2], **self.geometry) \
            if need[1] else None
        return gdy, gw


class Conv2dGradWeight(Function):
    """dw = the gradient of conv2d w.r.t. its kernel, from x and dy."""

    def forward(self, x, dy, kernel_hw, stride, dilation, padding):
        self.geometry = dict(stride=stride, dilation=dilation, padding=padding)
        return _kernels.conv2d_backward_weight(*_contiguous(x, dy), kernel_hw, **self.geometry)

    def backward(self, grad):
        x, dy = self.inputs
        need = self.needs_input_grad
        gx = Conv2dGradInput.apply(dy, grad, input_hw=x.shape[1:3], **self.geometry) \
            if need[0] else None
        gdy = Conv2d.apply(x, grad, **self.geometry) if need[1] else None
        return gx, gdy


class Conv2dGradBias(Function):
    """db = dy summed over batch, height and width."""

    def forward(self, dy):
        return _kernels.conv2d_backward_bias(*_contiguous(dy))

    def backward(self, grad):
        return grad.reshape((1, 1, 1, grad.shape[0])).expand(self.inputs[0].shape)


def _check_rank(t, ndim, name, layout):
    if t.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D {layout}, got shape {t.shape}")


_CONV_ACTIVATIONS = {None: Conv2d, "relu": Conv2dRelu}


def conv2d(x, w, b=None, stride=1, padding="valid", dilation=1, activation=None):
    """2-D cross-correlation of NHWC images x with an HWIO kernel w, plus bias b.

    stride, dilation: int or (h, w). padding: "valid", "same" (Keras), "full", an int, (ph, pw) or
    ((top, bottom), (left, right)). Output: (N, H_out, W_out, C_out). activation: None or "relu",
    fused into the kernels (the same values and gradients as ``conv2d(...).relu()``, without
    storing the pre-activation).

    >>> x = tg.randn(8, 28, 28, 1); w = tg.randn(3, 3, 1, 32, requires_grad=True)
    >>> F.conv2d(x, w, padding="same").shape
    (8, 28, 28, 32)
    """
    if activation not in _CONV_ACTIVATIONS:
        raise ValueError(f"conv2d: activation must be None or 'relu', got {activation!r}")
    x, w = _tensor(x), _tensor(w)
    _check_rank(x, 4, "conv2d: input x", "(N, H, W, C_in)")
    _check_rank(w, 4, "conv2d: kernel w", "(kh, kw, C_in, C_out)")
    stride = _conv_pair(stride, "conv2d: stride")
    dilation = _conv_pair(dilation, "conv2d: dilation")
    pads = conv_padding(padding, x.shape[1:3], w.shape[:2], stride, dilation)
    params = dict(stride=stride, dilation=dilation, padding=pads)
    op = _CONV_ACTIVATIONS[activation]
    return op.apply(x, w, **params) if b is None else op.apply(x, w, _tensor(b), **params)


def conv1d(x, w, b=None, stride=1, padding="valid", dilation=1, activation=None):
    """1-D cross-correlation of (N, L, C_in) sequences with a (k, C_in, C_out) kernel, plus bias b.

    padding: "valid", "same", "full", "causal" (Keras: (k - 1) * dilation zeros on the left only),
    an int, (left, right) or ((left, right),). Runs on the conv2d kernels as a 1-pixel-high image.
    activation: None or "relu", fused as in conv2d.

    >>> F.conv1d(tg.Tensor([[1., 3, 2, 4, 5, 6, 1, 3]]).reshape(1, 8, 1),
    ...          tg.Tensor([2., 1, 3, 0, 1]).reshape(5, 1, 1), padding=2).reshape(8)
    Tensor([ 5., 14., 16., 26., 24., 34., 19., 22.], dtype=float32)
    """
    x, w = _tensor(x), _tensor(w)
    _check_rank(x, 3, "conv1d: input x", "(N, L, C_in)")
    _check_rank(w, 3, "conv1d: kernel w", "(k, C_in, C_out)")
    stride = (1, _conv_pair(stride, "conv1d: stride")[1])
    dilation = (1, _conv_pair(dilation, "conv1d: dilation")[1])
    if isinstance(padding, str) and padding.lower() == "causal":
        padding = ((0, 0), ((w.shape[0] - 1) * dilation[1], 0))
    elif isinstance(padding, str):
        padding = ((0, 0), conv_padding(padding, (1, x.shape[1]), (1, w.shape[0]), stride,
                                        dilation)[2:])
    elif isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        padding = ((0, 0), (padding, padding))
    elif isinstance(padding, (tuple, list)) and len(padding) in (1, 2):
        # (left, right), or ((left, right),): one pair per spatial axis, as conv2d takes two
        padding = ((0, 0), tuple(padding[0] if len(padding) == 1 else padding))
    else:
        raise TypeError(f"conv1d: padding must be 'valid', 'same', 'full', 'causal', an int or "
                        f"(left, right), got {padding!r}")
    n, length, c = x.shape
    y = conv2d(x.reshape((n, 1, length, c)), w.reshape((1, *w.shape)), b, stride, padding,
               dilation, activation)
    return y.reshape((n, y.shape[2], y.shape[3]))


def conv_transpose2d(x, w, b=None, stride=1, padding="valid", output_padding=None, dilation=1):
    """Transposed 2-D convolution ("deconvolution"): the gradient of conv2d w.r.t. its input.

    x: (N, H, W, C_in). w: (kh, kw, C_out, C_in) -- Keras's Conv2DTranspose layout, i.e. the
    kernel of the conv2d (C_out -> C_in) this op transposes. padding "valid" / "same" follow
    Keras (output (H - 1) * s + k_eff + output_padding - 2 * pad with pad 0 / k_eff // 2;
    H * s for "same" and max(k_eff - s, 0) + H * s for "valid" without output_padding); an int,
    (ph, pw) or ((top, bottom), (left, right)) crop the output as PyTorch's padding does.
    """
    x, w = _tensor(x), _tensor(w)
    _check_rank(x, 4, "conv_transpose2d: input x", "(N, H, W, C_in)")
    _check_rank(w, 4, "conv_transpose2d: kernel w", "(kh, kw, C_out, C_in)")
    stride = _conv_pair(stride, "conv_transpose2d: stride")
    dilation = _conv_pair(dilation, "conv_transpose2d: dilation")
    spans = [(k - 1) * d + 1 for k, d in zip(w.shape[:2], dilation)]
    extra = (0, 0) if output_padding is None else \
        tuple(int(p) for p in np.broadcast_to(output_padding, (2,)))
    if min(extra) < 0 or any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding!r} must be >= 0 and "
                         f"smaller than the stride {stride} or dilation {dilation}")
    if isinstance(padding, str) and padding.lower() in ("valid", "same"):
        same = padding.lower() == "same"
        if output_padding is None:
            out_hw = tuple(n * s + (0 if same else max(span - s, 0))
                           for n, s, span in zip(x.shape[1:3], stride, spans))
        else:
            out_hw = tuple((n - 1) * s + span - 2 * (span // 2 if same else 0) + e
                           for n, s, span, e in zip(x.shape[1:3], stride, spans, extra))
        pads = conv_padding(padding, out_hw, w.shape[:2], stride, dilation)
    else:
        pads = conv_padding(padding, (1, 1), w.shape[:2], stride, dilation)
        out_hw = tuple((n - 1) * s + span - p0 - p1 + e for n, s, span, p0, p1, e in
                       zip(x.shape[1:3], stride, spans, pads[::2], pads[1::2], extra))
    if min(out_hw) < 1:
        raise ValueError(f"conv_transpose2d: padding {padding!r} leaves an empty output {out_hw} "
                         f"for input {x.shape} and kernel {w.shape}")
    y = Conv2dGradInput.apply(x, w, input_hw=out_hw, stride=stride, dilation=dilation,
                              padding=pads)
    return y if b is None else y + _tensor(b)


# ---- pooling ----
# NHWC, Keras semantics: strides default to the pool size, "same" pads evenly (extra row/column at
# the bottom/right), padding never wins a max and never counts in an average. Max pooling saves each
# window's argmax, the FIRST maximum in row-major order (as PyTorch routes ties: blank image regions
# tie constantly); its backward scatters to those indices, and that scatter's own gradient is the
# gather by the same indices. Average pooling and its backward are each other's adjoints.


class MaxPool2d(Function):
    def forward(self, x, pool_size, strides, padding):
        y, self.argmax = _kernels.maxpool2d_forward(_c_order(x), pool_size, strides, padding)
        self.x_shape, self.window = x.shape, dict(pool_size=pool_size, strides=strides,
                                                  padding=padding)
        return y

    def backward(self, grad):
        if is_grad_enabled():
            return MaxPool2dBackward.apply(grad, argmax=self.argmax, x_shape=self.x_shape,
                                           **self.window)
        # no graph to record: the scatter itself, without a node around it
        return _constant(_kernels.maxpool2d_backward(_c_order(grad.data), self.argmax,
                                                     self.x_shape, **self.window))


class Conv2dReluMaxPool2d(Conv2d):
    """max_pool2d(relu(conv2d(x, w, b))) as one node of the conv's inputs (x, w[, b]): F.max_pool2d
    makes it when its input comes straight from a fused conv + ReLU, and pools that output (the
    conv's node stays, for any other consumer of it). The backward needs only the pooled gradient,
    output p and argmax: the ReLU's mask is p > 0 at each window's argmax, the only pixel its
    gradient reaches. For 2x2 / stride-2 windows over a conv whose input needs no gradient (a
    network's input layer), the weight and bias gradients come from one kernel that rebuilds each
    image's conv-output gradient in scratch (it is never stored whole); otherwise the masked
    scatter, then Conv2d's plain backward."""

    def forward(self, x, w, b=None, conv_output=None, window=None, stride=(1, 1),
                dilation=(1, 1), padding=(0, 0, 0, 0)):
        self.geometry = dict(stride=stride, dilation=dilation, padding=padding)
        self.window = window
        self.conv_shape = conv_output.shape
        p, self.argmax = _kernels.maxpool2d_forward(conv_output, **window)
        kh, kw, sh, sw, top, left, oh, ow = _kernels.pool2d_geometry(conv_output.shape, **window)
        self.pooled_2x2 = (kh, kw, sh, sw, top, left) == (2, 2, 2, 2, 0, 0) and \
            (oh, ow) == (conv_output.shape[1] // 2, conv_output.shape[2] // 2)
        return p

    def backward(self, grad):
        p = self.output.data
        if is_grad_enabled() or grad.dtype != p.dtype:
            masked = MaxPool2dBackward.apply(grad * (p > 0), argmax=self.argmax,
                                             x_shape=self.conv_shape, **self.window)
            return super().backward(masked)
        dp, need = _c_order(grad.data), self.needs_input_grad
        if self.pooled_2x2 and not need[0] and len(need) == 3 and need[1] and need[2]:
            x = _c_order(self.inputs[0].data.astype(p.dtype, copy=False))
            dw, db = _kernels.conv2d_backward_weight_bias_pooled(
                x, dp, p, self.argmax, self.inputs[1].shape[:2], **self.geometry)
            return None, _constant(dw), _constant(db)
        dy = _kernels.maxpool2d_backward_relu(dp, p, self.argmax, self.conv_shape, **self.window)
        return super().backward(_constant(dy))


class MaxPool2dBackward(Function):
    """dy scattered to the saved argmax (linear in dy: its gradient is MaxPool2dGather)."""

    def forward(self, dy, argmax, x_shape, pool_size, strides, padding):
        self.argmax, self.window = argmax, dict(pool_size=pool_size, strides=strides,
                                                padding=padding)
        return _kernels.maxpool2d_backward(_c_order(dy), argmax, x_shape, **self.window)

    def backward(self, grad):
        return MaxPool2dGather.apply(grad, argmax=self.argmax, **self.window)


class MaxPool2dGather(Function):
    """ddx gathered at the saved argmax (the adjoint of MaxPool2dBackward)."""

    def forward(self, ddx, argmax, pool_size, strides, padding):
        self.argmax, self.x_shape = argmax, ddx.shape
        self.window = dict(pool_size=pool_size, strides=strides, padding=padding)
        return _kernels.maxpool2d_gather(_c_order(ddx), argmax)

    def backward(self, grad):
        return MaxPool2dBackward.apply(grad, argmax=self.argmax, x_shape=self.x_shape,
                                       **self.window)


class AvgPool2d(Function):
    def forward(self, x, pool_size, strides, padding):
        self.x_shape, self.window = x.shape, (pool_size, strides, padding)
        return _kernels.avgpool2d_forward(_c_order(x), pool_size, strides, padding)

    def backward(self, grad):
        pool_size, strides, padding = self.window
        return AvgPool2dBackward.apply(grad, x_shape=self.x_shape, pool_size=pool_size,
                                       strides=strides, padding=padding)


class AvgPool2dBackward(Function):
    """Each window's gradient spread over its real pixels; linear, its gradient is AvgPool2d."""

    def forward(self, dy, x_shape, pool_size, strides, padding):
        self.window = (pool_size, strides, padding)
        return _kernels.avgpool2d_backward(_c_order(dy), x_shape, pool_size, strides, padding)

    def backward(self, grad):
        pool_size, strides, padding = self.window
        return AvgPool2d.apply(grad, pool_size=pool_size, strides=strides, padding=padding)


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max over each pool_size window of an NHWC tensor (strides default to pool_size).

    >>> F.max_pool2d(tg.randn(8, 28, 28, 32), 2).shape
    (8, 14, 14, 32)
    """
    producer = getattr(x, "_ctx", None)
    if producer.__class__ is Conv2dRelu and producer.inputs is not None:  # Conv2dReluMaxPool2d
        return Conv2dReluMaxPool2d.apply(
            *producer.inputs, conv_output=x.data, **producer.geometry,
            window=dict(pool_size=pool_size, strides=strides, padding=padding))
    return MaxPool2d.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Mean over each pool_size window of an NHWC tensor; "same" padding is not counted (Keras)."""
    return AvgPool2d.apply(x, pool_size=pool_size, strides=strides, padding=padding)


def global_avg_pool2d(x):
    """(N, H, W, C) -> (N, C): the mean over height and width."""
    if x.ndim != 4:
        raise ValueError(f"global_avg_pool2d expects an NHWC tensor, got shape {x.shape}")
    return x.mean(axis=(1, 2))

# ---- softmax / log-sum-exp ----
# The C kernels reduce the last axis of a contiguous array; any other axis (or several) is moved
# last first, and the result moved back. Backward takes the kernel path normally, and under
# create_graph the same formula in Tensor ops, so it stays differentiable.


def _rows(shape, axis):
    """The _Rows of (shape, axis): shared for an int or None axis (a model asks about the same
    few shapes every step, and a _Rows never changes once made); others (tuples, and bools or
    floats, which _Rows rejects but which compare equal to ints) are made afresh."""
    if axis is None or type(axis) is int:
        return _shared_rows(shape, axis)
    return _Rows(shape, axis)


class _Rows:
    """x viewed as a contiguous [..., K] array with the reduced axes (merged) last."""

    def __init__(self, shape, axis):
        ndim = len(shape)
        if ndim == 0:
            raise ValueError("softmax/logsumexp need at least a 1-D input, got a scalar")
        self.axes = _normalize_axes(axis, ndim)
        kept = [a for a in range(ndim) if a not in self.axes]
        self.perm = kept + list(self.axes)
        self.identity = self.perm == list(range(ndim))
        self.moved_shape = tuple(shape[a] for a in self.perm)
        self.kept_shape = tuple(shape[a] for a in kept)
        self.reduced_size = int(np.prod([shape[a] for a in self.axes]))
        self.keepdims_shape = tuple(1 if a in self.axes else shape[a] for a in range(ndim))

    def to_rows(self, a):
        if not self.identity:
            a = a.transpose(self.perm)
        return _c_order(a).reshape(self.kept_shape + (self.reduced_size,))

    def from_rows(self, a):
        a = a.reshape(self.moved_shape)
        return a if self.identity else a.transpose(np.argsort(self.perm))


_shared_rows = functools.lru_cache(maxsize=256)(_Rows)


class Softmax(Function):
    """exp(x - max) / sum(exp(x - max)). Losses detect outputs of this class: its input is the
    logits."""

    def forward(self, x, axis):
        self.rows = _rows(x.shape, axis)
        return self.rows.from_rows(_kernels.softmax(self.rows.to_rows(x)))

    def backward(self, grad):
        y, rows = self.output, self.rows
        if is_grad_enabled():
            return y * (grad - (grad * y).sum(axis=rows.axes, keepdims=True))
        dx = _kernels.softmax_backward(rows.to_rows(grad.data), rows.to_rows(y.data))
        return _tg_tensor.Tensor(rows.from_rows(dx))


class LogSoftmax(Function):
    def forward(self, x, axis):
        self.rows = _rows(x.shape, axis)
        return self.rows.from_rows(_kernels.log_softmax(self.rows.to_rows(x)))

    def backward(self, grad):
        y, rows = self.output, self.rows
        if is_grad_enabled():
            return grad - y.exp() * grad.sum(axis=rows.axes, keepdims=True)
        dx = _kernels.log_softmax_backward(rows.to_rows(grad.data), rows.to_rows(y.data))
        return _tg_tensor.Tensor(rows.from_rows(dx))


class LogSumExp(Function):
    def forward(self, x, axis, keepdims):
        self.rows, self.keepdims = _rows(x.shape, axis), keepdims
        self.lse = _kernels.logsumexp(self.rows.to_rows(x))
        return self.lse.reshape(self.rows.keepdims_shape) if keepdims else self.lse

    def backward(self, grad):
        x, rows = self.inputs[0], self.rows
        if is_grad_enabled():
            return grad.reshape(rows.keepdims_shape) * softmax(x, axis=rows.axes)
        dy = _c_order(grad.data).reshape(self.lse.shape)
        dx = _kernels.logsumexp_backward(dy, rows.to_rows(x.data), self.lse)
        return _tg_tensor.Tensor(rows.from_rows(dx))


def logsumexp(x, axis=-1, keepdims=False):
    """log(sum(exp(x))) over axis (int, tuple or None), computed without overflow.

    >>> F.logsumexp(tg.Tensor([1e4, 1e4])).item()   # 1e4 + log(2)
    10000.693...
    """
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis: probabilities that sum to 1.

    >>> F.softmax(tg.Tensor([[1.0, 1.0]])).numpy()
    array([[0.5, 0.5]], dtype=float32)
    """
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along axis: log-probabilities, exact where log(softmax(x)) underflows."""
    return LogSoftmax.apply(x, axis=axis)

# ---- losses ----
# Reductions follow Keras 3: "mean" (Keras's "sum_over_batch_size") divides the weighted sum by the
# number of loss entries, not counting entries of ignore_class (they weigh 0); "sum" adds them;
# "none" returns one (weighted) loss per entry. With from_logits=False the input is probabilities:
# Keras renormalizes them along the class axis, clips to [1e-7, 1 - 1e-7] and takes the log; but
# the output of F.softmax (Tensor.sigmoid for binary) is recognised and its input used as logits,
# as Keras does.
_EPSILON = 1e-7
_REDUCTIONS = ("mean", "sum", "none", "sum_over_batch_size")


def _as_tensor(x, name):
    if isinstance(x, _tg_tensor.Tensor):
        return x
    array = np.asarray(x)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    return _tg_tensor.Tensor(array)


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return "mean" if reduction == "sum_over_batch_size" else reduction


def _entry_weights(sample_weight, loss_shape, dtype):
    """sample_weight broadcast to the per-entry loss shape, aligned from the left as Keras does."""
    if sample_weight is None:
        return np.ones(loss_shape, dtype)
    if isinstance(sample_weight, _tg_tensor.Tensor):
        sample_weight = sample_weight.data
    w = np.asarray(sample_weight, dtype)
    if w.ndim == len(loss_shape) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    w = w.reshape(w.shape + (1,) * (len(loss_shape) - w.ndim)) if w.ndim < len(loss_shape) else w
    try:
        return np.ascontiguousarray(np.broadcast_to(w, loss_shape))
    except ValueError:
        raise ValueError(f"sample_weight of shape {np.shape(sample_weight)} does not broadcast to "
                         f"the loss shape {loss_shape}") from None


def _reduce(per_entry, weights, reduction, denominator):
    """per_entry: Tensor of losses; weights: array of the same shape (0 = ignored)."""
    weighted = per_entry * weights
    if reduction == "none":
        return weighted
    total = weighted.sum()
    return total if reduction == "sum" else total / max(denominator, 1)


def _sparse_labels(target, loss_shape, cols, ignore_class):
    labels = np.asarray(target.data if isinstance(target, _tg_tensor.Tensor) else target)
    if labels.shape == loss_shape + (1,):
        labels = labels[..., 0]
    if labels.shape != loss_shape:
        raise ValueError(f"integer labels must have shape {loss_shape} (or {loss_shape + (1,)}), "
                         f"got {labels.shape}")
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError("class labels must be whole numbers")
    elif labels.dtype.kind not in "iub":
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)  # a copy: the graph keeps it
    if ignore_class is None:  # every entry counts: two reductions tell whether all are in range
        valid = None
        in_range = not labels.size or (labels.min() >= 0 and labels.max() < cols)
    else:
        valid = labels != ignore_class
        in_range = not (valid & ((labels < 0) | (labels >= cols))).any()
    if not in_range:
        bad = (labels < 0) | (labels >= cols)
        if valid is not None:
            bad &= valid
        raise ValueError(f"labels must be in [0, {cols}), got {labels[bad][:5].tolist()} "
                         f"(labels shape {labels.shape})")
    if valid is None:
        return np.ascontiguousarray(labels), None
    return np.ascontiguousarray(np.where(valid, labels, 0)), valid


class CrossEntropy(Function):
    """Fused softmax cross-entropy over the last axis of contiguous logits (F.cross_entropy moves
    the class axis last). Forward computes the reduced loss and dlogits in one C pass; backward
    is grad * dlogits, or the same formula in Tensor ops under create_graph."""

    def forward(self, logits, target=None, labels=None, weights=None, reduction="mean",
                denominator=1, smoothing=0.0):
        row_scale = weights / max(denominator, 1) if reduction == "mean" else weights
        row_scale = row_scale.astype(logits.dtype)
        logits = _c_order(logits)
        if labels is not None:
            loss, self.dlogits = _kernels.xent_sparse(logits, labels, row_scale, smoothing)
        else:
            target = _c_order(target.astype(logits.dtype, copy=False))
            loss, self.dlogits = _kernels.xent_dense(logits, target, row_scale, smoothing)
        self.labels, self.row_scale, self.reduction, self.smoothing = (labels, row_scale,
                                                                       reduction, smoothing)
        weighted = np.where(weights != 0, loss * weights, 0).astype(logits.dtype)
        if reduction == "none":
            return weighted
        total = weighted.sum(dtype=np.float64)
        mean = total / max(denominator, 1)
        return np.asarray(total if reduction == "sum" else mean, logits.dtype)

    def _targets(self, x):
        """The smoothed target q as a Tensor (constant one-hot for integer labels)."""
        cols = x.shape[-1]
        if self.labels is None:
            return self.inputs[1] * (1 - self.smoothing) + self.smoothing / cols
        onehot = np.zeros(x.shape, x.dtype)
        np.put_along_axis(onehot, self.labels[..., None], 1, axis=-1)
        return _tg_tensor.Tensor(onehot * (1 - self.smoothing) + self.smoothing / cols)

    def backward(self, grad):
        per_row = self.reduction == "none"
        x = self.inputs[0]
        scale = self.row_scale[..., None]
        g = grad.reshape(grad.shape + (1,)) if per_row else grad
        dx = dt = None
        if is_grad_enabled():
            q = self._targets(x)
            if self.needs_input_grad[0]:
                dx = (softmax(x) * q.sum(axis=-1, keepdims=True) - q) * scale * g
            if self.labels is None and self.needs_input_grad[1]:
                dt = log_softmax(x) * (-(1 - self.smoothing)) * scale * g
        else:
            if self.needs_input_grad[0]:
                # loss.backward() seeds 1: hand over the fused gradient without another pass
                # (the engine never writes into gradients in place).
                unit = g.data.ndim == 0 and g.data == 1
                dx = _tg_tensor.Tensor(self.dlogits if unit else self.dlogits * g.data)
            if self.labels is None and self.needs_input_grad[1]:
                dt = _tg_tensor.Tensor(_kernels.log_softmax(x.data) * (-(1 - self.smoothing))
                                    * scale * g.data)
        return dx if self.labels is not None else (dx, dt)


def _logits_of(x, function_class, axis):
    """The input of a softmax/sigmoid output (Keras's from_logits shortcut), else None. A graph
    already freed by a backward pass has forgotten its input: the probabilities are used then."""
    ctx = getattr(x, "_ctx", None)
    if not isinstance(ctx, function_class) or getattr(ctx, "inputs", None) is None:
        return None
    if function_class is Softmax and (getattr(ctx, "rows", None) is None
                                      or ctx.rows.axes != _normalize_axes(axis, x.ndim)):
        return None
    return ctx.inputs[0]


def cross_entropy(logits, target, from_logits=True, label_smoothing=0.0, reduction="mean",
                  sample_weight=None, ignore_class=None, axis=-1):
    """Softmax cross-entropy between logits (or probabilities) and class targets.

    target: integer class labels (shape of logits without the class axis, or with it as 1), or
    one-hot / soft targets shaped like logits. label_smoothing mixes the target with the uniform
    distribution; ignore_class (integer labels) gives those entries weight 0 and leaves them out
    of the mean. Labels outside [0, classes) raise ValueError.

    >>> F.cross_entropy(tg.Tensor([[1.5, 0.8, 2.1]]), [2]).item()
    0.5996...
    """
    reduction = _check_reduction(reduction)
    logits = _as_tensor(logits, "logits")
    if logits.dtype.kind != "f":
        logits = logits.astype(_tg_tensor.default_float())
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits need a class axis, got a scalar")
    (axis,) = _normalize_axes(axis, logits.ndim)
    loss_shape = logits.shape[:axis] + logits.shape[axis + 1:]
    cols = logits.shape[axis]
    target_shape = np.shape(target.data if isinstance(target, _tg_tensor.Tensor) else target)
    dense = target_shape == logits.shape
    if dense and ignore_class is not None:
        raise ValueError("ignore_class needs integer labels, got targets shaped like the logits "
                         f"{logits.shape}")
    if dense:
        target, labels, valid = _as_tensor(target, "target"), None, None
    else:
        labels, valid = _sparse_labels(target, loss_shape, cols, ignore_class)
    weights = _entry_weights(sample_weight, loss_shape, logits.dtype)
    if valid is not None:
        weights = weights * valid
    denominator = int(valid.sum()) if valid is not None else math.prod(loss_shape)
    if not from_logits:
        shortcut = _logits_of(logits, Softmax, axis)
        if shortcut is None:
            return _cross_entropy_from_probabilities(logits, target, labels, weights, reduction,
                                                     denominator, label_smoothing, axis)
        logits = shortcut
    if axis != logits.ndim - 1:  # classes last; the other axes keep their order (= loss_shape)
        order = [a for a in range(logits.ndim) if a != axis] + [axis]
        logits = logits.permute(*order)
        target = target.permute(*order) if dense else target
    common = dict(weights=weights, reduction=reduction, denominator=denominator,
                  smoothing=float(label_smoothing))
    if dense:
        return CrossEntropy.apply(logits, target, **common)
    return CrossEntropy.apply(logits, labels=labels, **common)


def _cross_entropy_from_probabilities(probs, target, labels, weights, reduction, denominator,
                                      smoothing, axis):
    cols = probs.shape[axis]
    if labels is not None:
        onehot = np.zeros(probs.shape, probs.dtype)
        np.put_along_axis(onehot, np.expand_dims(labels, axis), 1, axis=axis)
        target = _tg_tensor.Tensor(onehot)
    q = target * (1 - smoothing) + smoothing / cols if smoothing else target
    normalized = probs / probs.sum(axis=axis, keepdims=True)
    per_entry = -(q * normalized.clip(_EPSILON, 1 - _EPSILON).log()).sum(axis=axis)
    return _reduce(per_entry, weights, reduction, denominator)


class BinaryCrossEntropyWithLogits(Function):
    """Elementwise max(x, 0) - x z + log1p(exp(-|x|)) (seed 004's stable form), never overflowing;
    forward also keeps sigmoid(x) from the same exp for backward."""

    def forward(self, x, z):
        e = np.exp(-np.abs(x))
        self.sigmoid = np.where(x >= 0, 1, e) / (1 + e)
        return np.maximum(x, 0) - x * z + np.log1p(e)

    def backward(self, grad):
        x, z = self.inputs
        if is_grad_enabled():
            dx = (x.sigmoid() - z) * grad if self.needs_input_grad[0] else None
            dz = -x * grad if self.needs_input_grad[1] else None
        else:
            dx = (_tg_tensor.Tensor((self.sigmoid - z.data) * grad.data)
                  if self.needs_input_grad[0] else None)
            dz = _tg_tensor.Tensor(-x.data * grad.data) if self.needs_input_grad[1] else None
        return dx, dz


def binary_cross_entropy(x, z, from_logits=True, label_smoothing=0.0, reduction="mean",
                         sample_weight=None, axis=-1):
    """Sigmoid cross-entropy between logits (or probabilities) x and targets z in [0, 1].

    Entries are averaged over `axis` first (Keras's per-sample loss; axis=None keeps every entry,
    like tf.nn.sigmoid_cross_entropy_with_logits), then weighted and reduced. label_smoothing
    moves targets toward 0.5. from_logits=False clips x to [1e-7, 1 - 1e-7] (Keras).

    >>> F.binary_cross_entropy(tg.Tensor([0.8]), [1.0]).item()
    0.3711...
    """
    reduction = _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    x = _as_tensor(x, "x")
    if x.dtype.kind != "f":
        x = x.astype(_tg_tensor.default_float())
    z = _as_tensor(z, "z")
    if z.dtype != x.dtype:
        z = z.astype(x.dtype)
    if z.shape != x.shape:
        raise ValueError(f"binary_cross_entropy: targets {z.shape} and inputs {x.shape} differ")
    if label_smoothing:
        z = z * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits or _logits_of(x, _ops.Sigmoid, None) is not None:
        logits = x if from_logits else _logits_of(x, _ops.Sigmoid, None)
        per_entry = BinaryCrossEntropyWithLogits.apply(logits, z)
    else:
        p = x.clip(_EPSILON, 1 - _EPSILON)
        per_entry = -(z * p.log() + (1 - z) * (1 - p).log())
    if axis is not None and per_entry.ndim:
        per_entry = per_entry.mean(axis=axis)
    weights = _entry_weights(sample_weight, per_entry.shape, x.dtype)
    return _reduce(per_entry, weights, reduction, int(np.prod(per_entry.shape)))

