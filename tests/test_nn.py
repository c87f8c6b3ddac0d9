"""The Layer API and the core layers (Dense, Flatten, Reshape, Dropout, Activation, ReLU, Softmax,
Input): shapes, NumPy references, gradients, modes, weights, configs, names and errors."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import nn
from tinygrad_ko.nn._naming import to_snake_case

from layer_check import gradcheck_layer


@pytest.fixture(autouse=True)
def fresh_names():
    nn.reset_names()
    tg.manual_seed(0)
    yield
    nn.reset_names()


def _f64(array):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# ---- names ----


@pytest.mark.parametrize("cls, name", [
    ("Dense", "dense"), ("Conv2D", "conv2d"), ("MaxPooling2D", "max_pooling2d"),
    ("GlobalAveragePooling2D", "global_average_pooling2d"), ("ReLU", "re_lu"),
    ("BatchNormalization", "batch_normalization"),
])
def test_snake_case_names_match_keras(cls, name):
    assert to_snake_case(cls) == name


def test_names_are_unique_per_class():
    names = [nn.Dense(2).name, nn.Dense(2).name, nn.Flatten().name, nn.Dense(2).name]
    assert names == ["dense", "dense_1", "flatten", "dense_2"]
    assert nn.Dense(2, name="head").name == "head"
    inputs = [nn.Input((3,)), nn.Input((3,))]
    assert [i.layer.name for i in inputs] == ["input_1", "input_2"]


# ---- Dense ----


def test_dense_builds_lazily_with_keras_shapes(rng):
    dense = nn.Dense(4)
    assert not dense.built and dense.weights == []
    y = dense(rng.normal(size=(2, 3)))
    assert dense.built and dense.kernel.shape == (3, 4) and dense.bias.shape == (4,)
    assert y.shape == (2, 4) and y.dtype == np.float32
    assert dense.weight_paths() == ["dense/kernel", "dense/bias"]
    assert dense.build_input_shape == (2, 3)


def test_dense_forward_matches_numpy_including_nd_inputs(rng):
    dense = nn.Dense(5, activation="tanh", dtype="float64")
    x = rng.normal(size=(2, 3, 4))
    y = dense(x)
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(y.numpy(), np.tanh(x @ kernel + bias), rtol=1e-12)
    assert y.shape == dense.compute_output_shape((2, 3, 4)) == (2, 3, 5)
    assert np.all(bias == 0)  # zeros is the default bias initializer


def test_dense_gradcheck(rng):
    dense = nn.Dense(3, activation="sigmoid", dtype="float64")
    assert gradcheck_layer(dense, _f64(rng.normal(size=(2, 4))), ["kernel", "bias"])
    assert gradcheck_layer(nn.Dense(2, dtype="float64"), _f64(rng.normal(size=(2, 2, 3))),
                           ["kernel", "bias"])


def test_dense_matches_torch_linear(torch, rng):
    dense = nn.Dense(6, activation="relu")
    x = rng.normal(size=(5, 4)).astype(np.float32)
    ours = dense(x).numpy()
    kernel, bias = dense.get_weights()
    linear = torch.nn.Linear(4, 6)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
        linear.bias.copy_(torch.from_numpy(bias))
    np.testing.assert_allclose(ours, torch.relu(linear(torch.from_numpy(x))).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_seed_002_mlp_has_266610_parameters():
    layers = [nn.Flatten(input_shape=(28, 28, 1)), nn.Dense(units=300, activation="relu"),
              nn.Dense(units=100, activation="relu"), nn.Dense(units=10, activation="softmax")]
    x = nn.Input(shape=(28, 28, 1))
    shapes = []
    for layer in layers:
        x = layer(x)
        shapes.append(x.shape)
    assert shapes == [(None, 784), (None, 300), (None, 100), (None, 10)]
    counts = [layer.count_params() for layer in layers]
    assert counts == [0, 235500, 30100, 1010] and sum(counts) == 266610


def test_dense_eager_build_from_input_shape():
    dense = nn.Dense(10, activation="softmax", input_shape=(784,))
    assert dense.built and dense.count_params() == 7850
    assert dense.batch_input_shape == (None, 784)
    assert nn.Dense(3, input_dim=5).kernel.shape == (5, 3)


def test_dense_bad_arguments_and_inputs(rng):
    with pytest.raises(ValueError, match="units must be a positive integer"):
        nn.Dense(0)
    with pytest.raises(ValueError, match="Did you mean 'relu'"):
        nn.Dense(3, activation="rellu")
    with pytest.raises(TypeError, match="unexpected keyword.*kernel_init"):
        nn.Dense(3, kernel_init="zeros")
    dense = nn.Dense(3, input_shape=(4,))
    with pytest.raises(ValueError, match=r"layer 'dense'.*axis -1.*value 4.*\(2, 5\)"):
        dense(rng.normal(size=(2, 5)))
    with pytest.raises(ValueError, match="min_ndim=2"):
        nn.Dense(3)(np.ones(4))
    with pytest.raises(ValueError, match="not built"):
        nn.Dense(3).count_params()


# ---- weights API ----


def test_get_set_weights_round_trip_and_shape_errors(rng):
    dense = nn.Dense(3, input_shape=(2,))
    new = [rng.normal(size=(2, 3)), rng.normal(size=(3,))]
    kernel_tensor = dense.kernel
    dense.set_weights(new)
    assert dense.kernel is kernel_tensor  # written in place: optimizers keep their references
    for got, want in zip(dense.get_weights(), new):
        np.testing.assert_allclose(got, want.astype(np.float32))
        assert got.dtype == np.float32
    copy = dense.get_weights()
    copy[0][...] = 0
    assert not np.all(dense.get_weights()[0] == 0)
    with pytest.raises(ValueError, match=r"'dense/kernel' has shape \(2, 3\).*\(3, 2\)"):
        dense.set_weights([np.zeros((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match="expects 2 weight arrays.*received 1"):
        dense.set_weights([np.zeros((2, 3))])


class _TwoLayer(nn.Layer):
    """A container: its children are found by walking attributes and lists."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [nn.Dense(4, kernel_regularizer=nn.regularizers.l2(0.5)),
                       nn.BatchNormalization()]
        self.head = nn.Dense(2, use_bias=False)

    def call(self, x, training=False):
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def test_container_collects_children_weights_in_keras_order(rng):
    model = _TwoLayer()
    model(rng.normal(size=(3, 5)))
    assert model.weight_paths() == [
        "dense/kernel", "dense/bias", "batch_normalization/gamma", "batch_normalization/beta",
        "dense_1/kernel", "batch_normalization/moving_mean", "batch_normalization/moving_variance"]
    assert len(model.trainable_weights) == 5 and len(model.non_trainable_weights) == 2
    assert model.count_params() == 5 * 4 + 4 + 4 * 4 + 4 * 2
    kernel = model.blocks[0].kernel.numpy()
    assert len(model.losses) == 1
    assert model.losses[0].item() == pytest.approx(0.5 * float((kernel.astype(np.float64) ** 2)
                                                               .sum()), rel=1e-5)
    model.set_weights([w * 0 for w in model.get_weights()])
    assert model.losses[0].item() == 0.0  # recomputed from the current weights


