"""The study notes' Keras code (/work/shared/seeds, 000-004) as written, `tf.keras` -> our `keras`,
`tf.constant(v)` -> a NumPy array: it runs, means the same and prints the notes' numbers.

Numbers already held elsewhere (loss and metric values in test_losses/test_metrics, conv1d/conv2d
through F in test_conv, the 266,610-parameter summary in test_model) are not re-asserted here;
this file checks that the notes' own spelling of the calls works."""
import os
import re
import warnings

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import keras

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(autouse=True)
def fresh_session():
    keras.backend.clear_session()
    tg.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    """The first 320 training and 200 test images of the real Fashion-MNIST, loaded the notes' way
    (`keras.datasets.fashion_mnist.load_data()`, no path)."""
    if not os.path.isdir(FASHION_DIR):
        pytest.skip("dataset-fashion-mnist not installed")
    previous = os.environ.pop("TINYGRAD_KO_DATA", None)
    try:
        (train_input, train_target), (test_input, test_target) = \
            keras.datasets.fashion_mnist.load_data()
    finally:
        if previous is not None:
            os.environ["TINYGRAD_KO_DATA"] = previous
    return train_input[:320], train_target[:320], test_input[:200], test_target[:200]


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---- seed 000: the Dense workflow on Fashion-MNIST ----


def test_seed_000_dense_softmax_model(fashion, capsys):
    train_input, train_target, test_input, test_target = fashion
    train_scaled = train_input / 255.0
    # the note writes `train_Scaled = ...` (a typo that would leave 28x28 images); meant:
    train_scaled = train_scaled.reshape(-1, 28 * 28)
    dense = keras.layers.Dense(10, activation='softmax', input_shape=(784,))
    model = keras.Sequential([dense])
    model.compile(loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.fit(train_scaled, train_target, epochs=5)
    loss, accuracy = model.evaluate((test_input / 255.0).reshape(-1, 784), test_target)
    lines = capsys.readouterr().out.splitlines()
    # seed 003's Q&A: 60000 / batch_size 32 = 1875 steps; here 320 / 32 = 10 steps per epoch
    assert lines[0] == "Epoch 1/5" and lines[-3] == "Epoch 5/5"
    assert re.match(r"^10/10 \[={30}\] - \d+s \d+(ms|us)/step - loss: \d\.\d{4} - "
                    r"accuracy: \d\.\d{4}$", lines[1])
    assert re.match(r"^7/7 \[={30}\] .* - loss: \d\.\d{4} - accuracy: \d\.\d{4}$", lines[-1])
    assert model.optimizer.get_config()["name"] == "rmsprop"    # Keras's compile() default
    assert loss < 1.2 and accuracy > 0.6                         # 10 classes, 320 images


# (layers, loss, metrics) as in the note's "models vs losses" table; built inside the test so
# that collecting this file creates no layers (automatic names stay fresh for other files)
COMPILE_TABLE = {
    "relu-softmax": (lambda: [keras.layers.Dense(64, activation='relu', input_shape=(784,)),
                              keras.layers.Dense(10, activation='softmax')],
                     lambda: 'sparse_categorical_crossentropy', ['accuracy']),
    "softmax-sparse": (lambda: [keras.layers.Dense(10, activation='softmax')],
                       lambda: 'sparse_categorical_crossentropy', None),
    "logits-sparse": (lambda: [keras.layers.Dense(10)],
                      lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True), None),
    "softmax-onehot": (lambda: [keras.layers.Dense(10, activation='softmax')],
                       lambda: 'categorical_crossentropy', None),
    "sigmoid-binary": (lambda: [keras.layers.Dense(1, activation='sigmoid')],
                       lambda: 'binary_crossentropy', ['accuracy']),
    "logits-binary": (lambda: [keras.layers.Dense(1)],
                      lambda: keras.losses.BinaryCrossentropy(from_logits=True), None),
    "regression": (lambda: [keras.layers.Dense(1)], lambda: 'mean_squared_error', ['mae']),
}


