"""keras.initializers: tinygrad_ko.nn.initializers."""
from ..nn.initializers import (Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
                               Initializer, LecunNormal, LecunUniform, Ones, RandomNormal,
                               RandomUniform, TruncatedNormal, VarianceScaling, Zeros, get,
                               serialize)

__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Initializer",
           "LecunNormal", "LecunUniform", "Ones", "RandomNormal", "RandomUniform",
           "TruncatedNormal", "VarianceScaling", "Zeros", "get", "serialize"]
