"""log-sum-exp / softmax / log-softmax: C rows vs NumPy references at every SIMD level, our SIMD
exp's accuracy, extreme inputs, any axis, gradients (first and second order), torch as oracle."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import functional as F
from tinygrad_ko._backend import c_available, kernels, ref

needs_c = pytest.mark.skipif(not c_available(), reason="C backend not built")
SHAPES = [(1, 1), (3, 7), (2, 15), (4, 16), (2, 17), (3, 64), (2, 65), (5, 130), (2, 1000),
          (37, 10), (9, 16)]  # many short rows: log-sum-exp takes them one per vector lane


@pytest.fixture
def simd_levels():
    """Every SIMD level this CPU has (0 generic, 1 avx2, 2 avx512); restores the best one."""
    from tinygrad_ko._backend import c
    best = c.select_simd(99)
    yield [c.select_simd(level) for level in range(best + 1)]
    c.select_simd(best)


def _rows_input(shape, dtype, rng):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    if shape[1] > 2:
        x[0, 1] = -np.inf
    return x


@needs_c
@pytest.mark.kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_c_matches_reference_every_simd_level_and_thread_count(dtype, simd_levels, rng):
    from tinygrad_ko._backend import c
    before = tg.get_num_threads()
    # atol covers the cancellation in the backward formulas (dy - exp(y) * sum(dy), ...)
    tol = dict(rtol=2e-6, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    try:
        for level in simd_levels:
            c.select_simd(level)
            for threads in (1, 2):
                tg.set_num_threads(threads)
                # (300, 150) is large enough to thread; rows of 40000 are too long for the
                # kernels' cache-resident path and take the online one
                for shape in SHAPES + [(300, 150), (2, 40000)]:
                    x = _rows_input(shape, dtype, rng)
                    # float32 sums over long rows round differently in C and NumPy
                    wide = dict(tol, atol=tol["atol"] * max(1, shape[1] / 1000))
                    for name in ("logsumexp", "softmax", "log_softmax"):
                        out = getattr(c, name)(x)
                        assert out.dtype == dtype
                        np.testing.assert_allclose(out, getattr(ref, name)(x), **wide)
                    dy = rng.standard_normal(shape).astype(dtype)
                    y = ref.softmax(x)
                    np.testing.assert_allclose(c.softmax_backward(dy, y),
                                               ref.softmax_backward(dy, y), **wide)
                    y = np.maximum(ref.log_softmax(x), -80)
                    np.testing.assert_allclose(c.log_softmax_backward(dy, y),
                                               ref.log_softmax_backward(dy, y), **wide)
                    lse, g = ref.logsumexp(x), dy[:, 0].copy()
                    np.testing.assert_allclose(c.logsumexp_backward(g, x, lse),
                                               ref.logsumexp_backward(g, x, lse), **wide)
    finally:
        tg.set_num_threads(before)


@needs_c
@pytest.mark.kernel
def test_simd_exp_is_within_one_ulp(simd_levels):
    # logsumexp_backward with lse = 0 and dy = 1 is exp(x) itself, from our vector exp.
    from tinygrad_ko._backend import c
    x = np.concatenate([np.linspace(-87, 88.7, 20001), [0, 1e-8, -1e-8]]).astype(np.float32)
    x = x.reshape(1, -1)
    exact = np.exp(x.astype(np.float64))
    for level in simd_levels:
        c.select_simd(level)
        got = c.logsumexp_backward(np.ones(1, np.float32), x, np.zeros(1, np.float32))
        ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
        assert np.max(np.abs(got - exact) / ulp) <= 1.0, level
        special = np.array([[-np.inf, -100.0, 100.0, np.inf, np.nan]], np.float32)
        out = c.logsumexp_backward(np.ones(1, np.float32), special, np.zeros(1, np.float32))
        assert out[0, 0] == 0 and 0 <= out[0, 1] < 1e-37 and np.all(out[0, 2:4] == np.inf)
        assert np.isnan(out[0, 4])


@needs_c
@pytest.mark.kernel
@pytest.mark.parametrize("cols", [2, 32])  # one row per lane / the online pass
def test_logsumexp_sums_are_as_accurate_as_libm(simd_levels, cols):
    # Rows [0, d, -inf, ...]: lse = log1p(exp(d)). The sums use a cheaper exp than the stored
    # exps (x - max <= 0 only); libm's expf through the generic body errs 1.35 * 2^-24 here.
    from tinygrad_ko._backend import c
    d = np.linspace(-20, 0, 20001).astype(np.float32)
    x = np.full((d.size, cols), -np.inf, np.float32)
    x[:, 0], x[:, 1] = 0, d
    exact = np.log1p(np.exp(d.astype(np.float64)))
    for level in simd_levels:
        c.select_simd(level)
        err = np.abs(c.logsumexp(x) - exact)
        assert np.max(err) <= 2 * 2.0 ** -24, level


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_are_exact(backend, dtype):
    x = np.array([[1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [3.0, 3.0, 3.0], [-np.inf, 0.0, -np.inf],
                  [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]], dtype)
    lse = kernels.logsumexp(x)
    np.testing.assert_allclose(lse[:5], [1e4 + np.log(2), -1e4 + np.log(3), 3 + np.log(3), 0.0,
                                         -np.inf], rtol=1e-7)
    assert lse[5] == np.inf
    # the same rows in many lane positions, of a full and a partial group of lanes, and a NaN row
    rows = np.concatenate([np.roll(x, k, axis=0) for k in range(4)] + [[[np.nan, 0, 1]]])
    rows = rows.astype(dtype)
    by_rows = kernels.logsumexp(rows)
    np.testing.assert_array_equal(by_rows[:24], np.concatenate([np.roll(lse, k) for k in range(4)]))
    assert np.isnan(by_rows[24])
    p = kernels.softmax(x[:4])
    np.testing.assert_allclose(p, [[0.5, 0.5, 0], [1 / 3] * 3, [1 / 3] * 3, [0, 1, 0]], rtol=1e-6)
    log_p = kernels.log_softmax(x[:4])
    np.testing.assert_allclose(log_p[0], [-np.log(2), -np.log(2), -2e4 - np.log(2)], rtol=1e-6)
    assert log_p[3, 0] == -np.inf and log_p[3, 1] == 0


def test_axis_tuple_none_and_keepdims(backend, rng):
    x = rng.standard_normal((3, 4, 5))
    for axis in (0, 1, -1, (0, 2), None):
        axes = tuple(range(3)) if axis is None else axis
        m = x.max(axis=axes, keepdims=True)
        expected = np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m
        got = F.logsumexp(tg.Tensor(x), axis=axis, keepdims=True).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        np.testing.assert_allclose(F.logsumexp(tg.Tensor(x), axis=axis).numpy(),
                                   np.squeeze(expected, axes), rtol=1e-12)
        np.testing.assert_allclose(F.softmax(tg.Tensor(x), axis=axis).numpy(),
                                   np.exp(x - expected), rtol=1e-12)
        np.testing.assert_allclose(F.log_softmax(tg.Tensor(x), axis=axis).numpy(), x - expected,
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op, kwargs", [(F.softmax, {"axis": 0}), (F.log_softmax, {"axis": (0, 2)}),
                                        (F.logsumexp, {"axis": 1}),
                                        (F.logsumexp, {"axis": -1, "keepdims": True})])
def test_gradcheck_first_and_second_order(backend, op, kwargs, rng):
    assert tg.gradcheck(lambda t: op(t, **kwargs), [rng.standard_normal((3, 2, 4))], order=2)


def test_float32_gradients_match_float64(backend, rng):
    x = rng.standard_normal((4, 9))
    for op in (F.softmax, F.log_softmax, F.logsumexp):
        grads = []
        for dtype in (np.float32, np.float64):
            t = tg.Tensor(x.astype(dtype), requires_grad=True)
            (op(t) * tg.Tensor(np.cos(np.arange(op(t).size)).reshape(op(t).shape))).sum().backward()
            assert t.grad.dtype == dtype
            grads.append(t.grad.numpy())
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


def test_torch_oracle(backend, torch, rng):
    x = (rng.standard_normal((6, 11)) * 10).astype(np.float32)
    dy = rng.standard_normal((6, 11)).astype(np.float32)
    for ours, theirs in [(F.log_softmax, lambda t: torch.log_softmax(t, -1)),
                         (F.softmax, lambda t: torch.softmax(t, -1))]:
        a = tg.Tensor(x, requires_grad=True)
        (ours(a) * tg.Tensor(dy)).sum().backward()
        b = torch.tensor(x, requires_grad=True)
        (theirs(b) * torch.tensor(dy)).sum().backward()
        np.testing.assert_allclose(ours(tg.Tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(F.logsumexp(tg.Tensor(x), axis=0).numpy(),
                               torch.logsumexp(torch.tensor(x), 0).numpy(), rtol=1e-6)


def test_bad_input(backend):
    with pytest.raises(TypeError, match="float32 or float64"):
        F.softmax(tg.Tensor(np.arange(4)))
    with pytest.raises(ValueError, match="non-empty"):
        F.logsumexp(tg.Tensor(np.zeros((2, 0), np.float32)))
    with pytest.raises(ValueError, match="out of range"):
        F.log_softmax(tg.Tensor(np.zeros((2, 3), np.float32)), axis=2)
    with pytest.raises(ValueError, match="scalar"):
        F.softmax(tg.Tensor(1.0))
    with pytest.raises(ValueError, match="must match"):
        kernels.softmax_backward(np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.logsumexp(np.zeros((4, 3), np.float32).T)


def test_empty_batches(backend):
    for op in (F.softmax, F.log_softmax, F.logsumexp):
        x = tg.Tensor(np.zeros((0, 5), np.float32), requires_grad=True)
        op(x).sum().backward()
        assert x.grad.shape == (0, 5)
    loss = F.cross_entropy(np.zeros((0, 5), np.float32), np.zeros(0, np.int64))
    assert loss.item() == 0.0
