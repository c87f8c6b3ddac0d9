"""Losses: the seeds' and keras.io's numbers, hand-computed NumPy, PyTorch, float64 gradchecks,
logits recovered from sigmoid/softmax outputs, reductions, sample weights, bad input."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import losses
from tinygrad_ko.tensor import Tensor


def _softmax(x):
    e = (x - x.data.max(axis=-1, keepdims=True)).exp()
    return e / e.sum(axis=-1, keepdims=True)


def _np(t):
    return np.asarray(t.numpy() if isinstance(t, Tensor) else t, np.float64)


# ---- seed 001: the same number from probabilities and from logits ----


def test_seed_001_binary(backend):
    logits = Tensor(np.array([0.8], np.float32))
    probas = logits.sigmoid()
    bce_probas = losses.BinaryCrossentropy(from_logits=False)
    bce_logits = losses.BinaryCrossentropy(from_logits=True)
    assert f"{float(bce_probas(y_true=[1], y_pred=probas)):.4f}" == "0.3711"
    assert f"{float(bce_logits(y_true=[1], y_pred=logits)):.4f}" == "0.3711"


def test_seed_001_categorical_and_sparse(backend):
    logits = Tensor(np.array([[1.5, 0.8, 2.1]], np.float32))
    probas = _softmax(logits)
    for from_logits, y_pred in ((False, probas), (True, logits)):
        cce = losses.CategoricalCrossentropy(from_logits=from_logits)
        scce = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        assert f"{float(cce(y_true=[[0, 0, 1]], y_pred=y_pred)):.4f}" == "0.5996"
        assert f"{float(scce(y_true=[2], y_pred=y_pred)):.4f}" == "0.5996"


# ---- seed 004 and keras.io examples ----


def test_seed_004_categorical_crossentropy_renormalizes_and_clips(backend):
    a = np.eye(4, dtype=np.float32)
    b = np.array([.9, .04, .03, .03, .3, .45, .15, .13, .04, .01, .94, .05, .12, .21, .5, .17],
                 np.float32).reshape(4, 4)
    expected = -np.log(np.diag(b) / b.sum(axis=1))
    np.testing.assert_allclose(_np(losses.categorical_crossentropy(a, b)), expected, rtol=1e-5)
    np.testing.assert_allclose(_np(losses.categorical_crossentropy(a, a)), 0.0, atol=2e-7)
    b3 = np.array([[.9, .05, .05], [.05, .89, .06], [.05, .01, .94]], np.float32)
    np.testing.assert_allclose(_np(losses.categorical_crossentropy(np.eye(3), b3)),
                               [0.10536, 0.11653, 0.06188], atol=1e-5)


def test_seed_004_sigmoid_cross_entropy_with_logits(backend):
    logits = np.array([1., -1., 0., 1., -1., 0., 0.]).reshape(7, 1)
    labels = np.array([0., 0., 0., 1., 1., 1., 0.5]).reshape(7, 1)
    got = losses.binary_crossentropy(labels, logits, from_logits=True)
    np.testing.assert_allclose(_np(got), [1.3132617, 0.3132617, 0.6931472, 0.3132617, 1.3132617,
                                          0.6931472, 0.6931472], rtol=1e-6)


def test_seed_004_sparse_ignore_class(backend):
    y_true = [[[0, 2], [-1, -1]], [[0, 2], [-1, -1]]]
    y_pred = [[[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]],
              [[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]]]
    got = _np(losses.sparse_categorical_crossentropy(y_true, y_pred, ignore_class=-1))
    np.testing.assert_allclose(got, [[[0, 0], [0, 0]], [[0, 0.6931472], [0, 0]]], atol=1e-6)


TWO = ([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
# (loss factory for a reduction, y_true, y_pred, default, sample_weight, weighted, sum, none)
KERAS_EXAMPLES = {
    "BinaryCrossentropy": (lambda r: losses.BinaryCrossentropy(from_logits=True, reduction=r),
                           [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]], 0.865, [0.8, 0.2],
                           0.243, 1.730, [0.235, 1.496]),
    "CategoricalCrossentropy": (lambda r: losses.CategoricalCrossentropy(reduction=r), *TWO,
                                1.177, [0.3, 0.7], 0.814, 2.354, [0.0513, 2.303]),
    "SparseCategoricalCrossentropy": (lambda r: losses.SparseCategoricalCrossentropy(reduction=r),
                                      [1, 2], TWO[1], 1.177, [0.3, 0.7], 0.814, 2.354,
                                      [0.0513, 2.303]),
    "MeanSquaredError": (lambda r: losses.MeanSquaredError(reduction=r), [[0., 1.], [0., 0.]],
                         [[1., 1.], [1., 0.]], 0.5, [0.7, 0.3], 0.25, 1.0, [0.5, 0.5]),
    "MeanAbsoluteError": (lambda r: losses.MeanAbsoluteError(reduction=r), [[0., 1.], [0., 0.]],
                          [[1., 1.], [1., 0.]], 0.5, [0.7, 0.3], 0.25, 1.0, [0.5, 0.5]),
    "Huber": (lambda r: losses.Huber(reduction=r), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]],
              0.155, [1, 0], 0.09, 0.31, [0.18, 0.13]),
}


@pytest.mark.parametrize("name", sorted(KERAS_EXAMPLES))
def test_keras_documented_examples(backend, name):
    make, y_true, y_pred, default, weight, weighted, total, per_sample = KERAS_EXAMPLES[name]
    loss = make("sum_over_batch_size")
    np.testing.assert_allclose(float(loss(y_true, y_pred)), default, atol=1e-3)
    np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=weight)), weighted,
                               atol=1e-3)
    np.testing.assert_allclose(float(make("sum")(y_true, y_pred)), total, atol=1e-3)
    np.testing.assert_allclose(_np(make("none")(y_true, y_pred)), per_sample, atol=1e-3)


def test_binary_crossentropy_function_keras_example(backend):
    got = losses.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    np.testing.assert_allclose(_np(got), [0.916, 0.714], atol=1e-3)


def test_mse_mae_functions_match_numpy(rng):
    y_true = rng.integers(0, 2, (2, 3))
    y_pred = rng.random((2, 3))
    np.testing.assert_allclose(_np(losses.mse(y_true, y_pred)),
                               np.mean(np.square(y_true - y_pred), axis=-1), rtol=1e-6)
    np.testing.assert_allclose(_np(losses.mae(y_true, y_pred)),
                               np.mean(np.abs(y_true - y_pred), axis=-1), rtol=1e-6)


# ---- hand-computed NumPy and PyTorch ----


def test_label_smoothing_matches_numpy(backend, rng):
    logits = rng.standard_normal((5, 4))
    onehot = np.eye(4)[rng.integers(0, 4, 5)]
    smooth = onehot * 0.9 + 0.1 / 4
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    got = losses.categorical_crossentropy(onehot, logits, from_logits=True, label_smoothing=0.1)
    np.testing.assert_allclose(_np(got), -(smooth * log_p).sum(1), rtol=1e-10)
    z = rng.integers(0, 2, (5, 3)).astype(float)
    p = rng.random((5, 3)) * 0.8 + 0.1
    zs = z * 0.8 + 0.1
    got = losses.binary_crossentropy(z, p, label_smoothing=0.2)
    np.testing.assert_allclose(_np(got), -(zs * np.log(p) + (1 - zs) * np.log(1 - p)).mean(1),
                               rtol=1e-10)


def test_axis_argument_matches_moving_the_class_axis(rng):
    logits = rng.standard_normal((2, 4, 3))
    target = np.eye(4)[rng.integers(0, 4, (2, 3))].transpose(0, 2, 1)
    along_1 = losses.categorical_crossentropy(target, logits, from_logits=True, axis=1)
    last = losses.categorical_crossentropy(target.transpose(0, 2, 1), logits.transpose(0, 2, 1),
                                           from_logits=True)
    np.testing.assert_allclose(_np(along_1), _np(last), rtol=1e-12)
    labels = np.argmax(target, axis=1)
    sparse = losses.sparse_categorical_crossentropy(labels, logits, from_logits=True, axis=1)
    np.testing.assert_allclose(_np(sparse), _np(last), rtol=1e-12)


def test_against_torch(torch, rng):
    F = torch.nn.functional
    logits = rng.standard_normal((6, 5))
    labels = rng.integers(0, 5, 6)
    t = torch.tensor(logits)
    np.testing.assert_allclose(
        float(losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)),
        F.cross_entropy(t, torch.tensor(labels)).item(), rtol=1e-10)
    np.testing.assert_allclose(
        float(losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(
            np.eye(5)[labels], logits)),
        F.cross_entropy(t, torch.tensor(labels), label_smoothing=0.2).item(), rtol=1e-10)
    z = rng.integers(0, 2, (6, 5)).astype(float)
    np.testing.assert_allclose(float(losses.BinaryCrossentropy(from_logits=True)(z, logits)),
                               F.binary_cross_entropy_with_logits(t, torch.tensor(z)).item(),
                               rtol=1e-10)
    y = rng.standard_normal((6, 5))
    ty = torch.tensor(y)
    np.testing.assert_allclose(float(losses.Huber(delta=0.7)(y, logits)),
                               F.huber_loss(t, ty, delta=0.7).item(), rtol=1e-10)
    np.testing.assert_allclose(float(losses.MeanSquaredError()(y, logits)),
                               F.mse_loss(t, ty).item(), rtol=1e-10)
    np.testing.assert_allclose(float(losses.MeanAbsoluteError()(y, logits)),
                               F.l1_loss(t, ty).item(), rtol=1e-10)


# ---- gradients ----

GRADCHECKS = {
    "bce-logits": lambda x, z, p: losses.BinaryCrossentropy(from_logits=True)(z, x),
    "bce-probs": lambda x, z, p: losses.BinaryCrossentropy(label_smoothing=0.1)(z, p),
    "cce-logits": lambda x, z, p: losses.CategoricalCrossentropy(from_logits=True)(
        np.eye(4)[[0, 3, 1]], x),
    "cce-probs": lambda x, z, p: losses.CategoricalCrossentropy()(np.eye(4)[[0, 3, 1]], p),
    "scce-logits": lambda x, z, p: losses.SparseCategoricalCrossentropy(from_logits=True)(
        [0, 3, 1], x, sample_weight=[0.2, 1.0, 0.5]),
    "scce-probs": lambda x, z, p: losses.SparseCategoricalCrossentropy()([0, 3, 1], p),
    "mse": lambda x, z, p: losses.MeanSquaredError()(z, x),
    "mae": lambda x, z, p: losses.MeanAbsoluteError()(z, x + 0.05),
    "huber": lambda x, z, p: losses.Huber(delta=0.5)(z, x * 2),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name, rng):
    z = rng.integers(0, 2, (3, 4)).astype(float)
    p = rng.random((3, 4)) * 0.8 + 0.1
    x = rng.standard_normal((3, 4))
    fn = GRADCHECKS[name]
    assert tg.gradcheck(lambda x_, p_: fn(x_, z, p_), [x, p])


def test_sigmoid_output_uses_logits_stably(backend):
    x = Tensor(np.array([[100.0], [-3.0], [0.0]]), requires_grad=True)
    loss = losses.BinaryCrossentropy(reduction="sum")([[0.0], [1.0], [1.0]], x.sigmoid())
    # from the logits: 100 + log(1 + e^-100), not the clipped -log(1e-7) = 16.1
    np.testing.assert_allclose(float(loss), 100 + 3 + np.log1p(np.exp(-3)) + np.log(2), rtol=1e-12)
    loss.backward()
    sig = 1 / (1 + np.exp(-np.array([100.0, -3.0, 0.0])))
    np.testing.assert_allclose(x.grad.numpy().ravel(), sig - [0, 1, 1], rtol=1e-12)


def test_probabilities_are_clipped_not_infinite(backend):
    p = Tensor(np.array([[0.0, 1.0]]))   # plain constants: no logits to recover
    value = float(losses.BinaryCrossentropy()([[1.0, 0.0]], p))
    np.testing.assert_allclose(value, -np.log(1e-7), rtol=1e-6)


# ---- reductions, weights, masks ----


def test_reductions_and_weighted_mean(rng):
    y, p = rng.random((4, 3)), rng.random((4, 3))
    per_sample = ((p - y) ** 2).mean(1)
    w = np.array([1.0, 0.0, 2.0, 1.0])
    mse = losses.MeanSquaredError
    np.testing.assert_allclose(float(mse(reduction="sum")(y, p, sample_weight=w)),
                               (per_sample * w).sum())
    np.testing.assert_allclose(float(mse(reduction="mean_with_sample_weight")(y, p,
                                                                             sample_weight=w)),
                               (per_sample * w).sum() / w.sum())
    np.testing.assert_allclose(float(mse()(y, p, sample_weight=w)), (per_sample * w).sum() / 4)
    np.testing.assert_allclose(_np(mse(reduction=None)(y, p)), per_sample)
    with pytest.raises(ValueError, match="reduction"):
        mse(reduction="average")


def test_ignore_class_averages_over_the_counted_samples():
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)
    value = float(loss([0, 255, 2], logits))
    np.testing.assert_allclose(value, (-np.log(0.7) - np.log(0.4)) / 2, rtol=1e-6)


def test_ignore_class_with_mean_with_sample_weight():
    logits = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255,
                                                reduction="mean_with_sample_weight")
    value = float(loss([0, 255, 2], logits, sample_weight=[1.0, 5.0, 2.0]))
    np.testing.assert_allclose(value, (-np.log(0.7) - 2 * np.log(0.4)) / 3, rtol=1e-6)


def test_integer_and_column_labels(backend):
    scce = losses.SparseCategoricalCrossentropy()
    a = float(scce([1, 2], TWO[1]))
    b = float(scce([[1], [2]], TWO[1]))
    c = float(scce(np.array([1.0, 2.0]), TWO[1]))
    assert a == b == c


# ---- lookup and bad input ----


def test_get_by_name_and_typo():
    assert isinstance(losses.get("sparse_categorical_crossentropy"),
                      losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MeanAbsoluteError"), losses.MeanAbsoluteError)
    wrapped = losses.get(losses.huber)
    assert isinstance(wrapped, losses.LossFunctionWrapper) and wrapped.name == "huber"
    with pytest.raises(ValueError, match="Did you mean 'categorical_crossentropy'.*Valid names"):
        losses.get("categorical_crossentopy")


@pytest.mark.parametrize("call, match", [
    (lambda: losses.categorical_crossentropy([[0, 1]], [[0.2, 0.3, 0.5]]), "same shape"),
    (lambda: losses.sparse_categorical_crossentropy([3], [[0.2, 0.3, 0.5]]),
     r"labels must be in \[0, 3\), got \[3\]"),
    (lambda: losses.sparse_categorical_crossentropy([-1], [[0.2, 0.3, 0.5]]), "labels must be in"),
    (lambda: losses.sparse_categorical_crossentropy([0.5], [[0.2, 0.3, 0.5]]), "whole numbers"),
    (lambda: losses.sparse_categorical_crossentropy([0, 1], [[0.2, 0.3, 0.5]]),
     r"labels must have shape \(1,\)"),
    (lambda: losses.mean_squared_error([1.0, 2.0], [1.0, 2.0, 3.0]), "shapes differ"),
    (lambda: losses.binary_crossentropy([1.0], [0.5], label_smoothing=2.0), "label_smoothing"),
    (lambda: losses.categorical_crossentropy([[0, 1]], [[0.5, 0.5]], axis=True), "axis"),
    (lambda: losses.MeanSquaredError()([1.0, 2.0], [1.0, 2.0], sample_weight=[1.0, 2.0, 3.0]),
     "sample_weight"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_softmax_output_uses_logits_stably(backend):
    from tinygrad_ko import functional as F
    x = Tensor(np.array([[0.0, 100.0], [2.0, 1.0]]), requires_grad=True)
    probs = F.softmax(x)
    loss = losses.CategoricalCrossentropy(reduction="none")([[1.0, 0.0], [1.0, 0.0]], probs)
    # from the logits: log(1 + e^100) = 100 + log1p(e^-100), not the clipped -log(1e-7) = 16.1
    np.testing.assert_allclose(_np(loss), [100.0, np.log1p(np.exp(-1.0))], rtol=1e-12)
    sparse = losses.SparseCategoricalCrossentropy(reduction="sum")([0, 0], probs)
    np.testing.assert_allclose(float(sparse), 100.0 + np.log1p(np.exp(-1.0)), rtol=1e-12)
    sparse.backward()
    soft = np.exp(x.data - x.data.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), soft - np.eye(2)[[0, 0]], rtol=1e-12, atol=1e-15)
    seed = F.softmax(Tensor(np.array([[1.5, 0.8, 2.1]], np.float32)))
    assert f"{float(losses.CategoricalCrossentropy()([[0, 0, 1]], seed)):.4f}" == "0.5996"
