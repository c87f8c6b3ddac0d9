"""Optimizers with Keras 3's names, defaults and update rules, and learning-rate schedules.

Each step runs ONE fused C pass per parameter tensor (csrc/optim.c): gradient clipping by value,
Keras' decoupled weight decay and the optimizer's update all happen in that pass, writing the
parameter's `.data` and the optimizer state in place (the parameter Tensor stays the same object).

Two ways to drive an optimizer:

- Keras style: construct without parameters; the first `apply_gradients(zip(grads, vars))` (or
  `minimize(loss_fn, var_list)`, or `build(var_list)`) binds it to those variables.

  >>> opt = SGD(learning_rate=0.1)
  >>> opt.apply_gradients(zip(grads, model.trainable_weights))

- PyTorch style: pass the parameters as `params=` (keyword only, so that positional arguments
  keep Keras' meaning), then `step()` uses each parameter's `.grad` and `zero_grad()` clears them.

  >>> opt = Adam(params=model.parameters(), learning_rate=1e-3)
  >>> loss.backward(); opt.step(); opt.zero_grad()

Every optimizer also takes `weight_decay`, `clipnorm` (each variable's gradient clipped to this L2
norm), `clipvalue` (each element clipped to [-v, v]) and `global_clipnorm` (all gradients scaled so
their joint norm is at most this); at most one of the three clipping arguments may be set.
`learning_rate` is a float, a schedule (called with the iteration count) or a zero-argument
callable.
"""
import math
import warnings

import numpy as np

from ._backend import kernels
from ._lookup import unknown_name_error
from .autograd import enable_grad, grad as _autograd_grad
from .tensor import Tensor

# ---- learning-rate schedules ----


