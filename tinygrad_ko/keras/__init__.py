"""tinygrad_ko.keras: tf.keras's names over tinygrad_ko's one implementation (a facade, no logic).

Code from the study notes runs with one changed import:

    from tinygrad_ko import keras          # was: from tensorflow import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                              keras.layers.Dense(100, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train / 255.0, y_train, epochs=5, validation_split=0.2)
"""
from . import (activations, backend, callbacks, datasets, initializers, layers, losses, metrics,
               models, optimizers, regularizers, utils)
from ..model import Model, Sequential
from ..nn import Input
from ..tensor import variable as Variable

__all__ = ["Input", "Model", "Sequential", "Variable", "activations", "backend", "callbacks",
           "datasets", "initializers", "layers", "losses", "metrics", "models", "optimizers",
           "regularizers", "utils"]
