"""Fused conv2d + ReLU: the C kernels against the unfused kernels (bit for bit on one thread) and
the NumPy references, F.conv2d(activation="relu") against conv2d(...).relu() on both backends,
gradchecks, ReLU's zero and NaN rules, bad input, and the Keras layers that use it."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import functional as F
from tinygrad_ko import nn
from tinygrad_ko._backend import kernels, ref, selection

# (n, h, w, c_in, c_out, kh, kw, stride, dilation, padding as (top, bottom, left, right))
CASES = [
    (2, 7, 9, 3, 5, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),       # 'same', C_out not a vector multiple
    (3, 14, 14, 32, 64, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),   # the toy CNN's second layer
    (2, 11, 10, 2, 3, 5, 5, (2, 2), (1, 1), (1, 2, 2, 1)),     # stride 2, asymmetric pads
    (1, 9, 12, 3, 8, 3, 2, (2, 3), (2, 1), (0, 0, 3, 0)),      # mixed stride and dilation
    (2, 6, 5, 3, 16, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),      # 1x1, unpadded, a vector multiple
    (2, 9, 8, 1, 32, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),      # the input layer: small-K kernels
]                                                              # mask dy as they load it


def _arrays(case, dtype, rng):
    """x, w, b, dy and the geometry of a case; the zero rows of x meet a zero bias channel, so
    some pre-activations are exactly 0."""
    n, h, w, c, o, kh, kw, stride, dilation, padding = case
    out_hw = kernels.conv2d_output_hw((h, w), (kh, kw), stride, dilation, padding)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    x[0, :2] = 0
    b = rng.standard_normal(o).astype(dtype)
    b[0] = 0
    w = rng.standard_normal((kh, kw, c, o)).astype(dtype)
    dy = rng.standard_normal((n, *out_hw, o)).astype(dtype)
    return x, w, b, dy, dict(stride=stride, dilation=dilation, padding=padding)


def _bits(a):
    """a's bit patterns: equal arrays of these tell -0.0 from 0.0 and compare NaN payloads."""
    return a.view(f"u{a.dtype.itemsize}")


@pytest.mark.kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda case: "x".join(map(str, case[:7])))
def test_fused_kernels_match_unfused(c_impl, simd, case, dtype, rng):
    """Every SIMD body: one thread bit for bit against relu + the plain kernels, two threads
    (partial sums in another order) and the NumPy references within rounding."""
    c = c_impl
    x, w, b, dy, geometry = _arrays(case, dtype, rng)
    kernel_hw = w.shape[:2]
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
    threads = selection.get_num_threads()
    try:
        for n_threads in (1, 2):
            selection.set_num_threads(n_threads)
            y = c.conv2d_forward_relu(x, w, b, **geometry)
            assert y.dtype == dtype
            np.testing.assert_array_equal(_bits(y), _bits(c.relu_forward(
                c.conv2d_forward(x, w, b, **geometry))))
            assert (y == 0).any() and (y > 0).any()
            dz = c.relu_backward(dy, y)
            calls = {  # name: (fused C, unfused C on dz, NumPy reference); weight+bias: pairs
                "dx": (c.conv2d_backward_input_relu(dy, y, w, x.shape[1:3], **geometry),
                       c.conv2d_backward_input(dz, w, x.shape[1:3], **geometry),
                       ref.conv2d_backward_input_relu(dy, y, w, x.shape[1:3], **geometry)),
                "dw": (c.conv2d_backward_weight_relu(x, dy, y, kernel_hw, **geometry),
                       c.conv2d_backward_weight(x, dz, kernel_hw, **geometry),
                       ref.conv2d_backward_weight_relu(x, dy, y, kernel_hw, **geometry)),
            }
            both = (c.conv2d_backward_weight_bias_relu(x, dy, y, kernel_hw, **geometry),
                    c.conv2d_backward_weight_bias(x, dz, kernel_hw, **geometry),
                    ref.conv2d_backward_weight_bias_relu(x, dy, y, kernel_hw, **geometry))
            calls["dw (with db)"], calls["db"] = zip(*both)
            for name, (fused, unfused, reference) in calls.items():
                assert fused.dtype == dtype
                if n_threads == 1:
                    np.testing.assert_array_equal(fused, unfused, err_msg=name)
                np.testing.assert_allclose(fused, reference, **tol, err_msg=name)
            np.testing.assert_allclose(y, ref.conv2d_forward_relu(x, w, b, **geometry), **tol)
    finally:
        selection.set_num_threads(threads)