class LearningRateSchedule:
    """Base class: `schedule(step) -> float`, where step is the optimizer's iteration count."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`; with `staircase`,
    `step // decay_steps`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. "
                             f"Received: decay_steps={decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase, self.name = decay_rate, staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        exponent = math.floor(p) if self.staircase else p
        return self.initial_learning_rate * self.decay_rate ** exponent

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while step <= boundaries[0], `values[1]` while step <= boundaries[1], ...,
    `values[-1]` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"The length of boundaries should be 1 less than the length of "
                             f"values. "
                             f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                             f"values={values} of length {len(values)}.")
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must be strictly increasing, got {boundaries}")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from `initial_learning_rate` to `initial_learning_rate * alpha` over
    `decay_steps`; with `warmup_target`, first a linear warmup from `initial_learning_rate` to
    `warmup_target` over `warmup_steps`, then the decay from `warmup_target` (Keras 3)."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. "
                             f"Received: decay_steps={decay_steps}")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.alpha = alpha
        self.name, self.warmup_target, self.warmup_steps = name, warmup_target, warmup_steps

    def _decay(self, step, start):
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(step, self.decay_steps) / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decay(step, self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * step / self.warmup_steps + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay)}

# ---- the optimizer base ----


def _variable_data(variable):
    data = None if isinstance(variable, np.ndarray) else getattr(variable, "data", None)
    if not isinstance(data, np.ndarray):
        raise TypeError(f"variables must be Tensors (objects with an ndarray `.data` that the "
                        f"update writes in place), got {type(variable).__name__}")
    return data


class Optimizer:
    """Base class. Subclasses declare `SLOTS` (state arrays per variable, Keras' names) and
    implement `_update(variable_data, grad, slots, lr, grad_scale, clipvalue, decay)` with one
    fused kernel call per variable, or `_update_all` with one call for all of them (Adam)."""

    SLOTS = ()

    def __init__(self, learning_rate, params=None, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, name=None):
        clip_args = {"clipnorm": clipnorm, "clipvalue": clipvalue,
                     "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clip_args.values()) > 1:
            raise ValueError(f"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        for key, value in clip_args.items():
            if value is not None and not value > 0:
                raise ValueError(f"`{key}` must be > 0, got {value}")
        if weight_decay is not None and weight_decay < 0:
            raise ValueError(f"`weight_decay` must be >= 0, got {weight_decay}")
        self.name = name or type(self).__name__.lower()
        self.weight_decay, self.clipnorm = weight_decay, clipnorm
        self.clipvalue, self.global_clipnorm = clipvalue, global_clipnorm
        self.learning_rate = learning_rate
        self.iterations = 0
        self.built = False
        self._variables, self._index, self._slots = [], {}, []
        self._exclude_ids, self._exclude_names = set(), ()
        if params is not None:
            self.build(list(params))

    # learning rate: a float, a schedule evaluated at `iterations`, or a zero-argument callable
    @property
    def learning_rate(self):
        """The learning rate for the next step (a schedule is evaluated at `iterations`)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self.iterations))
        return float(lr()) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(getattr(self, "_learning_rate", None), LearningRateSchedule) and \
                not (isinstance(value, LearningRateSchedule) or callable(value)):
            raise TypeError("This optimizer was created with a LearningRateSchedule as its "
                            "learning_rate, hence its learning rate is not settable.")
        if isinstance(value, bool) or not (isinstance(value, (int, float, np.floating))
                                           or callable(value)):
            hint = (" To bind parameters PyTorch-style, pass them as params=..."
                    if hasattr(value, "__iter__") else "")
            raise ValueError(f"Argument `learning_rate` should be a float, a LearningRateSchedule "
                             f"or a callable. Received instead: learning_rate={value!r}.{hint}")
        self._learning_rate = float(value) if not callable(value) else value

    # binding to variables
    def build(self, var_list):
        """Creates the state slots (zeros, one set per variable). Called by the first apply."""
        if self.built:
            return
        for v in var_list:
            data = _variable_data(v)
            if data.dtype not in (np.float32, np.float64):
                raise TypeError(f"{self.name}: variables must be float32 or float64, "
                                f"got {data.dtype}")
        self._variables = list(var_list)
        self._index = {id(v): i for i, v in enumerate(self._variables)}
        self._slots = [self._make_slots(v.data) for v in self._variables]
        self.built = True

    def _make_slots(self, data):
        return {name: np.zeros(data.shape, data.dtype) for name in self.SLOTS}

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempts variables (by identity, or by a substring of their `.name`) from weight decay."""
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_names = tuple(var_names or ())

    def _decays(self, variable):
        if self.weight_decay is None or id(variable) in self._exclude_ids:
            return False
        name = getattr(variable, "name", None) or ""
        return not any(key in name for key in self._exclude_names)

    # applying gradients
    def apply_gradients(self, grads_and_vars):
        """Keras: one update step for `zip(grads, vars)`. Returns the new iteration count as a 0-d
        int64 Tensor (Keras returns its `iterations` variable: `.numpy()` and `int()` work).
        Variables whose gradient is None are skipped (with a warning, as Keras does)."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return Tensor(np.array(self.iterations, np.int64))

    def apply(self, grads, trainable_variables=None):
        """Keras: `grads` 1:1 with `trainable_variables` (or with the built variables)."""
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must "
                                 "already be built on a list of variables.")
            trainable_variables = self._variables
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{len(grads)} gradients for {len(trainable_variables)} variables")
        self.build(trainable_variables)
        unknown = [v for v in trainable_variables if id(v) not in self._index]
        if unknown:
            raise ValueError(f"Unknown variable of shape {unknown[0].data.shape}: this optimizer "
                             f"was built for other variables. Create a new optimizer instance "
                             f"for a new set of variables.")
        pairs = [(g, v) for g, v in zip(grads, trainable_variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if len(pairs) < len(grads):
            missing = [getattr(v, "name", None) or str(v.data.shape)
                       for g, v in zip(grads, trainable_variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          f"the loss.")
        arrays = [self._grad_array(g, v) for g, v in pairs]
        scales = self._grad_scales(arrays)
        lr = self.learning_rate
        datas, slots, decays = [], [], []
        for _, v in pairs:
            data = v.data
            if not (data.flags.c_contiguous and data.flags.writeable):
                v.data = data = np.array(data, order="C")  # own, writable, contiguous
            datas.append(data)
            slots.append(self._slots[self._index[id(v)]])
            decays.append(lr * self.weight_decay if self._decays(v) else 0.0)
        self._update_all(datas, arrays, slots, lr, scales, self.clipvalue, decays)
        self.iterations += 1

    @staticmethod
    def _grad_array(g, variable):
        garr = g.data if isinstance(g, Tensor) else g
        data = variable.data
        if garr.shape != data.shape:
            raise ValueError(f"gradient of shape {garr.shape} for a variable of shape {data.shape}")
        garr = np.asarray(garr, dtype=data.dtype)
        return garr if garr.flags.c_contiguous else garr.copy(order="C")

    def _grad_scales(self, arrays):
        """Per-gradient multipliers implementing clipnorm / global_clipnorm (Keras' formulas)."""
        if self.clipnorm is not None:
            norms = [math.sqrt(kernels.sum_squares(g)) for g in arrays]
            return [self.clipnorm / max(norm, self.clipnorm) for norm in norms]
        if self.global_clipnorm is not None:
            norm = math.sqrt(sum(kernels.sum_squares(g) for g in arrays))
            # inf/NaN norms make the scale NaN, as in Keras: a bad step shows instead of hiding
            scale = self.global_clipnorm / max(norm, self.global_clipnorm) if math.isfinite(norm) \
                else math.nan
            return [scale] * len(arrays)
        return [1.0] * len(arrays)

    def _update(self, data, grad, slots, lr, grad_scale, clipvalue, decay):
        raise NotImplementedError

    def _update_all(self, datas, grads, slots, lr, grad_scales, clipvalue, decays):
        """One step on every variable (lists, one entry per variable): `_update` on each, unless
        the optimizer's kernel takes them all in one call."""
        for data, grad, slot, scale, decay in zip(datas, grads, slots, grad_scales, decays):
            self._update(data, grad, slot, lr, scale, clipvalue, decay)

    def minimize(self, loss, var_list):
        """Keras: computes d(loss())/d(var_list) and applies one step; `loss` is a zero-argument
        callable returning a scalar Tensor. Returns the new iteration count like apply_gradients
        (seed 004: `step_count = opt.minimize(loss, [var1]).numpy()`)."""
        var_list = list(var_list)
        with enable_grad():
            value = loss() if callable(loss) else loss
        grads = _autograd_grad(value, var_list, allow_unused=True)
        return self.apply_gradients(zip(grads, var_list))

    # PyTorch style
    def step(self):
        """PyTorch style: one update from each bound parameter's `.grad` (None grads skipped)."""
        if not self.built:
            raise ValueError("step() needs parameters: construct the optimizer with params=[...] "
                             "(PyTorch style) or call build(var_list) first")
        pairs = [(p.grad, p) for p in self._variables if p.grad is not None]
        if pairs:
            self.apply([g for g, _ in pairs], [p for _, p in pairs])

    def zero_grad(self):
        """PyTorch style: sets every bound parameter's `.grad` to None."""
        for p in self._variables:
            p.grad = None

    # configuration and state
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = {"class_name": type(lr).__name__, "config": lr.get_config()}
        elif callable(lr):
            lr = float(lr())
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, **self._hyper_config()}

    def _hyper_config(self):
        return {}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            classes = {**SCHEDULES, **(custom_objects or {})}
            config["learning_rate"] = classes[lr["class_name"]].from_config(lr["config"])
        return cls(**config)

    @property
    def variables(self):
        """The optimizer's state as arrays: [iterations, then each variable's slots in order]."""
        return self.get_state()

    def get_state(self):
        """[iterations (0-d int64), then for each variable its slots in SLOTS order] — copies."""
        state = [np.array(self.iterations, np.int64)]
        for slots in self._slots:
            state.extend(slots[name].copy() for name in self.SLOTS if name in slots)
        return state

    def set_state(self, state):
        """Restores what get_state() returned (after build() on the same variables)."""
        state = list(state)
        if not self.built:
            raise ValueError("set_state() on an optimizer that is not built: call "
                             "build(trainable_variables) first")
        expected = 1 + sum(len([n for n in self.SLOTS if n in s]) for s in self._slots)
        if len(state) != expected:
            raise ValueError(f"{self.name}: state has {len(state)} arrays, expected {expected}")
        arrays = iter(state[1:])
        for slots in self._slots:
            for name in [n for n in self.SLOTS if n in slots]:
                value = np.asarray(next(arrays))
                if value.shape != slots[name].shape:
                    raise ValueError(f"{self.name}: slot {name!r} has shape {slots[name].shape}, "
                                     f"got {value.shape}")
                slots[name][...] = value
        self.iterations = int(state[0])

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r})"


