"""keras.layers: the layers of tinygrad_ko.nn under Keras's names."""
from ..nn import (Activation, AveragePooling2D, AvgPool2D, BatchNormalization, Conv1D, Conv2D,
                  Convolution1D, Convolution2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,
                  GlobalAvgPool2D, Input, InputLayer, Layer, MaxPool2D, MaxPooling2D, ReLU, Reshape,
                  Softmax)

__all__ = ["Activation", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Conv1D", "Conv2D",
           "Convolution1D", "Convolution2D", "Dense", "Dropout", "Flatten",
           "GlobalAveragePooling2D", "GlobalAvgPool2D", "Input", "InputLayer", "Layer", "MaxPool2D",
           "MaxPooling2D", "ReLU", "Reshape", "Softmax"]
