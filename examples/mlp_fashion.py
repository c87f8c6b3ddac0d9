"""The study notes' Dense workflow on Fashion-MNIST (seeds 000 and 002), end to end.

    python examples/mlp_fashion.py [--epochs 5]

1. Seed 000: one Dense(10, softmax) layer on the 784 flattened pixels (a logistic regression written
   as a neural network), compiled with the default optimizer, validated on a held-out 20%.
2. Seed 002: the functional 784-300-100-10 MLP (Input -> Flatten -> Dense 300 -> Dense 100 -> Dense
   10), its summary (266,610 parameters), SGD, then the test set.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinygrad_ko import keras  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    np.random.seed(0)

    (train_input, train_target), (test_input, test_target) = \
        keras.datasets.fashion_mnist.load_data()
    print(train_input.shape, train_target.shape, test_input.shape, test_target.shape)
    print("labels:", np.unique(train_target, return_counts=True))

    # ---- seed 000: a single softmax layer ----
    train_scaled = (train_input / 255.0).reshape(-1, 28 * 28)
    print(train_scaled.shape)
    split = int(len(train_scaled) * 0.8)  # what train_test_split(test_size=0.2) holds out
    val_scaled, val_target = train_scaled[split:], train_target[split:]
    train_scaled, train_target_part = train_scaled[:split], train_target[:split]

    dense = keras.layers.Dense(10, activation="softmax", input_shape=(784,))
    model = keras.Sequential([dense])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train_scaled, train_target_part, epochs=args.epochs)
    model.evaluate(val_scaled, val_target)

    # ---- seed 002: the functional MLP ----
    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Flatten(input_shape=(28, 28, 1))(inputs)
    x = keras.layers.Dense(units=300, activation="relu")(x)
    x = keras.layers.Dense(units=100, activation="relu")(x)
    x = keras.layers.Dense(units=10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=x)
    model.summary()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.fit(train_input.reshape(-1, 28, 28, 1) / 255.0, train_target, epochs=args.epochs,
              validation_split=0.2)
    loss, accuracy = model.evaluate(test_input.reshape(-1, 28, 28, 1) / 255.0, test_target)
    print(f"test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
