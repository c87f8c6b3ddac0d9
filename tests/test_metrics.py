"""Metrics: Keras' documented examples (keras.io / seed 004), hand-computed NumPy, accumulation over
batches, sample weights, "accuracy" resolution, lookup and bad input."""
import numpy as np
import pytest

from tinygrad_ko import metrics
from tinygrad_ko.tensor import Tensor

ONE_HOT = [[0, 0, 1], [0, 1, 0]]
SCORES = [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]

# (metric factory, y_true, y_pred, result, sample_weight, weighted result) — keras.io examples
KERAS_EXAMPLES = {
    "Accuracy": (metrics.Accuracy, [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75,
                 [1, 1, 0, 0], 0.5),
    "BinaryAccuracy": (metrics.BinaryAccuracy, [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]],
                       0.75, [1, 0, 0, 1], 0.5),
    "CategoricalAccuracy": (metrics.CategoricalAccuracy, ONE_HOT, SCORES, 0.5, [0.7, 0.3], 0.3),
    "SparseCategoricalAccuracy": (metrics.SparseCategoricalAccuracy, [[2], [1]], SCORES, 0.5,
                                  [0.7, 0.3], 0.3),
    "TopKCategoricalAccuracy": (lambda: metrics.TopKCategoricalAccuracy(k=1), ONE_HOT, SCORES,
                                0.5, [0.7, 0.3], 0.3),
    "SparseTopKCategoricalAccuracy": (lambda: metrics.SparseTopKCategoricalAccuracy(k=1), [2, 1],
                                      SCORES, 0.5, [0.7, 0.3], 0.3),
    "MeanSquaredError": (metrics.MeanSquaredError, [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25,
                         [1, 0], 0.5),
    "MeanAbsoluteError": (metrics.MeanAbsoluteError, [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25,
                          [1, 0], 0.5),
    "CategoricalCrossentropy": (metrics.CategoricalCrossentropy, [[0, 1, 0], [0, 0, 1]],
                                [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], 1.1769392, [0.3, 0.7],
                                1.6271976),
    "SparseCategoricalCrossentropy": (metrics.SparseCategoricalCrossentropy, [1, 2],
                                      [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], 1.1769392, [0.3, 0.7],
                                      1.6271976),
    "BinaryCrossentropy": (metrics.BinaryCrossentropy, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]],
                           0.81492424, [1, 0], 0.9162905),
}


@pytest.mark.parametrize("name", sorted(KERAS_EXAMPLES))
def test_keras_documented_examples(backend, name):
    make, y_true, y_pred, expected, weight, weighted = KERAS_EXAMPLES[name]
    m = make()
    m.update_state(y_true, y_pred)
    np.testing.assert_allclose(m.result().numpy(), expected, rtol=1e-5)
    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(m.result().numpy(), weighted, rtol=1e-5)


def test_mean_keras_example_and_empty_result():
    m = metrics.Mean()
    assert float(m.result()) == 0.0
    m.update_state([1, 3, 5, 7])
    assert float(m.result()) == 4.0
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == 2.0


def test_accumulates_over_batches_like_one_big_batch(rng):
    y = rng.integers(0, 5, 100)
    p = rng.random((100, 5))
    w = rng.random(100)
    whole = metrics.SparseCategoricalAccuracy()
    whole.update_state(y, p, sample_weight=w)
    batched = metrics.SparseCategoricalAccuracy()
    for i in range(0, 100, 32):
        batched.update_state(y[i:i + 32], p[i:i + 32], sample_weight=w[i:i + 32])
    expected = np.sum(w * (np.argmax(p, 1) == y)) / np.sum(w)
    np.testing.assert_allclose(float(batched.result()), expected, rtol=1e-6)
    np.testing.assert_allclose(float(whole.result()), expected, rtol=1e-6)


def test_accepts_tensors_and_calling_updates(rng):
    m = metrics.CategoricalAccuracy()
    logits = Tensor(rng.standard_normal((8, 4)), requires_grad=True)
    labels = np.eye(4)[rng.integers(0, 4, 8)]
    value = m(Tensor(labels), logits)
    expected = np.mean(np.argmax(labels, 1) == np.argmax(logits.data, 1))
    np.testing.assert_allclose(float(value), expected)
    assert m.result().requires_grad is False


def test_top_k_counts_ties_as_inside():
    m = metrics.SparseTopKCategoricalAccuracy(k=1)
    m.update_state([0, 1], [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    assert float(m.result()) == 0.5


def test_top_k_default_k_is_5():
    m = metrics.TopKCategoricalAccuracy()
    assert m.get_config()["k"] == 5
    m.update_state(ONE_HOT, SCORES)
    assert float(m.result()) == 1.0


def test_binary_accuracy_threshold():
    m = metrics.BinaryAccuracy(threshold=0.7)
    m.update_state([1, 1, 0, 0], [0.8, 0.6, 0.1, 0.75])
    assert float(m.result()) == 0.5


@pytest.mark.parametrize("loss, y_true, y_pred, expected", [
    ("binary_crossentropy", (32, 1), (32, 1), metrics.BinaryAccuracy),
    ("mse", (32, 1), (32, 1), metrics.BinaryAccuracy),
    ("binary_crossentropy", (32, 5), (32, 5), metrics.BinaryAccuracy),
    ("sparse_categorical_crossentropy", (32,), (32, 10), metrics.SparseCategoricalAccuracy),
    ("sparse_categorical_crossentropy", (32, 1), (32, 10), metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", (32, 10), (32, 10), metrics.CategoricalAccuracy),
    (None, (32,), (32, 10), metrics.SparseCategoricalAccuracy),
])
def test_accuracy_resolution_follows_keras(loss, y_true, y_pred, expected):
    m = metrics.resolve_accuracy(loss, y_true, y_pred)
    assert type(m) is expected and m.name == "accuracy"
    assert type(metrics.get_metric("acc", y_true, y_pred, loss)) is expected


def test_accuracy_resolution_reads_loss_objects():
    from tinygrad_ko import losses
    m = metrics.resolve_accuracy(losses.BinaryCrossentropy(), (8, 3), (8, 3))
    assert type(m) is metrics.BinaryAccuracy
    m = metrics.resolve_accuracy(losses.sparse_categorical_crossentropy, (8, 3), (8, 3, 4))
    assert type(m) is metrics.SparseCategoricalAccuracy


def test_get_by_name_function_and_typo():
    m = metrics.get("mse")
    assert isinstance(m, metrics.MeanSquaredError) and m.name == "mse"
    assert isinstance(metrics.get("sparse_categorical_accuracy"), metrics.SparseCategoricalAccuracy)
    custom = metrics.get(lambda y_true, y_pred: np.abs(np.asarray(y_true) - np.asarray(y_pred)))
    custom.update_state([1.0, 2.0], [1.5, 2.0])
    assert float(custom.result()) == 0.25
    with pytest.raises(ValueError, match="Did you mean 'categorical_accuracy'.*Valid names"):
        metrics.get("categorical_acuracy")


def test_config_round_trip():
    m = metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    clone = metrics.CategoricalCrossentropy.from_config(m.get_config())
    assert clone.get_config() == m.get_config()


def test_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        metrics.CategoricalAccuracy().update_state([[0, 1]], [[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match="labels must lie in"):
        metrics.SparseTopKCategoricalAccuracy(k=1).update_state([3], [[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match="sample_weight"):
        metrics.Mean().update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 2.0])