def test_freezing_moves_weights_to_non_trainable(rng):
    model = _TwoLayer()
    model(rng.normal(size=(3, 5)))
    model.blocks[0].trainable = False
    assert len(model.trainable_weights) == 3
    assert not model.blocks[0].kernel.requires_grad
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 7
    assert all(not w.requires_grad for w in model.weights)
    model.trainable = True
    assert len(model.trainable_weights) == 5 and model.blocks[0].kernel.requires_grad
    assert not model.blocks[1].moving_mean.requires_grad


def test_numpy_inputs_are_cast_to_the_layer_dtype(rng):
    dense = nn.Dense(2)
    assert dense(rng.normal(size=(3, 4))).dtype == np.float32  # float64 NumPy data: autocast
    assert dense(np.ones((3, 4), dtype=np.int64)).dtype == np.float32
    double = nn.Dense(2, dtype="float64")
    assert double(np.ones((1, 4), dtype=np.float32)).dtype == np.float64
    with pytest.raises(TypeError, match="dtype"):
        nn.Flatten()(np.array([["a"]]))


# ---- config ----

CONFIG_LAYERS = [
    lambda: nn.Dense(3, activation="relu", use_bias=False, kernel_initializer="he_normal",
                     kernel_regularizer=nn.regularizers.l2(0.001)),
    lambda: nn.Flatten(),
    lambda: nn.Reshape((2, -1)),
    lambda: nn.Dropout(0.3, seed=4),
    lambda: nn.Activation("tanh"),
    lambda: nn.ReLU(max_value=6.0, negative_slope=0.1),
    lambda: nn.Softmax(axis=1),
    lambda: nn.Dense(2, input_shape=(6,), name="named"),
]


