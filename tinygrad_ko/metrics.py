"""Stateful metrics with Keras' names, arguments and numbers.

A metric accumulates over batches: `update_state(y_true, y_pred, sample_weight=None)` adds a batch,
`result()` returns the running value (a 0-d Tensor, so `m.result().numpy()` works as in Keras;
`float(m.result())` too), `reset_state()` starts over. Calling a metric updates it and returns the
result. Inputs may be NumPy arrays, lists or Tensors; metrics record no graph (they are not
differentiable) and accumulate in float64.

>>> m = SparseCategoricalAccuracy()
>>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
>>> m.result().numpy()          # 0.5

Sample weights follow Keras: a weight per sample (or per element) multiplies each value; the result
is sum(values * weights) / sum(weights).
"""
import re

import numpy as np

from . import losses
from ._lookup import unknown_name_error
from .autograd import no_grad
from .tensor import Tensor


def _np(x):
    if isinstance(x, Tensor):
        return x.data
    return x if isinstance(x, np.ndarray) else np.asarray(x)


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras' rule: when ranks differ by one and the larger ends in 1, squeeze it (or expand a
    rank-1 partner), so that (n, 1) labels meet (n,) predictions element by element."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


# ---- base classes ----


class Metric:
    """Base class: subclasses implement update_state, result and reset_state."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.dtype = np.dtype(dtype or "float32")

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__}.result")

    def reset_state(self):
        raise NotImplementedError(f"{type(self).__name__}.reset_state")

    def __call__(self, *args, **kwargs):
        """Updates with one batch and returns the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) mean of the values given to update_state.

    >>> m = Mean(); m.update_state([1, 3, 5, 7]); m.result().numpy()   # 4.0
    >>> m.reset_state(); m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])   # -> 2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    @property
    def variables(self):
        return [np.array(self.total, self.dtype), np.array(self.count, self.dtype)]

    def update_state(self, values, sample_weight=None):
        values = np.asarray(_np(values), np.float64)
        weight = None
        if sample_weight is not None:  # Keras' reduce_to_samplewise_values
            weight = np.asarray(_np(sample_weight), np.float64)
            values, weight = squeeze_or_expand_to_same_rank(values, weight)
            if values.ndim > weight.ndim:  # per-sample weights: average each sample's values first
                values = values.mean(axis=tuple(range(weight.ndim, values.ndim)))
            try:
                weight = np.broadcast_to(weight, values.shape)
            except ValueError:
                raise ValueError(f"{self.name}: sample_weight of shape {weight.shape} does not "
                                 f"broadcast to values of shape {values.shape}") from None
            values = values * weight
            if weight.ndim > 1:
                weight = weight.mean(axis=tuple(range(1, weight.ndim)))
        if values.ndim > 1:  # one value per sample
            values = values.mean(axis=tuple(range(1, values.ndim)))
        self.total += float(np.sum(values))
        if weight is not None:
            self.count += float(np.sum(weight))
        else:
            self.count += values.shape[0] if values.ndim else 1

    def result(self):
        return Tensor(np.array(self.total / self.count if self.count else 0.0, self.dtype))


