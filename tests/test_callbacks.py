"""Callbacks driven by a stand-in model and a hand-written epoch loop (fit: tests/test_model.py)."""
import io
import re

import numpy as np
import pytest

from tinygrad_ko.callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping, History,
                                   LambdaCallback, LearningRateScheduler, ModelCheckpoint, Progbar,
                                   ProgbarLogger, ReduceLROnPlateau, TerminateOnNaN)


class FakeOptimizer:
    learning_rate = 0.1


class FakeModel:
    """Weights are a counter the loop bumps each epoch, so restored weights name their epoch."""

    def __init__(self):
        self.weights = [np.zeros(2)]
        self.stop_training = False
        self.optimizer = FakeOptimizer()
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]

    def save(self, path):
        self.saved.append(("model", path))

    def save_weights(self, path):
        self.saved.append(("weights", path))


def run(callbacks, epoch_logs, model=None, steps=3, verbose=0):
    """Drives callbacks the way fit does; returns the model and the number of epochs run."""
    model = model or FakeModel()
    params = {"epochs": len(epoch_logs), "steps": steps, "verbose": verbose}
    cbs = CallbackList(callbacks, model, params)
    cbs.on_train_begin()
    ran = 0
    for epoch, logs in enumerate(epoch_logs):
        cbs.on_epoch_begin(epoch)
        for batch in range(steps):
            cbs.on_train_batch_begin(batch)
            cbs.on_train_batch_end(batch, {"loss": logs.get("loss", 1.0)})
        model.weights[0] += 1  # "training" happened: weights now identify epoch + 1
        cbs.on_epoch_end(epoch, dict(logs))
        ran += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return model, ran


# ---- progress bar ----

LINE = re.compile(r"^1875/1875 \[={30}\] - \d+s \d+(ms|us|s)/step "
                  r"- loss: 0\.6305 - accuracy: 0\.7775$")


def test_progbar_final_line_matches_keras():
    out = io.StringIO()
    bar = Progbar(1875, verbose=1, stream=out, interactive=False)
    for step in range(1, 1875):
        bar.update(step, {"loss": 0.9, "accuracy": 0.5})
    bar.update(1875, {"loss": 0.6305, "accuracy": 0.7775})
    assert out.getvalue().count("\n") == 1  # not a terminal: one line, nothing in between
    assert LINE.match(out.getvalue().rstrip("\n")), out.getvalue()


def test_progbar_redraws_in_place_on_a_terminal():
    out = io.StringIO()
    bar = Progbar(10, verbose=1, stream=out, interval=0.0, interactive=True)
    for step in range(1, 10):
        bar.update(step, {"loss": 2.0 / step})
    bar.update(10, {"loss": 0.1})
    text = out.getvalue()
    assert text.count("\n") == 1 and text.count("\r") == 10
    frames = text.split("\r")[1:]
    assert frames[0].startswith(" 1/10 [==>...........................] - ETA: ")
    assert frames[4].startswith(" 5/10 [==============>...............]")
    assert re.match(r"10/10 \[={30}\] - \d+s \d+(ms|us)/step - loss: 0\.1000\n$", frames[-1])


def test_progbar_verbose_2_and_small_values():
    out = io.StringIO()
    bar = Progbar(4, verbose=2, stream=out, interactive=True)
    for step in range(1, 5):
        bar.update(step, {"loss": 1e-5})
    assert re.match(r"^4/4 - \d+s - loss: 1\.0000e-05 - \d+s/epoch - \d+(ms|us)/step\n$",
                    out.getvalue()), out.getvalue()


def test_progbar_logger_epoch_headers():
    out = io.StringIO()
    run([ProgbarLogger(out)], [{"loss": 0.5, "val_loss": 0.4}] * 2, verbose=1)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert re.match(r"3/3 \[={30}\] - .* - loss: 0\.5000 - val_loss: 0\.4000$", lines[1])


# ---- history and logging ----

def test_history_records_every_epoch():
    history = History()
    run([history], [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}])
    assert history.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 1.5]}
    assert history.epoch == [0, 1]