# ---- the optimizers ----


class SGD(Optimizer):
    """Gradient descent with optional momentum (Keras 3 rule):

        velocity = momentum * velocity - learning_rate * g
        w = w + velocity                  (nesterov: w = w + momentum * velocity - lr * g)
        w = w - learning_rate * g                          (momentum == 0)

    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    """
    SLOTS = ("momentum",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, *, params=None,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name="SGD"):
        if not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        super().__init__(learning_rate, params, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name)

    def _make_slots(self, data):
        return {"momentum": np.zeros(data.shape, data.dtype)} if self.momentum else {}

    def _update(self, data, grad, slots, lr, grad_scale, clipvalue, decay):
        kernels.sgd_update(data, slots.get("momentum"), grad, learning_rate=lr,
                           momentum=self.momentum, nesterov=self.nesterov, grad_scale=grad_scale,
                           clipvalue=clipvalue, decay=decay)

    def _hyper_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Keras 3 rule; t = iterations + 1, epsilon is Kingma & Ba's "epsilon hat"):

        m = m + (g - m) * (1 - beta_1);   v = v + (g^2 - v) * (1 - beta_2)
        v_hat = max(v_hat, v)  (amsgrad: used in place of v below)
        alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w = w - alpha * m / (sqrt(v) + epsilon)

    PyTorch adds epsilon after dividing sqrt(v) by sqrt(1 - beta_2^t); the rules agree when epsilon
    is negligible.
    """
    SLOTS = ("momentum", "velocity", "velocity_hat")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 *, params=None, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adam"):
        for key, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0 <= beta < 1:
                raise ValueError(f"`{key}` must be in [0, 1), got {beta}")
        if epsilon < 0:
            raise ValueError(f"`epsilon` must be >= 0, got {epsilon}")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)
        super().__init__(learning_rate, params, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name)

    def _make_slots(self, data):
        names = self.SLOTS if self.amsgrad else self.SLOTS[:2]
        return {name: np.zeros(data.shape, data.dtype) for name in names}

    def _update_all(self, datas, grads, slots, lr, grad_scales, clipvalue, decays):
        """Every variable of a dtype in one kernel call (kernels.adam_update_many): one OpenMP
        region shares all of them between the threads, and the per-call cost is paid once."""
        t = self.iterations + 1
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        by_dtype = {}
        for entry in zip(datas, grads, slots, grad_scales, decays):
            by_dtype.setdefault(entry[0].dtype, []).append(entry)
        for group in by_dtype.values():
            data, grad, slot, scale, decay = (list(column) for column in zip(*group))
            kernels.adam_update_many(
                data, [s["momentum"] for s in slot], [s["velocity"] for s in slot],
                [s["velocity_hat"] for s in slot] if self.amsgrad else None, grad, alpha=alpha,
                beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, grad_scales=scale,
                clipvalue=clipvalue, decays=decay)

    def _hyper_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), Keras' default weight_decay=0.004:
    each step first does w = w - w * weight_decay * learning_rate, then the Adam update."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, *, params=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="adamw"):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, params=params,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name)


class RMSprop(Optimizer):
    """RMSprop (Keras 3 rule; epsilon sits INSIDE the square root, unlike PyTorch's):

        velocity = rho * velocity + (1 - rho) * g^2
        average_gradient = rho * average_gradient + (1 - rho) * g            (centered only)
        increment = learning_rate * g / sqrt(velocity [- average_gradient^2] + epsilon)
        momentum_slot = momentum * momentum_slot + increment; w = w - momentum_slot   (momentum > 0)
        w = w - increment                                                             (otherwise)

    >>> opt = RMSprop(learning_rate=0.1)          # seed 004: var1 = 10, loss = var1 ** 2 / 2
    >>> opt.minimize(lambda: var1 ** 2 / 2, [var1]); var1.numpy()   # 9.683772
    """
    SLOTS = ("velocity", "momentum", "average_gradient")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 *, params=None, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name="rmsprop"):
        if not 0 <= rho < 1:
            raise ValueError(f"`rho` must be in [0, 1), got {rho}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be in [0, 1], got {momentum}")
        if epsilon < 0:
            raise ValueError(f"`epsilon` must be >= 0, got {epsilon}")
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)
        super().__init__(learning_rate, params, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name)

    def _make_slots(self, data):
        names = ["velocity"] + (["momentum"] if self.momentum else []) + \
            (["average_gradient"] if self.centered else [])
        return {name: np.zeros(data.shape, data.dtype) for name in names}

    def _update(self, data, grad, slots, lr, grad_scale, clipvalue, decay):
        kernels.rmsprop_update(data, slots["velocity"], slots.get("momentum"),
                               slots.get("average_gradient"), grad, learning_rate=lr, rho=self.rho,
                               momentum=self.momentum, epsilon=self.epsilon, grad_scale=grad_scale,
                               clipvalue=clipvalue, decay=decay)

    def _hyper_config(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


# ---- lookup by name ----

OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get(identifier):
    """An optimizer from a name ("sgd", "adam", "adamw", "rmsprop"; any case, default arguments),
    a config dict {"class_name": ..., "config": {...}}, or an Optimizer (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cls = OPTIMIZERS.get(str(identifier.get("class_name", "")).lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer config: {identifier!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = OPTIMIZERS.get(identifier.lower())
        if cls is None:
            raise unknown_name_error("optimizer", identifier, OPTIMIZERS)
        return cls()
    raise TypeError(f"Could not interpret optimizer identifier: {identifier!r}")
