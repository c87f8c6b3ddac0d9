"""Data handling around the training loop: batches, class weights, loss tracking, input checks."""
import numpy as np

from ..nn.module import SymbolicTensor
from ..tensor import Tensor


def single_tensor(value, what):
    """The one symbolic tensor of Model(inputs=..., outputs=...); several raise ValueError."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"Model({what}=...) got {len(value)} tensors: tinygrad_ko models have "
                             f"exactly one input and one output (multi-input/multi-output models "
                             f"are not supported)")
        value = value[0]
    if not isinstance(value, SymbolicTensor):
        raise TypeError(f"Model({what}=...) expects a symbolic tensor from keras.Input or a layer "
                        f"call, got {type(value).__name__}")
    return value


def as_array(value, what):
    """A NumPy view of arrays, lists or Tensors (no copy when already an array)."""
    if value is None:
        raise ValueError(f"{what} is required")
    return np.asarray(value.data if isinstance(value, Tensor) else value)


def unpack_validation(data):
    if not isinstance(data, (list, tuple)) or len(data) not in (2, 3):
        raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight)")
    return tuple(data) + (None,) * (3 - len(data))


def apply_class_weight(class_weight, y, sample_weight):
    """Per-sample weights from {class: weight}, multiplied into sample_weight."""
    if not class_weight:
        return sample_weight
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    labels = labels.astype(np.int64)
    table = np.ones(max(int(labels.max()), max(int(k) for k in class_weight)) + 1, np.float32)
    for label, weight in class_weight.items():
        table[int(label)] = weight
    weights = table[labels]
    return weights if sample_weight is None else weights * sample_weight


def check_batch_size(batch_size):
    """Keras's batch_size: None means 32; anything else must be a positive integer."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def batch_index(order, step, batch_size, n):
    """A slice (a view: no copy) in data order, or the batch's indices into a shuffled order."""
    if order is None:
        return slice(step * batch_size, min((step + 1) * batch_size, n))
    return order[step * batch_size:(step + 1) * batch_size]


def take(array, index):
    return None if array is None else array[index]


def logs_result(logs, return_dict):
    """evaluate/train_on_batch's return value: the dict, the loss alone, or [loss, metrics...]."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


class MeanTracker:
    """Running mean of per-batch losses, weighted by batch size (Keras's loss tracker)."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def add(self, value, n):
        self.total += value * n
        self.count += n

    def mean(self):
        return self.total / self.count if self.count else 0.0


def loss_weight(loss_weights):
    """compile(loss_weights=...) for a one-output model: a number, or a list/dict of one."""
    if loss_weights is None:
        return 1.0
    if isinstance(loss_weights, dict):
        loss_weights = list(loss_weights.values())
    if isinstance(loss_weights, (list, tuple)):
        if len(loss_weights) != 1:
            raise ValueError(f"loss_weights has {len(loss_weights)} entries; the model has one "
                             f"output")
        loss_weights = loss_weights[0]
    return float(loss_weights)


def loss_name(loss):
    return getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__


def check_labels(y, classes, loss, what):
    """Integer labels for a sparse loss must index the model's outputs: checked once, up front."""
    if y.dtype.kind not in "iu" or "sparse" not in loss_name(loss).lower():
        return
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"{what}: labels must lie in 0..{classes - 1} for a model with {classes} "
                         f"outputs, but y holds values from {y.min()} to {y.max()}")
