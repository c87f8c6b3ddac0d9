"""Initializers, regularizers and activations: Keras's numbers, names, configs and errors."""
import math

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko.nn import activations, initializers, regularizers
from tinygrad_ko.nn.initializers import TRUNCATION_STDDEV_CORRECTION, compute_fans

# ---- initializers ----


@pytest.mark.parametrize("shape, fans", [
    ((), (1, 1)), ((7,), (7, 7)), ((784, 300), (784, 300)),
    ((3, 3, 1, 32), (9, 288)), ((5, 4, 8), (20, 40)),
])
def test_fans_follow_keras(shape, fans):
    assert compute_fans(shape) == fans


def _big(name_or_init, shape=(400, 500)):
    tg.manual_seed(0)
    return initializers.get(name_or_init)(shape)


def test_glorot_uniform_limit_and_variance():
    w = _big("glorot_uniform")
    limit = math.sqrt(6 / (400 + 500))
    assert w.dtype == np.float32 and w.shape == (400, 500)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)


def test_he_uniform_limit():
    w = _big("he_uniform", (3, 3, 16, 64))
    limit = math.sqrt(6 / (3 * 3 * 16))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit


@pytest.mark.parametrize("name, variance_of", [
    ("glorot_normal", lambda fi, fo: 2 / (fi + fo)),
    ("he_normal", lambda fi, fo: 2 / fi),
    ("lecun_normal", lambda fi, fo: 1 / fi),
])
def test_truncated_normals_have_keras_stddev_and_cut(name, variance_of):
    w = _big(name).astype(np.float64)
    target = math.sqrt(variance_of(400, 500))
    raw_stddev = target / TRUNCATION_STDDEV_CORRECTION
    assert np.abs(w).max() <= 2 * raw_stddev * (1 + 1e-6)
    # The correction makes the truncated draws' stddev the target one.
    assert w.std() == pytest.approx(target, rel=0.02)
    assert abs(w.mean()) < 0.05 * target


def test_random_normal_uniform_truncated_defaults():
    assert _big("random_normal").std() == pytest.approx(0.05, rel=0.02)
    u = _big("random_uniform")
    assert u.min() >= -0.05 and u.max() < 0.05 and u.std() == pytest.approx(0.1 / math.sqrt(12),
                                                                               rel=0.02)
    t = _big("truncated_normal")
    assert np.abs(t).max() <= 0.1 + 1e-7
    custom = initializers.RandomNormal(mean=3.0, stddev=2.0)((300, 300))
    assert custom.mean() == pytest.approx(3.0, abs=0.05) and custom.std() == pytest.approx(2.0,
                                                                                          rel=0.02)


def test_constant_zeros_ones_and_dtype():
    assert np.all(initializers.get("zeros")((3, 2)) == 0)
    assert np.all(initializers.Ones()((4,), dtype="float64") == 1)
    assert initializers.Ones()((4,), dtype="float64").dtype == np.float64
    assert np.all(initializers.Constant(2.5)((2, 2)) == 2.5)
    with pytest.raises(ValueError, match="floating"):
        initializers.Zeros()((2,), dtype="int32")


def test_manual_seed_makes_initializers_reproducible():
    tg.manual_seed(123)
    a = initializers.GlorotUniform()((5, 7))
    b = initializers.GlorotUniform()((5, 7))
    tg.manual_seed(123)
    assert np.array_equal(initializers.GlorotUniform()((5, 7)), a)
    assert not np.array_equal(a, b)


def test_seeded_initializer_repeats_itself():
    init = initializers.HeNormal(seed=7)
    assert np.array_equal(init((3, 4)), init((3, 4)))
    assert np.array_equal(init((3, 4)), initializers.HeNormal(seed=7)((3, 4)))


