"""keras.utils: to_categorical (one-hot labels, seed 004's contract) and plot_model."""
from ..datasets import to_categorical
from ..model import model_to_dot, plot_model

__all__ = ["model_to_dot", "plot_model", "to_categorical"]
