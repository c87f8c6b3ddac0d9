"""Convolution and pooling layers: Keras shapes, NumPy references, gradchecks, PyTorch oracle."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_ko as tg
from tinygrad_ko import nn

from layer_check import gradcheck_layer


def _same_pads(size, window, stride, dilation=1):
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (window - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d_reference(x, kernel, bias, strides, padding, dilation):
    """Keras Conv2D (cross-correlation, NHWC / HWIO) by explicit windows."""
    (kh, kw, _, _), (sh, sw), (dh, dw) = kernel.shape, strides, dilation
    if padding == "same":
        pads = (_same_pads(x.shape[1], kh, sh, dh), _same_pads(x.shape[2], kw, sw, dw))
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    oh = (x.shape[1] - dh * (kh - 1) - 1) // sh + 1
    ow = (x.shape[2] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, kernel.shape[3]))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
            window = x[:, rows, j * sw:j * sw + dw * (kw - 1) + 1:dw]
            out[:, i, j] = np.einsum("nhwc,hwco->no", window, kernel)
    return out + (0 if bias is None else bias)


def pool_reference(x, pool, strides, padding, reduce):
    """Keras pooling: "same" pads with ignored cells (max skips them, mean does not count them)."""
    (ph, pw), (sh, sw) = pool, strides
    if padding == "same":
        pads = ((0, 0), _same_pads(x.shape[1], ph, sh), _same_pads(x.shape[2], pw, sw), (0, 0))
        x = np.pad(x, pads, constant_values=np.nan)
    oh, ow = (x.shape[1] - ph) // sh + 1, (x.shape[2] - pw) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            out[:, i, j] = reduce(x[:, i * sh:i * sh + ph, j * sw:j * sw + pw], axis=(1, 2))
    return out


CONV_CASES = [
    dict(kernel_size=3, strides=1, padding="valid", dilation_rate=1),
    dict(kernel_size=3, strides=1, padding="same", dilation_rate=1),
    dict(kernel_size=(2, 3), strides=2, padding="same", dilation_rate=1),
    dict(kernel_size=(3, 2), strides=(2, 1), padding="valid", dilation_rate=1),
    dict(kernel_size=2, strides=1, padding="same", dilation_rate=2),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_shape_and_values(case, rng):
    conv = nn.Conv2D(4, activation="relu", dtype="float64", **case)
    x = rng.normal(size=(2, 7, 6, 3))
    y = conv(x)
    kernel, bias = conv.get_weights()
    assert kernel.shape == conv.kernel_size + (3, 4)
    bias = rng.normal(size=4)
    conv.set_weights([kernel, bias])
    want = np.maximum(conv2d_reference(x, kernel, bias, conv.strides, conv.padding,
                                       conv.dilation_rate), 0)
    y = conv(x)
    assert y.shape == conv.compute_output_shape((2, 7, 6, 3)) == want.shape
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10, atol=1e-12)


def test_conv2d_keras_shapes_params_and_regularizer():
    conv = nn.Conv2D(filters=16, kernel_size=(3, 3), kernel_regularizer=nn.regularizers.l2(0.001),
                     input_shape=(28, 28, 1))
    assert conv.count_params() == 3 * 3 * 1 * 16 + 16
    assert conv.compute_output_shape((None, 28, 28, 1)) == (None, 26, 26, 16)
    kernel = conv.kernel.numpy().astype(np.float64)
    assert conv.losses[0].item() == pytest.approx(0.001 * (kernel ** 2).sum(), rel=1e-5)
    same = nn.Conv2D(32, 3, padding="same", strides=2)
    assert same.compute_output_shape((None, 28, 27, 1)) == (None, 14, 14, 32)
    assert nn.Conv2D(8, 3).compute_output_shape((None, None, 10, 3)) == (None, None, 8, 8)


def test_conv2d_gradcheck(rng):
    conv = nn.Conv2D(2, (2, 3), strides=(1, 2), padding="same", dtype="float64")
    x = tg.Tensor(rng.normal(size=(2, 4, 5, 2)), requires_grad=True)
    assert gradcheck_layer(conv, x, ["kernel", "bias"])


def test_conv2d_matches_torch(torch, rng):
    conv = nn.Conv2D(5, 3, strides=2, padding="valid", dtype="float64")
    x = rng.normal(size=(2, 9, 8, 3))
    y = conv(x).numpy()
    kernel, bias = conv.get_weights()
    want = torch.nn.functional.conv2d(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
                                      torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()),
                                      torch.from_numpy(bias), stride=2)
    np.testing.assert_allclose(y, want.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_conv1d_forward_and_gradient(padding, rng):
    conv = nn.Conv1D(3, 3, padding=padding, dilation_rate=2, dtype="float64")
    x = rng.normal(size=(2, 9, 2))
    y = conv(x)
    kernel, bias = conv.get_weights()
    if padding == "causal":
        padded, mode = np.pad(x, ((0, 0), (4, 0), (0, 0))), "valid"
    else:
        padded, mode = x, padding
    want = conv2d_reference(padded[:, :, None], kernel[:, None], bias, (1, 1), mode, (2, 1))
    want = want[:, :, 0]
    assert y.shape == conv.compute_output_shape((2, 9, 2)) == want.shape
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10, atol=1e-12)
    x = tg.Tensor(rng.normal(size=(1, 6, 2)), requires_grad=True)
    assert gradcheck_layer(conv, x, ["kernel", "bias"])


def test_conv_bad_arguments_and_inputs(rng):
    with pytest.raises(ValueError, match="filters must be a positive integer"):
        nn.Conv2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size must be an int or 2 ints"):
        nn.Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="padding must be one of"):
        nn.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="strides > 1 together with dilation_rate > 1"):
        nn.Conv2D(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="channels_last"):
        nn.Conv2D(4, 3, data_format="channels_first")
    conv = nn.Conv2D(4, 3, input_shape=(8, 8, 3))
    with pytest.raises(ValueError, match=r"conv2d.*value 3.*\(1, 8, 8, 1\)"):
        conv(np.zeros((1, 8, 8, 1)))
    with pytest.raises(ValueError, match="ndim=4"):
        conv(np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="large enough"):
        conv(np.zeros((1, 2, 8, 3)))


@pytest.mark.parametrize("layer_class, reduce", [(nn.MaxPooling2D, np.nanmax),
                                                 (nn.AveragePooling2D, np.nanmean)])
@pytest.mark.parametrize("kwargs", [{}, {"pool_size": 3, "strides": 2},
                                    {"pool_size": (2, 3), "padding": "same"},
                                    {"pool_size": 3, "strides": 1, "padding": "same"}])
def test_pooling_forward_shapes_and_gradients(layer_class, reduce, kwargs, rng):
    layer = layer_class(dtype="float64", **kwargs)
    x = rng.normal(size=(2, 7, 5, 3))
    y = layer(x)
    want = pool_reference(x, layer.pool_size, layer.strides, layer.padding, reduce)
    assert y.shape == layer.compute_output_shape((2, 7, 5, 3)) == want.shape
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12)
    assert gradcheck_layer(layer, tg.Tensor(rng.normal(size=(1, 5, 4, 2)), requires_grad=True), [])


def test_pooling_defaults_and_errors():
    pool = nn.MaxPooling2D()
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    assert nn.MaxPooling2D(2).compute_output_shape((None, 28, 28, 32)) == (None, 14, 14, 32)
    with pytest.raises(ValueError, match="ndim=4"):
        nn.MaxPooling2D()(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="pool_size"):
        nn.AveragePooling2D(pool_size=0)
    with pytest.raises(ValueError, match="height and width"):
        nn.MaxPooling2D(3)(np.zeros((1, 2, 2, 1)))


def test_global_average_pooling(rng):
    x = rng.normal(size=(2, 3, 4, 5))
    gap = nn.GlobalAveragePooling2D(dtype="float64")
    np.testing.assert_allclose(gap(x).numpy(), x.mean(axis=(1, 2)), rtol=1e-12)
    assert gap.compute_output_shape((None, 3, 4, 5)) == (None, 5)
    kept = nn.GlobalAveragePooling2D(keepdims=True, dtype="float64")
    assert kept(x).shape == (2, 1, 1, 5) == kept.compute_output_shape((2, 3, 4, 5))
    assert gradcheck_layer(gap, tg.Tensor(rng.normal(size=(2, 2, 3, 2)), requires_grad=True), [])


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2D(3, (2, 3), strides=(1, 2), padding="same", activation="relu",
                      kernel_regularizer="l2", bias_initializer="ones"),
    lambda: nn.Conv1D(2, 3, padding="causal", dilation_rate=2, use_bias=False),
    lambda: nn.MaxPooling2D(3, strides=1, padding="same"),
    lambda: nn.AveragePooling2D((2, 1)),
    lambda: nn.GlobalAveragePooling2D(keepdims=True),
])
def test_conv_and_pooling_config_round_trip(make, rng):
    layer = make()
    x = rng.normal(size=(2, 6, 5) if isinstance(layer, nn.Conv1D) else (2, 6, 5, 3))
    y = layer(x).numpy()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), y, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(size=st.tuples(st.integers(1, 9), st.integers(1, 9)), kernel=st.integers(1, 4),
       stride=st.integers(1, 3), dilation=st.integers(1, 3), padding=st.sampled_from(["valid",
                                                                                     "same"]))
def test_conv_and_pool_output_shapes_agree_with_the_kernels(size, kernel, stride, dilation,
                                                            padding):
    """compute_output_shape (Keras's rule) is what the F kernels produce, or the layer refuses."""
    x = np.zeros((1, *size, 2), dtype=np.float32)
    dilation = 1 if stride > 1 else dilation
    layers = [nn.Conv2D(1, kernel, strides=stride, padding=padding, dilation_rate=dilation),
              nn.MaxPooling2D(kernel, strides=stride, padding=padding),
              nn.AveragePooling2D(kernel, strides=stride, padding=padding)]
    for layer in layers:
        try:
            expected = layer.compute_output_shape(x.shape)
        except ValueError:
            with pytest.raises(ValueError, match="incompatible"):
                layer(x)
            continue
        assert layer(x).shape == expected
