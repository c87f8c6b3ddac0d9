"""Pooling: C kernels vs NumPy references, Keras semantics, tie routing, gradients, bad input."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import functional as F
from tinygrad_ko._backend import c_available, kernels, ref

needs_c = pytest.mark.skipif(not c_available(), reason="C backend not built")

# (input shape, pool_size, strides, padding): odd sizes, batch 1, overlapping windows, same padding;
# windows that tile the image exactly, leave a remainder, or leave gaps (stride > pool)
CASES = [
    ((2, 7, 9, 3), 2, None, "valid"),
    ((2, 8, 6, 16), 2, None, "valid"),
    ((2, 7, 9, 3), 2, None, "same"),
    ((1, 7, 8, 3), 2, 3, "valid"),
    ((1, 5, 5, 1), 3, 2, "same"),
    ((2, 6, 7, 5), 3, 1, "same"),
    ((3, 8, 8, 17), 2, 1, "valid"),
    ((1, 9, 4, 2), (2, 3), (1, 2), "same"),
    ((2, 4, 4, 33), 4, None, "SAME"),
    ((1, 3, 3, 2), 5, 3, "same"),
    ((4, 32, 32, 16), 2, None, "valid"),  # large enough to be split between threads
    ((4, 32, 32, 16), 3, 2, "same"),
]


def _c():
    from tinygrad_ko._backend import c
    return c


def _pooled_input(shape, dtype, rng):
    """Random values with exact ties (a blank band of zeros) and a few -inf pixels at the border."""
    x = rng.standard_normal(shape).astype(dtype)
    x[:, :, : max(1, shape[2] // 3)] = 0
    x[:, 0, 0] = -np.inf
    return x


@needs_c
@pytest.mark.kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, pool, strides, padding", CASES)
@pytest.mark.parametrize("threads", [1, 2])
def test_c_matches_reference(shape, pool, strides, padding, dtype, threads, rng):
    c, before = _c(), tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        x = _pooled_input(shape, dtype, rng)
        geometry = kernels.pool2d_geometry(shape, pool, strides, padding)
        (y, argmax), (y_ref, argmax_ref) = c.maxpool2d_forward(x, geometry), \
            ref.maxpool2d_forward(x, geometry)
        assert y.dtype == dtype and np.array_equal(y, y_ref) and np.array_equal(argmax, argmax_ref)
        dy = rng.standard_normal(y.shape).astype(dtype)
        np.testing.assert_allclose(c.maxpool2d_backward(dy, argmax, shape, geometry),
                                   ref.maxpool2d_backward(dy, argmax, shape, geometry),
                                   rtol=1e-6, atol=1e-6)
        # the ReLU-gated scatter, gated by a pooled output that is zero or negative in places
        gate = np.where(rng.random(y.shape) < 0.3, 0, y).astype(dtype)
        np.testing.assert_allclose(c.maxpool2d_backward_relu(dy, gate, argmax, shape, geometry),
                                   ref.maxpool2d_backward_relu(dy, gate, argmax, shape, geometry),
                                   rtol=1e-6, atol=1e-6)
        ddx = rng.standard_normal(shape).astype(dtype)
        assert np.array_equal(c.maxpool2d_gather(ddx, argmax), ref.maxpool2d_gather(ddx, argmax))
        x = np.nan_to_num(x, neginf=-3.0)
        tol = dict(rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c.avgpool2d_forward(x, geometry),
                                   ref.avgpool2d_forward(x, geometry), **tol)
        np.testing.assert_allclose(c.avgpool2d_backward(dy, shape, geometry),
                                   ref.avgpool2d_backward(dy, shape, geometry), **tol)
    finally:
        tg.set_num_threads(before)


@needs_c
@pytest.mark.kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool, strides", [(2, 2), (3, 2)])
def test_c_max_pool_takes_the_first_nan_like_the_reference(pool, strides, dtype, rng):
    c = _c()
    x = _pooled_input((2, 8, 10, 35), dtype, rng)
    x[rng.random(x.shape) < 0.1] = np.nan
    geometry = kernels.pool2d_geometry(x.shape, pool, strides, "valid")
    (y, argmax), (y_ref, argmax_ref) = c.maxpool2d_forward(x, geometry), \
        ref.maxpool2d_forward(x, geometry)
    assert np.isnan(y).any()
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)


def test_same_padding_follows_keras(backend):
    # 5x5, pool 2, stride 2, "same": 3x3 output, the extra padding row/column at the bottom/right,
    # and the padded pixels count neither in the max nor in the mean.
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1) - 30
    y = F.max_pool2d(tg.Tensor(x), 2, padding="same").numpy()[0, :, :, 0]
    np.testing.assert_array_equal(y, [[-24, -22, -21], [-14, -12, -11], [-9, -7, -6]])
    a = F.avg_pool2d(tg.Tensor(x), 2, padding="same").numpy()[0, :, :, 0]
    np.testing.assert_allclose(a, [[-27, -25, -23.5], [-17, -15, -13.5], [-9.5, -7.5, -6]])


def test_max_pool_routes_ties_to_first_maximum(backend):
    x = tg.Tensor(np.zeros((1, 4, 4, 2), np.float32), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1  # top-left of every window: the first in row-major order
    for ch in range(2):
        np.testing.assert_array_equal(x.grad.numpy()[0, :, :, ch], expected)


def test_torch_oracle_ties_and_overlap(backend, torch, rng):
    x = np.round(rng.standard_normal((2, 9, 9, 3)), 0).astype(np.float32)  # many exact ties
    x[:, :3] = 0
    for pool, stride in [(2, 2), (3, 2), (3, 1)]:
        ours = tg.Tensor(x, requires_grad=True)
        y = F.max_pool2d(ours, pool, stride)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        (y * tg.Tensor(dy)).sum().backward()
        theirs = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
        yt = torch.nn.functional.max_pool2d(theirs, pool, stride)
        yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
        np.testing.assert_array_equal(y.numpy(), yt.detach().numpy().transpose(0, 2, 3, 1))
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy().transpose(0, 2, 3, 1),
                                   rtol=1e-6, atol=1e-6)


def test_torch_oracle_avg_pool_excludes_padding(backend, torch, rng):
    x = rng.standard_normal((2, 7, 7, 4)).astype(np.float32)
    ours = tg.Tensor(x, requires_grad=True)
    y = F.avg_pool2d(ours, 3, 1, "same")  # symmetric 1-pixel padding, as torch's padding=1
    y.sum().backward()
    theirs = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    yt = torch.nn.functional.avg_pool2d(theirs, 3, 1, padding=1, count_include_pad=False)
    yt.sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy().transpose(0, 2, 3, 1), atol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy().transpose(0, 2, 3, 1),
                               atol=1e-6)


@pytest.mark.parametrize("pool, strides, padding", [(2, None, "valid"), (3, 2, "same"),
                                                    (2, 1, "same")])
def test_gradcheck_first_and_second_order(backend, pool, strides, padding, rng):
    x = rng.standard_normal((1, 5, 4, 2))
    for op in (F.max_pool2d, F.avg_pool2d):
        assert tg.gradcheck(lambda t: op(t, pool, strides, padding), [x], order=2)


def test_global_avg_pool(backend, rng):
    x = rng.standard_normal((2, 3, 5, 4))
    np.testing.assert_allclose(F.global_avg_pool2d(tg.Tensor(x)).numpy(), x.mean(axis=(1, 2)))
    assert tg.gradcheck(F.global_avg_pool2d, [x])
    with pytest.raises(ValueError, match="NHWC"):
        F.global_avg_pool2d(tg.Tensor(x[0]))


def test_backward_of_max_pool_backward_is_a_gather(backend, rng):
    x = tg.Tensor(rng.standard_normal((1, 4, 4, 3)), requires_grad=True)
    y = F.max_pool2d(x, 2)
    (gx,) = tg.grad((y * y).sum(), [x], create_graph=True)  # gx = 2 y scattered to the argmax
    (ggx,) = tg.grad(gx.sum(), [x])
    mask = np.zeros(x.shape)
    mask.reshape(-1)[np.flatnonzero(np.isin(x.numpy(), y.numpy()))] = 2
    np.testing.assert_allclose(ggx.numpy(), mask)


@pytest.mark.parametrize("call, error, match", [
    (lambda x: F.max_pool2d(x[0], 2), ValueError, "4-D"),
    (lambda x: F.max_pool2d(x, 9), ValueError, "larger than the input"),
    (lambda x: F.avg_pool2d(x, 2, strides=0), ValueError, "positive"),
    (lambda x: F.max_pool2d(x, 2, padding="full"), ValueError, "padding"),
    (lambda x: F.max_pool2d(x, (2, 2, 2)), ValueError, "pair"),
    (lambda x: F.avg_pool2d(x.astype(np.int32), 2), TypeError, "float32 or float64"),
])
def test_bad_input(backend, call, error, match):
    with pytest.raises(error, match=match):
        call(tg.Tensor(np.zeros((1, 4, 4, 2), np.float32)))


def test_backward_kernels_reject_bad_indices():
    dy = np.zeros((1, 2, 2, 1), np.float32)
    with pytest.raises(ValueError, match="outside"):
        kernels.maxpool2d_backward(dy, np.full(dy.shape, 16, np.int32), (1, 4, 4, 1))
    with pytest.raises(ValueError, match="int32"):
        kernels.maxpool2d_backward(dy, np.zeros(dy.shape, np.int64), (1, 4, 4, 1))
    with pytest.raises(ValueError, match="expected"):
        kernels.avgpool2d_backward(dy, (1, 6, 6, 1), 2)


def _conv_relu_pool_grads(x, w, b, fused, x_grad=True, reuse_relu_output=False, **pool):
    x, w, b = tg.Tensor(x, requires_grad=x_grad), tg.Tensor(w, requires_grad=True), \
        tg.Tensor(b, requires_grad=True)
    h = F.conv2d(x, w, b, padding="same", activation="relu") if fused else \
        F.conv2d(x, w, b, padding="same").relu()
    out = F.max_pool2d(h, **pool)
    weights = np.linspace(-1, 1, out.size).reshape(out.shape).astype(out.dtype)
    loss = (out * tg.Tensor(weights)).sum()
    if reuse_relu_output:
        loss = loss + (h * h).sum()
    loss.backward()
    return [t.grad.numpy() for t in (x, w, b) if t.requires_grad]


@pytest.mark.parametrize("shape", [(2, 6, 6, 3), (2, 7, 9, 1)])
@pytest.mark.parametrize("pool", [dict(pool_size=2), dict(pool_size=3, strides=1, padding="same")])
@pytest.mark.parametrize("x_grad", [False, True])
@pytest.mark.parametrize("reuse_relu_output", [False, True])
def test_pooling_a_fused_conv_relu(backend, shape, pool, x_grad, reuse_relu_output, rng,
                                   monkeypatch):
    """max_pool2d of a fused conv + ReLU is one Conv2dReluMaxPool2d node, whose backward needs only
    the pooled gradient, output and argmax (the conv never re-applies the ReLU mask, and a 2x2
    pool over an input that needs no gradient takes the pooled weight-gradient kernel); its
    gradients are those of the unfused ops, ReLU-dead windows, ties among them and odd sizes
    included, and also when the ReLU output has a second consumer (through the conv's own node)."""
    x = rng.standard_normal(shape)
    w = rng.standard_normal((3, 3, shape[3], 4)) * 0.5
    b = np.array([-3.0, 0.0, 0.5, -0.5])  # channel 0 is ReLU-dead almost everywhere
    expected = _conv_relu_pool_grads(x, w, b, False, x_grad, reuse_relu_output, **pool)
    pooled_calls = []
    pooled_kernel = kernels.conv2d_backward_weight_bias_pooled
    monkeypatch.setattr(kernels, "conv2d_backward_weight_bias_pooled",
                        lambda *a, **k: pooled_calls.append(1) or pooled_kernel(*a, **k))
    if not reuse_relu_output:
        def refuse(*args, **kwargs):
            raise AssertionError("the conv re-applied the ReLU mask")
        for name in ("conv2d_backward_input_relu", "conv2d_backward_weight_bias_relu"):
            monkeypatch.setattr(kernels, name, refuse)
    got = _conv_relu_pool_grads(x, w, b, True, x_grad, reuse_relu_output, **pool)
    assert bool(pooled_calls) == (not x_grad and pool["pool_size"] == 2)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


def test_pooled_fused_conv_relu_second_order(backend, rng):
    x = rng.standard_normal((1, 4, 5, 2))
    w = rng.standard_normal((3, 3, 2, 3)) * 0.5
    b = np.array([0.3, -0.2, 0.1])
    assert tg.gradcheck(
        lambda w_, b_: F.max_pool2d(F.conv2d(tg.Tensor(x), w_, b_, padding="same",
                                             activation="relu"), 2), [w, b], order=2)


@needs_c
@pytest.mark.kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel_hw, c_out, padding", [
    ((3, 28, 28, 1), (3, 3), 32, (1, 1, 1, 1)),
    ((2, 7, 9, 3), (3, 3), 5, (1, 1, 1, 1)),
    ((2, 9, 8, 2), (2, 2), 17, (0, 0, 0, 0)),
    ((1, 6, 6, 1), (5, 5), 8, (2, 2, 2, 2)),
    ((4, 14, 14, 32), (3, 3), 64, (1, 1, 1, 1)),  # where Winograd takes the weight gradient
])
@pytest.mark.parametrize("threads", [1, 2])
def test_pooled_weight_gradient_kernel_matches_reference(shape, kernel_hw, c_out, padding, dtype,
                                                         threads, simd, rng):
    c, before = _c(), tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        geometry = dict(stride=(1, 1), dilation=(1, 1), padding=padding)
        x = rng.standard_normal(shape).astype(dtype)
        w = (rng.standard_normal((*kernel_hw, shape[3], c_out)) * 0.5).astype(dtype)
        b = (rng.standard_normal(c_out) - 0.5).astype(dtype)
        y = kernels.conv2d_forward_relu(x, w, b, **geometry)
        p, argmax = kernels.maxpool2d_forward(y, 2)
        dp = rng.standard_normal(p.shape).astype(dtype)
        args = (x, dp, p, argmax, y.shape[1:3], kernel_hw, (1, 1), (1, 1), padding)
        tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
        for got, expected in zip(c.conv2d_backward_weight_bias_pooled(*args),
                                 ref.conv2d_backward_weight_bias_pooled(*args)):
            np.testing.assert_allclose(got, expected, **tol)
    finally:
        tg.set_num_threads(before)


