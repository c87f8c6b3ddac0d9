"""keras.datasets.fashion_mnist: `load_data(path=None)` -> (x_train, y_train), (x_test, y_test)."""
from ...datasets import fashion_mnist as _dataset

load_data = _dataset.load_data

__all__ = ["load_data"]
