"""F.linear (x @ w + b with a fused ReLU, the op behind Dense) against the composed ops on both
backends: values, gradients, gradchecks to second order, N-D and 1-D inputs, mixed dtypes, bad
input, and the Dense layers that use it."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import functional as F
from tinygrad_ko import nn


def _arrays(rng, x_shape, units, dtype=np.float64):
    """x, w, b whose pre-activations x @ w + b stay 0.05 away from 0, so that finite differences
    never cross the ReLU's kink."""
    while True:
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal((x_shape[-1], units)).astype(dtype)
        b = rng.standard_normal(units).astype(dtype)
        if np.abs(x @ w + b).min() > 0.05:
            return x, w, b


@pytest.mark.parametrize("activation", [None, "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape", [(5, 7), (2, 3, 7), (7,)])
def test_matches_composed_ops(backend, rng, activation, dtype, x_shape):
    x, w, b = _arrays(rng, x_shape, 4, dtype)
    tensors = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    plain = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.linear(*tensors, activation=activation)
    y_plain = plain[0] @ plain[1] + plain[2]
    y_plain = y_plain.relu() if activation else y_plain
    assert y.shape == y_plain.shape and y.dtype == dtype
    np.testing.assert_array_equal(y.numpy(), y_plain.numpy())
    dy = rng.standard_normal(y.shape).astype(dtype)
    (y * tg.Tensor(dy)).sum().backward()
    (y_plain * tg.Tensor(dy)).sum().backward()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for got, want in zip(tensors, plain):
        np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), **tol)


def test_gradient_of_some_inputs_and_no_bias(backend, rng):
    x, w, _ = _arrays(rng, (4, 3), 2)
    tx, tw = tg.Tensor(x), tg.Tensor(w, requires_grad=True)
    y = F.linear(tx, tw, activation="relu")
    gw, = tg.grad((y * y).sum(), [tw])
    z = np.maximum(x @ w, 0)
    np.testing.assert_allclose(gw.numpy(), x.T @ (2 * z), rtol=1e-12)


@pytest.mark.parametrize("activation", [None, "relu"])
def test_gradcheck_first_and_second_order(backend, rng, activation):
    x, w, b = _arrays(rng, (3, 4), 2)
    assert tg.gradcheck(lambda x, w, b: F.linear(x, w, b, activation=activation), [x, w, b])
    assert tg.gradcheck(lambda x, w, b: F.linear(x, w, b, activation=activation), [x, w, b],
                        order=2)


def test_gradient_at_exact_zero_is_zero(backend):
    """As Relu: where the pre-activation is exactly 0 the output is 0 and passes no gradient."""
    x = tg.Tensor(np.array([[1.0], [0.0], [-2.0]]), requires_grad=True)
    w = tg.Tensor(np.ones((1, 1)), requires_grad=True)
    b = tg.Tensor(np.zeros(1), requires_grad=True)
    y = F.linear(x, w, b, activation="relu")
    np.testing.assert_array_equal(y.numpy().ravel(), [1.0, 0.0, 0.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(w.grad.numpy().ravel(), [1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0])


def test_mixed_dtypes_follow_numpy_promotion(backend, rng):
    x, w, b = _arrays(rng, (2, 3), 2)
    y = F.linear(tg.Tensor(x), tg.Tensor(w.astype(np.float32)), tg.Tensor(b), activation="relu")
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), np.maximum(x @ w.astype(np.float32) + b, 0), rtol=1e-6)


def test_bad_input(rng):
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    with pytest.raises(ValueError, match="activation must be None or 'relu'"):
        F.linear(x, w, activation="tanh")
    with pytest.raises(ValueError, match="kernel w must be 2-D"):
        F.linear(x, w[0])
    with pytest.raises(ValueError, match=r"last axis of x \(2, 3\) must match the first of w"):
        F.linear(x, w.T)
    with pytest.raises(ValueError, match=r"bias b must have shape \(4,\)"):
        F.linear(x, w, np.zeros(3))


@pytest.mark.parametrize("activation, op", [("relu", F.Linear), (None, F.Linear),
                                            ("softmax", None)])
def test_dense_uses_linear(backend, rng, activation, op):
    """Dense: one Linear node, rectified inside when relu; other activations apply after it.
    Values and gradients are those of x @ kernel + bias (then the activation)."""
    x = rng.standard_normal((3, 5)).astype(np.float32)
    layer = nn.Dense(4, activation=activation)
    y = layer(tg.Tensor(x))
    node = y._ctx if op else y._ctx.inputs[0]._ctx
    assert type(node) is F.Linear
    z = x @ layer.kernel.numpy() + layer.bias.numpy()
    want = {"relu": np.maximum(z, 0), None: z}.get(activation)
    if want is None:
        want = np.exp(z - z.max(axis=1, keepdims=True))
        want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-5, atol=1e-6)
    assert nn.Dense.from_config(layer.get_config()).activation is layer.activation
