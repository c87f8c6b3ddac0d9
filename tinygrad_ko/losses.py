"""Losses with Keras' names, arguments, defaults and numbers: classes and functions.

Functions return one loss per sample (the last axis reduced), like
`keras.losses.mse(y_true, y_pred)`. Classes wrap them with a reduction and call-time sample weights:

>>> cce = CategoricalCrossentropy()
>>> cce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])      # 1.177
>>> cce(y_true, y_pred, sample_weight=[0.3, 0.7])                          # 0.814

`reduction`: "sum_over_batch_size" (default; the weighted sum divided by the number of per-sample
losses, weights or not — Keras' rule), "sum", "none" (per-sample losses), "mean_with_sample_weight"
(divided by the sum of the weights). Inputs may be Tensors, NumPy arrays or lists; the result is a
Tensor, differentiable with respect to y_pred.

Cross-entropies with `from_logits=False` expect probabilities. As in Keras, when `y_pred` is the
direct output of a softmax (F.softmax over the same axis) or a sigmoid (Tensor.sigmoid), the loss
reads the logits from the graph and computes the numerically stable from-logits form. Otherwise
probabilities are clipped to [1e-7, 1 - 1e-7] before the logarithm (Keras' `epsilon()`), so 0 and 1
give large but finite losses; categorical probabilities are first renormalized to sum to 1.
"""

import numpy as np

from . import functional as F
from ._lookup import unknown_name_error
from .tensor import Tensor

EPSILON = 1e-7  # keras.backend.epsilon()

# ---- helpers ----


def _tensor(x, dtype=None):
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    # lists and Python numbers follow Tensor() (float32, as tf.convert_to_tensor): seed 004's
    # `scce([1, 2], [[0.05, 0.95, 0], ...]).numpy()` prints Keras's 1.1769392; arrays keep their
    # float dtype
    arr = np.asarray(x) if isinstance(x, (np.ndarray, np.generic)) else Tensor(x).data
    if dtype is None and arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    return Tensor(arr if dtype is None else arr.astype(dtype, copy=False))


def _pred_and_true(y_true, y_pred):
    y_pred = _tensor(y_pred)
    return _tensor(y_true, y_pred.dtype), y_pred


def _labels(y_true):
    return y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)


def _same_rank(y_true, y_pred):
    """Keras' squeeze_or_expand_to_same_rank for (n,) against (n, 1), then an exact shape check."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape + (1,))
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {y_true.shape} vs {y_pred.shape}")
    return y_true


def _axis(axis, ndim):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for predictions with {ndim} dimensions")
    return axis % ndim


# NOTE: F takes Keras 3's "sum_over_batch_size" under the name "mean".
_F_REDUCTION = {"sum_over_batch_size": "mean", "mean": "mean", "sum": "sum", "none": "none"}


# ---- loss functions (one value per sample) ----


def _binary_crossentropy(y_true, y_pred, from_logits, label_smoothing, axis, reduction="none",
                         sample_weight=None):
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true = _same_rank(y_true, y_pred)
    return F.binary_cross_entropy(y_pred, y_true, from_logits=from_logits,
                                  label_smoothing=label_smoothing, reduction=reduction,
                                  sample_weight=sample_weight, axis=_axis(axis, y_pred.ndim))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over `axis` of -(y log p + (1 - y) log(1 - p)); labels smoothed towards 0.5.

    >>> binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])   # [0.916, 0.714]
    """
    return _binary_crossentropy(y_true, y_pred, from_logits, label_smoothing, axis)


def binary_crossentropy_per_entry(target, output, from_logits=False):
    """Keras's `keras.backend.binary_crossentropy(target, output, from_logits)`: one loss per
    entry, no mean over the last axis (with from_logits=True,
    tf.nn.sigmoid_cross_entropy_with_logits). target and output have the same shape.

    >>> binary_crossentropy_per_entry([0., 1., 0.5], [1., -1., 0.], from_logits=True)
    ... # [1.3133, 1.3133, 0.6931]
    """
    target, output = _pred_and_true(target, output)
    return F.binary_cross_entropy(output, target, from_logits=from_logits, reduction="none",
                                  axis=None)


