"""The keras facade: the study notes' code runs unchanged but for the import; nothing is redone."""
import ast
import gzip
import os
import struct

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import keras

KERAS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "tinygrad_ko", "keras")


@pytest.fixture(autouse=True)
def fresh_session():
    keras.backend.clear_session()
    tg.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def tiny_fashion(tmp_path, monkeypatch):
    """A 160 + 64 image stand-in for Fashion-MNIST, found through $TINYGRAD_KO_DATA: two classes
    that differ by a bright square, so a few steps of training can tell them apart."""
    rng = np.random.default_rng(0)
    directory = tmp_path / "fashion-mnist"
    directory.mkdir()
    for prefix, n in (("train", 160), ("t10k", 64)):
        labels = rng.integers(0, 2, n).astype(np.uint8) * 7
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        images[labels == 7, 8:20, 8:20] = 250
        for stem, array in ((f"{prefix}-images-idx3-ubyte", images),
                            (f"{prefix}-labels-idx1-ubyte", labels)):
            header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            (directory / (stem + ".gz")).write_bytes(gzip.compress(header + array.tobytes()))
    monkeypatch.setenv("TINYGRAD_KO_DATA", str(tmp_path))


def test_facade_holds_no_logic():
    for root, _, files in os.walk(KERAS_DIR):
        for name in files:
            if name.endswith(".py"):
                tree = ast.parse(open(os.path.join(root, name)).read())
                defs = [node.name for node in ast.walk(tree)
                        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
                assert defs == [], f"{name} defines {defs}: the facade only re-exports"


def test_facade_names_are_the_implementation():
    from tinygrad_ko import callbacks, datasets, losses, metrics, model, nn, optim
    assert keras.layers.Dense is nn.Dense and keras.Input is nn.Input
    assert keras.Sequential is model.Sequential and keras.models.load_model is model.load_model
    assert keras.losses.SparseCategoricalCrossentropy is losses.SparseCategoricalCrossentropy
    assert keras.metrics.Accuracy is metrics.Accuracy
    assert keras.optimizers.Adam is optim.Adam
    assert keras.optimizers.schedules.ExponentialDecay is optim.ExponentialDecay
    assert keras.callbacks.EarlyStopping is callbacks.EarlyStopping
    assert keras.utils.to_categorical is datasets.to_categorical
    assert keras.datasets.fashion_mnist.load_data == datasets.fashion_mnist.load_data
    for module in (keras, keras.layers, keras.losses, keras.metrics, keras.optimizers,
                   keras.callbacks, keras.activations, keras.initializers, keras.regularizers):
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_to_categorical_seed_004_contract():
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 1, 2, 3], num_classes=4),
                                  np.eye(4, dtype=np.float32))
    assert keras.utils.to_categorical([0, 1, 2, 3], num_classes=4).dtype == np.float32
    assert keras.utils.to_categorical([[1], [2]]).shape == (2, 3)        # trailing 1 replaced
    assert keras.utils.to_categorical([[1, 0], [2, 1]]).shape == (2, 2, 3)
    assert keras.utils.to_categorical([2, 0], dtype="int64").dtype == np.int64
    with pytest.raises(ValueError, match="0..2"):
        keras.utils.to_categorical([0, 3], num_classes=3)


def test_the_issue_cnn_workflow_runs(tiny_fashion, capsys):
    (train_input, train_target), (test_input, test_target) = \
        keras.datasets.fashion_mnist.load_data()
    assert train_input.shape == (160, 28, 28) and train_input.dtype == np.uint8
    train_scaled = train_input.reshape(-1, 28, 28, 1) / 255.0
    model = keras.Sequential([
        keras.layers.Conv2D(8, kernel_size=3, activation="relu", padding="same",
                            input_shape=(28, 28, 1)),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(8, kernel_size=3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_scaled, train_target, epochs=3, batch_size=32, validation_split=0.2,
                        callbacks=[keras.callbacks.EarlyStopping(patience=2,
                                                                 restore_best_weights=True)])
    loss, accuracy = model.evaluate(test_input.reshape(-1, 28, 28, 1) / 255.0, test_target)
    out = capsys.readouterr().out
    assert 'Model: "sequential"' in out and "Epoch 3/3" in out and "val_accuracy" in out
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0] and 0.0 <= accuracy <= 1.0


def test_seed_002_dense_workflow_and_seed_003_nested_softmax(tiny_fashion):
    (train_input, train_target), (test_input, test_target) = \
        keras.datasets.fashion_mnist.load_data()
    train_scaled = (train_input / 255.0).reshape(-1, 28 * 28)
    dense = keras.layers.Dense(10, activation="softmax", input_shape=(784,))
    model = keras.Sequential([dense])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train_scaled, train_target, epochs=5, verbose=0)
    assert model.evaluate((test_input / 255.0).reshape(-1, 784), test_target, verbose=0)[1] > 0.8
    # seed 003: a logits model wrapped with a Softmax layer gives probabilities
    logits_model = keras.Sequential([keras.layers.Dense(10, input_shape=(784,))])
    logits_model.compile(optimizer="adam",
                         loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                         metrics=["accuracy"])
    logits_model.fit(train_scaled, train_target, epochs=2, verbose=0)
    probabilities = keras.Sequential([logits_model, keras.layers.Softmax()]).predict(train_scaled)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probabilities.argmax(1),
                                  logits_model.predict(train_scaled).argmax(1))


