"""Tensor: a NumPy array plus autograd bookkeeping, with every op written out as a one-line method.

dtype rules (documented in the README):
- Floats default to float32: `Tensor([1.5])`, `tg.randn(3)` and `tg.zeros(3)` are float32. NumPy
  arrays keep their dtype (float64 arrays stay float64, and are not copied).
- Python and NumPy scalars never upcast a tensor: float32 tensor * 2.0 stays float32; an int
  tensor with a float scalar becomes the default float.
- Tensor with tensor follows NumPy (float32 + float64 -> float64), except that int or float32 inputs
  never produce float64: int tensor / int tensor and int + float32 give float32.

Random numbers come from one module-level numpy Generator: `manual_seed(seed)` replaces it and
`default_rng()` returns the current one (rand, randn, randint, dropout and the nn initializers draw
from it; call `default_rng()` each time rather than caching the Generator).
"""
import numpy as np

from . import autograd, ops
from .ops import normalize_axes

_DEFAULT_FLOAT = np.dtype(np.float32)
_INT64 = np.dtype(np.int64)
_SCALARS = (int, float, np.number, np.bool_)
_rng = np.random.default_rng()
_new = object.__new__


def default_float():
    """The dtype of float tensors created from Python data (float32)."""
    return _DEFAULT_FLOAT


def manual_seed(seed):
    """Reseeds the Generator behind rand/randn/randint/dropout and the layer initializers."""
    global _rng
    _rng = np.random.default_rng(seed)


def default_rng():
    """The numpy Generator every random op draws from (replaced by manual_seed)."""
    return _rng


def _to_array(data, dtype):
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"Tensor: cannot build a tensor from {type(data).__name__}: "
                            f"{exc}") from None
        if array.dtype.kind == "f" and dtype is None:
            dtype = _DEFAULT_FLOAT
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: unsupported data {type(data).__name__} of dtype {array.dtype} "
                        f"(numbers, bools, nested lists of them and numeric arrays are supported)")
    return array if dtype is None else array.astype(dtype, copy=False)


def lift_all(inputs, op):
    """Op inputs with every non-Tensor turned into a constant Tensor (see lift)."""
    like = None
    for t in inputs:
        if isinstance(t, Tensor):
            like = t.data.dtype
            break
    return tuple([t if isinstance(t, Tensor) else lift(t, like, op) for t in inputs])


def lift(x, like, op):
    """A non-Tensor operand of `op` as a constant Tensor. Scalars take the dtype `like` of the
    tensor operand (an int tensor with a float scalar takes the default float); arrays keep their
    own dtype, lists follow Tensor()."""
    kind = type(x)
    if kind is np.ndarray and x.dtype.kind in "biuf":  # masks and constants from backward passes
        return Tensor._make(x, False, None)
    if kind is float or (kind is not int and isinstance(x, (float, np.floating))):
        dtype = like if like is not None and like.kind == "f" else _DEFAULT_FLOAT
    elif kind is int or isinstance(x, (int, np.integer, np.bool_)):
        dtype = like if like is not None and like.kind in "fiu" else _INT64
    elif isinstance(x, (np.ndarray, list, tuple)):
        return Tensor(x)
    else:
        raise TypeError(f"{op}: unsupported operand of type {kind.__name__} (expected a Tensor, "
                        f"a number or an array)")
    return Tensor._make(np.asarray(x, dtype), False, None)


