"""keras.optimizers: tinygrad_ko.optim (`keras.optimizers.Adam(learning_rate=1e-3)`)."""
from ...optim import SGD, Adam, AdamW, Optimizer, RMSprop, get
from . import schedules

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "get", "schedules"]
