"""Winograd F(2x2, 3x3) conv2d (csrc/conv2d_winograd*): which passes of which geometries take it,
and every kernel (forward, grad-input, grad-weight, grad-bias, their fused-ReLU variants) against
the NumPy reference on shapes that do: partial tiles (odd sizes, 1x1 images), 'same' / 'valid' /
asymmetric / large pads, channel counts off the vector widths, every SIMD body, 1 and 2 threads,
and on shapes where only some passes do.

float32 is compared with the float64 reference on the same inputs: with N(0, 1) values, 32-64
channels and 14x14 images the largest error observed is ~5e-5 on outputs up to ~150 (about 4e-7 of
the largest output; NumPy's own float32 im2col reference errs as much), hence atol = 2e-6 of the
largest expected value."""
import numpy as np
import pytest

from tinygrad_ko._backend import kernels, ref, selection

pytestmark = pytest.mark.kernel

ALL = frozenset({"forward", "backward_input", "backward_weight"})
# (n, h, w, c_in, c_out, padding as (top, bottom, left, right)); every pass runs as Winograd
CASES = [
    (2, 1, 1, 17, 33, (1, 1, 1, 1)),     # 1x1 images: one tile, 3 of its 4 outputs dropped
    (1, 2, 2, 16, 32, (1, 1, 1, 1)),     # one whole tile
    (2, 3, 5, 33, 17, (0, 1, 2, 0)),     # asymmetric pads, odd sizes
    (3, 14, 14, 32, 64, (1, 1, 1, 1)),   # the toy CNN's second layer
    (1, 15, 15, 33, 16, (0, 0, 0, 0)),   # 'valid', partial tiles on both edges
    (2, 6, 7, 16, 33, (2, 3, 0, 3)),     # pads beyond 'same' (the grad-input crops)
]
# only some passes do: the others run as the direct kernels next to them
MIXED = [
    (2, 5, 6, 8, 16, (1, 1, 1, 1)),      # grad-input only (its depth is c_out)
    (2, 5, 6, 64, 8, (1, 1, 1, 1)),      # forward and grad-weight only
    (1, 4, 3, 16, 16, (1, 1, 1, 1)),     # forward and grad-input only
]


def _geometry(padding):
    return dict(stride=(1, 1), dilation=(1, 1), padding=padding)


def _case(case, dtype, rng):
    n, h, w, c, o, padding = case
    out_hw = kernels.conv2d_output_hw((h, w), (3, 3), (1, 1), (1, 1), padding)
    arrays = (rng.standard_normal((n, h, w, c)), rng.standard_normal((3, 3, c, o)),
              rng.standard_normal(o), rng.standard_normal((n, *out_hw, o)))
    return [a.astype(dtype) for a in arrays]


def _check(got, want, dtype, what):
    """want: the float64 reference on the same inputs."""
    scale = max(1.0, float(np.abs(want).max()))
    tol = 2e-6 if dtype == np.float32 else 1e-13
    assert got.dtype == dtype, what
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale, err_msg=what)


def _levels(c_impl):
    return range(c_impl.select_simd(99) + 1)


def test_dispatch(c_impl):
    """The toy CNN's 3x3 layer with channels takes Winograd in every pass; the input layer (1
    channel), strided, dilated and non-3x3 convolutions in none, nor very wide layers; narrow layers
    only in the passes whose GEMMs are deep enough (measured crossovers: csrc/conv2d_winograd.c)."""
    passes = c_impl.conv2d_winograd_passes
    same, one = (1, 1, 1, 1), (1, 1)
    assert passes((32, 14, 14, 32), (3, 3, 32, 64), one, one, same) == ALL
    assert passes((1, 5, 5, 16), (3, 3, 16, 32), one, one, (0, 0, 0, 0), np.float64) == ALL
    assert passes((32, 28, 28, 1), (3, 3, 1, 32), one, one, same) == set()
    assert passes((32, 14, 14, 8), (3, 3, 8, 8), one, one, same) == set()
    assert passes((32, 14, 14, 32), (3, 3, 32, 64), (2, 2), one, same) == set()
    assert passes((32, 14, 14, 32), (3, 3, 32, 64), one, (2, 2), (2, 2, 2, 2)) == set()
    assert passes((32, 14, 14, 32), (5, 5, 32, 64), one, one, (2, 2, 2, 2)) == set()
    assert passes((2, 5, 6, 8), (3, 3, 8, 16), one, one, same) == {"backward_input"}
    assert passes((2, 5, 6, 64), (3, 3, 64, 8), one, one, same) == {"forward", "backward_weight"}
    assert passes((1, 4, 3, 16), (3, 3, 16, 16), one, one, same) == {"forward", "backward_input"}
    # the transformed kernel must fit 1 MiB (it stays in L2 while the tiles stream past)
    assert passes((8, 7, 7, 128), (3, 3, 128, 128), one, one, same) == ALL
    assert passes((8, 7, 7, 128), (3, 3, 128, 128), one, one, same, np.float64) == set()
    assert passes((8, 7, 7, 256), (3, 3, 256, 256), one, one, same) == set()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES + MIXED, ids=lambda case: "x".join(map(str, case[:5])))
