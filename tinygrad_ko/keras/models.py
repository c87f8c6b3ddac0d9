"""keras.models: Sequential, Model and load_model."""
from ..model import Model, Sequential, load_model

__all__ = ["Model", "Sequential", "load_model"]
