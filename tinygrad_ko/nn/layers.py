"""Core layers with Keras's names, arguments and defaults: Dense, Flatten, Reshape, Dropout,
Activation, ReLU, Softmax. Convolution and pooling live in conv.py, BatchNormalization in
normalization.py.

    >>> import numpy as np
    >>> from tinygrad_ko import nn
    >>> dense = nn.Dense(10, activation="softmax", input_shape=(784,))
    >>> dense.count_params()
    7850
    >>> dense(np.zeros((2, 784))).shape
    (2, 10)
"""
import math

import numpy as np

from .. import functional as F
from . import activations as activations_module
from . import initializers as initializers_module
from . import regularizers as regularizers_module
from .module import Layer


def positive_int(value, what, layer_class):
    """``value`` as an int > 0, else ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer_class}: {what} must be a positive integer, got {value!r}")
    return int(value)


def serialize_or_none(module, value):
    return None if value is None else module.serialize(value)


def kernel_bias_options(layer, activation, use_bias, kernel_initializer, bias_initializer,
                        kernel_regularizer, bias_regularizer):
    """Resolve and store the activation / kernel / bias arguments Dense and the convolutions
    share (names, configs or callables -> objects; unknown names raise)."""
    layer.activation = activations_module.get(activation)
    layer.use_bias = bool(use_bias)
    layer.kernel_initializer = initializers_module.get(kernel_initializer)
    layer.bias_initializer = initializers_module.get(bias_initializer)
    layer.kernel_regularizer = regularizers_module.get(kernel_regularizer)
    layer.bias_regularizer = regularizers_module.get(bias_regularizer)


def add_kernel_bias(layer, kernel_shape):
    """layer.kernel of kernel_shape and layer.bias (one per output: kernel_shape[-1]) or None."""
    layer.kernel = layer.add_weight("kernel", kernel_shape, layer.kernel_initializer,
                                    layer.kernel_regularizer)
    layer.bias = (layer.add_weight("bias", kernel_shape[-1:], layer.bias_initializer,
                                   layer.bias_regularizer) if layer.use_bias else None)


def kernel_bias_config(layer):
    """The get_config entries of kernel_bias_options's arguments."""
    return {"activation": activations_module.serialize(layer.activation),
            "use_bias": layer.use_bias,
            "kernel_initializer": initializers_module.serialize(layer.kernel_initializer),
            "bias_initializer": initializers_module.serialize(layer.bias_initializer),
            "kernel_regularizer": serialize_or_none(regularizers_module, layer.kernel_regularizer),
            "bias_regularizer": serialize_or_none(regularizers_module, layer.bias_regularizer)}


def _constant(array, like):
    from ..tensor import Tensor
    return Tensor(np.asarray(array, dtype=like.dtype))


class Dense(Layer):
    """``activation(x @ kernel + bias)`` with kernel (in, units); N-D inputs act on the last axis.

    ``Dense(units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
    bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None)``, plus the Layer
    arguments (``input_shape=(784,)``, ``name``, ``dtype``, ``trainable``) and ``input_dim``.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 input_dim=None, **kwargs):
        if input_dim is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_dim,)
        self.units = positive_int(units, "units", "Dense")
        kernel_bias_options(self, activation, use_bias, kernel_initializer, bias_initializer,
                            kernel_regularizer, bias_regularizer)
        super().__init__(**kwargs)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible(input_shape, "min_ndim=2 (batch, ..., features)")
        if input_shape[-1] is None:
            raise ValueError(f"layer {self.name!r}: the last dimension of the inputs to Dense must "
                             f"be known; got input shape {input_shape}")
        add_kernel_bias(self, (input_shape[-1], self.units))

    def check_input_shape(self, input_shape):
        features = self.kernel.shape[0]
        if len(input_shape) < 2 or input_shape[-1] not in (None, features):
            raise self.incompatible(input_shape, f"axis -1 of the input shape to have value "
                                                 f"{features} (and ndim >= 2)")

    def call(self, inputs, training=False):
        fused = activations_module.kernel_fused(self.activation)
        outputs = F.linear(inputs, self.kernel, self.bias, activation=fused)
        return outputs if fused else self.activation(outputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, **kernel_bias_config(self)}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...); a 1-D input becomes (batch, 1)."""

    def __init__(self, data_format=None, **kwargs):
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten: only data_format='channels_last' is supported, "
                             f"got {data_format!r}")
        super().__init__(**kwargs)

    def call(self, inputs, training=False):
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))


