"""keras.backend: clear_session (restarts automatic layer names) and the loss functions the study
notes call through it (`keras.backend.categorical_crossentropy(target, output)`)."""
from ..losses import binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy
from ..nn import reset_names as clear_session

__all__ = ["binary_crossentropy", "categorical_crossentropy", "clear_session",
           "sparse_categorical_crossentropy"]