class MeanMetricWrapper(Mean):
    """Wraps `fn(y_true, y_pred, **kwargs) -> per-sample values` into a running mean."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "mean_metric"), dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        with no_grad():
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(_np(values), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


# ---- accuracy functions (per-sample values) ----


def accuracy(y_true, y_pred):
    """1.0 where y_pred equals y_true exactly (averaged over the last axis)."""
    y_pred = _np(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(_np(y_true).astype(y_pred.dtype), y_pred)
    return np.mean(y_true == y_pred, axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where (y_pred > threshold) equals y_true (averaged over the last axis)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(_np(y_true), _np(y_pred))
    return np.mean(y_true == (y_pred > threshold).astype(y_true.dtype), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals argmax(y_true) (one-hot targets)."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    _check_classes(y_true.shape, y_pred.shape, "categorical_accuracy")
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_pred) equals the integer label y_true ((n,) or (n, 1) labels)."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == np.argmax(y_pred, -1)).astype(np.float64)


def _in_top_k(labels, y_pred, k):
    """TF's in_top_k: the label's score is among the k largest (ties count as inside)."""
    labels = labels.astype(np.int64)
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= y_pred.shape[-1]:
        raise ValueError(f"labels must lie in [0, {y_pred.shape[-1]}), got {labels.min()} .. "
                         f"{labels.max()}")
    target = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return (np.sum(y_pred > target, axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target's class is among the k highest predictions."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    _check_classes(y_true.shape, y_pred.shape, "top_k_categorical_accuracy")
    return _in_top_k(np.argmax(y_true, -1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the k highest predictions."""
    y_true, y_pred = _np(y_true), _np(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return _in_top_k(y_true, y_pred, k)


def _check_classes(true_shape, pred_shape, name):
    if true_shape != pred_shape:
        raise ValueError(f"{name}: y_true {true_shape} and y_pred {pred_shape} must have the same "
                         f"shape (one-hot targets); use the sparse variant for integer labels")


# ---- metric classes ----


class Accuracy(MeanMetricWrapper):
    """How often y_pred equals y_true. Keras: [[1],[2],[3],[4]] vs [[0],[2],[3],[4]] -> 0.75."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) equals the 0/1 label."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches the one-hot y_true."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the top-k predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top-k predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=k)


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean of losses.binary_crossentropy (per sample: mean over the last axis)."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):
        super().__init__(losses.binary_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of losses.categorical_crossentropy."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):
        super().__init__(losses.categorical_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean of losses.sparse_categorical_crossentropy."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name, dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


class MeanSquaredError(MeanMetricWrapper):
    """Running mean of losses.mean_squared_error."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name, dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Running mean of losses.mean_absolute_error."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name, dtype)


# ---- lookup by name and Keras' "accuracy" resolution ----

METRICS = {
    "accuracy": Accuracy, "acc": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy, "mean": Mean,
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}


def get(identifier):
    """A new metric from its name (named as given, e.g. "mse"), a Metric (returned as is), or a
    function `fn(y_true, y_pred)` (wrapped in a running mean named after it)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        cls = METRICS.get(identifier.lower())
        if cls is None:
            raise unknown_name_error("metric", identifier, METRICS)
        return cls(name=identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"Could not interpret metric identifier: {identifier!r}")


def _loss_name(loss):
    if isinstance(loss, str):
        return loss.lower()
    return _snake(getattr(loss, "__name__", None) or type(loss).__name__)


def resolve_accuracy(loss, y_true_shape, y_pred_shape, name="accuracy"):
    """The accuracy metric "accuracy"/"acc" means for this loss and these shapes (Keras' rule):
    BinaryAccuracy when the model has one output unit or the loss is binary cross-entropy,
    SparseCategoricalAccuracy when the targets are integer labels (rank lower than the predictions,
    or a trailing 1 against several classes) or the loss is the sparse one, else
    CategoricalAccuracy.
    """
    true_shape, pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    true_last = true_shape[-1] if true_shape else 1
    pred_last = pred_shape[-1] if pred_shape else 1
    loss_name = _loss_name(loss) if loss is not None else ""
    if pred_last == 1 or loss_name == "binary_crossentropy":
        return BinaryAccuracy(name=name)
    if (len(true_shape) < len(pred_shape) or (true_last == 1 and pred_last > 1)
            or loss_name == "sparse_categorical_crossentropy"):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def get_metric(identifier, y_true_shape, y_pred_shape, loss=None):
    """What Model.compile does with each entry of `metrics=[...]`: "accuracy"/"acc" resolved by
    resolve_accuracy, anything else through get()."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return resolve_accuracy(loss, y_true_shape, y_pred_shape, name=identifier)
    return get(identifier)
