"""Weight regularizers with Keras's names and numbers.

A regularizer maps a weight Tensor to a scalar penalty Tensor. Layers take them as
``kernel_regularizer=`` / ``bias_regularizer=``; ``layer.losses`` recomputes every penalty from the
current weights, and the training loop adds their sum to the loss::

    >>> from tinygrad_ko.nn import Dense, regularizers
    >>> fc = Dense(16, kernel_regularizer=regularizers.l2(0.001))

L1: ``l1 * sum(|w|)``; L2: ``l2 * sum(w ** 2)`` (no 1/2, as in Keras); L1L2: both.
"""
from .._lookup import Configurable, get_object, serialize_object


def _factor(name, value):
    value = float(value)
    if not value >= 0.0:
        raise ValueError(f"regularization factor {name} must be a non-negative number, got {value}")
    return value


class Regularizer(Configurable):
    """Base class: ``penalty = regularizer(weight)`` returns a scalar Tensor."""

    def __call__(self, weight):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError


class L1(Regularizer):
    """``l1 * sum(|w|)``; Keras default l1=0.01."""

    def __init__(self, l1=0.01):
        self.l1 = _factor("l1", l1)

    def __call__(self, weight):
        return weight.abs().sum() * self.l1

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(w ** 2)``; Keras default l2=0.01."""

    def __init__(self, l2=0.01):
        self.l2 = _factor("l2", l2)

    def __call__(self, weight):
        return (weight * weight).sum() * self.l2

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w ** 2)``; the class defaults are 0.0 as in Keras."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor("l1", l1), _factor("l2", l2)

    def __call__(self, weight):
        return weight.abs().sum() * self.l1 + (weight * weight).sum() * self.l2

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    """An L1L2 regularizer; this function's defaults are 0.01 each, as in Keras."""
    return L1L2(l1=l1, l2=l2)


# Keras's lower-case aliases: l1(0.01) and l2(0.001) build the classes.
l1, l2 = L1, L2

_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": l1_l2}
_CLASS_NAMES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def serialize(regularizer):
    """{"class_name": ..., "config": ...}, the form ``get`` reads back; a plain callable is
    returned as it is (it round-trips within the process only)."""
    return serialize_object(regularizer, Regularizer)


def get(identifier):
    """A regularizer from None, a name ("l2"), a serialized dict, or a callable(weight)."""
    return get_object("regularizer", identifier, _BY_NAME, _CLASS_NAMES, "callable(weight)")
