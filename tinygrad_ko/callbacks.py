"""Keras callbacks: hooks that fit/evaluate/predict call around the training loop, never inside it.

    >>> from tinygrad_ko.callbacks import EarlyStopping
    >>> model.fit(x, y, validation_split=0.2,
    ...           callbacks=[EarlyStopping(patience=2, restore_best_weights=True)])

A callback sees `self.model` (get_weights/set_weights, save/save_weights, optimizer,
stop_training) and `self.params` ({"epochs", "steps", "verbose"}). Hooks receive `logs`, a dict
of floats such as {"loss": 0.43, "accuracy": 0.85, "val_loss": 0.39, "val_accuracy": 0.86}.
"""
import csv
import math
import os
import sys
import time

import numpy as np

__all__ = ["Callback", "CallbackList", "CSVLogger", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "Progbar",
           "ReduceLROnPlateau", "TerminateOnNaN"]


class Callback:
    """Base class: override any of the `on_*` hooks."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    """Calls one hook on every callback, in order: `callbacks.on_epoch_end(epoch, logs)`.

    Each hook is bound once, to the callbacks that override it: a batch hook nobody overrides costs
    one empty call per batch.
    """

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)
        for hook in HOOKS:
            methods = [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, hook)]
            setattr(self, hook, _call_all(methods))


def _overrides(callback, hook):
    return hook in vars(callback) or getattr(type(callback), hook) is not getattr(Callback, hook)


def _call_all(methods):
    def call_all(*args):
        for method in methods:
            method(*args)
    return call_all


# ---- progress ----

def format_eta(seconds):
    return (f"{int(seconds) // 3600}:{int(seconds) % 3600 // 60:02d}:{int(seconds) % 60:02d}"
            if seconds >= 3600 else f"{int(seconds) // 60}:{int(seconds) % 60:02d}"
            if seconds >= 60 else f"{int(seconds)}s")


def format_per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def format_logs(values):
    return "".join(f" - {key}: {value:.4f}" if abs(value) > 1e-3 or value == 0
                   else f" - {key}: {value:.4e}" for key, value in values.items())


class Progbar:
    """Keras's progress bar: `1875/1875 [==============================] - 5s 2ms/step - loss: 0.6`.

    On a terminal the line is redrawn in place (at most every `interval` seconds); elsewhere only
    the final line is written, so logs hold one line per epoch. verbose=2 writes only a summary.
    """

    WIDTH = 30

    def __init__(self, target, verbose=1, stream=None, interval=0.05, interactive=None):
        self.target, self.verbose, self.interval = target, verbose, interval
        self.stream = stream or sys.stdout
        self.interactive = (self.stream.isatty() if interactive is None else interactive)
        self.start = self.last_draw = time.perf_counter()
        self.last_width = 0

    def update(self, current, values=None, finalize=None):
        """Shows `current` of `target` steps done, with `values` ({name: float}) after the bar."""
        values = values or {}
        finalize = current >= self.target if finalize is None else finalize
        now = time.perf_counter()
        if self.verbose == 1 and self.interactive and not finalize:
            if now - self.last_draw < self.interval:
                return
            self._draw("\r" + self._line(current, values, now, finalize=False))
            self.last_draw = now
        elif finalize and self.verbose == 1:
            line = self._line(current, values, now, finalize=True)
            self._draw(("\r" if self.interactive else "") + line + "\n")
        elif finalize and self.verbose == 2:
            elapsed = now - self.start
            per_step = elapsed / max(current, 1)
            self._draw(f"{self._count(current)} - {elapsed:.0f}s{format_logs(values)}"
                       f" - {elapsed:.0f}s/epoch - {format_per_step(per_step)}\n")

    def _count(self, current):
        digits = len(str(self.target))
        return f"{current:{digits}d}/{self.target}"

    def _line(self, current, values, now, finalize):
        filled = int(self.WIDTH * current / self.target) if self.target else self.WIDTH
        bar = "=" * max(filled - 1, 0) + ((">" if current < self.target else "=") if filled else "")
        bar += "." * (self.WIDTH - len(bar))
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        if finalize:
            timing = f" - {elapsed:.0f}s {format_per_step(per_step)}"
        else:
            timing = f" - ETA: {format_eta(per_step * (self.target - current))}"
        return f"{self._count(current)} [{bar}]{timing}{format_logs(values)}"

    def _draw(self, text):
        line = text.rstrip("\n")
        # pad over the previous, possibly longer, in-place line
        pad = max(self.last_width - len(line.lstrip("\r")), 0) if line.startswith("\r") else 0
        self.stream.write(line + " " * pad + text[len(line):])
        self.stream.flush()
        self.last_width = 0 if text.endswith("\n") else len(line.lstrip("\r"))


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a Progbar per epoch (and for evaluate/predict when they run alone)."""

    def __init__(self, stream=None):
        super().__init__()
        self.stream, self.bar, self.in_fit, self.seen = stream, None, False, 0

    def _verbose(self):
        return self.params.get("verbose", 1)

    def on_train_begin(self, logs=None):
        self.in_fit = True

    def on_train_end(self, logs=None):
        self.in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self._verbose():
            print(f"Epoch {epoch + 1}/{self.params['epochs']}", file=self.stream or sys.stdout,
                  flush=True)
            self.bar, self.seen = Progbar(self.params["steps"], self._verbose(), self.stream), 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        if self.bar is not None and batch + 1 < self.params["steps"]:
            self.bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:  # `seen` < steps when training stopped inside the epoch
            self.bar.update(self.seen, logs, finalize=True)
            self.bar = None

    def on_test_begin(self, logs=None):
        if not self.in_fit and self._verbose():
            self.bar, self.seen = Progbar(self.params["steps"], self._verbose(), self.stream), 0

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self.on_train_batch_end(batch, logs)

    def on_test_end(self, logs=None):
        if not self.in_fit and self.bar is not None:
            self.bar.update(self.seen, logs, finalize=True)
            self.bar = None

    on_predict_begin = on_test_begin
    on_predict_batch_end = on_test_batch_end
    on_predict_end = on_test_end


