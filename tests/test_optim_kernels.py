"""The fused optimizer kernels (csrc/optim.c) against their NumPy references (_backend/ref.py).

Every variant (momentum, Nesterov, AMSGrad, centered, clipping, weight decay), both dtypes, every
SIMD body, sizes around the vector width and the OpenMP block, the threaded path, 1 and 2 threads.
"""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko._backend import kernels, ref

pytestmark = pytest.mark.kernel

SIZES = [1, 7, 16, 33, 16385]  # around the vector widths and one OpenMP block
LARGE = (1 << 20) + 5  # past the threshold where the update is split among threads
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _arrays(rng, n, dtype, count):
    return [rng.standard_normal(n).astype(dtype) for _ in range(count)]


def _run_both(c_impl, name, arrays, scalars):
    """Runs the C kernel and the reference on copies of the same buffers; returns both results."""
    ours = [None if a is None else a.copy() for a in arrays]
    theirs = [None if a is None else a.copy() for a in arrays]
    getattr(c_impl, name)(*ours, *scalars)
    getattr(ref, name)(*theirs, *scalars)
    return ours, theirs


def _assert_same(ours, theirs, dtype):
    for a, b in zip(ours, theirs):
        if a is not None:
            np.testing.assert_allclose(a, b, **TOL[dtype])


