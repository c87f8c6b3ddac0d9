"""keras.regularizers: tinygrad_ko.nn.regularizers (`kernel_regularizer=l2(0.001)`)."""
from ..nn.regularizers import L1, L1L2, L2, Regularizer, get, l1, l1_l2, l2, serialize

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]
