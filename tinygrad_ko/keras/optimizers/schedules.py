"""keras.optimizers.schedules: the learning-rate schedules of tinygrad_ko.optim."""
from ...optim import CosineDecay, ExponentialDecay, LearningRateSchedule, PiecewiseConstantDecay

__all__ = ["CosineDecay", "ExponentialDecay", "LearningRateSchedule", "PiecewiseConstantDecay"]