def _categorical_crossentropy(y_true, y_pred, from_logits, label_smoothing, axis,
                              reduction="none", sample_weight=None):
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"categorical_crossentropy: y_true {y_true.shape} and y_pred "
                         f"{y_pred.shape} must have the same shape (one-hot targets); use "
                         f"sparse_categorical_crossentropy for integer labels")
    return F.cross_entropy(y_pred, y_true, from_logits=from_logits,
                           label_smoothing=label_smoothing, reduction=reduction,
                           sample_weight=sample_weight, axis=_axis(axis, y_pred.ndim))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(softmax or probabilities), axis) with one-hot (or soft) targets.

    >>> categorical_crossentropy([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    ... # [0.0513, 2.3026]
    """
    return _categorical_crossentropy(y_true, y_pred, from_logits, label_smoothing, axis)


def _sparse_categorical_crossentropy(y_true, y_pred, from_logits, ignore_class, axis,
                                     reduction="none", sample_weight=None):
    y_pred = _tensor(y_pred)
    return F.cross_entropy(y_pred, _labels(y_true), from_logits=from_logits, reduction=reduction,
                           sample_weight=sample_weight, ignore_class=ignore_class,
                           axis=_axis(axis, y_pred.ndim))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical cross-entropy with integer labels; entries labelled `ignore_class` give 0.

    >>> sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    ... # [0.0513, 2.3026]
    """
    return _sparse_categorical_crossentropy(y_true, y_pred, from_logits, ignore_class, axis)


def mean_squared_error(y_true, y_pred):
    """mean((y_pred - y_true)^2, axis=-1)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    diff = y_pred - _same_rank(y_true, y_pred)
    return (diff * diff).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_pred - y_true|, axis=-1)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    return (y_pred - _same_rank(y_true, y_pred)).abs().mean(axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of 0.5 e^2 where |e| <= delta, else delta (|e| - 0.5 delta)."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    error = y_pred - _same_rank(y_true, y_pred)
    abs_error = error.abs()
    quadratic = (abs_error.data <= delta).astype(error.dtype)
    return (error * error * 0.5 * quadratic
            + (abs_error * delta - 0.5 * delta * delta) * (1 - quadratic)).mean(axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

# ---- loss classes ----

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight",
              "auto")


class Reduction:
    """tf.keras 2's reduction names (seed 004: `reduction=tf.keras.losses.Reduction.SUM`); Keras 3
    takes the strings. AUTO is "sum_over_batch_size" outside a distribution strategy."""
    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"


class Loss:
    """Base: `call(y_true, y_pred)` gives per-sample losses; `__call__` weights and reduces."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        reduction = "none" if reduction is None else reduction
        if reduction not in REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                             f"{REDUCTIONS}. Received: reduction={reduction!r}")
        reduction = "sum_over_batch_size" if reduction == Reduction.AUTO else reduction
        self.name, self.reduction, self.dtype = name, reduction, dtype

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}.call")

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.dtype is not None:
            y_pred = _tensor(y_pred, np.dtype(self.dtype))
        return reduce_weighted_values(self.call(y_true, y_pred), sample_weight, None,
                                      self.reduction)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size"):
    """Keras' reduction of per-sample losses: weights (and a mask of counted samples) multiply the
    values; then "sum", or the sum over the number of values (over the counted ones with a mask),
    or over the sum of weights ("mean_with_sample_weight"), or nothing ("none")."""
    weight = None
    if mask is not None:
        weight = mask.astype(values.dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            weight *= mask.size / (mask.sum() + EPSILON)
    if sample_weight is not None:
        sw = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight,
                        dtype=values.dtype)
        if sw.ndim == values.ndim + 1 and sw.shape[-1] == 1:
            sw = sw.reshape(sw.shape[:-1])
        while sw.ndim < values.ndim:
            sw = sw.reshape(sw.shape + (1,))
        try:
            sw = np.broadcast_to(sw, values.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {np.shape(sample_weight)} does not match "
                             f"per-sample losses of shape {values.shape}") from None
        weight = sw if weight is None else weight * sw
    if weight is not None:
        values = values * weight
    if reduction == "none" or values.ndim == 0 or values.shape == (0,):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = float(np.sum(weight))
    else:
        divisor = float(values.size)
    return total / divisor if divisor else total * 0.0


