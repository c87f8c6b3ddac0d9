"""Convolution and pooling layers (channels_last: images NHWC, sequences NLC; kernels HWIO / LIO),
with Keras's arguments, defaults and output-shape rules. The arithmetic is F.conv2d / F.conv1d /
F.max_pool2d / F.avg_pool2d / F.global_avg_pool2d (our C kernels).

    >>> from tinygrad_ko import nn
    >>> conv = nn.Conv2D(32, 3, padding="same", activation="relu", input_shape=(28, 28, 1))
    >>> conv.kernel.shape, conv.compute_output_shape((None, 28, 28, 1))
    ((3, 3, 1, 32), (None, 28, 28, 32))
"""
from .. import functional as F
from . import activations
from .layers import add_kernel_bias, kernel_bias_config, kernel_bias_options, positive_int
from .module import Layer


def int_tuple(value, n, what, layer_class):
    """An int or n ints -> a tuple of n positive ints (ValueError naming the argument)."""
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) != n:
        raise ValueError(f"{layer_class}: {what} must be an int or {n} ints, got {value!r}")
    return tuple(positive_int(v, what, layer_class) for v in values)


def padding_mode(padding, layer_class, allowed=("valid", "same")):
    mode = str(padding).lower()
    if mode not in allowed:
        raise ValueError(f"{layer_class}: padding must be one of {allowed}, got {padding!r}")
    return mode


def channels_last(data_format, layer_class):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer_class}: only data_format='channels_last' (NHWC) is supported, "
                         f"got {data_format!r}")


def conv_output_length(length, window, padding, stride, dilation=1):
    """Keras's rule: "same" -> ceil(length / stride); "valid" -> only windows that fit entirely;
    "causal" (Conv1D) keeps the length like "same" with stride 1."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    extent = dilation * (window - 1) + 1
    return max(length - extent, -1) // stride + 1


class _Conv(Layer):
    """Shared by Conv1D and Conv2D: arguments, weights, shape checks and config."""

    RANK = None
    PADDINGS = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, **kwargs):
        cls = type(self).__name__
        self.filters = positive_int(filters, "filters", cls)
        self.kernel_size = int_tuple(kernel_size, self.RANK, "kernel_size", cls)
        self.strides = int_tuple(strides, self.RANK, "strides", cls)
        self.dilation_rate = int_tuple(dilation_rate, self.RANK, "dilation_rate", cls)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{cls}: strides > 1 together with dilation_rate > 1 is not "
                             f"supported (as in Keras); got strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}")
        self.padding = padding_mode(padding, cls, self.PADDINGS)
        channels_last(data_format, cls)
        kernel_bias_options(self, activation, use_bias, kernel_initializer, bias_initializer,
                            kernel_regularizer, bias_regularizer)
        super().__init__(**kwargs)

    def build(self, input_shape):
        if len(input_shape) != self.RANK + 2:
            raise self.incompatible(input_shape, f"ndim={self.RANK + 2} (batch, "
                                                 f"{'spatial, ' * self.RANK}channels)")
        if input_shape[-1] is None:
            raise ValueError(f"layer {self.name!r}: the channel dimension of the inputs must be "
                             f"known; got input shape {input_shape}")
        add_kernel_bias(self, self.kernel_size + (input_shape[-1], self.filters))

    def check_input_shape(self, input_shape):
        channels = self.kernel.shape[-2]
        if len(input_shape) != self.RANK + 2 or input_shape[-1] not in (None, channels):
            raise self.incompatible(input_shape, f"ndim={self.RANK + 2} with axis -1 of the "
                                                 f"input shape having value {channels}")
        self._spatial_output(input_shape)

    def _spatial_output(self, input_shape):
        sizes = tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        if any(n is not None and n <= 0 for n in sizes):
            raise self.incompatible(input_shape, f"spatial dimensions large enough for a "
                                                 f"{self.kernel_size} kernel with dilation "
                                                 f"{self.dilation_rate} and padding "
                                                 f"{self.padding!r} (the output would be {sizes})")
        return sizes

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_output(input_shape) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "dilation_rate": self.dilation_rate,
                **kernel_bias_config(self)}


class Conv2D(_Conv):
    """2-D convolution (cross-correlation) over NHWC images with an HWIO kernel.

    ``Conv2D(filters, kernel_size, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
    activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
    kernel_regularizer=None, bias_regularizer=None)``; kernel shape (kh, kw, C_in, filters).
    """

    RANK = 2

    def call(self, inputs, training=False):
        fused = activations.kernel_fused(self.activation)
        outputs = F.conv2d(inputs, self.kernel, self.bias, stride=self.strides,
                           padding=self.padding, dilation=self.dilation_rate, activation=fused)
        return outputs if fused else self.activation(outputs)


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels) with a (k, C_in, filters) kernel; padding
    "valid", "same" or "causal" (left padding only, so output t sees inputs up to t)."""

    RANK = 1
    PADDINGS = ("valid", "same", "causal")

    def call(self, inputs, training=False):
        fused = activations.kernel_fused(self.activation)
        outputs = F.conv1d(inputs, self.kernel, self.bias, stride=self.strides[0],
                           padding=self.padding, dilation=self.dilation_rate[0], activation=fused)
        return outputs if fused else self.activation(outputs)


class _Pooling2D(Layer):
    """Shared by MaxPooling2D and AveragePooling2D."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        cls = type(self).__name__
        self.pool_size = int_tuple(pool_size, 2, "pool_size", cls)
        self.strides = self.pool_size if strides is None else int_tuple(strides, 2, "strides", cls)
        self.padding = padding_mode(padding, cls)
        channels_last(data_format, cls)
        super().__init__(**kwargs)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, "ndim=4 (batch, height, width, channels)")
        self._spatial_output(input_shape)

    def _spatial_output(self, input_shape):
        sizes = tuple(conv_output_length(n, k, self.padding, s)
                      for n, k, s in zip(input_shape[1:3], self.pool_size, self.strides))
        if any(n is not None and n <= 0 for n in sizes):
            raise self.incompatible(input_shape, f"height and width of at least {self.pool_size} "
                                                 f"for pool_size={self.pool_size} with "
                                                 f"padding='valid'")
        return sizes

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_output(input_shape) + (input_shape[3],)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """Maximum over each ``pool_size`` window (default 2x2; strides default to the pool size)."""

    def call(self, inputs, training=False):
        return F.max_pool2d(inputs, pool_size=self.pool_size, strides=self.strides,
                            padding=self.padding)


class AveragePooling2D(_Pooling2D):
    """Mean over each ``pool_size`` window (default 2x2; strides default to the pool size)."""

    def call(self, inputs, training=False):
        return F.avg_pool2d(inputs, pool_size=self.pool_size, strides=self.strides,
                            padding=self.padding)


class GlobalAveragePooling2D(Layer):
    """(batch, H, W, C) -> (batch, C), the mean over height and width (``keepdims`` keeps 1x1)."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        channels_last(data_format, "GlobalAveragePooling2D")
        self.keepdims = bool(keepdims)
        super().__init__(**kwargs)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, "ndim=4 (batch, height, width, channels)")

    def call(self, inputs, training=False):
        outputs = F.global_avg_pool2d(inputs)
        if self.keepdims:
            outputs = outputs.reshape(outputs.shape[0], 1, 1, outputs.shape[-1])
        return outputs

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0], 1, 1, input_shape[3])
        return (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}