class Reshape(Layer):
    """Reshape every sample to ``target_shape`` (batch dimension excluded; one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target_shape) > 1 or any(d == 0 or d < -1 for d in target_shape):
            raise ValueError(f"Reshape: target_shape must hold positive sizes and at most one -1, "
                             f"got {target_shape}")
        self.target_shape = target_shape
        super().__init__(**kwargs)

    def _resolve(self, input_shape):
        sample = input_shape[1:]
        if None in sample:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(sample), math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise self.incompatible(input_shape, f"a sample size divisible by {known} to "
                                                     f"reshape to {self.target_shape}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if size != known:
            raise self.incompatible(input_shape, f"{known} values per sample to reshape to "
                                                 f"{self.target_shape}")
        return self.target_shape

    def check_input_shape(self, input_shape):
        self._resolve(input_shape)

    def call(self, inputs, training=False):
        return inputs.reshape(inputs.shape[0], *self._resolve(tuple(inputs.shape)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale the rest
    by 1 / (1 - rate); at inference, the identity (so nothing needs rescaling at prediction time).

    ``noise_shape`` (None entries take the input's size) shares one mask along axes of size 1;
    ``seed`` gives the layer its own generator, else masks come from ``tg.manual_seed``'s RNG.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        super().__init__(**kwargs)

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise self.incompatible(shape, f"rank {len(self.noise_shape)} to match "
                                           f"noise_shape={self.noise_shape}")
        return tuple(s if n is None else int(n) for n, s in zip(self.noise_shape, shape))

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        if self._generator is not None:
            rng = self._generator
        else:
            from ..tensor import default_rng
            rng = default_rng()
        keep = rng.random(self._mask_shape(tuple(inputs.shape))) >= self.rate
        # keep times the scale rounded to the input dtype: the values of
        # (keep / (1 - rate)).astype(dtype) without the float64 pass
        scale = np.asarray(1.0 / (1.0 - self.rate), dtype=inputs.dtype)
        return inputs * _constant(keep * scale, inputs)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}


class Activation(Layer):
    """Applies an activation given by name ("relu", ...) or as a callable."""

    def __init__(self, activation, **kwargs):
        self.activation = activations_module.get(activation)
        super().__init__(**kwargs)

    def call(self, inputs, training=False):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(),
                "activation": activations_module.serialize(self.activation)}


class ReLU(Layer):
    """Keras's ReLU: ``max_value`` caps the output, below ``threshold`` it is
    ``negative_slope * (x - threshold)``; the defaults give max(x, 0)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value}")
        if negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0, got {negative_slope}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)
        super().__init__(**kwargs)

    def call(self, inputs, training=False):
        if self.max_value is None and self.negative_slope == 0.0 and self.threshold == 0.0:
            return inputs.relu()
        x = inputs.data
        # Piecewise-linear: constant masks select the piece, so the gradient is the piece's slope.
        above = _constant(x >= self.threshold, inputs)
        outputs = inputs * above + (inputs - self.threshold) * (1.0 - above) * self.negative_slope
        if self.max_value is not None:
            capped = _constant(x >= self.max_value, inputs)
            outputs = outputs * (1.0 - capped) + capped * self.max_value
        return outputs

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class Softmax(Layer):
    """Softmax along ``axis`` (default -1): turns logits into probabilities that sum to 1."""

    def __init__(self, axis=-1, **kwargs):
        self.axis = axis
        super().__init__(**kwargs)

    def call(self, inputs, training=False):
        return activations_module.softmax(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
