"""The small-K conv2d kernels (csrc/conv2d_smallk*.{h,c}): input-layer shapes, where the reduction
K = kh * kw * c_in is at most 32 and the output channels fit in four vectors, against the NumPy
reference at every SIMD level, on 1 and 2 threads, plus float64 gradchecks through F.conv2d."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import functional as F
from tinygrad_ko._backend import kernels, ref, selection

from test_conv import _case_arrays

# (n, h, w, c_in, c_out, kh, kw, stride, dilation, padding as (top, bottom, left, right)).
# Output widths 28, 15, 11, 7, 3 cover full 12-pixel blocks and every 8/4/2/1 remainder; c_out
# 40 and 17 end in a partial vector, 64 fills four float32 vectors (float64: the tile kernels).
SMALLK_CASES = [
    (2, 28, 28, 1, 32, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),    # the toy CNN's input layer
    (1, 15, 15, 1, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),     # one output channel, batch 1
    (2, 13, 11, 1, 8, 3, 3, (1, 1), (1, 1), (0, 0, 0, 0)),     # 'valid', odd sizes
    (2, 16, 15, 3, 16, 3, 3, (2, 2), (1, 1), (0, 1, 0, 1)),    # C_in 3 (K = 27), stride 2
    (1, 12, 13, 3, 40, 3, 3, (1, 1), (2, 2), (2, 2, 2, 2)),    # dilation 2, partial last vector
    (2, 9, 7, 1, 64, 5, 5, (1, 1), (1, 1), (2, 2, 2, 2)),      # 5x5 (K = 25), four vectors
    (1, 8, 9, 3, 17, 2, 3, (2, 1), (1, 2), (1, 0, 2, 1)),      # mixed strides and dilations
    (3, 6, 6, 2, 32, 3, 1, (1, 2), (1, 1), (1, 1, 0, 0)),      # C_in 2, column stride 2
]


@pytest.mark.kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SMALLK_CASES, ids=lambda case: "x".join(map(str, case[:7])))
def test_smallk_kernels_match_reference(case, dtype, simd, c_impl, rng):
    """Forward (with and without bias), the fused ReLU forward, grad-weight + grad-bias, and
    grad-input (whose reduction, kh * kw * c_out, is small too when c_out is)."""
    x, w, b, dy = _case_arrays(case, dtype, rng)
    kh, kw, stride, dilation, padding = case[5:]
    geometry = dict(stride=stride, dilation=dilation, padding=padding)
    y_ref = ref.conv2d_forward(x, w, b, **geometry)
    dw_ref = ref.conv2d_backward_weight(x, dy, (kh, kw), **geometry)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
    threads = selection.get_num_threads()
    try:
        for n_threads in (1, 2):
            selection.set_num_threads(n_threads)
            np.testing.assert_allclose(c_impl.conv2d_forward(x, w, b, **geometry), y_ref, **tol)
            np.testing.assert_allclose(c_impl.conv2d_forward(x, w, None, **geometry),
                                       ref.conv2d_forward(x, w, None, **geometry), **tol)
            np.testing.assert_allclose(c_impl.conv2d_forward_relu(x, w, b, **geometry),
                                       np.maximum(y_ref, 0), **tol)
            dw, db = c_impl.conv2d_backward_weight_bias(x, dy, (kh, kw), **geometry)
            np.testing.assert_allclose(dw, dw_ref, **tol)
            np.testing.assert_allclose(db, ref.conv2d_backward_bias(dy), **tol)
            np.testing.assert_allclose(c_impl.conv2d_backward_weight(x, dy, (kh, kw), **geometry),
                                       dw_ref, **tol)
            np.testing.assert_allclose(c_impl.conv2d_backward_input(dy, w, x.shape[1:3],
                                                                    **geometry),
                                       ref.conv2d_backward_input(dy, w, x.shape[1:3], **geometry),
                                       **tol)
    finally:
        selection.set_num_threads(threads)


@pytest.mark.kernel
@pytest.mark.parametrize("stride, padding, dilation", [(1, "same", 1), (2, "valid", 1),
                                                       (1, "same", 2)])
@pytest.mark.parametrize("c_in", [1, 3])
def test_smallk_gradcheck(backend, rng, c_in, stride, padding, dilation):
    x = rng.standard_normal((2, 7, 6, c_in))
    w, b = rng.standard_normal((3, 3, c_in, 4)), rng.standard_normal(4)
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation), [x, w, b])
