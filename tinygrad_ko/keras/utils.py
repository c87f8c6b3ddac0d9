"""keras.utils: to_categorical (one-hot labels, seed 004's contract)."""
from ..datasets import to_categorical

__all__ = ["to_categorical"]
