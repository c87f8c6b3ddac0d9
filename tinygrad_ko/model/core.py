"""Sequential and functional models: compile, fit, evaluate, predict, summary, save and load.

    >>> from tinygrad_ko import keras
    >>> model = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(784,))])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    >>> history = model.fit(x_train, y_train, epochs=5, validation_split=0.2)
    >>> model.evaluate(x_test, y_test)            # [loss, accuracy]

The training step is the canonical five lines (forward, loss, zero grad, backward, step; see
`Model.train_step`); batching, metrics, callbacks and progress are wrapped around it in `fit`.
"""
import math
import warnings

import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import nn
from .. import optim as optim_module
from ..autograd import no_grad
from ..callbacks import CallbackList, History, ProgbarLogger
from ..nn.module import InputLayer, Layer, SymbolicTensor, train_mode
from ..tensor import default_rng
from . import saving
from .data import (MeanTracker, apply_class_weight, as_array, batch_index, check_batch_size,
                   check_labels, logs_result, loss_weight, single_tensor, take, unpack_validation)
from .summary import logits_mismatch, summary_text

__all__ = ["Model", "Sequential", "load_model"]


# ---- the model classes ----

class Model(Layer):
    """A layer made of layers, plus training; `Model(inputs, outputs)` is the functional API.

        >>> inputs = keras.Input(shape=(28, 28, 1))
        >>> x = keras.layers.Flatten()(inputs)
        >>> outputs = keras.layers.Dense(10, activation="softmax")(x)
        >>> model = keras.Model(inputs=inputs, outputs=outputs)

    Layers take one input each, so a functional model is one chain from its input to its output;
    several inputs or outputs raise ValueError.
    """

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.optimizer, self.loss, self.compiled_metrics = None, None, []
        self.stop_training, self.history = False, None
        self._penalized = True  # whether any layer has a regularizer; settled by _bind
        self._input_layer, self._layers_list, self._output_shapes = None, [], []
        if inputs is not None or outputs is not None:
            self._init_functional(inputs, outputs)

    def _init_functional(self, inputs, outputs):
        inputs, outputs = single_tensor(inputs, "inputs"), single_tensor(outputs, "outputs")
        chain, node = [], outputs
        while node.parents:
            chain.append(node)
            if len(node.parents) != 1:
                raise ValueError(f"layer {node.layer.name!r} has {len(node.parents)} inputs; "
                                 f"tinygrad_ko models support single-input layers only")
            node = node.parents[0]
        if node is not inputs:
            raise ValueError(f"Model outputs are not computed from the given inputs: walking back "
                             f"from {outputs.layer.name!r} ends at {node.layer.name!r}, "
                             f"not at {inputs.layer.name!r}")
        chain.reverse()
        self._input_layer = inputs.layer
        self._layers_list = [n.layer for n in chain]
        self._output_shapes = [n.shape for n in chain]
        self.batch_input_shape = inputs.shape
        self._build_once(inputs.shape)

    # -- structure --

    @property
    def layers(self):
        """The model's layers in order (the InputLayer first for a functional model)."""
        return ([self._input_layer] if self._input_layer is not None else []) + self._layers_list

    def build(self, input_shape):
        """Builds every layer from `input_shape` by a symbolic pass (any batch size)."""
        if not self._layers_list:
            raise ValueError(f"model {self.name!r} has no layers to build")
        node = SymbolicTensor((None,) + tuple(input_shape[1:]), self.dtype, None)
        self._output_shapes = []
        for layer in self._layers_list:
            node = layer(node)
            self._output_shapes.append(node.shape)

    def call(self, inputs, training=False):
        for layer in self._layers_list:
            inputs = layer(inputs)
        return inputs

    def compute_output_shape(self, input_shape):
        self._build_once(input_shape)
        return (input_shape[0],) + tuple(self._output_shapes[-1][1:])

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: model {self.name!r} has not been built yet, so its weights "
                             f"do not exist. Give the first layer input_shape=(...), start with "
                             f"keras.Input(shape=...), or call the model on a batch of data first.")

    @property
    def input_shape(self):
        self._require_built("input_shape")
        return self.build_input_shape

    @property
    def output_shape(self):
        self._require_built("output_shape")
        return self._output_shapes[-1]

    def layer_output_shapes(self):
        """[(layer, output shape)] for summary(); a functional model's InputLayer comes first."""
        rows = list(zip(self._layers_list, self._output_shapes))
        if self._input_layer is not None:
            rows.insert(0, (self._input_layer, [tuple(self.build_input_shape)]))
        return rows

    def summary(self, line_length=65, print_fn=None):
        """Prints Keras's table: layer (type), output shape, parameter count, and totals."""
        self._require_built("summary()")
        (print_fn or print)(summary_text(self, line_length))

    # -- compile --

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None):
        """Chooses the optimizer, loss and metrics (names or objects), as Keras's compile does.

        "accuracy" becomes binary/sparse/categorical accuracy when the first targets are seen.
        """
        self.optimizer = optim_module.get(optimizer)
        self.loss = losses_module.get(loss) if loss is not None else None
        self.loss_weight = loss_weight(loss_weights)
        self._metric_specs = list(metrics or [])
        self.compiled_metrics = None  # resolved against the first targets by _bind
        self._loss_spec, self._loss_weights = loss, loss_weights
        warning = logits_mismatch(self, self.loss) if self.built or self._layers_list else None
        if warning:
            warnings.warn(warning, UserWarning, stacklevel=2)

    def _require_compiled(self, what):
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"You must call model.compile(optimizer=..., loss=...) before "
                               f"{what}.")

    def _bind(self, y):
        """Once, on the first targets: resolves "accuracy" and the like against their shape, and
        binds the optimizer to the trainable weights."""
        if self.compiled_metrics is None:
            self.compiled_metrics = [
                metrics_module.get_metric(spec, y.shape, self.output_shape, loss=self.loss)
                for spec in self._metric_specs]
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_weights)
        # walking every layer for penalties costs ~0.3 ms a step: skip it when there are none
        self._penalized = bool(self.losses)

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self.compiled_metrics or []]

    # -- the training step: the five canonical lines, nothing else --

    def train_step(self, x, y, sample_weight=None):
        """One optimization step on a batch; returns (loss value, predictions as NumPy)."""
        with train_mode(True):
            y_pred = self(x, training=True)
            loss = self.compute_loss(y, y_pred, sample_weight)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.data), y_pred.data

    def compute_loss(self, y, y_pred, sample_weight=None):
        """The compiled loss (times loss_weights) plus the layers' regularization penalties."""
        loss = self.loss(y, y_pred, sample_weight=sample_weight)
        if self.loss_weight != 1.0:
            loss = loss * self.loss_weight
        if self._penalized:
            for penalty in self.losses:
                loss = loss + penalty
        return loss

    def test_step(self, x, y, sample_weight=None):
        """Loss and predictions on a batch in inference mode, without recording a graph."""
        with no_grad(), train_mode(False):
            y_pred = self(x, training=False)
            return float(self.compute_loss(y, y_pred, sample_weight).data), y_pred.data

    def predict_step(self, x):
        with no_grad(), train_mode(False):
            return self(x, training=False).data

    # -- fit / evaluate / predict --

    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0):
        """Trains for `epochs` epochs in batches of `batch_size`; returns a History.

        validation_split takes the LAST fraction of x/y (before shuffling) for validation; the last
        partial batch of an epoch is used, not dropped; validation metrics are logged as val_*.
        """
        self._require_compiled("fit()")
        batch_size = check_batch_size(batch_size)
        x, y, sample_weight = self._prepare(x, y, sample_weight, "fit")
        sample_weight = apply_class_weight(class_weight, y, sample_weight)
        if validation_data is None and validation_split:
            x, y, sample_weight, validation_data = _split(x, y, sample_weight, validation_split)
        elif validation_data is not None:
            validation_data = self._prepare(*unpack_validation(validation_data), "validation_data")
        steps = math.ceil(len(x) / batch_size)
        history = History()
        cbs = self._callbacks(callbacks, history, verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        cbs.on_train_begin()
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            cbs.on_epoch_begin(epoch)
            order = default_rng().permutation(len(x)) if shuffle else None  # tg.manual_seed
            tracker, logs = MeanTracker(), {}
            for step in range(steps):
                index = batch_index(order, step, batch_size, len(x))
                cbs.on_train_batch_begin(step)
                yb, wb = y[index], take(sample_weight, index)
                loss, y_pred = self.train_step(x[index], yb, wb)
                logs = self._batch_logs(tracker, loss, yb, y_pred, wb)
                if not math.isfinite(loss):
                    self._stop_on_nan(epoch, step, loss)
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            if validation_data is not None:
                val_logs = self._evaluate_arrays(*validation_data, batch_size, cbs=None)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        self.history = history
        return history

    def evaluate(self, x=None, y=None, batch_size=32, verbose="auto", sample_weight=None,
                 callbacks=None, return_dict=False):
        """Loss (with regularization) and metrics on x/y: a scalar, [loss, *metrics], or a dict."""
        self._require_compiled("evaluate()")
        batch_size = check_batch_size(batch_size)
        x, y, sample_weight = self._prepare(x, y, sample_weight, "evaluate")
        cbs = self._callbacks(callbacks, None, verbose, steps=math.ceil(len(x) / batch_size))
        return logs_result(self._evaluate_arrays(x, y, sample_weight, batch_size, cbs), return_dict)

    def _evaluate_arrays(self, x, y, sample_weight, batch_size, cbs):
        self._reset_metrics()
        tracker, logs = MeanTracker(), {}
        if cbs is not None:
            cbs.on_test_begin()
        for step in range(math.ceil(len(x) / batch_size)):
            index = slice(step * batch_size, (step + 1) * batch_size)
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            yb, wb = y[index], take(sample_weight, index)
            loss, y_pred = self.test_step(x[index], yb, wb)
            logs = self._batch_logs(tracker, loss, yb, y_pred, wb)
            if cbs is not None:
                cbs.on_test_batch_end(step, logs)
        if cbs is not None:
            cbs.on_test_end(logs)
        return dict(logs)

    def predict(self, x, batch_size=32, verbose="auto", callbacks=None):
        """The model's outputs on x, batch by batch, in inference mode, as one NumPy array."""
        batch_size = check_batch_size(batch_size)
        x = self._prepare_x(x, "predict")
        steps = math.ceil(len(x) / batch_size)
        cbs = self._callbacks(callbacks, None, verbose, steps=steps)
        cbs.on_predict_begin()
        out = np.empty((len(x),) + tuple(self.output_shape[1:]), dtype=self.dtype)
        for step in range(steps):
            index = slice(step * batch_size, (step + 1) * batch_size)
            cbs.on_predict_batch_begin(step)
            out[index] = self.predict_step(x[index])
            cbs.on_predict_batch_end(step, {})
        cbs.on_predict_end({})
        return out

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One training step on exactly this batch; returns loss (and metrics) like evaluate."""
        self._require_compiled("train_on_batch()")
        x, y, sample_weight = self._prepare(x, y, sample_weight, "train_on_batch")
        sample_weight = apply_class_weight(class_weight, y, sample_weight)
        if reset_metrics:
            self._reset_metrics()
        loss, y_pred = self.train_step(x, y, sample_weight)
        return logs_result(self._batch_logs(MeanTracker(), loss, y, y_pred, sample_weight),
                           return_dict)

    def test_on_batch(self, x, y, sample_weight=None, reset_metrics=True, return_dict=False):
        """Loss (and metrics) on exactly this batch, in inference mode."""
        self._require_compiled("test_on_batch()")
        x, y, sample_weight = self._prepare(x, y, sample_weight, "test_on_batch")
        if reset_metrics:
            self._reset_metrics()
        loss, y_pred = self.test_step(x, y, sample_weight)
        return logs_result(self._batch_logs(MeanTracker(), loss, y, y_pred, sample_weight),
                           return_dict)

    def predict_on_batch(self, x):
        """The model's outputs on exactly this batch, as NumPy."""
        return self.predict_step(self._prepare_x(x, "predict_on_batch"))

    # -- loop helpers --

    def _callbacks(self, callbacks, history, verbose, **params):
        verbose = 1 if verbose == "auto" else int(verbose)
        cbs = ([ProgbarLogger()] if verbose else []) + list(callbacks or [])
        cbs += [history] if history is not None else []
        return CallbackList(cbs, self, dict(params, verbose=verbose))

    def _reset_metrics(self):
        for metric in self.compiled_metrics:
            metric.reset_state()

    def _batch_logs(self, tracker, loss, y, y_pred, sample_weight):
        tracker.add(loss, len(y_pred))
        logs = {"loss": tracker.mean()}
        for metric in self.compiled_metrics:
            metric.update_state(y, y_pred, sample_weight=sample_weight)
            logs[metric.name] = float(metric.result())
        return logs

    def _stop_on_nan(self, epoch, step, loss):
        warnings.warn(f"fit: the loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
                      f"training stopped. Usual causes: a learning rate too high (try 10x lower), "
                      f"unscaled inputs (divide images by 255.0), or labels that do not match the "
                      f"loss.", RuntimeWarning, stacklevel=3)
        self.stop_training = True

    def _prepare_x(self, x, what):
        x = as_array(x, f"{what}: x")
        if x.dtype != self.dtype:  # converted once for the whole data set, never per batch
            x = x.astype(self.dtype)
        if not self._layers_list:
            raise ValueError(f"{what}: model {self.name!r} has no layers. Build models with "
                             f"keras.Sequential([...]) or keras.Model(inputs, outputs); "
                             f"subclassing Model with your own call() is not supported")
        if not self.built:
            self._build_once((None,) + x.shape[1:])
        expected = self.build_input_shape
        if x.ndim != len(expected) or any(e is not None and e != d
                                          for e, d in zip(expected[1:], x.shape[1:])):
            first = self._layers_list[0]
            raise ValueError(f"{what}: input of shape {x.shape} does not fit model {self.name!r}: "
                             f"its first layer {first.name!r} ({type(first).__name__}) expects "
                             f"inputs of shape {tuple(expected)} (None: any batch size)")
        return x

    def _prepare(self, x, y, sample_weight, what):
        x = self._prepare_x(x, what)
        y = as_array(y, f"{what}: y (the targets)")
        if len(x) != len(y):
            raise ValueError(f"{what}: x and y have different numbers of samples: x has {len(x)} "
                             f"(shape {x.shape}), y has {len(y)} (shape {y.shape})")
        if len(x) == 0:
            raise ValueError(f"{what}: no samples (x has shape {x.shape})")
        y = y.astype(np.int64) if y.dtype.kind in "iub" else y.astype(self.dtype, copy=False)
        check_labels(y, self.output_shape[-1], self.loss, what)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=self.dtype)
            if sample_weight.shape != (len(x),):
                raise ValueError(f"{what}: sample_weight must have shape ({len(x)},), "
                                 f"got {sample_weight.shape}")
        self._bind(y)
        return x, y, sample_weight

    # -- weights and saving --

    def save_weights(self, filepath):
        """Writes every weight to `filepath` (an .npz archive) atomically."""
        self._require_built("save_weights()")
        saving.atomic_savez(filepath, saving.weight_arrays(self),
                            {"format": saving.WEIGHTS_FORMAT, "version": saving.FORMAT_VERSION,
                             "weights": self.weight_paths()})

    def load_weights(self, filepath):
        """Reads weights written by save_weights (or save), checking their count and shapes."""
        config, arrays = saving.read_archive(filepath)
        self._require_built("load_weights()")
        saving.assign_weights(self, config["weights"], arrays, filepath)

    def save(self, filepath, include_optimizer=True):
        """Writes the architecture (JSON), weights and optimizer state to one file, atomically.

        `keras.models.load_model(filepath)` rebuilds the model, compiled, ready to resume training.
        """
        self._require_built("save()")
        arrays = saving.weight_arrays(self)
        config = {"format": saving.FORMAT, "version": saving.FORMAT_VERSION,
                  "model": _layer_config(self), "weights": self.weight_paths(), "compile": None}
        if self.optimizer is not None and include_optimizer:
            config["compile"] = self._compile_config()
            state = self.optimizer.get_state() if self.optimizer.built else []
            arrays.update({f"optimizer/{i:04d}": a for i, a in enumerate(state)})
        saving.atomic_savez(filepath, arrays, config)

    def _compile_config(self):
        return {"optimizer": _serialize(self.optimizer), "loss": _serialize(self._loss_spec),
                "metrics": [_serialize(spec) for spec in self._metric_specs],
                "loss_weights": self._loss_weights}

    def get_config(self):
        config = {"name": self.name,
                  "layers": [_layer_config(layer) for layer in self._layers_list]}
        if self.built:
            config["build_input_shape"] = list(self.build_input_shape)
        if self._input_layer is not None:
            config["input_layer"] = _layer_config(self._input_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = [_layer_from_config(c, custom_objects) for c in config["layers"]]
        if "input_layer" in config:
            inputs = node = _layer_from_config(config["input_layer"], custom_objects).output
            for layer in layers:
                node = layer(node)
            return cls(inputs=inputs, outputs=node, name=config["name"])
        model = cls(layers, name=config["name"])
        if config.get("build_input_shape") and not model.built:
            model._build_once(tuple(config["build_input_shape"]))
        return model


class Sequential(Model):
    """A plain stack of layers: `keras.Sequential([Dense(100, activation="relu"), Dense(10)])`.

    The first layer may carry `input_shape=`, or the list may start with `keras.Input(shape=...)`;
    otherwise the model builds itself on the first batch it sees.
    """

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Appends a layer (or, as the first item, a keras.Input)."""
        if isinstance(layer, SymbolicTensor) or isinstance(layer, InputLayer):
            if self._layers_list:
                raise ValueError("keras.Input can only be the first item of a Sequential model")
            self.batch_input_shape = (layer.shape if isinstance(layer, SymbolicTensor)
                                      else layer.batch_input_shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if not self._layers_list and self.batch_input_shape is None:
            self.batch_input_shape = layer.batch_input_shape
        self._layers_list.append(layer)
        self._rebuild()

    def pop(self):
        """Removes and returns the last layer."""
        if not self._layers_list:
            raise TypeError("There are no layers in the model to pop")
        layer = self._layers_list.pop()
        self._rebuild()
        return layer

    def _rebuild(self):
        shape = self.build_input_shape or self.batch_input_shape
        self.built = False
        if shape is not None and self._layers_list:
            self._build_once(shape)


# ---- configs and loading ----

def _layer_config(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _layer_from_config(entry, custom_objects=None):
    name = entry["class_name"]
    classes = {"Sequential": Sequential, "Model": Model, "InputLayer": InputLayer}
    cls = (custom_objects or {}).get(name) or classes.get(name) or getattr(nn, name, None)
    if not isinstance(cls, type) or not issubclass(cls, Layer):
        raise ValueError(f"unknown layer class {name!r}: pass it as "
                         f"load_model(..., custom_objects={{{name!r}: YourLayerClass}})")
    if issubclass(cls, Model):
        return cls.from_config(entry["config"], custom_objects)
    return cls.from_config(dict(entry["config"]))


def _serialize(spec):
    """A compile() argument as JSON: names stay names; objects become their class and config."""
    if isinstance(spec, str):
        return spec
    if not hasattr(spec, "get_config") or type(spec).__name__ in ("LossFunctionWrapper",
                                                                  "MeanMetricWrapper"):
        raise ValueError(f"model.save cannot store {spec!r} (a plain function has no config): "
                         f"save with include_optimizer=False, or use a built-in name or class")
    return {"class_name": type(spec).__name__, "config": spec.get_config()}


def _deserialize(module, spec):
    if isinstance(spec, str):
        return spec
    cls = getattr(module, spec["class_name"], None)
    if not isinstance(cls, type):
        raise ValueError(f"unknown class {spec['class_name']!r} in the saved compile settings")
    return cls.from_config(spec["config"])


def _split(x, y, sample_weight, validation_split):
    """Keras's validation_split: the LAST fraction of the samples, taken before any shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
    split = int(len(x) * (1.0 - validation_split))
    if split in (0, len(x)):
        raise ValueError(f"validation_split={validation_split} leaves an empty training or "
                         f"validation set for {len(x)} samples")
    weights = (None, None) if sample_weight is None else (sample_weight[:split],
                                                          sample_weight[split:])
    return x[:split], y[:split], weights[0], (x[split:], y[split:], weights[1])


def load_model(filepath, custom_objects=None, compile=True):
    """Rebuilds a model written by `model.save`: architecture, weights and, when `compile`, the
    optimizer with its state, so that training resumes exactly where it stopped."""
    config, arrays = saving.read_archive(filepath)
    if config.get("format") != saving.FORMAT:
        raise ValueError(f"{filepath} is a {config.get('format')!r} file, not a whole model: build "
                         f"the model in code and call model.load_weights({str(filepath)!r})")
    model = _layer_from_config(config["model"], custom_objects)
    saving.assign_weights(model, config["weights"], arrays, filepath)
    spec = config.get("compile")
    if compile and spec:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the user saw any compile warning when first compiling
            model.compile(optimizer=_deserialize(optim_module, spec["optimizer"]),
                          loss=_deserialize(losses_module, spec["loss"]),
                          metrics=[_deserialize(metrics_module, m) for m in spec["metrics"]],
                          loss_weights=spec["loss_weights"])
        state = [arrays[key] for key in sorted(k for k in arrays if k.startswith("optimizer/"))]
        if state:
            model.optimizer.build(model.trainable_weights)
            model.optimizer.set_state(state)
    return model