def test_pooled_weight_gradient_rejects_mismatched_shapes():
    x = np.zeros((1, 6, 6, 1), np.float32)
    y = kernels.conv2d_forward_relu(x, np.ones((3, 3, 1, 2), np.float32), padding=(1, 1, 1, 1))
    p, argmax = kernels.maxpool2d_forward(y, 2)
    with pytest.raises(ValueError, match="must both be"):
        kernels.conv2d_backward_weight_bias_pooled(x, p[:, :2], p[:, :2], argmax[:, :2], (3, 3),
                                                   padding=(1, 1, 1, 1))
    with pytest.raises(ValueError, match="argmax"):
        kernels.conv2d_backward_weight_bias_pooled(x, p, p, argmax.astype(np.int64), (3, 3),
                                                   padding=(1, 1, 1, 1))


def test_backward_relu_rejects_a_mismatched_pooled_output():
    dy = np.zeros((1, 2, 2, 1), np.float32)
    _, argmax = kernels.maxpool2d_forward(np.zeros((1, 4, 4, 1), np.float32), 2)
    with pytest.raises(ValueError, match="pooled output y"):
        kernels.maxpool2d_backward_relu(dy, np.zeros((1, 2, 2, 2), np.float32), argmax,
                                        (1, 4, 4, 1))
    with pytest.raises(ValueError, match="pooled output y"):
        kernels.maxpool2d_backward_relu(dy, np.zeros(dy.shape), argmax, (1, 4, 4, 1))