@pytest.mark.kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_out", [1, 16])  # 16: the small-K kernel masks dy as it loads it
def test_fused_kernels_follow_relus_nan_and_sign_rules(c_impl, dtype, c_out):
    """NaN passes the forward ReLU; the gradient is the product dy * (y > 0), so an inf or NaN dy
    where y == 0 gives NaN, exactly as relu_backward does (and a NaN y passes no gradient)."""
    c = c_impl
    x = np.array([[[[1.0], [0.0], [-1.0], [np.nan], [2.0]]]], dtype)   # (1, 1, 5, 1)
    w = np.ones((1, 1, 1, c_out), dtype)
    geometry = dict(stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0))
    y = c.conv2d_forward_relu(x, w, None, **geometry)
    np.testing.assert_array_equal(_bits(y), _bits(c.relu_forward(np.repeat(x, c_out, -1))))
    dy = np.repeat(np.array([[[[-3.0], [np.inf], [np.nan], [4.0], [-5.0]]]], dtype), c_out, -1)
    dz = c.relu_backward(dy, y)
    dx = c.conv2d_backward_input_relu(dy, y, w, (1, 5), **geometry)
    np.testing.assert_array_equal(_bits(dx), _bits(c.conv2d_backward_input(dz, w, (1, 5),
                                                                           **geometry)))
    np.testing.assert_array_equal(dx.ravel(), np.array([-3.0, np.nan, np.nan, 0.0, -5.0]) * c_out)
    dw, db = c.conv2d_backward_weight_bias_relu(x[..., :1] * 0 + 1, dy, y, (1, 1), **geometry)
    np.testing.assert_array_equal(db, c.conv2d_backward_bias(dz))
    np.testing.assert_array_equal(dw.ravel(), db)


def test_f_conv2d_relu_matches_unfused(backend, rng):
    """Values bit for bit and gradients (bit for bit on these single-threaded sizes) of every
    input, float32 and float64, with stride, padding and dilation variants."""
    settings = [dict(stride=1, padding="same"), dict(stride=2, padding=1),
                dict(stride=(1, 2), padding="valid", dilation=(2, 1))]
    for dtype in (np.float32, np.float64):
        for params in settings:
            x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((2, 7, 6, 3), (3, 3, 3, 5),
                                                                       (5,)))
            results = []
            for fused in (True, False):
                tx, tw, tb = (tg.Tensor(a, requires_grad=True) for a in (x, w, b))
                y = F.conv2d(tx, tw, tb, activation="relu" if fused else None, **params)
                y = y if fused else y.relu()
                probe = np.linspace(-1, 1, y.size).reshape(y.shape).astype(dtype)
                (y * tg.Tensor(probe)).sum().backward()
                results.append([y.numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()])
            for got, want in zip(*results):
                assert got.dtype == dtype
                np.testing.assert_array_equal(_bits(got), _bits(want))


def test_f_conv2d_relu_partial_gradients(backend, rng):
    """Only some inputs need gradients (a frozen kernel, a frozen bias, no bias)."""
    x, w, b = (rng.standard_normal(s) for s in ((2, 5, 5, 2), (3, 3, 2, 4), (4,)))
    for needs in ((True, False, True), (False, True, False), (False, False, True)):
        tensors = [tg.Tensor(a, requires_grad=r) for a, r in zip((x, w, b), needs)]
        F.conv2d(*tensors, padding=1, activation="relu").sum().backward()
        plain = [tg.Tensor(a, requires_grad=r) for a, r in zip((x, w, b), needs)]
        F.conv2d(*plain, padding=1).relu().sum().backward()
        for t, p in zip(tensors, plain):
            assert (t.grad is None) == (p.grad is None)
            if t.grad is not None:
                np.testing.assert_allclose(t.grad.numpy(), p.grad.numpy(), rtol=1e-12)
    tx, tw = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    F.conv2d(tx, tw, activation="relu").sum().backward()
    np.testing.assert_allclose(tw.grad.numpy(), tg.grad(
        F.conv2d(tg.Tensor(x), tw).relu().sum(), [tw])[0].numpy(), rtol=1e-12)


def _away_from_kinks(rng, shapes, **params):
    """float64 inputs whose pre-activations all lie at least 0.05 from 0, so central differences
    never straddle the ReLU's kink (the bias is nudged until they do)."""
    x, w, b = (rng.standard_normal(s) for s in shapes)
    while np.abs(F.conv2d(x, w, b, **params).numpy()).min() < 0.05:
        b = b + 0.1
    return x, w, b


@pytest.mark.parametrize("params", [dict(stride=1, padding="same"),
                                    dict(stride=2, padding=1, dilation=1),
                                    dict(stride=1, padding="valid", dilation=2)])
