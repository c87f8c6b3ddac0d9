"""keras.activations: tinygrad_ko.nn.activations."""
from ..nn.activations import (elu, gelu, get, leaky_relu, linear, relu, serialize, sigmoid, softmax,
                              softplus, tanh)

__all__ = ["elu", "gelu", "get", "leaky_relu", "linear", "relu", "serialize", "sigmoid", "softmax",
           "softplus", "tanh"]