def test_backward_trusts_only_the_read_only_argmax_of_its_forward(backend, rng):
    x = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    y, argmax = kernels.maxpool2d_forward(x, 2)
    dy = np.ones_like(y)
    with pytest.raises(ValueError, match="read-only"):
        argmax[0, 0, 0, 0] = 0
    expected = ref.maxpool2d_backward(dy, argmax, x.shape, (2, 2, 2, 2, 0, 0, 2, 2))
    np.testing.assert_array_equal(kernels.maxpool2d_backward(dy, argmax, x.shape), expected)
    # made writable again and corrupted, or a copy with bad offsets: scanned, and refused
    argmax.flags.writeable = True
    argmax[0, 0, 0, 0] = 16
    with pytest.raises(ValueError, match="outside"):
        kernels.maxpool2d_backward(dy, argmax, x.shape)
    forged = np.array(argmax)
    forged.flags.writeable = False
    with pytest.raises(ValueError, match="outside"):
        kernels.maxpool2d_gather(x, forged)
    # trusted only for images as large as the one they were made for: offsets 0, 2, 8 and 10
    # of a 4x4 image do not fit a 2x2 one
    _, offsets = kernels.maxpool2d_forward(np.zeros((1, 4, 4, 1), np.float32), 2)
    with pytest.raises(ValueError, match="outside"):
        kernels.maxpool2d_gather(np.zeros((1, 2, 2, 1), np.float32), offsets)


def test_argmax_registry_forgets_freed_arrays(rng):
    before = len(kernels._argmax_made)
    for _ in range(3):
        kernels.maxpool2d_forward(rng.standard_normal((1, 4, 4, 1)).astype(np.float32), 2)
    assert len(kernels._argmax_made) == before


def test_empty_batch(backend):
    for op in (F.max_pool2d, F.avg_pool2d):
        x = tg.Tensor(np.zeros((0, 4, 4, 2), np.float32), requires_grad=True)
        y = op(x, 2, padding="same")
        y.sum().backward()
        assert y.shape == (0, 2, 2, 2) and x.grad.shape == x.shape
