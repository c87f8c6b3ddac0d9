"""Fused softmax cross-entropy and binary cross-entropy: C vs NumPy reference, the study notes'
Keras/TensorFlow numbers, torch as oracle, gradients (kernel and create_graph paths), bad input."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import functional as F
from tinygrad_ko._backend import c_available, kernels, ref

needs_c = pytest.mark.skipif(not c_available(), reason="C backend not built")


@needs_c
@pytest.mark.kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_matches_reference_every_simd_level_and_thread_count(dtype, rng):
    from tinygrad_ko._backend import c
    best, before = c.select_simd(99), tg.get_num_threads()
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    try:
        for level in range(best + 1):
            c.select_simd(level)
            for threads in (1, 2):
                tg.set_num_threads(threads)
                for rows, cols in [(1, 1), (3, 7), (5, 16), (4, 33), (2, 1000), (300, 130),
                                   (2, 40000)]:
                    x = (rng.standard_normal((rows, cols)) * 3).astype(dtype)
                    labels = rng.integers(0, cols, rows)
                    target = rng.random((rows, cols)).astype(dtype)
                    scale = rng.random(rows).astype(dtype)
                    for smoothing in (0.0, 0.2):
                        for name, tgt in (("xent_sparse", labels), ("xent_dense", target)):
                            loss, dlogits = getattr(c, name)(x, tgt, scale, smoothing)
                            loss_ref, dlogits_ref = getattr(ref, name)(x, tgt, scale, smoothing)
                            assert loss.dtype == dlogits.dtype == dtype
                            # float32 sums over long rows round differently in C and NumPy
                            wide = dict(tol, atol=tol["atol"] * max(1, cols / 1000))
                            np.testing.assert_allclose(loss, loss_ref, **wide)
                            np.testing.assert_allclose(dlogits, dlogits_ref, **wide)
    finally:
        c.select_simd(best)
        tg.set_num_threads(before)


def test_study_notes_keras_numbers(backend):
    # seed 001: BinaryCrossentropy / CategoricalCrossentropy / SparseCategoricalCrossentropy print
    # 0.3711, 0.5996, 0.5996 from both probabilities and logits.
    logits = tg.Tensor([0.8])
    assert F.binary_cross_entropy(logits.sigmoid(), [1.0], from_logits=False).item() == \
        pytest.approx(0.3711, abs=5e-5)
    assert F.binary_cross_entropy(logits, [1.0]).item() == pytest.approx(0.3711, abs=5e-5)
    logits = tg.Tensor([[1.5, 0.8, 2.1]])
    probs = F.softmax(logits)
    for pred, from_logits in ((probs, False), (probs.detach(), False), (logits, True)):
        assert F.cross_entropy(pred, [[0, 0, 1]], from_logits=from_logits).item() == \
            pytest.approx(0.5996, abs=5e-5)
        assert F.cross_entropy(pred, [2], from_logits=from_logits).item() == \
            pytest.approx(0.5996, abs=5e-5)


def test_keras_reductions_and_clipping(backend):
    # Keras docs for CategoricalCrossentropy on these inputs: 1.177, weighted 0.814, sum 2.354,
    # none [0.0513, 2.303] (the 0 probability is clipped to 1e-7, not log(0)).
    y_true, y_pred = [[0, 1, 0], [0, 0, 1]], tg.Tensor([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])

    def cce(**kwargs):
        return F.cross_entropy(y_pred, y_true, from_logits=False, **kwargs).numpy()

    assert cce() == pytest.approx(1.177, abs=1e-3)
    assert cce(sample_weight=[0.3, 0.7]) == pytest.approx(0.814, abs=1e-3)
    assert cce(reduction="sum") == pytest.approx(2.354, abs=1e-3)
    assert cce(reduction="sum_over_batch_size") == pytest.approx(1.177, abs=1e-3)
    np.testing.assert_allclose(cce(reduction="none"), [0.0513, 2.303], atol=1e-3)


def test_seed_004_tensorflow_examples(backend):
    # tf.nn.sigmoid_cross_entropy_with_logits(labels, logits), from the TensorFlow docs in the notes
    got = F.binary_cross_entropy([1., -1., 0., 1., -1., 0., 0.], [0., 0., 0., 1., 1., 1., 0.5],
                                 reduction="none", axis=None).numpy()
    np.testing.assert_allclose(got, [1.3132617, 0.3132617, 0.6931472, 0.3132617, 1.3132617,
                                     0.6931472, 0.6931472], rtol=1e-6)
    # sigmoid(x) = softmax([x, 0])[0]: sparse, soft multiclass and sigmoid forms agree
    expected = [0.31326166, 1.3132616, 0.6931472]
    sigmoid_logits = np.array([1., -1., 0.], np.float32)
    softmax_logits = np.stack([sigmoid_logits, np.zeros(3, np.float32)], axis=-1)
    soft_binary = np.array([1., 1., 0.], np.float32)
    np.testing.assert_allclose(F.cross_entropy(softmax_logits, [0, 0, 1], reduction="none").numpy(),
                               expected, rtol=1e-6)
    soft_multiclass = np.stack([soft_binary, 1 - soft_binary], axis=-1)
    np.testing.assert_allclose(
        F.cross_entropy(softmax_logits, soft_multiclass, reduction="none").numpy(), expected,
        rtol=1e-6)
    binary = F.binary_cross_entropy(sigmoid_logits, soft_binary, axis=None, reduction="none")
    np.testing.assert_allclose(binary.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_torch_oracle(backend, torch, smoothing, rng):
    logits = (rng.standard_normal((7, 5)) * 3).astype(np.float32)
    labels = rng.integers(0, 5, 7)
    labels[2] = 3
    class_weight = rng.random(5).astype(np.float32) + 0.5
    # torch: class weights and ignore_index; ours: the same as per-sample weights and ignore_class
    # (torch also weighs the smoothing term per class, so weights are compared without smoothing).
    cases = [({}, {}), ({"ignore_class": 3}, {"ignore_index": 3})]
    if not smoothing:
        cases.append(({"sample_weight": class_weight[labels]},
                      {"weight": torch.tensor(class_weight)}))
    for kw_ours, kw_torch in cases:
        for reduction in ("sum", "none") + (("mean",) if "sample_weight" not in kw_ours else ()):
            ours = tg.Tensor(logits, requires_grad=True)
            loss = F.cross_entropy(ours, labels, label_smoothing=smoothing, reduction=reduction,
                                   **kw_ours)
            theirs = torch.tensor(logits, requires_grad=True)
            loss_t = torch.nn.functional.cross_entropy(theirs, torch.tensor(labels),
                                                       label_smoothing=smoothing,
                                                       reduction=reduction, **kw_torch)
            np.testing.assert_allclose(loss.numpy(), loss_t.detach().numpy(), rtol=1e-5, atol=1e-6)
            loss.sum().backward()
            loss_t.sum().backward()
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5,
                                       atol=1e-6)


def test_class_axis_and_soft_targets_vs_torch(backend, torch, rng):
    logits = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)  # (N, C, H, W), classes on axis 1
    target = rng.random((2, 4, 3, 3)).astype(np.float32)
    target /= target.sum(axis=1, keepdims=True)
    ours = F.cross_entropy(logits, target, axis=1, reduction="none").numpy()
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target),
                                               reduction="none").numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", [
    {"label_smoothing": 0.1},
    {"reduction": "none", "sample_weight": [1.0, 0.0, 2.5]},
    {"reduction": "sum", "ignore_class": 2},
    {"axis": 0},
])
def test_gradcheck_sparse(backend, kwargs, rng):
    labels = np.array([0, 2, 4]) if kwargs.get("axis") != 0 else np.array([0, 2, 1, 1, 0])
    x = rng.standard_normal((3, 5))
    assert tg.gradcheck(lambda t: F.cross_entropy(t, labels, **kwargs), [x], order=2)


def test_gradcheck_dense_logits_and_targets(backend, rng):
    fn = lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2, reduction="none")  # noqa: E731
    assert tg.gradcheck(fn, [rng.standard_normal((3, 4)), rng.random((3, 4))], order=2)


def test_gradcheck_from_probabilities_and_binary(backend, rng):
    p = rng.random((3, 4)) + 0.1
    assert tg.gradcheck(lambda t: F.cross_entropy(t, [0, 3, 1], from_logits=False), [p], order=2)
    z = rng.random((3, 4))
    for from_logits, x in ((True, rng.standard_normal((3, 4))), (False, rng.random((3, 4)) * 0.8)):
        fn = lambda a, b: F.binary_cross_entropy(a, b, from_logits=from_logits,  # noqa: E731
                                                 label_smoothing=0.1, sample_weight=[1, 2, 3])
        assert tg.gradcheck(fn, [x + 0.1 * (not from_logits), z], order=2)


def test_softmax_output_is_read_as_logits(backend, rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    direct = tg.Tensor(x, requires_grad=True)
    F.cross_entropy(direct, [1, 2, 3, 0]).backward()
    through_softmax = tg.Tensor(x, requires_grad=True)
    F.cross_entropy(F.softmax(through_softmax), [1, 2, 3, 0], from_logits=False).backward()
    np.testing.assert_allclose(through_softmax.grad.numpy(), direct.grad.numpy(), rtol=1e-6)


def test_softmax_output_after_its_graph_was_freed(backend, rng):
    x = tg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    probs = F.softmax(x)
    first = F.cross_entropy(probs, [0, 2], from_logits=False)
    first.backward()
    again = F.cross_entropy(probs, [0, 2], from_logits=False)  # falls back to the clipped log
    assert again.item() == pytest.approx(first.item(), rel=1e-6)


def test_never_inf_or_nan_for_finite_logits(backend):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3e4], [1e30, -1e30, 0.0]], np.float32)
    for target in ([0, 1, 1], np.eye(3, dtype=np.float32)[[0, 1, 1]]):
        t = tg.Tensor(x, requires_grad=True)
        loss = F.cross_entropy(t, target, label_smoothing=0.1, reduction="none")
        loss.sum().backward()
        assert np.all(np.isfinite(loss.numpy())) and np.all(np.isfinite(t.grad.numpy()))
    loss = F.cross_entropy(x[:2], [0, 1], reduction="none").numpy()
    np.testing.assert_allclose(loss, [0, 2e4], atol=1e-3)
    bce = F.binary_cross_entropy(np.array([1e4, -1e4, 88.0], np.float32), [0.0, 1.0, 1.0],
                                 axis=None, reduction="none").numpy()
    np.testing.assert_allclose(bce, [1e4, 1e4, 0], atol=1e-6)


def test_create_graph_path_matches_kernel_path(backend, rng):
    x = rng.standard_normal((5, 7)).astype(np.float32)
    labels = rng.integers(0, 7, 5)
    grads = []
    for create_graph in (False, True):
        t = tg.Tensor(x, requires_grad=True)
        (g,) = tg.grad(F.cross_entropy(t, labels, label_smoothing=0.3), [t],
                       create_graph=create_graph)
        grads.append(g.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-7)


def test_all_ignored_mean_is_zero(backend):
    loss = F.cross_entropy(np.zeros((2, 3), np.float32), [1, 1], ignore_class=1)
    assert loss.item() == 0.0


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.cross_entropy(np.zeros((2, 3), np.float32), [0, 3]), ValueError, r"\[0, 3\)"),
    (lambda: F.cross_entropy(np.zeros((2, 3), np.float32), [0, -1]), ValueError, r"\[0, 3\)"),
    (lambda: F.cross_entropy(np.zeros((2, 3), np.float32), [0, 1, 2]), ValueError, "shape"),
    (lambda: F.cross_entropy(np.zeros((2, 3), np.float32), [0.5, 1.0]), ValueError, "whole"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.eye(2, 3), ignore_class=0), ValueError,
     "integer labels"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), [0, 1], reduction="avg"), ValueError, "reduction"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), [0, 1], label_smoothing=2), ValueError, "smoothing"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), [0, 1], sample_weight=[1, 2, 3]), ValueError,
     "broadcast"),
    (lambda: F.binary_cross_entropy(np.zeros(3), np.zeros(2)), ValueError, "differ"),
    (lambda: kernels.xent_sparse(np.zeros((2, 3), np.float32), np.array([0, 1], np.int32),
                                 np.ones(2, np.float32)), ValueError, "int64"),
])
def test_bad_input(backend, call, error, match):
    with pytest.raises(error, match=match):
        call()
