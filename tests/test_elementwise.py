"""The ReLU kernels (csrc/elementwise.c) against their NumPy references (_backend/ref.py), bit for bit:
odd sizes, both dtypes, NaN/inf/signed zeros, every SIMD body, 1 and 2 threads, bad input, and the
Relu op's kernel path (non-contiguous inputs, other dtypes, plain backward vs create_graph)."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko._backend import kernels, ref

# NaN * 0 in the reference is the point of some cases, not a problem.
pytestmark = [pytest.mark.kernel, pytest.mark.filterwarnings("ignore:invalid value")]

SIZES = [0, 1, 7, 4097, (1 << 16) + 3]  # the last one crosses the OpenMP threshold
SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 2.5, -2.5]


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    before = tg.get_num_threads()
    tg.set_num_threads(request.param)
    yield request.param
    tg.set_num_threads(before)


def _inputs(rng, n, dtype):
    """Normal values with the special ones sprinkled in, for both x and dy."""
    x = rng.standard_normal(n).astype(dtype)
    dy = rng.standard_normal(n).astype(dtype)
    if n:
        x[rng.integers(0, n, min(n, 3 * len(SPECIALS)))] = np.resize(SPECIALS, min(n, 27))
        dy[rng.integers(0, n, min(n, len(SPECIALS)))] = np.resize(SPECIALS, min(n, 9))
    return x, dy


def _assert_identical(ours, theirs):
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))  # -0.0 vs +0.0 too


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_relu_matches_reference_bit_for_bit(c_impl, simd, threads, rng, dtype, n):
    x, dy = _inputs(rng, n, dtype)
    _assert_identical(c_impl.relu_forward(x), ref.relu_forward(x))
    _assert_identical(c_impl.relu_backward(dy, x), ref.relu_backward(dy, x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_special_values(c_impl, simd, dtype):
    x = np.array(SPECIALS * 3, dtype)  # 27 elements: a vector body and a tail
    out = c_impl.relu_forward(x)
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == 0 and not np.signbit(out[4])
    dx = c_impl.relu_backward(np.full_like(x, np.inf), x)
    # inf * (x > 0): inf where x > 0, NaN where the mask is 0 (x <= 0 or NaN), as NumPy gives
    np.testing.assert_array_equal(dx, np.where(x > 0, np.inf, np.nan))


def test_relu_entry_points_keep_shape(backend, rng):
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    dy = rng.standard_normal((2, 3, 5)).astype(np.float32)
    _assert_identical(kernels.relu_forward(x), np.maximum(x, 0))
    _assert_identical(kernels.relu_backward(dy, x), dy * (x > 0))


@pytest.mark.parametrize("call, error, match", [
    (lambda x: kernels.relu_forward(x.tolist()), TypeError, "x must be an ndarray"),
    (lambda x: kernels.relu_forward(x.astype(np.int32)), TypeError, "float32 or float64"),
    (lambda x: kernels.relu_forward(x.astype(np.float16)), TypeError, "float32 or float64"),
    (lambda x: kernels.relu_forward(x.T), ValueError, "C-contiguous"),
    (lambda x: kernels.relu_backward(x, x[:, ::2]), ValueError, "C-contiguous"),
    (lambda x: kernels.relu_backward(x, x.astype(np.float64)), TypeError, "dtype"),
    (lambda x: kernels.relu_backward(x[:2], x), ValueError, "shape"),
    (lambda x: kernels.relu_backward(None, x), TypeError, "dy must be an ndarray"),
])
def test_relu_bad_input_raises(backend, call, error, match):
    x = np.ones((4, 6), np.float32)
    with pytest.raises(error, match=match):
        call(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_op_non_contiguous_input(backend, rng, dtype):
    base = rng.standard_normal((6, 8)).astype(dtype)
    view = base[:, ::2].T  # neither C- nor F-contiguous
    x = tg.Tensor(view, requires_grad=True)
    y = x.relu()
    _assert_identical(y.numpy(), np.maximum(view, 0))
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(tg.Tensor(np.asfortranarray(g)))
    _assert_identical(x.grad.numpy(), g * (view > 0))


@pytest.mark.parametrize("dtype", [np.int32, np.float16])
def test_relu_op_other_dtypes_keep_numpy(backend, dtype):
    data = np.array([-2, 0, 3], dtype)
    _assert_identical(tg.Tensor(data).relu().numpy(), np.maximum(data, 0))


def test_relu_op_create_graph_stays_differentiable(backend):
    x = tg.Tensor(np.array([-1.0, 0.0, 2.0, 3.0]), requires_grad=True)
    y = (x.relu() * x).sum()  # d/dx = 2x where x > 0: its own derivative is 2 there
    (g,) = tg.grad([y], [x], create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 4.0, 6.0])
    (gg,) = tg.grad([g.sum()], [x])
    np.testing.assert_array_equal(gg.numpy(), [0.0, 0.0, 2.0, 2.0])
