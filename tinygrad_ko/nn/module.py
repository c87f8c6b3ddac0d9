"""The Layer base class (Keras's Layer semantics) and the symbolic tensors of the functional API.

Layer contract (what Sequential/Model, summary, fit and saving rely on):

- ``Layer(name=None, trainable=True, dtype=None, input_shape=None, batch_input_shape=None,
  batch_size=None)``. ``name`` defaults to the snake-cased class name made unique per process
  ("dense", "dense_1", ...; ``reset_names()`` restarts the count). ``dtype`` is the weights' and
  compute dtype, "float32" by default. ``input_shape`` (without the batch dimension) is stored as
  ``batch_input_shape = (batch_size, *input_shape)`` and builds the layer right away.
- ``build(input_shape)`` creates the weights with ``add_weight``; it runs once, lazily, on the
  first call (``input_shape`` always includes the batch dimension, None when unknown). ``built``
  says whether it ran and ``build_input_shape`` keeps the shape it got.
- ``layer(x, training=None)``: ``x`` is a Tensor (used as is), a NumPy array or nested list (cast
  to ``dtype`` as Keras's autocast does, integer and bool data included), or a ``SymbolicTensor``
  (the result is then a SymbolicTensor: see below). ``training=None`` inherits the mode of the
  enclosing layer call, else of ``train_mode(...)``, else False (inference). Subclasses implement
  ``call(x, training)`` with Tensor ops, ``check_input_shape`` and ``compute_output_shape``.
- Weights are Tensors (``requires_grad`` = trainable). ``weights`` = ``trainable_weights`` +
  ``non_trainable_weights`` (Keras 2's order), each gathered from this layer and then its child
  layers (attributes holding a Layer, or lists/tuples/dicts of Layers, in assignment order),
  without duplicates. ``trainable = False`` freezes the layer and its children: their weights
  move to ``non_trainable_weights`` and stop requiring gradients.
- Weight names: Tensors carry no name, so ``named_weights()`` returns
  ``[("dense/kernel", tensor), ...]`` in ``weights`` order (path = the owning layer's name, "/",
  the name given to ``add_weight``) and ``weight_paths()`` the paths alone. Summary, saving and
  loading key on these.
- ``get_weights()`` / ``set_weights(arrays)``: copies as NumPy arrays in ``weights`` order; set
  checks the count and every shape (ValueError naming the layer and the weight) and writes in
  place, so optimizers holding the Tensors keep working.
- ``losses``: the regularization penalties (scalar Tensors) of this layer and its children,
  recomputed from the current weights at every access; the training loss adds their sum.
- ``count_params()``, ``compute_output_shape(input_shape)`` (batch dimension included, None for
  unknown), ``get_config()`` / ``from_config(config)`` (``cls(**config)``).

Functional API: ``Input(shape)`` returns a ``SymbolicTensor`` (``shape`` with a None batch
dimension, ``dtype``, ``layer`` = the InputLayer, ``parents`` = ()). Calling a layer on a
SymbolicTensor builds it from the shape, checks the shape, and returns a new SymbolicTensor with
``layer`` = that layer and ``parents`` = (the input,), so a Model can walk ``outputs`` back to
``inputs`` and replay the layers in order on real data. Layers take one input.
"""
import contextlib
import functools
import inspect
import math

import numpy as np

from . import initializers as initializers_module
from . import regularizers as regularizers_module
from ..tensor import Tensor
from ._naming import to_snake_case, unique_name

FLOATX = "float32"

_training_stack = [False]


@contextlib.contextmanager
def train_mode(training=True):
    """Within the block, layers called with ``training=None`` run in training (or inference)
    mode; ``fit`` wraps its training steps in ``train_mode(True)``."""
    _training_stack.append(bool(training))
    try:
        yield
    finally:
        _training_stack.pop()


def in_train_mode():
    """The mode a layer called with ``training=None`` runs in right now."""
    return _training_stack[-1]