def test_csv_logger_writes_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    run([CSVLogger(path)], [{"loss": 1.0, "accuracy": 0.5}, {"loss": 0.5, "accuracy": 0.75}])
    assert path.read_text().splitlines() == ["epoch,accuracy,loss", "0,0.5,1.0", "1,0.75,0.5"]
    run([CSVLogger(path, append=True)], [{"loss": 0.25, "accuracy": 0.875}])
    assert path.read_text().splitlines()[-1] == "0,0.875,0.25"
    assert path.read_text().count("epoch") == 1


def test_lambda_callback_and_user_subclass():
    seen = []

    class Counter(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("batch", batch))

    run([Counter(), LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch)))],
        [{"loss": 1.0}], steps=2)
    assert seen == [("batch", 0), ("batch", 1), ("epoch", 0)]
    with pytest.raises(ValueError, match="unknown hook"):
        LambdaCallback(on_epoch_ends=print)


def test_terminate_on_nan(capsys):
    _, ran = run([TerminateOnNaN()], [{"loss": 1.0}, {"loss": float("nan")}, {"loss": 1.0}])
    assert ran == 2
    assert "Invalid loss, terminating training" in capsys.readouterr().out


# ---- early stopping ----

def test_early_stopping_patience_and_restore_best():
    losses = [1.0, 0.5, 0.7, 0.6, 0.4]
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model, ran = run([stopper], [{"val_loss": v} for v in losses])
    assert ran == 4 and stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    assert model.weights[0][0] == 2  # weights at the end of epoch index 1


def test_early_stopping_min_delta_and_auto_mode_for_accuracy():
    accuracies = [0.50, 0.505, 0.509, 0.6]
    _, ran = run([EarlyStopping(monitor="val_accuracy", min_delta=0.01, patience=2)],
                 [{"val_accuracy": v} for v in accuracies])
    assert ran == 3
    _, ran = run([EarlyStopping(monitor="val_accuracy", patience=2)],
                 [{"val_accuracy": v} for v in accuracies])
    assert ran == 4


def test_early_stopping_restores_best_even_without_stopping():
    model, ran = run([EarlyStopping(patience=5, restore_best_weights=True)],
                     [{"val_loss": v} for v in (0.9, 0.3, 0.8)])
    assert ran == 3 and model.weights[0][0] == 2


def test_early_stopping_missing_monitor_warns(capsys):
    _, ran = run([EarlyStopping(patience=0)], [{"loss": 1.0}] * 3)
    assert ran == 3 and "`val_loss` is not in the logs" in capsys.readouterr().err


# ---- checkpoints and learning rate ----

def test_model_checkpoint_paths_and_best_only(tmp_path):
    template = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.tgk")
    model, _ = run([ModelCheckpoint(template)], [{"val_loss": 0.5}, {"val_loss": 0.7}])
    assert model.saved == [("model", str(tmp_path / "ckpt-01-0.50.tgk")),
                           ("model", str(tmp_path / "ckpt-02-0.70.tgk"))]
    model, _ = run([ModelCheckpoint("best.npz", save_best_only=True, save_weights_only=True)],
                   [{"val_loss": v} for v in (0.5, 0.7, 0.4)])
    assert model.saved == [("weights", "best.npz"), ("weights", "best.npz")]


def test_learning_rate_scheduler():
    model = FakeModel()
    history = History()
    run([LearningRateScheduler(lambda epoch, lr: lr * 0.5), history], [{"loss": 1.0}] * 3, model)
    assert history.history["learning_rate"] == [0.05, 0.025, 0.0125]
    model = FakeModel()
    run([LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], [{"loss": 1.0}] * 2, model)
    assert model.optimizer.learning_rate == pytest.approx(0.02)


def test_reduce_lr_on_plateau():
    model = FakeModel()
    run([ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.03)],
        [{"val_loss": v} for v in (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)], model)
    # stalls after epochs 2 and 4 halve 0.1 -> 0.05 -> 0.03 (clipped at min_lr)
    assert model.optimizer.learning_rate == pytest.approx(0.03)
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.5)


def test_time_formats():
    from tinygrad_ko.callbacks import format_eta, format_per_step
    assert [format_eta(s) for s in (5.7, 75, 3725)] == ["5s", "1:15", "1:02:05"]
    assert [format_per_step(s) for s in (2.4, 0.473, 2e-5)] == ["2s/step", "473ms/step",
                                                                 "20us/step"]
