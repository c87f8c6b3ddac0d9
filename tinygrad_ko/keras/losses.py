"""keras.losses: tinygrad_ko.losses (classes, per-sample functions and their short names)."""
from ..losses import (MAE, MSE, BinaryCrossentropy, CategoricalCrossentropy, Huber, Loss,
                      MeanAbsoluteError, MeanSquaredError, Reduction, SparseCategoricalCrossentropy,
                      binary_crossentropy, categorical_crossentropy, get, huber, mae,
                      mean_absolute_error, mean_squared_error, mse, sparse_categorical_crossentropy)

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Huber", "Loss", "MAE", "MSE",
           "MeanAbsoluteError", "MeanSquaredError", "Reduction", "SparseCategoricalCrossentropy",
           "binary_crossentropy", "categorical_crossentropy", "get", "huber", "mae",
           "mean_absolute_error", "mean_squared_error", "mse", "sparse_categorical_crossentropy"]