class Tensor:
    """An n-dimensional array that can record the ops applied to it and differentiate through them.

    >>> x = tg.Tensor([[1.0, 2.0]], requires_grad=True)
    >>> (x * x).sum().backward(); x.grad
    Tensor([[2., 4.]], dtype=float32)

    `.data` is the ndarray (shared, not copied, when a NumPy array of the right dtype is passed in).
    There are no in-place ops: `x += 1` rebinds x to a new tensor, so saved values never change
    under a recorded graph. Writing into `.data` directly bypasses autograd.
    """
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to our reflected dunders
    __hash__ = object.__hash__  # == is elementwise, so hash by identity

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, None if dtype is None else np.dtype(dtype))
        self.grad, self.requires_grad, self._ctx, self._retains_grad = None, False, None, False
        if requires_grad:
            self.requires_grad_()

    @staticmethod
    def _make(data, requires_grad, ctx):
        t = _new(Tensor)
        t.data, t.grad, t._retains_grad = data, None, False
        t.requires_grad, t._ctx = requires_grad, ctx
        return t

    # ***** properties and conversions *****
    @property
    def shape(self): return self.data.shape
    @property
    def ndim(self): return self.data.ndim
    @property
    def size(self): return self.data.size
    @property
    def dtype(self): return self.data.dtype
    @property
    def T(self): return self.transpose()
    @property
    def is_leaf(self): return self._ctx is None
    @property
    def grad_fn(self): return self._ctx
    def numpy(self): return self.data
    def __array__(self, dtype=None, copy=None): return _as_numpy(self.data, dtype, copy)
    def item(self): return self.data.item()
    def tolist(self): return self.data.tolist()
    def __len__(self): return _length(self)
    def __iter__(self): return (self[i] for i in range(len(self)))
    def __bool__(self): return bool(self.data)
    def __float__(self): return float(self.data.item())
    def __int__(self): return int(self.data.item())
    def __repr__(self): return _repr(self)
    # '{:.4f}'.format(loss) as with a tf scalar tensor (seed 001); a spec on n-d data raises
    def __format__(self, spec): return format(self.data, spec) if spec else str(self)
    # np.sum(loss), np.around(loss, 5) see the array, as they see a tf tensor's (seed 004)
    def __array_function__(self, func, types, args, kwargs):
        return func(*_as_arrays(args), **_as_arrays(kwargs))
    def __reduce__(self): return _rebuild, (self.data, self.requires_grad)

    # ***** autograd *****
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulates gradients of this tensor into `.grad` of the leaves that require grad.

        gradient: d(something)/d(self), needed unless self has one element. The graph is freed
        afterwards unless retain_graph (which defaults to create_graph)."""
        autograd.backward(self, gradient, retain_graph, create_graph)
    def retain_grad(self): self._retains_grad = True
    def zero_grad(self): self.grad = None
    def detach(self): return Tensor._make(self.data, False, None)
    def requires_grad_(self, requires_grad=True): return _set_requires_grad(self, requires_grad)
    def to_dot(self): return autograd.to_dot(self)

    # ***** arithmetic *****
    def __add__(self, other): return ops.Add.apply(self, other)
    def __radd__(self, other): return ops.Add.apply(other, self)
    def __sub__(self, other): return ops.Sub.apply(self, other)
    def __rsub__(self, other): return ops.Sub.apply(other, self)
    def __mul__(self, other): return ops.Mul.apply(self, other)
    def __rmul__(self, other): return ops.Mul.apply(other, self)
    def __truediv__(self, other): return ops.Div.apply(self, other)
    def __rtruediv__(self, other): return ops.Div.apply(other, self)
    def __pow__(self, other): return ops.Pow.apply(self, other)
    def __rpow__(self, other): return ops.Pow.apply(other, self)
    def __matmul__(self, other): return ops.Matmul.apply(self, other)
    def __rmatmul__(self, other): return ops.Matmul.apply(other, self)
    def __neg__(self): return ops.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return self.abs()
    def add(self, other): return ops.Add.apply(self, other)
    def sub(self, other): return ops.Sub.apply(self, other)
    def mul(self, other): return ops.Mul.apply(self, other)
    def div(self, other): return ops.Div.apply(self, other)
    def pow(self, other): return ops.Pow.apply(self, other)
    def matmul(self, other): return ops.Matmul.apply(self, other)
    def neg(self): return ops.Neg.apply(self)

    # ***** comparisons (not differentiable: bool tensors) *****
    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    def __eq__(self, other): return _compare(np.equal, self, other)
    def __ne__(self, other): return _compare(np.not_equal, self, other)

    # ***** elementwise functions *****
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sqrt(self): return ops.Pow.apply(self, 0.5)
    def abs(self): return ops.Mul.apply(self, np.sign(self.data))
    def sign(self): return Tensor._make(np.sign(self.data), False, None)
    def clip(self, low=None, high=None): return ops.Clip.apply(self, low=low, high=high)
    def maximum(self, other): return ops.Maximum.apply(self, other)
    def minimum(self, other): return ops.Minimum.apply(self, other)
    def erf(self): return ops.Erf.apply(self)
    def relu(self): return ops.Relu.apply(self)
    def leaky_relu(self, negative_slope=0.01): return self * _slopes(self, negative_slope)
    def elu(self, alpha=1.0): return self.relu() + alpha * (self.clip(None, 0).exp() - 1)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def softplus(self): return self.maximum(0) + (1 + (-self.abs()).exp()).log()
    def gelu(self, approximate="none"): return _gelu(self, approximate)
    def dropout(self, p=0.5, training=True): return _dropout(self, p, training)

    # ***** reductions *****
    def sum(self, axis=None, keepdims=False): return _reduce(ops.Sum, self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _reduce(ops.Max, self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _reduce(ops.Min, self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return _var(self, axis, keepdims, ddof)
    def std(self, axis=None, keepdims=False, ddof=0): return _var(self, axis, keepdims, ddof) ** 0.5
    def argmax(self, axis=None, keepdims=False): return _index_of(np.argmax, self, axis, keepdims)
    def argmin(self, axis=None, keepdims=False): return _index_of(np.argmin, self, axis, keepdims)

    # ***** movement *****
    def reshape(self, *shape): return ops.Reshape.apply(self, shape=_shape_arg(shape))
    def flatten(self, start_dim=0, end_dim=-1): return _flatten(self, start_dim, end_dim)
    def transpose(self, *axes): return ops.Permute.apply(self, axes=_transpose_axes(self, axes))
    def permute(self, *axes): return ops.Permute.apply(self, axes=_transpose_axes(self, axes))
    def swapaxes(self, a, b): return ops.Permute.apply(self, axes=_swapped(self.data.ndim, a, b))
    def expand(self, *shape): return ops.Expand.apply(self, shape=_shape_arg(shape))
    def squeeze(self, axis=None): return self.reshape(_squeezed(self.data.shape, axis))
    def unsqueeze(self, axis): return self.reshape(_unsqueezed(self.data.shape, axis))
    def __getitem__(self, index): return ops.Getitem.apply(self, **_index_params(index))
    def pad(self, pad_width, value=0.0): return pad(self, pad_width, value)
    def split(self, indices_or_sections, axis=0): return split(self, indices_or_sections, axis)
    def astype(self, dtype): return _cast(self, np.dtype(dtype))


# ***** helpers behind the one-line methods *****

def _as_numpy(data, dtype, copy):
    array = data if dtype is None else data.astype(dtype, copy=False)
    return array.copy() if copy and array is data else array


def _as_arrays(value):
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_as_arrays(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_arrays(v) for k, v in value.items()}
    return value


def _rebuild(data, requires_grad):
    """Unpickling and deepcopy give a leaf with the same data and requires_grad (no graph)."""
    t = Tensor(data)
    t.requires_grad = requires_grad
    return t


def _length(t):
    if t.data.ndim == 0:
        raise TypeError("len() of a 0-d tensor")
    return t.data.shape[0]


def _repr(t):
    body = np.array2string(t.data, separator=", ", prefix="Tensor(")
    extra = f", grad_fn={type(t._ctx).__name__}" if t._ctx is not None else (
        ", requires_grad=True" if t.requires_grad else "")
    return f"Tensor({body}, dtype={t.data.dtype}{extra})"


def _set_requires_grad(t, requires_grad):
    if requires_grad and t.data.dtype.kind != "f":
        raise TypeError(f"only float tensors can require gradients, not {t.data.dtype}")
    if not requires_grad and t._ctx is not None:
        raise RuntimeError("requires_grad_(False) on a tensor produced by an op; use detach()")
    t.requires_grad = bool(requires_grad)
    return t


def _compare(ufunc, a, b):
    raw = b.data if isinstance(b, Tensor) else b
    if not isinstance(raw, (*_SCALARS, np.ndarray, list, tuple)):
        raise TypeError(f"{ufunc.__name__}: cannot compare a Tensor with {type(b).__name__}")
    try:
        return Tensor._make(np.asarray(ufunc(a.data, raw)), False, None)
    except ValueError as exc:
        shapes = f"{a.data.shape} and {np.shape(raw)}"
        raise ValueError(f"{ufunc.__name__} on shapes {shapes}: {exc}") from None


def _slopes(x, negative_slope):
    return np.where(x.data > 0, 1, negative_slope).astype(x.data.dtype)


_SQRT_HALF = 0.5 ** 0.5
_SQRT_TWO_OVER_PI = (2 / np.pi) ** 0.5


def _gelu(x, approximate):
    if approximate in ("none", False):
        return 0.5 * x * (1 + (x * _SQRT_HALF).erf())
    if approximate in ("tanh", True):
        return 0.5 * x * (1 + (_SQRT_TWO_OVER_PI * (x + 0.044715 * x ** 3)).tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _dropout(x, p, training):
    """Inverted dropout: zero each element with probability p, scale the rest by 1 / (1 - p)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    dtype = x.data.dtype if x.data.dtype.kind == "f" else _DEFAULT_FLOAT
    keep = _rng.random(x.data.shape, dtype=np.float64 if dtype.itemsize == 8 else np.float32) >= p
    return x * (keep * (1 / (1 - p))).astype(dtype) if p < 1 else x * np.zeros(x.data.shape, dtype)