@pytest.mark.parametrize("row", sorted(COMPILE_TABLE))
def test_seed_000_compile_table_trains_without_warnings(row):
    """Every row of the note's "models vs losses" table compiles with the pair it recommends,
    with no logits/probabilities warning, and a few epochs lower the loss."""
    make_layers, make_loss, metrics = COMPILE_TABLE[row]
    layers, loss = make_layers(), make_loss()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 784)).astype(np.float32)
    units = layers[-1].units
    labels = (x[:, 0] > 0).astype(np.int64) + (units == 10) * (x[:, 1] > 0)
    y = {1: labels.reshape(-1, 1).astype(np.float32), 10: labels}[units]
    if loss == 'categorical_crossentropy':
        y = keras.utils.to_categorical(labels, 10)
    model = keras.Sequential(layers)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kwargs = {} if metrics is None else {"metrics": metrics}
        model.compile(optimizer='adam', loss=loss, **kwargs)
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# ---- seed 001: activations, losses, regularizers and convolutions ----


@pytest.mark.parametrize("constant", [np.array, tg.Tensor, list], ids=["ndarray", "Tensor", "list"])
def test_seed_001_cross_entropy_cells_print_the_notes_lines(constant):
    bce_probas = keras.losses.BinaryCrossentropy(from_logits=False)
    bce_logits = keras.losses.BinaryCrossentropy(from_logits=True)
    logits = constant([0.8])
    probas = keras.activations.sigmoid(logits)
    line = ('BCE (확률): {:.4f}'.format(bce_probas(y_true=[1], y_pred=probas)) + ' ' +
            '(로짓): {:.4f}'.format(bce_logits(y_true=[1], y_pred=logits)))
    assert line == "BCE (확률): 0.3711 (로짓): 0.3711"

    cce_probas = keras.losses.CategoricalCrossentropy(from_logits=False)
    cce_logits = keras.losses.CategoricalCrossentropy(from_logits=True)
    logits = constant([[1.5, 0.8, 2.1]])
    probas = keras.activations.softmax(logits)
    line = ('CCE (확률): {:.4f}'.format(cce_probas(y_true=[[0, 0, 1]], y_pred=probas)) + ' ' +
            '(로짓): {:.4f}'.format(cce_logits(y_true=[[0, 0, 1]], y_pred=logits)))
    assert line == "CCE (확률): 0.5996 (로짓): 0.5996"

    sp_cce_probas = keras.losses.SparseCategoricalCrossentropy(from_logits=False)
    sp_cce_logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    line = ('Sparse CCE (확률): {:.4f}'.format(sp_cce_probas(y_true=[2], y_pred=probas)) + ' ' +
            '(로짓): {:.4f}'.format(sp_cce_logits(y_true=[2], y_pred=logits)))
    assert line == "Sparse CCE (확률): 0.5996 (로짓): 0.5996"


def test_format_spec_on_a_non_scalar_tensor_is_an_error_like_numpy():
    assert '{}'.format(tg.Tensor([1.0, 2.0])) == repr(tg.Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="unsupported format string"):
        '{:.4f}'.format(tg.Tensor([1.0, 2.0]))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu",
                                  "gelu", "softplus"])
def test_every_activation_takes_arrays_and_lists(name):
    fn = keras.activations.get(name)
    values = [[-1.5, 0.0, 2.0]]
    expected = fn(tg.Tensor(np.array(values, np.float32))).numpy()
    np.testing.assert_array_equal(fn(np.array(values, np.float32)).numpy(), expected)
    np.testing.assert_array_equal(fn(values).numpy(), expected)


def test_seed_001_l2_regularized_layers():
    conv_layer = keras.layers.Conv2D(
        filters=16,
        kernel_size=(3, 3),
        kernel_regularizer=keras.regularizers.l2(0.001))
    fc_layer = keras.layers.Dense(
        units=16,
        kernel_regularizer=keras.regularizers.l2(0.001))
    conv_layer(np.zeros((1, 8, 8, 3), np.float32))
    fc_layer(np.zeros((1, 5), np.float32))
    for layer in (conv_layer, fc_layer):
        kernel = layer.get_weights()[0]
        (penalty,) = layer.losses
        np.testing.assert_allclose(float(penalty), 0.001 * np.sum(kernel ** 2), rtol=1e-5)


