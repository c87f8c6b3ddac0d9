"""keras.callbacks: tinygrad_ko.callbacks."""
from ..callbacks import (CSVLogger, Callback, EarlyStopping, History, LambdaCallback,
                         LearningRateScheduler, ModelCheckpoint, ProgbarLogger, ReduceLROnPlateau,
                         TerminateOnNaN)

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau",
           "TerminateOnNaN"]