def normalize_shape(shape, what="shape"):
    """A shape as a tuple of ints / None; an int becomes a 1-tuple."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        return tuple(None if d is None else int(d) for d in shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of ints (None for unknown), "
                        f"got {shape!r}") from None


class SymbolicTensor:
    """A placeholder for a layer output in the functional API: a shape and the history behind it.

    ``shape`` includes the batch dimension (None when unknown); ``layer`` produced it from
    ``parents`` (a tuple of SymbolicTensors; empty for an Input).
    """

    def __init__(self, shape, dtype, layer, parents=()):
        self.shape = normalize_shape(shape)
        self.dtype = np.dtype(dtype)
        self.layer = layer
        self.parents = tuple(parents)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def name(self):
        return self.layer.name

    def __repr__(self):
        return (f"<SymbolicTensor shape={self.shape} dtype={self.dtype.name} "
                f"from {type(self.layer).__name__} {self.layer.name!r}>")


@functools.lru_cache(maxsize=None)
def _accepts_training(call):
    """Whether a ``call`` method takes ``training`` (Keras lets subclasses leave it out)."""
    parameters = inspect.signature(call).parameters
    return "training" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class _LayerMeta(type):
    """Builds a layer declared with ``input_shape=`` once its (subclass) __init__ has finished."""

    def __call__(cls, *args, **kwargs):
        layer = super().__call__(*args, **kwargs)
        if layer.batch_input_shape is not None and not layer.built:
            layer._build_once(layer.batch_input_shape)
        return layer


class Layer(metaclass=_LayerMeta):
    """Base class of every layer: weights, lazy build, modes and config (see the module doc)."""

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, batch_size=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{', '.join(sorted(kwargs))}")
        self.name = name if name is not None else unique_name(to_snake_case(type(self).__name__))
        self.dtype = np.dtype(FLOATX if dtype is None else dtype).name
        if input_shape is not None and batch_input_shape is None:
            batch_input_shape = (batch_size, *normalize_shape(input_shape, "input_shape"))
        self.batch_input_shape = (None if batch_input_shape is None
                                  else normalize_shape(batch_input_shape, "batch_input_shape"))
        self.built = False
        self.build_input_shape = None
        self._trainable = bool(trainable)
        self._own_weights = []          # (name, Tensor, created_trainable), in creation order
        self._regularized = []          # (Tensor, regularizer)

    # ---- building and weights ----

    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch dimension included)."""

    def add_weight(self, name, shape, initializer="glorot_uniform", regularizer=None,
                   trainable=True, dtype=None):
        """Create, register and return a weight Tensor of ``shape`` filled by ``initializer``."""
        shape = normalize_shape(shape, f"shape of weight {name!r}")
        dtype = np.dtype(self.dtype if dtype is None else dtype)
        values = initializers_module.get(initializer)(shape, dtype=dtype)
        values = np.asarray(values, dtype=dtype)
        if values.shape != shape:
            raise ValueError(f"layer {self.name!r}: initializer for weight {name!r} returned shape "
                             f"{values.shape}, expected {shape}")
        weight = Tensor(values, requires_grad=bool(trainable) and self.trainable)
        self._own_weights.append((name, weight, bool(trainable)))
        regularizer = regularizers_module.get(regularizer)
        if regularizer is not None:
            self._regularized.append((weight, regularizer))
        return weight

    def _build_once(self, input_shape):
        if not self.built:
            input_shape = normalize_shape(input_shape, "input_shape")
            self.build(input_shape)
            self.built = True
            self.build_input_shape = input_shape

    def _layers(self):
        """Direct child layers: attributes holding a Layer, or lists/tuples/dicts of Layers."""
        children = []
        for value in vars(self).values():
            items = value.values() if isinstance(value, dict) else value
            if isinstance(value, Layer):
                items = (value,)
            elif not isinstance(value, (list, tuple, dict)):
                continue
            children.extend(item for item in items if isinstance(item, Layer) and item is not self)
        return children

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for _, weight, created_trainable in self._own_weights:
            weight.requires_grad = created_trainable and self._trainable
        for child in self._layers():
            child.trainable = value

    def _named(self, kind):
        """(path, Tensor) pairs of kind "trainable", "non_trainable" or "all", in Keras's order."""
        if kind == "all":
            return self._named("trainable") + self._named("non_trainable")
        own_trainable = [(f"{self.name}/{n}", w) for n, w, t in self._own_weights if t]
        own_fixed = [(f"{self.name}/{n}", w) for n, w, t in self._own_weights if not t]
        if kind == "trainable":
            if not self.trainable:
                return []
            pairs, child_kind = own_trainable, "trainable"
        elif self.trainable:
            pairs, child_kind = own_fixed, "non_trainable"
        else:  # a frozen layer: everything it and its children own is non-trainable
            pairs, child_kind = own_trainable + own_fixed, "all"
        pairs = pairs + [p for child in self._layers() for p in child._named(child_kind)]
        seen = set()
        return [p for p in pairs if id(p[1]) not in seen and not seen.add(id(p[1]))]

    def named_weights(self):
        """[(path, Tensor), ...] in ``weights`` order; path is "<layer name>/<weight name>"."""
        return self._named("all")

    def weight_paths(self):
        """The "<layer name>/<weight name>" paths of ``weights``, in order."""
        return [path for path, _ in self.named_weights()]

    @property
    def trainable_weights(self):
        return [w for _, w in self._named("trainable")]

    @property
    def non_trainable_weights(self):
        return [w for _, w in self._named("non_trainable")]

    @property
    def weights(self):
        return [w for _, w in self.named_weights()]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    @property
    def losses(self):
        """Regularization penalties (scalar Tensors) from the current weights, children included."""
        own = [regularizer(weight) for weight, regularizer in self._regularized]
        return own + [loss for child in self._layers() for loss in child.losses]

    def get_weights(self):
        """Copies of ``weights`` as NumPy arrays."""
        return [np.array(w.data, copy=True) for w in self.weights]

    def set_weights(self, weights):
        """Write NumPy arrays into ``weights`` (same order, count and shapes), in place."""
        named = self.named_weights()
        weights = list(weights)
        if len(weights) != len(named):
            raise ValueError(f"layer {self.name!r} expects {len(named)} weight arrays "
                             f"({', '.join(p for p, _ in named) or 'none'}), "
                             f"but set_weights received {len(weights)}")
        arrays = [np.asarray(value) for value in weights]
        for (path, weight), value in zip(named, arrays):
            if value.shape != weight.shape:
                raise ValueError(f"layer {self.name!r}: weight {path!r} has shape {weight.shape}, "
                                 f"but the provided array has shape {value.shape}")
        for (_, weight), value in zip(named, arrays):
            weight.data[...] = value.astype(weight.data.dtype, copy=False)

    def count_params(self):
        """Number of scalars in ``weights``; the layer must be built."""
        if not self.built:
            raise ValueError(f"layer {self.name!r} is not built yet, so its weights do not exist: "
                             f"call it on data, give input_shape=, or call build(input_shape)")
        return int(sum(math.prod(w.shape) for w in self.weights))

    # ---- calling ----

    def __call__(self, inputs, training=None, **kwargs):
        if isinstance(inputs, SymbolicTensor):
            return self._call_symbolic(inputs)
        inputs = self._convert_inputs(inputs)
        shape = inputs.data.shape
        if not self.built:
            self._build_once(shape)
        self.check_input_shape(shape)
        training = _training_stack[-1] if training is None else bool(training)
        if _accepts_training(type(self).call):
            kwargs["training"] = training
        # train_mode(training) spelled out: a generator context manager costs more than the rest
        # of this method
        _training_stack.append(training)
        try:
            return self.call(inputs, **kwargs)
        finally:
            _training_stack.pop()

    def call(self, inputs, training=False):
        """The forward computation on Tensors; subclasses override it."""
        return inputs

    def _convert_inputs(self, inputs):
        if isinstance(inputs, Tensor):
            return inputs
        if isinstance(inputs, (list, tuple)) and any(isinstance(x, SymbolicTensor) for x in inputs):
            raise TypeError(f"layer {self.name!r} takes one input; got a list of symbolic tensors")
        array = np.asarray(inputs)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"layer {self.name!r} cannot take input of dtype {array.dtype}")
        return Tensor(array.astype(self.dtype, copy=False))

    def _call_symbolic(self, inputs):
        self._build_once(inputs.shape)
        self.check_input_shape(inputs.shape)
        return SymbolicTensor(self.compute_output_shape(inputs.shape), self.dtype, self, (inputs,))

    def check_input_shape(self, input_shape):
        """Raise ValueError (``incompatible``) if this built layer cannot take ``input_shape``."""

    def incompatible(self, input_shape, expectation):
        """The ValueError a layer raises for an input shape it cannot take."""
        return ValueError(f"Input 0 of layer {self.name!r} ({type(self).__name__}) is incompatible "
                          f"with the layer: expected {expectation}, but received input with shape "
                          f"{normalize_shape(input_shape)}")

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (batch dimension included); identity by default."""
        return input_shape

    # ---- configuration ----

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.batch_input_shape is not None:
            config["batch_input_shape"] = self.batch_input_shape
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


class InputLayer(Layer):
    """The layer behind ``Input``: no weights; passes data through (cast to its dtype)."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, name=None,
                 batch_input_shape=None, **kwargs):
        if input_shape is None and batch_input_shape is None:
            raise ValueError("InputLayer needs input_shape= (without the batch dimension) or "
                             "batch_input_shape=")
        if name is None:
            name = unique_name("input", zero_based=False)
        super().__init__(name=name, dtype=dtype, input_shape=input_shape, batch_size=batch_size,
                         batch_input_shape=batch_input_shape, **kwargs)
        self.output = SymbolicTensor(self.batch_input_shape, self.dtype, self)

    def check_input_shape(self, input_shape):
        expected = self.batch_input_shape
        if len(input_shape) != len(expected) or any(
                e is not None and d is not None and e != d for e, d in zip(expected, input_shape)):
            raise self.incompatible(input_shape, f"shape {expected}")

    def get_config(self):
        return {"batch_input_shape": self.batch_input_shape, "dtype": self.dtype,
                "name": self.name}


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None):
    """A symbolic input for the functional API: ``Input(shape=(28, 28, 1))``.

    Returns a SymbolicTensor of shape ``(batch_size, *shape)`` whose ``layer`` is a new InputLayer.
    """
    if shape is None and batch_shape is None:
        raise ValueError("Input needs shape= (without the batch dimension) or batch_shape=")
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                       batch_input_shape=batch_shape)
    return layer.output
