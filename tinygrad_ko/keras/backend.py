"""keras.backend: clear_session (restarts automatic layer names) and the loss functions the study
notes call through it (`keras.backend.categorical_crossentropy(target, output)`; the backend's
binary_crossentropy keeps one loss per entry, unlike keras.losses.binary_crossentropy)."""
from ..losses import binary_crossentropy_per_entry as binary_crossentropy
from ..losses import categorical_crossentropy, sparse_categorical_crossentropy
from ..nn import reset_names as clear_session

__all__ = ["binary_crossentropy", "categorical_crossentropy", "clear_session",
           "sparse_categorical_crossentropy"]