def test_seed_001_convolutions_through_keras_layers():
    """np.convolve / scipy's convolve2d flip the kernel; Keras's Conv layers do not, so the notes'
    numbers come from the rotated kernel (`w[::-1]`, `W[::-1, ::-1]`) with padding='same'."""
    x = [1, 3, 2, 4, 5, 6, 1, 3]
    w = [1, 0, 3, 1, 2]
    conv1d = keras.layers.Conv1D(1, 5, padding='same', use_bias=False)
    conv1d(np.zeros((1, 8, 1), np.float32))
    conv1d.set_weights([np.array(w[::-1], np.float32).reshape(5, 1, 1)])
    y = conv1d(np.array(x, np.float32).reshape(1, 8, 1))
    assert y.numpy().reshape(8).tolist() == [5, 14, 16, 26, 24, 34, 19, 22]

    X = [[1, 3, 2, 4], [5, 6, 1, 3], [1, 2, 0, 2], [3, 4, 3, 2]]
    W = [[1, 0, 3], [1, 2, 1], [0, 1, 1]]
    conv2d = keras.layers.Conv2D(1, (3, 3), padding='same', use_bias=False)
    conv2d(np.zeros((1, 4, 4, 1), np.float32))
    conv2d.set_weights([np.array(W, np.float32)[::-1, ::-1].reshape(3, 3, 1, 1)])
    Y = conv2d(np.array(X, np.float32).reshape(1, 4, 4, 1))
    assert Y.numpy().reshape(4, 4).tolist() == [[11, 25, 32, 13], [19, 25, 24, 13],
                                                 [13, 28, 25, 17], [11, 17, 14, 9]]


# ---- seed 002: import forms, functional model, compile strings and objects ----


@pytest.mark.parametrize("optimizer", ['sgd', 'adam', 'SGD', keras.optimizers.SGD,
                                       keras.optimizers.Adam],
                         ids=["sgd", "adam", "SGD", "SGD()", "Adam()"])
