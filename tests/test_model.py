"""Model: training that works, Keras's fit semantics, summary, saving, warnings and bad input."""
import os
import re
import warnings

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import callbacks, losses, nn, optim
from tinygrad_ko.model import Model, Sequential, load_model, saving


@pytest.fixture(autouse=True)
def fresh_names():
    nn.reset_names()
    tg.manual_seed(0)
    np.random.seed(0)


def blobs(n=240, classes=3, dim=4, seed=0):
    """Well-separated Gaussian blobs: an MLP should classify them almost perfectly."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, (classes, dim))
    y = rng.integers(0, classes, n)
    x = (centers[y] + rng.normal(0, 0.5, (n, dim))).astype(np.float32)
    return x, y.astype(np.uint8)


def mlp(dim=4, classes=3, hidden=16, activation="softmax", **dense_kwargs):
    return Sequential([nn.Dense(hidden, activation="relu", input_shape=(dim,), **dense_kwargs),
                       nn.Dense(classes, activation=activation)])


def compiled(model=None, optimizer=None, **kwargs):
    model = model or mlp()
    model.compile(optimizer=optimizer or optim.Adam(learning_rate=0.02),
                  loss=kwargs.pop("loss", "sparse_categorical_crossentropy"),
                  metrics=kwargs.pop("metrics", ["accuracy"]), **kwargs)
    return model


# ---- training ----

def test_fit_learns_a_separable_problem():
    x, y = blobs()
    model = compiled()
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.95
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.95 and loss < 0.2
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": loss, "accuracy": accuracy}
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (len(x), 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_functional_model_trains_and_one_hot_targets_pick_categorical_accuracy():
    x, y = blobs()
    inputs = nn.Input(shape=(4,))
    hidden = nn.Dense(16, activation="relu")(inputs)
    model = Model(inputs=inputs, outputs=nn.Dense(3, activation="softmax")(hidden))
    model.compile(optimizer=optim.Adam(learning_rate=0.02), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    onehot = np.eye(3, dtype=np.float32)[y]
    history = model.fit(x, onehot, epochs=10, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert type(model.compiled_metrics[0]).__name__ == "CategoricalAccuracy"


def test_validation_split_takes_the_last_fraction_before_shuffling():
    x, y = blobs(n=100)
    model = compiled()
    history = model.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    val_loss, val_accuracy = model.evaluate(x[80:], y[80:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_accuracy)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.params["steps"] == 3  # 80 training samples at batch 32


def test_partial_last_batch_is_used():
    x, y = blobs(n=10)
    model = compiled(optimizer=optim.SGD(learning_rate=0.0))  # weights stay put
    sizes = []
    seen = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: sizes.append(batch))
    history = model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=[seen])
    assert sizes == [0, 1, 2]
    # the epoch's loss is the mean over all 10 samples: the last batch of 2 counted, by size
    assert history.history["loss"][0] == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-5)


def test_dropout_trains_stochastically_but_predicts_deterministically():
    x, y = blobs(n=64)
    model = Sequential([nn.Dense(32, activation="relu", input_shape=(4,)), nn.Dropout(0.5),
                        nn.Dense(3, activation="softmax")])
    compiled(model).fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert model.test_on_batch(x, y) == model.test_on_batch(x, y)


def test_regularization_is_part_of_the_loss():
    x, y = blobs(n=32)
    model = compiled(mlp(kernel_regularizer=nn.regularizers.l2(0.1)))
    model.build((None, 4))
    penalty = 0.1 * float(np.sum(model.layers[0].get_weights()[0] ** 2))
    predictions = model.predict(x, verbose=0)
    plain = float(losses.SparseCategoricalCrossentropy()(y.astype(np.int64), predictions).data)
    loss = model.evaluate(x, y, verbose=0, batch_size=64)[0]
    assert loss == pytest.approx(plain + penalty, rel=1e-4)


def test_sample_and_class_weights():
    x, y = blobs(n=32)
    model = compiled()
    per_sample = losses.SparseCategoricalCrossentropy(reduction="none")(
        y.astype(np.int64), model.predict(x, verbose=0)).data
    weights = np.where(y == 0, 0.0, 2.0).astype(np.float32)
    expected = float(np.sum(per_sample * weights) / len(y))
    assert model.evaluate(x, y, sample_weight=weights, batch_size=64, verbose=0)[0] == \
        pytest.approx(expected, rel=1e-5)
    before = model.get_weights()
    model.train_on_batch(x[y == 0], y[y == 0], class_weight={0: 0.0, 1: 1.0, 2: 1.0})
    after = model.get_weights()  # class 0 weighted out: Adam sees zero gradients, nothing moves
    for a, b in zip(before, after):
        np.testing.assert_allclose(a, b, atol=1e-7)


def test_on_batch_methods():
    x, y = blobs(n=16)
    model = compiled()
    loss, accuracy = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, verbose=0))


def test_training_mode_only_during_fit():
    seen = []

    class Spy(nn.Layer):
        def call(self, inputs, training=False):
            seen.append(training)
            return inputs

    x, y = blobs(n=8)
    model = compiled(Sequential([nn.Dense(3, activation="softmax", input_shape=(4,)), Spy()]))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert seen[0] is True and seen[1:] == [False, False]


# ---- callbacks with a real model ----

def test_early_stopping_restores_best_weights():
    x, y = blobs(n=64)
    model = compiled(optimizer=optim.SGD(learning_rate=0.05))
    snapshots = {}
    record = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.setdefault(epoch, (logs["val_loss"],
                                                                     model.get_weights())))
    # a learning rate that blows the model up from epoch 2 on: val_loss gets worse, training stops
    wreck = callbacks.LearningRateScheduler(lambda epoch, lr: 0.05 if epoch < 2 else 50.0)
    stop = callbacks.EarlyStopping(patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=10, validation_split=0.25, verbose=0,
                        callbacks=[wreck, record, stop])
    assert len(history.epoch) < 10
    best = min(snapshots, key=lambda e: snapshots[e][0])
    for restored, saved in zip(model.get_weights(), snapshots[best][1]):
        np.testing.assert_array_equal(restored, saved)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_nan_loss_stops_training_with_a_clear_message():
    x, y = blobs(n=64)
    x[40] = np.inf
    model = compiled()
    with pytest.warns(RuntimeWarning, match=r"loss became nan at epoch 1, batch 2"):
        history = model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0)
    assert history.epoch == [0]


def test_progress_output_is_one_line_per_epoch_off_a_terminal(capsys):
    x, y = blobs(n=64)
    compiled().fit(x, y, epochs=2, validation_split=0.5, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.match(r"^1/1 \[={30}\] - \d+s \d+(ms|us)/step - loss: \d\.\d{4} - accuracy: "
                    r"\d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$", lines[1])
    compiled().fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_2_and_evaluate_predict_progress(capsys):
    x, y = blobs(n=64)
    model = compiled()
    model.fit(x, y, epochs=1, verbose=2)
    model.evaluate(x, y)
    model.predict(x)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/1"
    assert re.match(r"^2/2 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - \d+s/epoch - "
                    r"\d+(ms|us)/step$", lines[1])
    assert re.match(r"^2/2 \[={30}\] - \d+s \d+(ms|us)/step - loss: \d\.\d{4} - accuracy: "
                    r"\d\.\d{4}$", lines[2])
    assert re.match(r"^2/2 \[={30}\] - \d+s \d+(ms|us)/step$", lines[3]) and len(lines) == 4


# ---- summary and compile warnings ----

SEED_002_SUMMARY = """\
Model: "model"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
=================================================================
 input_1 (InputLayer)        [(None, 28, 28, 1)]       0         
                                                                 
 flatten (Flatten)           (None, 784)               0         
                                                                 
 dense (Dense)               (None, 300)               235500    
                                                                 
 dense_1 (Dense)             (None, 100)               30100     
                                                                 
 dense_2 (Dense)             (None, 10)                1010      
                                                                 