@pytest.mark.parametrize("make", CONFIG_LAYERS)
def test_config_round_trip_gives_the_same_layer(make, rng):
    layer = make()
    x = rng.normal(size=(2, 6)).astype(np.float32)
    y = layer(x).numpy()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), y)


# ---- Flatten / Reshape ----


def test_flatten_and_reshape_shapes_and_values(rng):
    x = rng.normal(size=(2, 3, 4, 5))
    flat = nn.Flatten()(x)
    assert flat.shape == (2, 60) and nn.Flatten().compute_output_shape((None, 3, 4, 5)) == (None,
                                                                                             60)
    np.testing.assert_allclose(flat.numpy(), x.reshape(2, 60).astype(np.float32))
    assert nn.Flatten()(np.ones(3)).shape == (3, 1)
    reshape = nn.Reshape((4, -1))
    y = reshape(x)
    assert y.shape == (2, 4, 15) == reshape.compute_output_shape((2, 3, 4, 5))
    np.testing.assert_allclose(y.numpy(), x.reshape(2, 4, 15).astype(np.float32))
    assert nn.Reshape((5, -1)).compute_output_shape((None, None, 5)) == (None, 5, None)
    with pytest.raises(ValueError, match="reshape"):
        nn.Reshape((7, 7))(x)
    with pytest.raises(ValueError, match="at most one -1"):
        nn.Reshape((-1, -1))


def test_flatten_reshape_gradcheck(rng):
    x = _f64(rng.normal(size=(2, 3, 2)))
    assert tg.gradcheck(lambda x: nn.Flatten(dtype="float64")(x) * 2.0, [x])
    assert tg.gradcheck(lambda x: nn.Reshape((3, 2, 1), dtype="float64")(x) ** 2, [x])


# ---- Dropout ----


def test_dropout_is_identity_at_inference(rng):
    x = rng.normal(size=(4, 5)).astype(np.float32)
    drop = nn.Dropout(0.5)
    np.testing.assert_array_equal(drop(x).numpy(), x)
    np.testing.assert_array_equal(drop(x, training=False).numpy(), x)


def test_dropout_training_drops_rate_and_scales_survivors():
    x = np.ones((200, 500), dtype=np.float32)
    y = nn.Dropout(0.3)(x, training=True).numpy()
    kept = y != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert y.mean() == pytest.approx(1.0, abs=0.01)  # the expectation is preserved


def test_dropout_gradient_is_the_scaled_mask():
    x = tg.Tensor(np.ones((50, 40)), requires_grad=True)
    y = nn.Dropout(0.5, dtype="float64")(x, training=True)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())


def test_dropout_seeding_noise_shape_and_errors():
    x = np.ones((3, 4, 6), dtype=np.float32)
    a = nn.Dropout(0.5, seed=1)(x, training=True).numpy()
    b = nn.Dropout(0.5, seed=1)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    tg.manual_seed(5)
    c = nn.Dropout(0.5)(x, training=True).numpy()
    tg.manual_seed(5)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x, training=True).numpy(), c)
    shared = nn.Dropout(0.5, noise_shape=(None, 1, 6))(x, training=True).numpy()
    assert np.all(shared == shared[:, :1, :])  # one mask shared along axis 1
    for rate in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
            nn.Dropout(rate)


def test_training_flag_propagates_to_children_and_train_mode():
    class Wrapper(nn.Layer):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.5)

        def call(self, x, training=False):
            return self.drop(x)

    x = np.ones((20, 20), dtype=np.float32)
    wrapper = Wrapper()
    assert np.all(wrapper(x).numpy() == 1)
    assert np.any(wrapper(x, training=True).numpy() == 0)
    with nn.train_mode():
        assert nn.in_train_mode() and np.any(wrapper(x).numpy() == 0)
        assert np.all(wrapper(x, training=False).numpy() == 1)
    assert not nn.in_train_mode()


# ---- Activation / ReLU / Softmax ----


