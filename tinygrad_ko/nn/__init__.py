"""tinygrad_ko.nn: Keras-style layers, activations, initializers and regularizers.

    >>> from tinygrad_ko import nn
    >>> layer = nn.Dense(300, activation="relu", input_shape=(784,))
    >>> layer.count_params()
    235500

The Layer contract (lazy build, weights and their names, training mode, config) is documented in
tinygrad_ko/nn/module.py; the keras facade re-exports these classes under Keras's names.
"""
from . import activations, initializers, regularizers
from ._naming import reset_names
from .conv import AveragePooling2D, Conv1D, Conv2D, GlobalAveragePooling2D, MaxPooling2D
from .layers import Activation, Dense, Dropout, Flatten, ReLU, Reshape, Softmax
from .module import FLOATX, Input, InputLayer, Layer, SymbolicTensor, in_train_mode, train_mode
from .normalization import BatchNormalization

# Keras's alternative spellings.
Convolution2D, Convolution1D = Conv2D, Conv1D
MaxPool2D, AvgPool2D, GlobalAvgPool2D = MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D

__all__ = ["Activation", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Conv1D", "Conv2D",
           "Convolution1D", "Convolution2D", "Dense", "Dropout", "FLOATX", "Flatten",
           "GlobalAvgPool2D", "GlobalAveragePooling2D", "Input", "InputLayer", "Layer", "MaxPool2D",
           "MaxPooling2D", "ReLU", "Reshape", "Softmax", "SymbolicTensor", "activations",
           "in_train_mode", "initializers", "regularizers", "reset_names", "train_mode"]