def test_seed_002_functional_model_workflow(fashion, capsys, optimizer):
    from tinygrad_ko.keras.layers import Activation, Dense, Flatten, Input  # noqa: F401
    from tinygrad_ko.keras.models import Model, Sequential  # noqa: F401
    from tinygrad_ko.keras.utils import plot_model  # noqa: F401
    train_input, train_target, test_input, test_target = fashion
    inputs = Input(shape=(28, 28, 1))
    x = Flatten(input_shape=(28, 28, 1))(inputs)
    x = Dense(units=300, activation='relu')(x)
    x = Dense(units=100, activation='relu')(x)
    x = Dense(units=10, activation='softmax')(x)

    model = Model(inputs=inputs, outputs=x)
    model.summary()
    model.compile(loss='sparse_categorical_crossentropy',
                  optimizer=optimizer() if callable(optimizer) else optimizer,
                  metrics=['accuracy'])
    history = model.fit(train_input.reshape(-1, 28, 28, 1) / 255.0, train_target, epochs=2,
                        verbose=0)
    images = test_input.reshape(-1, 28, 28, 1) / 255.0
    loss, accuracy = model.evaluate(images, test_target, verbose=0)
    probabilities = model.predict(images, verbose=0)
    assert "Total params: 266,610" in capsys.readouterr().out
    assert history.history["loss"][1] < history.history["loss"][0] and 0.3 < accuracy <= 1.0
    assert probabilities.shape == (200, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


# ---- seed 003: from_logits=True and a model nested in Sequential with Softmax ----


def test_seed_003_logits_model_wrapped_with_softmax(fashion):
    train_input, train_target, test_input, _ = fashion
    train_images, test_images = train_input / 255.0, test_input / 255.0
    model = keras.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(128, activation='relu'),
        keras.layers.Dense(10)
    ])
    model.compile(optimizer='adam',
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    model.fit(train_images, train_target, epochs=2, verbose=0)
    logits = model.predict(test_images, verbose=0)
    probability_model = keras.Sequential([model, keras.layers.Softmax()])
    probabilities = probability_model.predict(test_images, verbose=0)
    assert probabilities.shape == (200, 10)
    np.testing.assert_allclose(probabilities[0][0], _softmax(logits)[0][0], rtol=1e-5)
    np.testing.assert_allclose(probabilities, _softmax(logits), rtol=1e-4, atol=1e-7)


# ---- seed 004: backend functions, reductions, numpy interplay, RMSprop on a Variable ----


def test_seed_004_to_categorical_and_backend_categorical_crossentropy():
    from tinygrad_ko.keras.backend import categorical_crossentropy
    from tinygrad_ko.keras.utils import to_categorical

    a = to_categorical([0, 1, 2, 3], num_classes=4)
    a = np.reshape(a, [4, 4])                                    # tf.constant(a, shape=[4, 4])
    b = np.reshape(np.array([.9, .04, .03, .03,
                             .3, .45, .15, .13,
                             .04, .01, .94, .05,
                             .12, .21, .5, .17], np.float32), [4, 4])
    loss = categorical_crossentropy(a, b)
    assert np.around(loss, 5).tolist() == pytest.approx([0.10536, 0.82807, 0.1011, 1.77196],
                                                        abs=1e-5)
    assert np.sum(loss) == pytest.approx(2.80648, abs=1e-5)
    loss = categorical_crossentropy(a, a)
    assert np.around(loss, 5).tolist() == [0.0, 0.0, 0.0, 0.0]

    a = np.reshape(np.array([1., 0., 0., 0., 1., 0., 0., 0., 1.], np.float32), [3, 3])
    b = np.reshape(np.array([.9, .05, .05, .05, .89, .06, .05, .01, .94], np.float32), [3, 3])
    loss = categorical_crossentropy(a, b)
    assert np.around(loss, 5).tolist() == pytest.approx([0.10536, 0.11653, 0.06188], abs=1e-5)


def test_numpy_functions_see_a_tensor_as_its_array():
    t = tg.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert isinstance(np.sum(t), np.floating) and np.sum(t) == 10.0
    np.testing.assert_array_equal(np.mean(t, axis=0), [2.0, 3.0])
    np.testing.assert_array_equal(np.concatenate([t, t]), np.concatenate([t.data, t.data]))
    np.testing.assert_array_equal(np.where(t > 2, t, 0), [[0, 0], [3, 4]])


@pytest.mark.parametrize("make, y_true, y_pred", [
    (lambda **kw: keras.losses.CategoricalCrossentropy(**kw),
     [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]),
    (lambda **kw: keras.losses.SparseCategoricalCrossentropy(**kw),
     [1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]),
    (lambda **kw: keras.losses.BinaryCrossentropy(from_logits=True, **kw),
     [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]]),
], ids=["categorical", "sparse", "binary"])
def test_seed_004_reduction_enum_means_the_strings(make, y_true, y_pred):
    weight = np.array([0.3, 0.7])                                # tf.constant([0.3, 0.7])
    default = make()
    assert default(y_true, y_pred).numpy() == make(reduction="sum_over_batch_size")(
        y_true, y_pred).numpy()
    assert default(y_true, y_pred, sample_weight=weight).numpy() == make(reduction="auto")(
        y_true, y_pred, sample_weight=weight).numpy()
    summed = make(reduction=keras.losses.Reduction.SUM)(y_true, y_pred).numpy()
    assert summed == make(reduction="sum")(y_true, y_pred).numpy()
    per_sample = make(reduction=keras.losses.Reduction.NONE)(y_true, y_pred).numpy()
    assert per_sample.shape == (2,) and summed == pytest.approx(per_sample.sum())


def test_seed_004_loss_functions_return_one_value_per_sample():
    y_true = [[0, 1, 0], [0, 0, 1]]
    y_pred = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    loss = keras.losses.categorical_crossentropy(y_true, y_pred)
    assert loss.shape == (2,)
    loss = keras.metrics.sparse_categorical_crossentropy([1, 2], y_pred)
    assert loss.shape == (2,)
    loss = keras.losses.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    assert loss.shape == (2,)


def test_seed_004_mse_and_mae_equal_numpy_bit_for_bit():
    for _ in range(20):
        y_true = np.random.randint(0, 2, size=(2, 3))
        y_pred = np.random.random(size=(2, 3))
        loss = keras.losses.mean_squared_error(y_true, y_pred)
        assert loss.shape == (2,)
        assert np.array_equal(loss.numpy(), np.mean(np.square(y_true - y_pred), axis=-1))
        loss = keras.losses.mean_absolute_error(y_true, y_pred)
        assert loss.shape == (2,)
        assert np.array_equal(loss.numpy(), np.mean(np.abs(y_true - y_pred), axis=-1))
    assert keras.metrics.mse is keras.metrics.MSE is keras.losses.mean_squared_error
    assert keras.metrics.mae is keras.metrics.MAE is keras.losses.mean_absolute_error