def test_matches_reference(case, dtype, rng, c_impl):
    x, w, b, dy = _case(case, dtype, rng)
    hw, geometry = x.shape[1:3], _geometry(case[5])
    passes = c_impl.conv2d_winograd_passes(x.shape, w.shape, dtype=dtype, **geometry)
    assert passes == ALL if case in CASES else passes and passes != ALL
    x64, w64, b64, dy64 = (a.astype(np.float64) for a in (x, w, b, dy))
    y = ref.conv2d_forward(x64, w64, b64, **geometry)
    mask = np.maximum(y, 0).astype(dtype)
    dz = dy64 * (mask > 0)
    want = {
        "forward": ref.conv2d_forward(x64, w64, b64, **geometry),
        "forward_relu": np.maximum(y, 0),
        "backward_input": ref.conv2d_backward_input(dy64, w64, hw, **geometry),
        "backward_input_relu": ref.conv2d_backward_input(dz, w64, hw, **geometry),
        "dw": ref.conv2d_backward_weight(x64, dy64, (3, 3), **geometry),
        "db": ref.conv2d_backward_bias(dy64),
        "dw_relu": ref.conv2d_backward_weight(x64, dz, (3, 3), **geometry),
        "db_relu": ref.conv2d_backward_bias(dz),
    }
    threads = selection.get_num_threads()
    try:
        for level in _levels(c_impl):
            c_impl.select_simd(level)
            for n_threads in (1, 2):
                selection.set_num_threads(n_threads)
                got = {
                    "forward": c_impl.conv2d_forward(x, w, b, **geometry),
                    "forward_relu": c_impl.conv2d_forward_relu(x, w, b, **geometry),
                    "backward_input": c_impl.conv2d_backward_input(dy, w, hw, **geometry),
                    "backward_input_relu": c_impl.conv2d_backward_input_relu(dy, mask, w, hw,
                                                                             **geometry),
                    "dw": c_impl.conv2d_backward_weight(x, dy, (3, 3), **geometry),
                }
                got["dw_bias"], got["db"] = c_impl.conv2d_backward_weight_bias(x, dy, (3, 3),
                                                                               **geometry)
                got["dw_relu"], got["db_relu"] = c_impl.conv2d_backward_weight_bias_relu(
                    x, dy, mask, (3, 3), **geometry)
                for name, value in got.items():
                    expected = want["dw" if name == "dw_bias" else name]
                    _check(value, expected, dtype, f"{name} simd={level} threads={n_threads}")
    finally:
        c_impl.select_simd(99)
        selection.set_num_threads(threads)


def test_relu_mask_and_bias_edges(rng, c_impl):
    """The fused ReLU on the Winograd path keeps tk_relu_forward's rules (exact zeros stay +0.0
    where a whole tile's inputs are zero) and the grad-weight's masked bias sums skip y <= 0."""
    x, w, b, dy = _case((2, 6, 6, 16, 32, (1, 1, 1, 1)), np.float32, rng)
    x[0] = 0
    b[:] = 0
    geometry = _geometry((1, 1, 1, 1))
    y = c_impl.conv2d_forward_relu(x, w, b, **geometry)
    assert np.all(y[0].view(np.uint32) == 0)
    plain = c_impl.conv2d_forward(x, w, b, **geometry)
    np.testing.assert_array_equal(y, np.maximum(plain, 0))
    dw, db = c_impl.conv2d_backward_weight_bias_relu(x, dy, y, (3, 3), **geometry)
    np.testing.assert_allclose(db, (dy * (y > 0)).sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-5)