def _reduced_count(x, axis):
    count = 1
    for a in normalize_axes(axis, x.data.ndim):
        count *= x.data.shape[a]
    return count


def _mean(x, axis, keepdims):
    # a division, not a product with the reciprocal: the same bits as np.mean (seed 004 asserts
    # np.array_equal(keras.losses.mse(...), np.mean(...)))
    return x.sum(axis, keepdims) / max(_reduced_count(x, axis), 1)


def _var(x, axis, keepdims, ddof):
    centered = x - x.mean(axis, keepdims=True)
    count = max(_reduced_count(x, axis) - ddof, 1)
    return (centered * centered).sum(axis, keepdims) * (1.0 / count)


def _index_of(fn, x, axis, keepdims):
    return Tensor._make(np.asarray(fn(x.data, axis=axis, keepdims=keepdims)), False, None)


def _shape_arg(shape):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    for n in shape:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"shape entries must be ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def _reduce(op, x, axis, keepdims):
    return op.apply(x, axis=axis, keepdims=keepdims)


def _flatten(x, start_dim, end_dim):
    shape = x.data.shape
    if not shape:
        return x.reshape(1)
    start, end = start_dim % len(shape), end_dim % len(shape)
    return x.reshape(shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])


def _transpose_axes(x, axes):
    axes = _shape_arg(axes) if axes else tuple(reversed(range(x.data.ndim)))
    if sorted(a % max(x.data.ndim, 1) for a in axes) != list(range(x.data.ndim)):
        raise ValueError(f"axes {axes} are not a permutation of the axes of shape {x.data.shape}")
    return tuple(a % x.data.ndim for a in axes)


