"""tinygrad_ko.functional (imported as F): the kernel-backed differentiable ops.

Each op is a Function whose forward calls a kernel through tinygrad_ko._backend.kernels and whose backward
is itself built from differentiable ops (often another kernel-backed Function), so gradients of gradients
work. Layouts follow Keras: images NHWC, convolution kernels HWIO (kh, kw, C_in, C_out).
"""

# ---- convolution ----
# Cross-correlation, as in every DL framework: y[i] = sum_k x[i*s + k*d] * w[k], with no flip of
# the kernel. The convolution of signal processing (np.convolve, scipy.signal.convolve2d) flips it:
# conv2d(x, w[::-1, ::-1]) equals scipy.signal.convolve2d(x, w, mode="same") for odd kernels.
# Layouts: x NHWC, w HWIO (kh, kw, c_in, c_out), b (c_out,).
import math  # noqa: E402

import numpy as np  # noqa: E402

from ._backend import kernels as _kernels  # noqa: E402
from .autograd import Function, is_grad_enabled  # noqa: E402


def _conv_pair(value, name):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)):
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
            pads = []
            for n, s, span in zip(input_hw, stride, spans):
                total = max((math.ceil(n / s) - 1) * s + span - n, 0)
                pads += [total // 2, total - total // 2]
            return tuple(pads)
        raise ValueError(f"padding must be 'valid', 'same', 'full', an int or pairs, got {padding!r}")
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


def _contiguous(*arrays):
    """C-contiguous arrays of one float dtype (gradients may arrive as broadcast views)."""
    dtype = np.result_type(*arrays)
    if dtype.kind != "f":
        dtype = np.dtype(np.float32)
    return [np.ascontiguousarray(a, dtype) for a in arrays]


class Conv2d(Function):
    """y = conv2d(x, w) + b; inputs (x, w) or (x, w, b)."""

    def forward(self, x, w, b=None, stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0)):
        self.geometry = dict(stride=stride, dilation=dilation, padding=padding)
        arrays = _contiguous(x, w) if b is None else _contiguous(x, w, b)
        return _kernels.conv2d_forward(*arrays, **self.geometry)

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


def _tensor(t):
    from .tensor import Tensor
    return t if isinstance(t, Tensor) else Tensor(t)


def _constant(array):
    from .tensor import Tensor
    return Tensor._make(array, False, None)


def conv2d(x, w, b=None, stride=1, padding="valid", dilation=1):
    """2-D cross-correlation of NHWC images x with an HWIO kernel w, plus bias b.

    stride, dilation: int or (h, w). padding: "valid", "same" (Keras), "full", an int, (ph, pw) or
    ((top, bottom), (left, right)). Output: (N, H_out, W_out, C_out).

    >>> x = tg.randn(8, 28, 28, 1); w = tg.randn(3, 3, 1, 32, requires_grad=True)
    >>> F.conv2d(x, w, padding="same").shape
    (8, 28, 28, 32)
    """
    x, w = _tensor(x), _tensor(w)
    _check_rank(x, 4, "conv2d: input x", "(N, H, W, C_in)")
    _check_rank(w, 4, "conv2d: kernel w", "(kh, kw, C_in, C_out)")
    stride, dilation = _conv_pair(stride, "conv2d: stride"), _conv_pair(dilation, "conv2d: dilation")
    pads = conv_padding(padding, x.shape[1:3], w.shape[:2], stride, dilation)
    params = dict(stride=stride, dilation=dilation, padding=pads)
    return Conv2d.apply(x, w, **params) if b is None else Conv2d.apply(x, w, _tensor(b), **params)


def conv1d(x, w, b=None, stride=1, padding="valid", dilation=1):
    """1-D cross-correlation of (N, L, C_in) sequences with a (k, C_in, C_out) kernel, plus bias b.

    padding: "valid", "same", "full", "causal" (Keras: (k - 1) * dilation zeros on the left only),
    an int, (left, right) or ((left, right),). Runs on the conv2d kernels as a 1-pixel-high image.

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
               dilation)
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

# ---- softmax / log-sum-exp ----

# ---- losses ----
