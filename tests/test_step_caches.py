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
                epoch = c_impl._plan_epoch
                first = kernels.conv2d_forward(x, w, b, **CONV)
                second = kernels.conv2d_forward(x, w, b, **CONV)  # from the plan
                assert first is not second and not np.shares_memory(first, second)
                np.testing.assert_allclose(second, expected, rtol=1e-4, atol=1e-4)
                ((*_, key_epoch), plan), = c_impl._conv_plans.items()
                assert key_epoch == epoch  # a plan sized under other settings never matches
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
    kinds = {(kernel, char) for kernel, char, _, _ in c_impl._conv_plans}
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


def test_adam_many_fast_checks_defer_to_the_labelled_ones(backend, rng):
    hyper = dict(alpha=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    p, m, v, h, g = (np.zeros(4, np.float32) for _ in range(5))
    with pytest.raises(ValueError, match="tensor 1 has no v_hat"):
        kernels.adam_update_many([p, p.copy()], [m, m.copy()], [v, v.copy()], [h, None],
                                 [g, g.copy()], **hyper)
    with pytest.raises(ValueError, match="grad_scale must be finite"):
        kernels.adam_update_many([p], [m], [v], None, [g], grad_scales=[np.nan], **hyper)
    read_only = np.zeros(4, np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.adam_update_many([p], [read_only], [v], None, [g], **hyper)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.adam_update_many([p], [np.zeros(8, np.float32)[::2]], [v], None, [g], **hyper)
    # buffers carved out of one array without overlapping: the fast check says "not simple", the
    # labelled ones accept, and the update equals the one on separate arrays
    grads = rng.standard_normal((2, 4)).astype(np.float32)
    slab = np.zeros((3, 2, 4), np.float32)
    separate = [np.zeros(4, np.float32) for _ in range(6)]
    kernels.adam_update_many(list(slab[0]), list(slab[1]), list(slab[2]), None, list(grads),
                             **hyper)
    kernels.adam_update_many(separate[:2], separate[2:4], separate[4:], None, list(grads), **hyper)
    np.testing.assert_array_equal(slab.reshape(6, 4), np.stack(separate))
    assert kernels._plain_buffers([(p, g, m, v)])
    assert not kernels._plain_buffers(list(zip(slab[0], grads, slab[1], slab[2])))


class _Scale(tg.autograd.Function):
    """y = 2 x, whose backward makes a fresh array and remembers the last one."""
    last = None

    def forward(self, x):
        return x * 2

    def backward(self, grad):
        _Scale.last = grad.data * 2
        return tg.Tensor(_Scale.last)


def test_leaves_adopt_fresh_gradients_even_when_ids_are_recycled():
    # the chain frees the gradient of each intermediate before the next backward makes another
    # array, so NumPy may hand the new array a freed one's id: it must still be adopted
    for _ in range(20):
        w = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
        _Scale.apply(_Scale.apply(_Scale.apply(_Scale.apply(w)))).sum().backward()
        assert w.grad.data is _Scale.last
        np.testing.assert_array_equal(w.grad.numpy(), [16, 16, 16])


def test_a_gradient_handed_to_two_leaves_is_not_shared():
    a = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    b = tg.Tensor(np.ones(3, np.float32), requires_grad=True)
    (a + b).sum().backward()  # Add hands the same array to both
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data += 1
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1, 1])


def test_shared_softmax_rows_still_reject_bad_axes():
    from tinygrad_ko import functional as F
    x = tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_allclose(F.softmax(x, axis=1).numpy(), F.softmax(x, axis=-1).numpy())
    for axis in (True, 1.0):  # equal to the cached int 1, yet not an axis
        with pytest.raises(TypeError):
            F.softmax(x, axis=axis)
    np.testing.assert_allclose(F.softmax(x, axis=(0,)).numpy().sum(axis=0), [1, 1, 1], rtol=1e-6)


def test_max_pool_gradient_with_and_without_a_graph_agree(backend, rng):
    from tinygrad_ko import functional as F
    x = tg.Tensor(rng.standard_normal((2, 4, 6, 3)), requires_grad=True)
    g = rng.standard_normal((2, 2, 3, 3))
    F.max_pool2d(x, 2).backward(tg.Tensor(g))
    seed = tg.Tensor(g, requires_grad=True)  # under create_graph the scatter is a graph node
    (second,) = tg.grad(F.max_pool2d(x, 2), [x], grad_outputs=seed, create_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), second.numpy())
    assert second.requires_grad and not x.grad.requires_grad