@pytest.mark.parametrize("init", [
    initializers.GlorotUniform(seed=1), initializers.RandomNormal(0.5, 0.1, seed=2),
    initializers.RandomUniform(-1, 2), initializers.Constant(3.0), initializers.Zeros(),
    initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=3),
])
def test_initializer_config_round_trip(init):
    again = initializers.get(initializers.serialize(init))
    assert type(again) is type(init) and again.get_config() == init.get_config()
    if init.seed is not None:
        assert np.array_equal(again((4, 3)), init((4, 3)))


def test_initializer_lookup_and_errors():
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)
    assert isinstance(initializers.get(initializers.HeNormal), initializers.HeNormal)
    assert initializers.get(None) is None
    custom = lambda shape, dtype=None: np.full(shape, 0.5)  # noqa: E731
    assert initializers.get(custom) is custom
    with pytest.raises(ValueError, match="Did you mean 'glorot_uniform'.*Valid names:.*he_normal"):
        initializers.get("glorot_unifrom")
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_middle")
    with pytest.raises(TypeError):
        initializers.get(3.5)


# ---- regularizers ----


def test_regularizer_penalties_by_hand():
    w_np = np.array([[1.0, -2.0], [0.5, 3.0]])
    w = tg.Tensor(w_np)
    assert float(regularizers.l2(0.001)(w).item()) == pytest.approx(0.001 * (w_np ** 2).sum())
    assert float(regularizers.l1()(w).item()) == pytest.approx(0.01 * np.abs(w_np).sum())
    both = regularizers.l1_l2()(w).item()
    assert both == pytest.approx(0.01 * np.abs(w_np).sum() + 0.01 * (w_np ** 2).sum())
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.L2().l2 == 0.01


def test_l2_gradient_is_2_l2_w():
    w = tg.Tensor(np.array([1.0, -2.0, 0.25]), requires_grad=True)
    regularizers.l2(0.1)(w).backward()
    np.testing.assert_allclose(w.grad.numpy(), 0.2 * w.numpy())


def test_regularizer_lookup_config_and_errors():
    for reg in (regularizers.L1(0.3), regularizers.L2(0.002), regularizers.l1_l2(0.1, 0.2)):
        again = regularizers.get(regularizers.serialize(reg))
        assert type(again) is type(reg) and again.get_config() == reg.get_config()
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    assert regularizers.get(None) is None
    with pytest.raises(ValueError, match="Did you mean 'l2'"):
        regularizers.get("l22")
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.l2(-1.0)


# ---- activations ----

ACTIVATIONS = [
    ("relu", lambda x: np.maximum(x, 0)),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", np.tanh),
    ("linear", lambda x: x),
    ("softmax", lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ("leaky_relu", lambda x: np.where(x >= 0, x, 0.2 * x)),
    ("elu", lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    ("gelu", lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    ("softplus", lambda x: np.log1p(np.exp(x))),
]


@pytest.mark.parametrize("name, reference", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_forward_and_gradient(name, reference, rng):
    x = rng.normal(size=(3, 5))
    x[np.abs(x) < 1e-3] = 0.1  # keep finite differences away from kinks
    fn = activations.get(name)
    np.testing.assert_allclose(fn(tg.Tensor(x)).numpy(), reference(x), rtol=1e-6, atol=1e-12)
    assert tg.gradcheck(fn, [tg.Tensor(x, requires_grad=True)])


def test_activation_lookup_errors_and_serialize():
    with pytest.raises(ValueError, match="Did you mean 'softmax'.*Valid names:.*relu"):
        activations.get("sofmax")
    assert activations.get(None) is activations.linear
    assert activations.serialize(activations.relu) == "relu"
    custom = lambda x: x * 2  # noqa: E731
    assert activations.get(custom) is custom and activations.serialize(custom) is custom


def test_softmax_is_stable_for_extreme_logits():
    probs = activations.softmax(tg.Tensor(np.array([[1e4, 0.0, -1e4], [5.0, 5.0, 5.0]]))).numpy()
    np.testing.assert_allclose(probs, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
