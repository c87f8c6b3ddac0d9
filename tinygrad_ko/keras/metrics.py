"""keras.metrics: tinygrad_ko.metrics (stateful metrics and their per-sample functions)."""
from ..losses import (MAE, MSE, binary_crossentropy, categorical_crossentropy, mae,
                      mean_absolute_error, mean_squared_error, mse,
                      sparse_categorical_crossentropy)
from ..metrics import (Accuracy, BinaryAccuracy, BinaryCrossentropy, CategoricalAccuracy,
                       CategoricalCrossentropy, Mean, MeanAbsoluteError, MeanMetricWrapper,
                       MeanSquaredError, Metric, SparseCategoricalAccuracy,
                       SparseCategoricalCrossentropy, SparseTopKCategoricalAccuracy,
                       TopKCategoricalAccuracy, accuracy, binary_accuracy, categorical_accuracy,
                       get, sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
                       top_k_categorical_accuracy)

__all__ = ["Accuracy", "BinaryAccuracy", "MAE", "MSE", "BinaryCrossentropy", "CategoricalAccuracy",
           "CategoricalCrossentropy", "Mean", "MeanAbsoluteError", "MeanMetricWrapper",
           "MeanSquaredError", "Metric", "SparseCategoricalAccuracy",
           "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy",
           "TopKCategoricalAccuracy", "accuracy", "binary_accuracy", "binary_crossentropy",
           "categorical_accuracy", "categorical_crossentropy", "get", "mae", "mean_absolute_error",
           "mean_squared_error", "mse", "sparse_categorical_accuracy",
           "sparse_categorical_crossentropy", "sparse_top_k_categorical_accuracy",
           "top_k_categorical_accuracy"]