def _swapped(ndim, a, b):
    axes = list(range(ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return tuple(axes)


def _squeezed(shape, axis):
    if axis is None:
        return tuple(n for n in shape if n != 1)
    axes = normalize_axes(axis, len(shape))
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of shape {shape} has size {shape[a]}, not 1")
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _unsqueezed(shape, axis):
    position = axis if axis >= 0 else len(shape) + 1 + axis
    if not 0 <= position <= len(shape):
        raise ValueError(f"unsqueeze: axis {axis} is out of range for shape {shape}")
    return shape[:position] + (1,) + shape[position:]


def _index_params(index):
    """Getitem's params: the NumPy index with Tensors and lists turned into arrays, and whether
    it is advanced (any array), which makes backward scatter with np.add.at."""
    items = index if isinstance(index, tuple) else (index,)
    out, advanced = [], False
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        if isinstance(item, (list, tuple, np.ndarray, bool, np.bool_)):
            item = np.asarray(item)
            if item.size == 0 and item.dtype.kind == "f":
                item = item.astype(np.intp)
            if item.dtype.kind not in "biu":
                raise TypeError(f"index arrays must be integer or bool, got dtype {item.dtype}")
            advanced = True
        elif not (item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))):
            raise TypeError(f"unsupported index of type {type(item).__name__}")
        out.append(item)
    return {"index": tuple(out) if isinstance(index, tuple) else out[0], "advanced": advanced}