=================================================================
Total params: 266,610
Trainable params: 266,610
Non-trainable params: 0
_________________________________________________________________"""


def test_summary_of_seed_002_mlp(capsys):
    inputs = nn.Input(shape=(28, 28, 1))
    x = nn.Flatten(input_shape=(28, 28, 1))(inputs)
    x = nn.Dense(units=300, activation="relu")(x)
    x = nn.Dense(units=100, activation="relu")(x)
    x = nn.Dense(units=10, activation="softmax")(x)
    Model(inputs=inputs, outputs=x).summary()
    assert capsys.readouterr().out.rstrip("\n") == SEED_002_SUMMARY


def test_summary_of_the_cnn_wraps_long_names_like_keras():
    model = Sequential([nn.Conv2D(32, 3, padding="same", activation="relu",
                                  input_shape=(28, 28, 1)),
                        nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(10, activation="softmax")])
    text = []
    model.summary(print_fn=text.append)
    lines = text[0].splitlines()
    assert lines[0] == 'Model: "sequential"'
    assert lines[4] == " conv2d (Conv2D)             (None, 28, 28, 32)        320       "
    assert lines[6] == " max_pooling2d (MaxPooling2D  (None, 14, 14, 32)       0         "
    assert lines[7] == " )                                                               "
    assert "Total params: 63,050" in text[0]
    assert all(len(line) == 65 for line in lines[1:-4])


@pytest.mark.parametrize("activation, loss, warns", [
    ("softmax", losses.SparseCategoricalCrossentropy(from_logits=True), "from_logits=True"),
    (None, "sparse_categorical_crossentropy", "from_logits=True, e.g."),
    (None, losses.CategoricalCrossentropy(), "outputs logits"),
    ("softmax", "sparse_categorical_crossentropy", None),
    (None, losses.SparseCategoricalCrossentropy(from_logits=True), None),
    (None, "mse", None),
])
def test_compile_warns_about_logits_mismatch(activation, loss, warns):
    model = mlp(activation=activation)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.compile(optimizer="adam", loss=loss)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if warns is None:
        assert messages == []
    else:
        assert len(messages) == 1 and warns in messages[0] and "Fix:" in messages[0]


# ---- saving ----

def test_save_load_round_trip_resumes_training(tmp_path):
    x, y = blobs(n=96)
    model = compiled()
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    path = tmp_path / "model.tgk"
    model.save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    loaded = load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.iterations == model.optimizer.iterations == 3
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_functional_model_round_trip(tmp_path):
    inputs = nn.Input(shape=(4,))
    model = Model(inputs, nn.Dense(3, activation="softmax")(nn.Dense(8)(inputs)))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "f.tgk")
    loaded = load_model(tmp_path / "f.tgk")
    x, _ = blobs(n=8)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_weights_round_trip_and_mismatch_names_the_layer(tmp_path):
    model = mlp()
    model.save_weights(tmp_path / "w.npz")
    other = mlp()
    other.load_weights(tmp_path / "w.npz")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    wider = mlp(hidden=17)
    with pytest.raises(ValueError,
                       match=r"layer 'dense_4' .* expects 'dense_4/kernel' of shape \(4, 17\)"):
        wider.load_weights(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="holds 4 weights"):
        Sequential([nn.Dense(3, input_shape=(4,))]).load_weights(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="load_weights"):
        load_model(tmp_path / "w.npz")


def test_saves_are_atomic(tmp_path, monkeypatch):
    model = compiled()
    path = tmp_path / "ckpt.tgk"
    model.save(path)
    original = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut mid-save")

    monkeypatch.setattr(saving.np, "savez", crash)
    checkpoint = callbacks.ModelCheckpoint(str(path))
    checkpoint.set_model(model)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.on_epoch_end(0, {"val_loss": 0.1})
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["ckpt.tgk"]  # no temporary file left behind


def test_corrupt_model_file_is_reported(tmp_path):
    path = tmp_path / "bad.tgk"
    path.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a tinygrad_ko model"):
        load_model(path)


# ---- bad input ----

def test_bad_input_errors():
    x, y = blobs(n=20)
    model = mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y)
    compiled(model)
    with pytest.raises(ValueError, match="x has 20 .* y has 19"):
        model.fit(x, y[:-1], verbose=0)
    with pytest.raises(ValueError, match=r"first layer 'dense' \(Dense\) expects inputs of shape "
                                         r"\(None, 4\)"):
        model.fit(x[:, :3], y, verbose=0)
    bad = y.copy()
    bad[3] = 3
    with pytest.raises(ValueError, match=r"labels must lie in 0..2 .* values from 0 to 3"):
        model.fit(x, bad, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.fit(x, y, batch_size=0, verbose=0)
    assert model.evaluate(x, y, batch_size=None, verbose=0)[0] > 0
    with pytest.raises(ValueError, match="no layers"):
        Sequential().predict(x)
    with pytest.raises(ValueError, match="has not been built"):
        Sequential([nn.Dense(3)]).summary()
    with pytest.raises(ValueError, match="one input and one output"):
        inputs = [nn.Input(shape=(4,)), nn.Input(shape=(4,))]
        Model(inputs=inputs, outputs=nn.Dense(2)(inputs[0]))


def test_unbuilt_sequential_builds_on_first_data():
    x, y = blobs(n=16)
    model = Sequential([nn.Dense(8, activation="relu"), nn.Dense(3, activation="softmax")])
    assert model.predict(x, verbose=0).shape == (16, 3)
    assert model.output_shape == (None, 3) and model.count_params() == 4 * 8 + 8 + 8 * 3 + 3


def test_manual_seed_makes_fit_reproducible():
    x, y = blobs(n=64)
    runs = []
    for _ in range(2):
        nn.reset_names()
        tg.manual_seed(7)
        model = compiled(Sequential([nn.Dense(8, activation="relu", input_shape=(4,)),
                                     nn.Dropout(0.5), nn.Dense(3, activation="softmax")]))
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