def test_activation_layer_and_softmax_layer(rng):
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(nn.Activation("sigmoid", dtype="float64")(x).numpy(),
                               1 / (1 + np.exp(-x)), rtol=1e-12)
    probs = nn.Softmax(axis=0, dtype="float64")(x).numpy()
    np.testing.assert_allclose(probs, np.exp(x) / np.exp(x).sum(0), rtol=1e-12)
    assert nn.Activation(lambda t: t * 3)(np.ones((1, 2))).numpy().tolist() == [[3.0, 3.0]]


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.0}, {"negative_slope": 0.1},
                                    {"threshold": 0.5, "negative_slope": 0.2, "max_value": 1.5}])
def test_relu_layer_matches_keras_formula(kwargs, rng):
    x = rng.normal(size=(4, 6)) * 2
    x[np.abs(x - 0.5) < 1e-3] += 0.01
    max_value = kwargs.get("max_value", np.inf)
    slope, threshold = kwargs.get("negative_slope", 0.0), kwargs.get("threshold", 0.0)
    want = np.where(x >= max_value, max_value, np.where(x >= threshold, x, slope * (x - threshold)))
    layer = nn.ReLU(dtype="float64", **kwargs)
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-12)
    assert tg.gradcheck(lambda t: layer(t), [_f64(x)])
    with pytest.raises(ValueError, match="max_value"):
        nn.ReLU(max_value=-1)


# ---- Input / symbolic ----


def test_input_and_symbolic_calls(rng):
    inputs = nn.Input(shape=(28, 28, 1))
    assert isinstance(inputs, nn.SymbolicTensor) and inputs.shape == (None, 28, 28, 1)
    assert isinstance(inputs.layer, nn.InputLayer) and inputs.parents == ()
    hidden = nn.Dense(5)(nn.Flatten()(inputs))
    assert hidden.shape == (None, 5) and hidden.parents[0].parents[0] is inputs
    assert isinstance(hidden.layer, nn.Dense) and hidden.layer.kernel.shape == (784, 5)
    layer = inputs.layer
    assert layer.count_params() == 0 and layer.compute_output_shape((None, 28, 28, 1))
    with pytest.raises(ValueError, match="incompatible"):
        layer(np.zeros((2, 28, 28)))
    assert layer(np.zeros((2, 28, 28, 1))).shape == (2, 28, 28, 1)
    with pytest.raises(ValueError, match=r"layer 'dense_1'.*value 3"):
        nn.Dense(2, input_shape=(3,))(nn.Input((4,)))
    batched = nn.Input(shape=(3,), batch_size=8)
    assert batched.shape == (8, 3) and nn.InputLayer(input_shape=(2,)).name == "input_4"


def test_subclass_call_without_training_argument(rng):
    class Doubler(nn.Layer):
        def call(self, inputs):
            return inputs * 2

    x = rng.normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_allclose(Doubler()(x, training=True).numpy(), 2 * x)


def test_layers_train_with_plain_gradient_descent(rng):
    """The five-line loop over layer weights, with the L2 penalties from ``losses`` added."""
    x = rng.normal(size=(64, 2)).astype(np.float32)
    y = (x[:, :1] * x[:, 1:] > 0).astype(np.float32)  # XOR of the signs: needs the hidden layer
    hidden = nn.Dense(16, activation="tanh", kernel_regularizer=nn.regularizers.l2(1e-4))
    out = nn.Dense(1, activation="sigmoid")
    losses = []
    for _ in range(300):
        p = out(hidden(x, training=True), training=True)
        loss = -(y * p.log() + (1 - y) * (1 - p).log()).mean() + sum(hidden.losses)
        weights = hidden.trainable_weights + out.trainable_weights
        for w in weights:
            w.grad = None
        loss.backward()
        for w in weights:
            w.data -= 0.5 * w.grad.data
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_softmax_output_keeps_its_logits_for_the_loss():
    """A Dense(softmax) output is F.softmax's result, so a from_logits=False loss uses the logits
    and stays finite where the probabilities underflow (Keras's behaviour)."""
    from tinygrad_ko import functional as F
    dense = nn.Dense(3, activation="softmax", kernel_initializer="zeros", dtype="float64")
    dense(np.zeros((1, 2)))
    dense.set_weights([np.array([[200.0, 0.0, -200.0], [0.0, 0.0, 0.0]]), np.zeros(3)])
    probs = dense(np.array([[1.0, 0.0]]))
    loss = F.cross_entropy(probs, np.array([2]), from_logits=False).item()
    assert loss == pytest.approx(400.0, rel=1e-9)
