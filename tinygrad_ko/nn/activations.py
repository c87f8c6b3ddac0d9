"""Activation functions by Keras name: each maps a Tensor to a Tensor through Tensor methods or F.

    >>> from tinygrad_ko.nn import activations
    >>> activations.get("relu") is activations.relu
    True

Layers take ``activation=`` as one of these names, a callable, or None (linear). ``get`` raises a
ValueError listing the valid names (and the closest one) for an unknown name.
"""
from .. import functional as F
from ..tensor import Tensor
from .._lookup import unknown_name_error


def _tensor(x):
    """Keras's activations take any tensor-like (seed 001 passes `tf.constant([0.8])`): lists and
    NumPy arrays become constant Tensors."""
    return x if isinstance(x, Tensor) else Tensor(x)


def linear(x):
    """The identity (Keras's ``activation=None``)."""
    return x


def kernel_fused(activation):
    """"relu" when a layer's kernel (conv2d, conv1d, linear) can apply `activation` itself: the
    same values and gradients as applying it after, without storing the pre-activation. Else None."""
    return "relu" if activation is relu else None


def relu(x):
    """max(x, 0)."""
    return _tensor(x).relu()


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return _tensor(x).sigmoid()


def tanh(x):
    """Hyperbolic tangent."""
    return _tensor(x).tanh()


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``: probabilities that sum to 1 (F.softmax's C kernel;
    losses with ``from_logits=False`` find the logits behind it in the graph, as Keras does)."""
    return F.softmax(x, axis=axis)


def leaky_relu(x, negative_slope=0.2):
    """x for x >= 0, ``negative_slope * x`` below (Keras's default slope 0.2)."""
    return _tensor(x).leaky_relu(negative_slope)


def elu(x, alpha=1.0):
    """x for x > 0, ``alpha * (exp(x) - 1)`` below."""
    return _tensor(x).elu(alpha)


def gelu(x, approximate=False):
    """x * Phi(x) (exact erf form by default, as Keras; ``approximate=True``: the tanh form)."""
    return _tensor(x).gelu(approximate=approximate)


def softplus(x):
    """log(1 + exp(x))."""
    return _tensor(x).softplus()


_BY_NAME = {fn.__name__: fn for fn in
            (linear, relu, sigmoid, tanh, softmax, leaky_relu, elu, gelu, softplus)}


def get(identifier):
    """The activation for a name, a callable (returned as is) or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise unknown_name_error("activation", identifier, _BY_NAME)
        return _BY_NAME[identifier]
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret activation {identifier!r}: expected a name or a callable")


def serialize(activation):
    """The Keras name of a built-in activation; any other callable is returned as it is."""
    name = getattr(activation, "__name__", None)
    return name if _BY_NAME.get(name) is activation else activation