class LossFunctionWrapper(Loss):
    """A Loss from a per-sample function `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", None), reduction, dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


class _FusedCrossentropy(LossFunctionWrapper):
    """Cross-entropies hand the weights and the reduction to F, so the fused kernel produces the
    reduced loss and its gradient in one pass; "mean_with_sample_weight" takes the generic path."""
    _fused = None

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.reduction not in _F_REDUCTION:
            return super().__call__(y_true, y_pred, sample_weight)
        if self.dtype is not None:
            y_pred = _tensor(y_pred, np.dtype(self.dtype))
        return type(self)._fused(y_true, y_pred, **self._fn_kwargs,
                                 reduction=_F_REDUCTION[self.reduction],
                                 sample_weight=sample_weight)


class BinaryCrossentropy(_FusedCrossentropy):
    """Keras: BinaryCrossentropy(from_logits=True)([0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8])
    gives 0.865."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits

    _fused = staticmethod(_binary_crossentropy)


class CategoricalCrossentropy(_FusedCrossentropy):
    """Keras: CategoricalCrossentropy()([[0, 1, 0], [0, 0, 1]], [[.05, .95, 0], [.1, .8, .1]])
    gives 1.177."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits

    _fused = staticmethod(_categorical_crossentropy)


class SparseCategoricalCrossentropy(_FusedCrossentropy):
    """Keras: SparseCategoricalCrossentropy()([1, 2], [[.05, .95, 0], [.1, .8, .1]]) -> 1.177.
    With `ignore_class`, those samples contribute nothing and the mean runs over the others."""

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy",
                 dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction, name, dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits

    _fused = staticmethod(_sparse_categorical_crossentropy)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self.reduction != "mean_with_sample_weight" or self._fn_kwargs["ignore_class"] is None:
            return super().__call__(y_true, y_pred, sample_weight)
        values = self.call(y_true, y_pred)
        mask = _labels(y_true).reshape(values.shape) != self._fn_kwargs["ignore_class"]
        return reduce_weighted_values(values, sample_weight, mask, self.reduction)


class MeanSquaredError(LossFunctionWrapper):
    """Keras: MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [1, 0]]) -> 0.5."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction, name, dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """Keras: MeanAbsoluteError()([[0, 1], [0, 0]], [[1, 1], [1, 0]]) -> 0.5."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction, name, dtype)


class Huber(LossFunctionWrapper):
    """Keras: Huber()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]) -> 0.155."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, reduction, name, dtype, delta=delta)


# ---- lookup by name ----

LOSSES = {
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError, "huber": Huber,
    "huber_loss": Huber,
}
LOSS_CLASSES = {cls.__name__: cls for cls in (BinaryCrossentropy, CategoricalCrossentropy,
                                              SparseCategoricalCrossentropy, MeanSquaredError,
                                              MeanAbsoluteError, Huber)}


def get(identifier):
    """A Loss from a name ("sparse_categorical_crossentropy", "mse", "BinaryCrossentropy", ...),
    a Loss (returned as is) or a function `fn(y_true, y_pred)` (wrapped in LossFunctionWrapper).
    An unknown name raises ValueError listing the valid names and the closest one."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = LOSSES.get(identifier.lower()) or LOSS_CLASSES.get(identifier)
        if cls is None:
            raise unknown_name_error("loss", identifier, [*LOSSES, *LOSS_CLASSES])
        return cls()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"Could not interpret loss identifier: {identifier!r}")
