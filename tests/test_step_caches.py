"""The caches of the training step's fast paths: they must never change a result, alias two
outputs, or survive what invalidates them (shapes, dtypes, thread count, SIMD level, mode)."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import keras
from tinygrad_ko._backend import kernels, ref, selection

CONV = dict(stride=(1, 1), dilation=(1, 1), padding=(1, 1, 1, 1))


@pytest.mark.kernel
def test_conv_plans_follow_thread_count_and_simd_level(c_impl, rng):
    x = rng.standard_normal((3, 9, 8, 16)).astype(np.float32)
    w = rng.standard_normal((3, 3, 16, 24)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    expected = ref.conv2d_forward(x, w, b, **CONV)
    threads, best = selection.get_num_threads(), c_impl.select_simd(99)
    try:
        sizes = {}
        for level in range(best + 1):
            for n in (1, 2):
                selection.set_num_threads(n)
                c_impl.select_simd(level)
                assert not c_impl._conv_plans  # both settings drop the plans they size
                first = kernels.conv2d_forward(x, w, b, **CONV)
                second = kernels.conv2d_forward(x, w, b, **CONV)  # from the plan
                assert first is not second and not np.shares_memory(first, second)
                np.testing.assert_allclose(second, expected, rtol=1e-4, atol=1e-4)
                (plan,) = c_impl._conv_plans.values()
                sizes[level, n] = plan[2]
                geometry = c_impl._geometry(x.shape, w.shape, (9, 8), CONV["stride"],
                                            CONV["dilation"], CONV["padding"])
                fresh = c_impl.ffi.new("tk_conv2d_geometry *", list(geometry))
                assert plan[2] == c_impl.lib.tk_conv2d_workspace_size_forward_f32(fresh)
    finally:
        c_impl.select_simd(best)
        selection.set_num_threads(threads)


@pytest.mark.kernel
def test_conv_plans_are_per_shape_dtype_and_kernel(c_impl, rng):
    c_impl._conv_plans.clear()
    for dtype in (np.float32, np.float64):
        for n, h in ((2, 6), (3, 6), (2, 7)):
            x = rng.standard_normal((n, h, 5, 3)).astype(dtype)
            w = rng.standard_normal((3, 3, 3, 4)).astype(dtype)
            dy = rng.standard_normal((n, h, 5, 4)).astype(dtype)
            tol = 1e-4 if dtype == np.float32 else 1e-10
            np.testing.assert_allclose(kernels.conv2d_forward(x, w, None, **CONV),
                                       ref.conv2d_forward(x, w, None, **CONV), rtol=tol, atol=tol)
            np.testing.assert_allclose(kernels.conv2d_backward_input(dy, w, (h, 5), **CONV),
                                       ref.conv2d_backward_input(dy, w, (h, 5), **CONV),
                                       rtol=tol, atol=tol)
    kinds = {(kernel, char) for kernel, char, _ in c_impl._conv_plans}
    assert kinds == {(k, ch) for k in ("forward", "backward_input") for ch in "fd"}
    assert len(c_impl._conv_plans) == 12


def test_conv_layer_outputs_never_alias_across_steps(backend, rng):
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu")
    x = rng.standard_normal((2, 5, 5, 2)).astype(np.float32)
    first = conv(x).numpy()
    kept = first.copy()
    second = conv(x * 2).numpy()
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, kept)