COMMON = [(1.0, np.inf, 0.0), (0.5, 0.3, 0.01)]  # (grad_scale, clipvalue, decay)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
@pytest.mark.parametrize("extras", COMMON)
def test_sgd_matches_reference(c_impl, simd, rng, dtype, n, momentum, nesterov, extras):
    p, vel, g = _arrays(rng, n, dtype, 3)
    arrays = [p, vel if momentum else None, g]
    scalars = (0.1, momentum, nesterov, *extras)
    _assert_same(*_run_both(c_impl, "sgd_update", arrays, scalars), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("extras", COMMON)
def test_adam_matches_reference(c_impl, simd, rng, dtype, n, amsgrad, extras):
    p, m, g = _arrays(rng, n, dtype, 3)
    v, v_hat = (np.abs(a) for a in _arrays(rng, n, dtype, 2))
    arrays = [p, m, v, v_hat if amsgrad else None, g]
    scalars = (0.01, 0.9, 0.999, 1e-7, *extras)
    _assert_same(*_run_both(c_impl, "adam_update", arrays, scalars), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_adam_many_equals_adam_on_each_tensor(c_impl, simd, rng, dtype, amsgrad, threads):
    """One call over tensors of every size (a threaded one among them) gives, bit for bit, what
    adam_update gives tensor by tensor, with per-tensor grad scales and decays."""
    before = tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        sizes = SIZES + [LARGE, 3]
        tensors = [[p, m, np.abs(v), np.abs(vh) if amsgrad else None, g]
                   for p, m, v, vh, g in (_arrays(rng, n, dtype, 5) for n in sizes)]
        scales = rng.uniform(0.5, 1.5, len(sizes))
        decays = rng.uniform(0.0, 0.01, len(sizes))
        many = [[None if a is None else a.copy() for a in t] for t in tensors]
        each = [[None if a is None else a.copy() for a in t] for t in tensors]
        p, m, v, vh, g = (list(column) for column in zip(*many))
        c_impl.adam_update_many(p, m, v, vh if amsgrad else None, g, 0.01, 0.9, 0.999, 1e-7,
                                list(scales), 0.3, list(decays))
        for t, scale, decay in zip(each, scales, decays):
            c_impl.adam_update(*t, 0.01, 0.9, 0.999, 1e-7, scale, 0.3, decay)
        for got, want in zip(many, each):
            for a, b in zip(got, want):
                if a is not None:
                    np.testing.assert_array_equal(a, b)
        p, m, v, vh, g = ([None if a is None else a.copy() for a in column]
                          for column in zip(*tensors))
        ref.adam_update_many(p, m, v, vh if amsgrad else None, g, 0.01, 0.9, 0.999, 1e-7,
                             list(scales), 0.3, list(decays))
        _assert_same([a for t in many for a in t], [a for t in zip(p, m, v, vh, g) for a in t],
                     dtype)
    finally:
        tg.set_num_threads(before)


def test_adam_many_checks_every_tensor_and_their_overlap(backend):
    p, m, v, g = (np.zeros(6, np.float32) for _ in range(4))
    q, n, w = (np.zeros(3, np.float32) for _ in range(3))
    hyper = dict(alpha=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    kernels.adam_update_many([p, q], [m, n], [v, w], None, [g, g[:3]], **hyper)  # grads may share
    with pytest.raises(ValueError, match="tensor 0's param and tensor 1's param overlap"):
        kernels.adam_update_many([p, p[3:]], [m, n], [v, w], None, [g, g[:3]], **hyper)
    with pytest.raises(ValueError, match="tensor 0's grad and tensor 1's m overlap"):
        kernels.adam_update_many([p, q], [m, g[:3]], [v, w], None, [g, g[:3]], **hyper)
    with pytest.raises(TypeError, match="tensor 1 is float64, tensor 0 is float32"):
        kernels.adam_update_many([p, q.astype(np.float64)], [m, n.astype(np.float64)],
                                 [v, w.astype(np.float64)], None, [g, g[:3].astype(np.float64)],
                                 **hyper)
    with pytest.raises(ValueError, match="2 params but 1 vs"):
        kernels.adam_update_many([p, q], [m, n], [v], None, [g, g[:3]], **hyper)
    with pytest.raises(ValueError, match="tensor 1's m has shape"):
        kernels.adam_update_many([p, q], [m, m], [v, w], None, [g, g[:3]], **hyper)
    with pytest.raises(ValueError, match="decay must be finite"):
        kernels.adam_update_many([p], [m], [v], None, [g], decays=[np.inf], **hyper)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("momentum, centered",
                         [(0.0, False), (0.9, False), (0.0, True), (0.5, True)])
@pytest.mark.parametrize("extras", COMMON)
def test_rmsprop_matches_reference(c_impl, simd, rng, dtype, n, momentum, centered, extras):
    p, mom, avg, g = _arrays(rng, n, dtype, 4)
    velocity = np.abs(_arrays(rng, n, dtype, 1)[0]) + 1.0  # keeps v - avg^2 > 0 when centered
    avg *= 0.1
    arrays = [p, velocity, mom if momentum else None, avg if centered else None, g]
    scalars = (0.01, 0.9, momentum, 1e-7, *extras)
    _assert_same(*_run_both(c_impl, "rmsprop_update", arrays, scalars), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 15, 17, 16385, LARGE])
def test_sum_squares_matches_reference_and_ignores_thread_count(c_impl, simd, rng, dtype, n):
    x = rng.standard_normal(n).astype(dtype)
    before = tg.get_num_threads()
    try:
        tg.set_num_threads(1)
        one = c_impl.sum_squares(x)
        tg.set_num_threads(2)
        two = c_impl.sum_squares(x)
    finally:
        tg.set_num_threads(before)
    assert one == two
    np.testing.assert_allclose(one, ref.sum_squares(x), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sgd_update", "adam_update", "rmsprop_update"])
def test_threaded_path_matches_reference(c_impl, rng, dtype, name):
    before = tg.get_num_threads()
    tg.set_num_threads(2)
    try:
        arrays = _arrays(rng, LARGE, dtype, 5)
        arrays[2] = np.abs(arrays[2]) + 1.0
        scalars = {"sgd_update": (0.1, 0.9, True), "adam_update": (0.01, 0.9, 0.999, 1e-7),
                   "rmsprop_update": (0.01, 0.9, 0.5, 1e-7)}[name] + COMMON[1]
        arrays = {"sgd_update": [arrays[0], arrays[1], arrays[4]],
                  "adam_update": [arrays[0], arrays[1], arrays[2], arrays[3] ** 2, arrays[4]],
                  "rmsprop_update": [arrays[0], arrays[2], arrays[1], arrays[3] * 0.1,
                                     arrays[4]]}[name]
        _assert_same(*_run_both(c_impl, name, arrays, scalars), dtype)
    finally:
        tg.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_give_identical_updates(c_impl, rng, threads):
    p, m, g = _arrays(rng, LARGE, np.float32, 3)
    v = np.abs(m)
    before = tg.get_num_threads()
    results = []
    try:
        for t in (1, threads):
            tg.set_num_threads(t)
            arrays = [a.copy() for a in (p, m, v)]
            c_impl.adam_update(*arrays, None, g, 0.01, 0.9, 0.999, 1e-7, 1.0, np.inf, 0.0)
            results.append(arrays)
    finally:
        tg.set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_nan_gradient_passes_through_clipping(backend):
    p = np.ones(5, np.float32)
    g = np.array([np.nan, 1, -1, 5, -5], np.float32)
    kernels.sgd_update(p, None, g, learning_rate=1.0, clipvalue=2.0)
    assert np.isnan(p[0])
    np.testing.assert_allclose(p[1:], [0, 2, -1, 3])


def test_updates_work_in_place_on_any_shape(backend, rng):
    p = rng.standard_normal((3, 4, 5)).astype(np.float32)
    before = p.copy()
    g = np.ones_like(p)
    kernels.sgd_update(p, None, g, learning_rate=0.5)
    np.testing.assert_allclose(p, before - 0.5)


@pytest.mark.parametrize("call, error, match", [
    (lambda p, g: kernels.sgd_update(p.astype(np.int32), None, g, learning_rate=0.1),
     TypeError, "float32 or float64"),
    (lambda p, g: kernels.sgd_update(p, None, g.astype(np.float64), learning_rate=0.1),
     TypeError, "grad has dtype float64"),
    (lambda p, g: kernels.sgd_update(p, None, g[:-1], learning_rate=0.1),
     ValueError, r"grad has shape \(5,\)"),
    (lambda p, g: kernels.sgd_update(p, None, g, learning_rate=float("nan")),
     ValueError, "learning_rate must be finite"),
    (lambda p, g: kernels.sgd_update(p, None, g, learning_rate=0.1, momentum=0.9),
     ValueError, "velocity buffer exactly"),
    (lambda p, g: kernels.sgd_update(p, None, g, learning_rate=0.1, clipvalue=0.0),
     ValueError, "clipvalue must be > 0"),
    (lambda p, g: kernels.sgd_update(p, None, p, learning_rate=0.1),
     ValueError, "overlap"),
    (lambda p, g: kernels.adam_update(p, np.zeros(5, np.float32), np.zeros_like(p), None,
                                      g, alpha=0.1, beta_1=0.9, beta_2=0.9, epsilon=1e-7),
     ValueError, "m has shape"),
    (lambda p, g: kernels.adam_update(p, np.zeros(12, np.float32)[::2], np.zeros_like(p), None, g,
                                      alpha=0.1, beta_1=0.9, beta_2=0.9, epsilon=1e-7),
     ValueError, "C-contiguous"),
    (lambda p, g: kernels.rmsprop_update(p, None, None, None, g, learning_rate=0.1, rho=0.9,
                                         momentum=0.0, epsilon=1e-7),
     ValueError, "velocity buffer is required"),
    (lambda p, g: kernels.sum_squares([1.0, 2.0]), TypeError, "ndarray"),
])
def test_bad_input_raises_before_the_kernel(backend, call, error, match):
    p, g = np.zeros(6, np.float32), np.ones(6, np.float32)
    with pytest.raises(error, match=match):
        call(p, g)


def test_read_only_param_is_rejected(backend):
    p = np.zeros(4, np.float32)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.sgd_update(p, None, np.ones(4, np.float32), learning_rate=0.1)