def test_seed_004_backend_categorical_crossentropy():
    a = keras.utils.to_categorical([0, 1, 2, 3], num_classes=4)
    b = np.array([.9, .04, .03, .03, .3, .45, .15, .13, .04, .01, .94, .05, .12, .21, .5, .17],
                 dtype=np.float32).reshape(4, 4)
    loss = keras.backend.categorical_crossentropy(a, b)
    np.testing.assert_allclose(np.around(np.asarray(loss), 5),
                               [0.10536, 0.82807, 0.1011, 1.77196], atol=2e-5)


def test_clear_session_restarts_names():
    keras.layers.Dense(3)
    keras.backend.clear_session()
    assert keras.layers.Dense(3).name == "dense"


def test_seed_002_imports_and_plot_model(tmp_path, capsys, monkeypatch):
    from tinygrad_ko.keras.layers import Dense, Flatten, Input  # noqa: F401 (seed 002's imports)
    from tinygrad_ko.keras.models import Model, Sequential  # noqa: F401
    from tinygrad_ko.keras.utils import plot_model
    inputs = Input(shape=(28, 28, 1))
    model = Model(inputs=inputs, outputs=Dense(10, activation="softmax")(Flatten()(inputs)))
    plot_model(model, to_file=str(tmp_path / "model.dot"), show_shapes=True)
    text = (tmp_path / "model.dot").read_text()
    assert text.startswith("digraph model {") and "flatten: Flatten | output: (None, 784)" in text
    assert "layer1 -> layer2;" in text
    monkeypatch.setattr("shutil.which", lambda name: None)
    plot_model(model, to_file=str(tmp_path / "m.png"))
    assert "not installed" in capsys.readouterr().out and (tmp_path / "m.dot").exists()


@pytest.mark.parametrize("script, args", [
    ("train_cnn.py", ["--epochs", "1", "--batch-size", "64"]),
    ("mlp_fashion.py", ["--epochs", "1"]),
])
def test_examples_run_end_to_end(tiny_fashion, tmp_path, monkeypatch, capsys, script, args):
    import runpy
    import sys
    path = os.path.join(os.path.dirname(KERAS_DIR), os.pardir, "examples", script)
    monkeypatch.setattr(sys, "argv", [script] + args + (["--outdir", str(tmp_path)]
                                                       if script == "train_cnn.py" else []))
    backend = tg.get_backend()
    try:
        runpy.run_path(path, run_name="__main__")
    finally:
        tg.set_backend(backend)
    out = capsys.readouterr().out
    assert "Total params" in out and "test accuracy" in out
    if script == "train_cnn.py":
        assert "images/s" in out and (tmp_path / "fashion_cnn.tgk").exists()
        assert keras.models.load_model(tmp_path / "fashion_cnn.tgk").optimizer.iterations == 3


def test_train_cnn_plot_uses_matplotlib_when_present(tmp_path, monkeypatch):
    """matplotlib is an optional extra (not installed here): a stand-in records what gets drawn."""
    import runpy
    import sys
    import types
    drawn = []

    class Axis:
        def plot(self, x, y, style, label):
            drawn.append((label, list(y)))

        def set_xlabel(self, text): pass
        def set_title(self, text): drawn.append(("title", text))
        def legend(self): pass

    class Figure:
        def tight_layout(self): pass

        def savefig(self, path, dpi):
            open(path, "wb").write(b"png")

    pyplot = types.SimpleNamespace(subplots=lambda *a, **k: (Figure(), (Axis(), Axis())))
    matplotlib = types.SimpleNamespace(use=lambda backend: None, pyplot=pyplot)
    monkeypatch.setitem(sys.modules, "matplotlib", matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)
    example = runpy.run_path(os.path.join(os.path.dirname(KERAS_DIR), os.pardir, "examples",
                                          "train_cnn.py"))
    history = keras.callbacks.History()
    history.history = {"loss": [0.5, 0.3], "val_loss": [0.4, 0.35], "accuracy": [0.8, 0.9],
                       "val_accuracy": [0.85, 0.88]}
    example["plot_curves"](history, str(tmp_path / "curves.png"))
    assert (tmp_path / "curves.png").read_bytes() == b"png"
    assert ("test", [0.85, 0.88]) in drawn and ("title", "accuracy") in drawn