def test_seed_004_rmsprop_minimizes_a_keras_variable():
    opt = keras.optimizers.RMSprop(learning_rate=0.1)
    var1 = keras.Variable(10.0)
    loss = lambda: (var1 ** 2) / 2.0    # d(loss) / d(var1) = var1  # noqa: E731
    step_count = opt.minimize(loss, [var1]).numpy()
    assert step_count == 1 and var1.dtype == np.float32
    assert var1.numpy() == pytest.approx(9.683772, rel=1e-6)     # keras.io's documented result


def test_keras_variable_is_a_trainable_leaf():
    var = keras.Variable([1.0, 2.0], dtype="float64")
    assert isinstance(var, tg.Tensor) and var.requires_grad and var.is_leaf
    assert var.dtype == np.float64
    (var * var).sum().backward()
    np.testing.assert_array_equal(var.grad.numpy(), [2.0, 4.0])
    with pytest.raises(TypeError):
        keras.Variable("ten")


def test_seed_004_tf_nn_cross_entropies_through_keras_backend():
    """§2's tf.nn.*_cross_entropy_with_logits examples have Keras spellings: the backend functions
    with from_logits=True (the backend's binary_crossentropy keeps one loss per entry)."""
    logits = np.array([1., -1., 0., 1., -1., 0., 0.], np.float32)
    labels = np.array([0., 0., 0., 1., 1., 1., 0.5], np.float32)
    got = keras.backend.binary_crossentropy(labels, logits, from_logits=True).numpy()
    np.testing.assert_allclose(got, [1.3132617, 0.3132617, 0.6931472, 0.3132617, 1.3132617,
                                     0.6931472, 0.6931472], rtol=1e-6)

    sigmoid_logits = np.array([1., -1., 0.], np.float32)
    softmax_logits = np.stack([sigmoid_logits, np.zeros_like(sigmoid_logits)], axis=-1)
    soft_binary_labels = np.array([1., 1., 0.], np.float32)
    soft_multiclass_labels = np.stack([soft_binary_labels, 1. - soft_binary_labels], axis=-1)
    hard_labels = np.array([0, 0, 1])
    expected = [0.3132617, 1.3132617, 0.6931472]                  # the same in all three forms
    for got in (keras.backend.sparse_categorical_crossentropy(hard_labels, softmax_logits,
                                                              from_logits=True),
                keras.backend.categorical_crossentropy(soft_multiclass_labels, softmax_logits,
                                                       from_logits=True),
                keras.backend.binary_crossentropy(soft_binary_labels, sigmoid_logits,
                                                  from_logits=True)):
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_seed_004_backend_binary_crossentropy_is_per_entry():
    y_true = [[0, 1], [0, 0]]
    y_pred = [[0.6, 0.4], [0.4, 0.6]]
    per_entry = keras.backend.binary_crossentropy(np.array(y_true, np.float32),
                                                  np.array(y_pred, np.float32)).numpy()
    np.testing.assert_allclose(per_entry, -np.log([[0.4, 0.4], [0.6, 0.4]]), rtol=1e-6)
    np.testing.assert_allclose(keras.losses.binary_crossentropy(y_true, y_pred).numpy(),
                               per_entry.mean(axis=-1), rtol=1e-6)
    with pytest.raises(ValueError, match="differ"):
        keras.backend.binary_crossentropy([[0, 1]], [0.6, 0.4, 0.5])


def test_seed_004_losses_of_lists_are_float32_and_print_like_keras():
    """Python lists become float32 tensors (tf.convert_to_tensor's rule), so `.numpy()` prints the
    digits Keras prints; float64 arrays stay float64."""
    y_pred = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    scce = keras.losses.SparseCategoricalCrossentropy()
    assert str(scce([1, 2], y_pred).numpy()) == "1.1769392"
    cce = keras.losses.CategoricalCrossentropy()
    assert str(cce([[0, 1, 0], [0, 0, 1]], y_pred).numpy()) == "1.1769392"
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    assert str(bce([0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8]).numpy()) == "0.865458"
    assert scce([1, 2], np.array(y_pred)).numpy().dtype == np.float64
