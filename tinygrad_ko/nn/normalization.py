"""BatchNormalization with Keras's arguments, defaults and update rule."""
import numpy as np

from . import initializers as initializers_module
from . import regularizers as regularizers_module
from .layers import serialize_or_none
from .module import Layer


class BatchNormalization(Layer):
    """Normalizes each feature along ``axis`` (default -1: the channels of NHWC images).

    Training (``training=True`` and the layer trainable): batch mean and (biased) variance over all
    other axes, ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``, gradients flow through the
    batch statistics, and the moving statistics are updated as Keras does:
    ``moving = moving * momentum + batch * (1 - momentum)``.
    Inference (or a frozen layer, as in Keras 2): the same formula with the moving statistics.
    Weights: gamma (if ``scale``), beta (if ``center``) trainable; moving_mean, moving_variance not.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, **kwargs):
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1], got {momentum}")
        if not epsilon > 0.0:
            raise ValueError(f"BatchNormalization: epsilon must be positive, got {epsilon}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers_module.get(beta_initializer)
        self.gamma_initializer = initializers_module.get(gamma_initializer)
        self.moving_mean_initializer = initializers_module.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers_module.get(moving_variance_initializer)
        self.beta_regularizer = regularizers_module.get(beta_regularizer)
        self.gamma_regularizer = regularizers_module.get(gamma_regularizer)
        super().__init__(**kwargs)

    def _feature_axes(self, ndim):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        normalized = sorted({a + ndim if a < 0 else a for a in axes})
        if any(not 0 <= a < ndim for a in normalized):
            raise ValueError(f"layer {self.name!r}: axis {self.axis} is out of range for inputs "
                             f"of rank {ndim}")
        return normalized

    def build(self, input_shape):
        self._axes = self._feature_axes(len(input_shape))
        param_shape = tuple(input_shape[a] for a in self._axes)
        if None in param_shape:
            raise ValueError(f"layer {self.name!r}: axis {self.axis} of input shape {input_shape} "
                             f"must have a known size")
        self.gamma = (self.add_weight("gamma", param_shape, self.gamma_initializer,
                                      self.gamma_regularizer) if self.scale else None)
        self.beta = (self.add_weight("beta", param_shape, self.beta_initializer,
                                     self.beta_regularizer) if self.center else None)
        self.moving_mean = self.add_weight("moving_mean", param_shape,
                                           self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", param_shape,
                                               self.moving_variance_initializer, trainable=False)

    def check_input_shape(self, input_shape):
        expected = self.build_input_shape
        if len(input_shape) != len(expected) or any(
                input_shape[a] not in (None, expected[a]) for a in self._axes):
            sizes = ", ".join(f"axis {a} = {expected[a]}" for a in self._axes)
            raise self.incompatible(input_shape, f"rank {len(expected)} with {sizes}")

    def call(self, inputs, training=False):
        ndim = len(inputs.shape)
        reduce_axes = tuple(a for a in range(ndim) if a not in self._axes)
        broadcast = tuple(inputs.shape[a] if a in self._axes else 1 for a in range(ndim))
        if training and self.trainable:
            mean = inputs.mean(axis=reduce_axes, keepdims=True)
            centered = inputs - mean
            variance = (centered * centered).mean(axis=reduce_axes, keepdims=True)
            self._update_moving(self.moving_mean, mean.data)
            self._update_moving(self.moving_variance, variance.data)
        else:
            centered = inputs - self.moving_mean.reshape(broadcast)
            variance = self.moving_variance.reshape(broadcast)
        outputs = centered / (variance + self.epsilon).sqrt()
        if self.gamma is not None:
            outputs = outputs * self.gamma.reshape(broadcast)
        if self.beta is not None:
            outputs = outputs + self.beta.reshape(broadcast)
        return outputs

    def _update_moving(self, moving, batch_statistic):
        batch_statistic = np.asarray(batch_statistic).reshape(moving.shape)
        moving.data[...] = moving.data * self.momentum + batch_statistic * (1.0 - self.momentum)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers_module.serialize(self.beta_initializer),
                "gamma_initializer": initializers_module.serialize(self.gamma_initializer),
                "moving_mean_initializer":
                    initializers_module.serialize(self.moving_mean_initializer),
                "moving_variance_initializer":
                    initializers_module.serialize(self.moving_variance_initializer),
                "beta_regularizer": serialize_or_none(regularizers_module, self.beta_regularizer),
                "gamma_regularizer": serialize_or_none(regularizers_module,
                                                       self.gamma_regularizer)}