# ---- records ----

class History(Callback):
    """Records every epoch's logs: `history.history["val_loss"]` holds one value per epoch."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class CSVLogger(Callback):
    """Writes one CSV row per epoch (`epoch,accuracy,loss,...`) to `filename`, flushed each time."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.file = self.writer = self.keys = None

    def on_train_begin(self, logs=None):
        resume = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self.keys = None
        if resume:
            with open(self.filename, newline="") as f:
                self.keys = next(csv.reader(f, delimiter=self.separator))[1:]
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = csv.writer(self.file, delimiter=self.separator)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [logs.get(key, "NA") for key in self.keys])
        self.file.flush()

    def on_train_end(self, logs=None):
        self.file.close()


class LambdaCallback(Callback):
    """A callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`.

    Keras's aliases on_batch_begin/on_batch_end mean the training-batch hooks.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None, **more_hooks):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_batch_begin=on_batch_begin, on_train_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end, **more_hooks)
        for name, fn in hooks.items():
            if name not in HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; hooks are {HOOKS}")
            if fn is not None:
                setattr(self, name, fn)


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
            self.model.stop_training = True


# ---- monitoring a metric ----

class _Monitor(Callback):
    """Shared by the callbacks that watch one logged value for improvement."""

    def __init__(self, monitor, mode, min_delta):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)

    def improved(self, current, reference):
        if reference is None:
            return True
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def current(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            print(f"{type(self).__name__}: `{self.monitor}` is not in the logs "
                  f"(available: {', '.join(sorted(logs or {}))}); skipping", file=sys.stderr)
        return value


class EarlyStopping(_Monitor):
    """Stops when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    With restore_best_weights=True the model ends training with the weights of its best epoch.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = None, None

    def on_epoch_end(self, epoch, logs=None):
        current = self.current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self.improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.", flush=True)
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Saves the model (or its weights) after each epoch, or only when `monitor` improves.

    `filepath` may use `{epoch}` (1-based) and any logged value: "ckpt-{epoch:02d}-{val_loss:.2f}".
    Every write is atomic (the model's own save is temp file + os.replace).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", initial_value_threshold=None):
        super().__init__(monitor, mode, 0)
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.best = initial_value_threshold

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = self.current(logs)
            if current is None or not self.improved(current, self.best):
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                      f"{current:.5f}, saving model to {path}", flush=True)
            self.best = current
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)


# ---- learning rate ----

class LearningRateScheduler(Callback):
    """At each epoch start, sets the learning rate to `schedule(epoch, lr)` or `schedule(epoch)`."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.model.optimizer.learning_rate)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        if not isinstance(new, (float, int, np.floating, np.integer)):
            raise ValueError(f"LearningRateScheduler: schedule returned {new!r}, not a number")
        self.model.optimizer.learning_rate = float(new)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(_Monitor):
    """Multiplies the learning rate by `factor` when `monitor` stalls for `patience` epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        super().__init__(monitor, mode, min_delta)
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        current = self.current(logs)
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.improved(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(self.model.optimizer.learning_rate)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new
                    if self.verbose:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0