def _cast(x, dtype):
    if dtype == x.data.dtype:
        return x
    if dtype.kind == "f" and x.data.dtype.kind == "f":
        return ops.Cast.apply(x, dtype=dtype)
    return Tensor._make(x.data.astype(dtype), False, None)


# ***** functions over several tensors *****

def concatenate(tensors, axis=0):
    """Joins tensors along an existing axis (differentiable)."""
    return ops.Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Joins tensors along a new axis (differentiable)."""
    return concatenate([t.unsqueeze(axis) if isinstance(t, Tensor) else Tensor(t).unsqueeze(axis)
                        for t in tensors], axis=axis)


def split(x, indices_or_sections, axis=0):
    """np.split semantics: `n` equal sections, or a list of split indices; a list of Tensors."""
    axis = normalize_axes(axis, x.data.ndim)[0]
    length = x.data.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0 or length % indices_or_sections:
            raise ValueError(f"split: axis {axis} of length {length} does not divide into "
                             f"{indices_or_sections} equal sections")
        step = length // indices_or_sections
        bounds = list(range(0, length + 1, step))
    else:
        bounds = [0] + [min(int(i), length) for i in indices_or_sections] + [length]
    lead = (slice(None),) * axis
    return [x[lead + (slice(start, max(start, stop)),)] for start, stop in zip(bounds, bounds[1:])]


def where(condition, a, b):
    """Elementwise `a` where condition is true, else `b`; differentiable in a and b."""
    return ops.Where.apply(condition, a, b)


def maximum(a, b):
    return ops.Maximum.apply(a, b)


def minimum(a, b):
    return ops.Minimum.apply(a, b)


def pad(x, pad_width, value=0.0):
    return ops.Pad.apply(x, pad_width=pad_width, value=value)


# ***** creation *****

def _created(array, dtype, requires_grad):
    return Tensor(array, requires_grad=requires_grad, dtype=dtype)


def variable(value, dtype=None):
    """A leaf tensor that optimizers update in place (Keras's `keras.Variable(10.0)`): a Tensor of
    `value` with requires_grad=True (float32 for Python floats, like tf.Variable)."""
    return Tensor(value, requires_grad=True, dtype=dtype)


def zeros(*shape, dtype=None, requires_grad=False):
    return _created(np.zeros(_shape_arg(shape), dtype or _DEFAULT_FLOAT), None, requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    return _created(np.ones(_shape_arg(shape), dtype or _DEFAULT_FLOAT), None, requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """Filled with fill_value; dtype defaults to float32 for a float fill and int64 for an int."""
    shape = _shape_arg((shape,) if isinstance(shape, (int, np.integer)) else (shape,))
    if dtype is None and isinstance(fill_value, (float, np.floating)):
        dtype = _DEFAULT_FLOAT
    return _created(np.full(shape, fill_value, dtype), None, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return _created(np.zeros(np.shape(t), dtype or _dtype_of(t)), None, requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return _created(np.ones(np.shape(t), dtype or _dtype_of(t)), None, requires_grad)


def _dtype_of(t):
    return t.data.dtype if isinstance(t, Tensor) else np.asarray(t).dtype


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """np.arange; int64 when every argument is an int, float32 otherwise."""
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and values.dtype.kind == "f":
        dtype = _DEFAULT_FLOAT
    return _created(values, dtype, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    return _created(np.eye(n, m, dtype=dtype or _DEFAULT_FLOAT), None, requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform on [0, 1), drawn from default_rng()."""
    dtype = np.dtype(dtype or _DEFAULT_FLOAT)
    return _created(_rng.random(_shape_arg(shape), dtype=dtype), None, requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal, drawn from default_rng()."""
    dtype = np.dtype(dtype or _DEFAULT_FLOAT)
    return _created(_rng.standard_normal(_shape_arg(shape), dtype=dtype), None, requires_grad)


def randint(low, high=None, size=(), dtype=np.int64):
    """Integers in [low, high) (or [0, low) without high), drawn from default_rng()."""
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return _created(_rng.integers(low, high, size=size, dtype=dtype), None, False)
