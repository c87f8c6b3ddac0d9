"""BatchNormalization against a NumPy reference of Keras's formulas, gradchecks and PyTorch."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import nn

from layer_check import gradcheck_layer


def keras_batchnorm(x, gamma, beta, moving_mean, moving_var, axes, momentum, epsilon, training):
    """Keras's BatchNormalization: output and the updated moving statistics."""
    if training:
        mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
        moving_mean = moving_mean * momentum + mean.reshape(moving_mean.shape) * (1 - momentum)
        moving_var = moving_var * momentum + var.reshape(moving_var.shape) * (1 - momentum)
    else:
        shape = [1] * x.ndim
        for a in range(x.ndim):
            if a not in axes:
                shape[a] = x.shape[a]
        mean, var = moving_mean.reshape(shape), moving_var.reshape(shape)
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta, moving_mean, moving_var


def _randomize(layer, rng):
    layer.set_weights([rng.normal(size=w.shape) if i != 3 else rng.uniform(0.5, 2, w.shape)
                       for i, w in enumerate(layer.get_weights())])


def test_defaults_weights_and_params():
    bn = nn.BatchNormalization()
    assert (bn.axis, bn.momentum, bn.epsilon, bn.center, bn.scale) == (-1, 0.99, 1e-3, True, True)
    bn(np.zeros((2, 5, 5, 3)))
    assert bn.count_params() == 12 and len(bn.trainable_weights) == 2
    assert [w.shape for w in bn.non_trainable_weights] == [(3,), (3,)]
    gamma, beta, moving_mean, moving_var = bn.get_weights()
    assert np.all(gamma == 1) and np.all(beta == 0)
    assert np.all(moving_mean == 0) and np.all(moving_var == 1)
    plain = nn.BatchNormalization(center=False, scale=False)
    plain(np.zeros((2, 4)))
    assert plain.trainable_weights == [] and plain.count_params() == 8


@pytest.mark.parametrize("shape, axis", [((8, 5), -1), ((4, 3, 3, 2), -1), ((4, 3, 2, 2), 1)])
def test_training_step_matches_keras_formulas(shape, axis, rng):
    bn = nn.BatchNormalization(axis=axis, momentum=0.9, dtype="float64")
    x = rng.normal(2.0, 3.0, size=shape)
    bn(x)
    _randomize(bn, rng)
    gamma, beta, moving_mean, moving_var = bn.get_weights()
    feature = axis % len(shape)
    axes = tuple(a for a in range(len(shape)) if a != feature)
    bshape = [shape[a] if a == feature else 1 for a in range(len(shape))]
    for _ in range(2):
        want, moving_mean, moving_var = keras_batchnorm(
            x, gamma.reshape(bshape), beta.reshape(bshape), moving_mean, moving_var, axes, 0.9,
            1e-3, training=True)
        np.testing.assert_allclose(bn(x, training=True).numpy(), want, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(bn.moving_mean.numpy(), moving_mean, rtol=1e-12)
        np.testing.assert_allclose(bn.moving_variance.numpy(), moving_var, rtol=1e-12)
    want, _, _ = keras_batchnorm(x, gamma.reshape(bshape), beta.reshape(bshape), moving_mean,
                                 moving_var, axes, 0.9, 1e-3, training=False)
    np.testing.assert_allclose(bn(x).numpy(), want, rtol=1e-10)  # default: inference
    np.testing.assert_allclose(bn.moving_mean.numpy(), moving_mean, rtol=1e-12)  # no update


def test_frozen_layer_runs_in_inference_mode(rng):
    bn = nn.BatchNormalization(dtype="float64")
    x = rng.normal(size=(6, 3))
    bn(x)
    bn.trainable = False
    np.testing.assert_allclose(bn(x, training=True).numpy(), x / np.sqrt(1 + 1e-3), rtol=1e-12)
    assert np.all(bn.moving_mean.numpy() == 0)


def test_gradcheck_through_batch_statistics(rng):
    bn = nn.BatchNormalization(dtype="float64")
    x = tg.Tensor(rng.normal(size=(5, 3)), requires_grad=True)
    assert gradcheck_layer(bn, x, ["gamma", "beta"], training=True)
    image_bn = nn.BatchNormalization(axis=1, dtype="float64")
    x = tg.Tensor(rng.normal(size=(2, 2, 3, 2)), requires_grad=True)
    assert gradcheck_layer(image_bn, x, ["gamma", "beta"], training=True)
    assert gradcheck_layer(nn.BatchNormalization(dtype="float64"),
                           tg.Tensor(rng.normal(size=(3, 2)), requires_grad=True),
                           ["gamma", "beta"], training=False)


def test_matches_torch_batchnorm_training(torch, rng):
    x = rng.normal(1.0, 2.0, size=(4, 5, 5, 3))
    upstream = rng.normal(size=x.shape)
    bn = nn.BatchNormalization(dtype="float64")
    bn(x)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    bn.set_weights([gamma, beta, np.zeros(3), np.ones(3)])
    xt = tg.Tensor(x, requires_grad=True)
    y = bn(xt, training=True)
    (y * tg.Tensor(upstream)).sum().backward()

    reference = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.01, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(gamma))
        reference.bias.copy_(torch.from_numpy(beta))
    x_torch = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_(True)
    y_torch = reference(x_torch)
    y_torch.backward(torch.from_numpy(upstream.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(y.numpy(), y_torch.detach().numpy().transpose(0, 2, 3, 1),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), x_torch.grad.numpy().transpose(0, 2, 3, 1),
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(bn.gamma.grad.numpy(), reference.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(bn.beta.grad.numpy(), reference.bias.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(bn.moving_mean.numpy(), reference.running_mean.numpy(), rtol=1e-9)


def test_config_round_trip_and_bad_input(rng):
    bn = nn.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                               gamma_regularizer="l2")
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    bn(x, training=True)
    clone = nn.BatchNormalization.from_config(bn.get_config())
    clone(x)
    clone.set_weights(bn.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), bn(x).numpy())
    assert len(bn.losses) == 1 and bn.losses[0].item() == pytest.approx(0.01 * 4)
    with pytest.raises(ValueError, match=r"batch_normalization.*axis 1 = 4.*\(2, 5, 3\)"):
        bn(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="out of range"):
        nn.BatchNormalization(axis=3)(np.zeros((2, 3)))
