"""Weight initializers with Keras's names, defaults and numbers.

An initializer is called with a shape (and optional dtype) and returns a NumPy array::

    >>> from tinygrad_ko.nn import initializers
    >>> initializers.get("he_normal")((3, 3, 1, 16)).shape
    (3, 3, 1, 16)

Without a ``seed`` every call draws from the package RNG that ``tg.manual_seed`` resets, so one
seed fixes a whole model's initial weights. With a ``seed`` the initializer returns the same values
on every call (as Keras does).

Fans follow Keras's ``_compute_fans``: a Dense kernel (in, out) has fan_in=in, fan_out=out; a
convolution kernel (*spatial, in, out) multiplies both by the receptive field size prod(spatial).
"""
import math

import numpy as np

from .._lookup import Configurable, get_object, serialize_object

# Keras divides the truncated-normal stddev by this constant, the stddev of a unit normal truncated
# to [-2, 2], so that the truncated draws end up with the requested variance.
TRUNCATION_STDDEV_CORRECTION = .87962566103423978


def _global_rng():
    from ..tensor import default_rng
    return default_rng()


def compute_fans(shape):
    """(fan_in, fan_out) of a weight shape, computed as Keras does."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _float_dtype(dtype):
    dtype = np.dtype("float32" if dtype is None else dtype)
    if dtype.kind != "f":
        raise ValueError(f"initializers produce floating-point weights; got dtype={dtype}")
    return dtype


class Initializer(Configurable):
    """Base class: ``init(shape, dtype=None) -> np.ndarray``; subclasses implement ``sample``."""

    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        if self.seed is None:
            return _global_rng()
        # Keras: a seeded initializer returns the same values on every call.
        return np.random.default_rng(self.seed)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype)
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise ValueError(f"{type(self).__name__}: negative dimension in shape {shape}")
        return np.asarray(self.sample(shape), dtype=np.float64).astype(dtype)

    def sample(self, shape):
        raise NotImplementedError

    def get_config(self):
        return {"seed": self.seed}


class Zeros(Initializer):
    """All zeros (Keras's default bias initializer)."""

    def __init__(self):
        super().__init__()

    def sample(self, shape):
        return np.zeros(shape)

    def get_config(self):
        return {}


class Ones(Zeros):
    """All ones."""

    def sample(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    """Every element equal to ``value``."""

    def __init__(self, value=0.0):
        super().__init__()
        self.value = float(value)

    def sample(self, shape):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


def _truncated_normal(rng, shape, mean, stddev):
    """Normal draws re-sampled until they lie within two standard deviations (as TF does)."""
    z = rng.standard_normal(shape)
    outside = np.abs(z) > 2.0
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2.0
    return mean + stddev * z


class RandomNormal(Initializer):
    """Normal(mean, stddev); Keras defaults mean=0.0, stddev=0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape):
        return self.mean + self.stddev * self._rng().standard_normal(shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal(mean, stddev) with draws beyond two stddevs re-sampled; Keras defaults 0.0, 0.05."""

    def sample(self, shape):
        return _truncated_normal(self._rng(), shape, self.mean, self.stddev)


class RandomUniform(Initializer):
    """Uniform on [minval, maxval); Keras defaults -0.05, 0.05."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape):
        return self._rng().uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: variance = scale / fan, fan chosen by ``mode``.

    distribution "truncated_normal": stddev sqrt(variance)/0.8796..., cut at two stddevs;
    "untruncated_normal": stddev sqrt(variance); "uniform": on [-limit, limit] with
    limit = sqrt(3 * variance).
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in self.MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {self.MODES}, got {mode!r}")
        if distribution == "normal":  # Keras's legacy spelling of truncated_normal
            distribution = "truncated_normal"
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of {self.DISTRIBUTIONS}, "
                             f"got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def sample(self, shape):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / TRUNCATION_STDDEV_CORRECTION
            return _truncated_normal(rng, shape, 0.0, stddev)
        if self.distribution == "untruncated_normal":
            return math.sqrt(variance) * rng.standard_normal(shape)
        limit = math.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, shape)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling preset whose config is just the seed (as in Keras)."""

    PRESET = {}

    def __init__(self, seed=None):
        super().__init__(seed=seed, **self.PRESET)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform on ±sqrt(6 / (fan_in + fan_out)); Keras's default kernel initializer."""
    PRESET = {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"}


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / 0.8796..."""
    PRESET = {"scale": 1.0, "mode": "fan_avg", "distribution": "truncated_normal"}


class HeNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(2 / fan_in) / 0.8796..."""
    PRESET = {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"}


class HeUniform(_FixedVarianceScaling):
    """Uniform on ±sqrt(6 / fan_in)."""
    PRESET = {"scale": 2.0, "mode": "fan_in", "distribution": "uniform"}


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal, stddev sqrt(1 / fan_in) / 0.8796..."""
    PRESET = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}


class LecunUniform(_FixedVarianceScaling):
    """Uniform on ±sqrt(3 / fan_in)."""
    PRESET = {"scale": 1.0, "mode": "fan_in", "distribution": "uniform"}


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "random_uniform": RandomUniform, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
}
_CLASS_NAMES = {cls.__name__: cls for cls in _BY_NAME.values()}


def serialize(initializer):
    """{"class_name": ..., "config": ...}, the form ``get`` reads back; a plain callable is
    returned as it is (it round-trips within the process only)."""
    return serialize_object(initializer, Initializer)


def get(identifier):
    """An Initializer from a name ("he_normal"), a class name, a serialized dict, an Initializer
    class, or a callable."""
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    return get_object("initializer", identifier, _BY_NAME, _CLASS_NAMES, "callable(shape, dtype)")


# Keras's lower-case aliases.
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_normal, he_uniform = HeNormal, HeUniform
lecun_normal, lecun_uniform, variance_scaling = LecunNormal, LecunUniform, VarianceScaling