def test_gradcheck_first_order(backend, rng, params):
    x, w, b = _away_from_kinks(rng, ((1, 6, 5, 2), (3, 2, 2, 3), (3,)), **params)
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, activation="relu", **params),
                        [x, w, b])


def test_gradcheck_second_order_through_the_fallback(backend, rng):
    x, w, b = _away_from_kinks(rng, ((1, 5, 4, 2), (2, 2, 2, 3), (3,)), padding=1)
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1, activation="relu"),
                        [x, w, b], order=2)
    # the create_graph gradients are the unfused ones
    tx, tw = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    grads = []
    for fused in (True, False):
        y = F.conv2d(tx, tw, b, padding=1, activation="relu" if fused else None)
        y = y if fused else y.relu()
        gx, = tg.grad((y * y).sum(), [tx], create_graph=True)
        grads.append(tg.grad((gx * gx).sum(), [tw])[0].numpy())
    np.testing.assert_allclose(*grads, rtol=1e-12)


def test_gradient_at_exact_zero_is_zero(backend):
    """As Relu: where the pre-activation is exactly 0 the output is 0 and passes no gradient."""
    x = tg.Tensor(np.array([[[[1.0], [0.0], [-2.0]]]]), requires_grad=True)   # (1, 1, 3, 1)
    w = tg.Tensor(np.ones((1, 1, 1, 1)), requires_grad=True)
    b = tg.Tensor(np.zeros(1), requires_grad=True)
    y = F.conv2d(x, w, b, activation="relu")
    np.testing.assert_array_equal(y.numpy().ravel(), [1.0, 0.0, 0.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(w.grad.numpy().ravel(), [1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0])


def test_bad_input(rng):
    x, w = rng.standard_normal((1, 4, 4, 2)), rng.standard_normal((3, 3, 2, 3))
    with pytest.raises(ValueError, match="activation must be None or 'relu'"):
        F.conv2d(x, w, activation="tanh")
    with pytest.raises(ValueError, match="activation must be None or 'relu'"):
        F.conv1d(x[:, 0], w[0], activation="sigmoid")
    dy = rng.standard_normal((1, 2, 2, 3))
    geometry = dict(stride=(1, 1), dilation=(1, 1), padding=(0, 0, 0, 0))
    with pytest.raises(ValueError, match=r"y \(the fused ReLU's output\)"):
        kernels.conv2d_backward_input_relu(dy, dy[:, :1].copy(), w, (4, 4), **geometry)
    with pytest.raises(ValueError, match=r"y \(the fused ReLU's output\)"):
        kernels.conv2d_backward_weight_relu(x, dy, dy.astype(np.float32), (3, 3), **geometry)
    with pytest.raises(TypeError, match="y must be float32 or float64"):
        kernels.conv2d_backward_weight_bias_relu(x, dy, dy.astype(np.int64), (3, 3), **geometry)
    with pytest.raises(ValueError, match="y must be C-contiguous"):
        kernels.conv2d_backward_input_relu(dy, np.asfortranarray(dy), w, (4, 4), **geometry)
    with pytest.raises(ValueError, match="input channels differ"):
        kernels.conv2d_forward_relu(x, w[:, :, :1].copy(), None, **geometry)


@pytest.mark.parametrize("layer_class, shape", [(nn.Conv2D, (2, 6, 6, 3)), (nn.Conv1D, (2, 9, 3))])
def test_layers_with_relu_use_the_fused_op(backend, rng, layer_class, shape):
    """Conv2D/Conv1D(activation="relu"): the fused op in the graph, the unfused layer's values and
    gradients, and Keras's config unchanged."""
    x = rng.standard_normal(shape).astype(np.float32)
    fused = layer_class(4, 3, padding="same", activation="relu")
    plain = layer_class(4, 3, padding="same")
    fused(tg.Tensor(x)), plain(tg.Tensor(x))  # builds the weights
    weights = [fused.kernel.numpy(), rng.standard_normal(4).astype(np.float32)]
    fused.set_weights(weights)
    plain.set_weights(weights)
    y, y_plain = fused(tg.Tensor(x)), plain(tg.Tensor(x)).relu()
    ctx = y._ctx if layer_class is nn.Conv2D else y._ctx.inputs[0]._ctx  # Conv1D reshapes
    assert type(ctx) is F.Conv2dRelu
    np.testing.assert_array_equal(y.numpy(), y_plain.numpy())
    grads = [tg.grad((out * out).sum(), [layer.kernel, layer.bias])
             for out, layer in ((y, fused), (y_plain, plain))]
    for got, want in zip(*grads):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)
    config = fused.get_config()
    assert config["activation"] == "relu"
    assert layer_class.from_config(config).activation is fused.activation
