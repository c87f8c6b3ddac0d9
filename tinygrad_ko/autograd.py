"""Reverse-mode automatic differentiation: the Function base class, grad mode, and the graph walk.

A Function's forward runs on ndarrays; its backward is written with Tensor ops, so running backward
with grad mode on (create_graph=True) records a new graph and gradients of gradients come for free.

Graph ownership (why memory frees itself): an output Tensor holds its Function strongly (`_ctx`),
the Function holds its input Tensors strongly and its output only by weakref. No reference cycles,
so dropping the last Tensor of a step frees the whole graph by reference counting. After backward
every visited Function drops its inputs and saved arrays unless retain_graph is set.

Import cycle: tensor.py imports this module at the top; this module imports the tensor *module* at
its bottom (after Function exists) and reaches `tensor.Tensor` only inside functions, at call time.
"""
import functools
import weakref

import numpy as np

_grad_enabled = True
_FLOAT64 = np.dtype(np.float64)
_ndarray = np.ndarray
_new = object.__new__
_FREED = ("Trying to backward through the graph a second time: its saved values were freed by the "
          "previous backward. Pass retain_graph=True to the first backward (or grad) call.")


def is_grad_enabled():
    """True when new ops record the graph (the default); False inside `no_grad()`."""
    return _grad_enabled


class _GradMode:
    """Context manager and decorator (`@no_grad()` or `@no_grad`) that sets grad mode and restores
    the previous one on exit."""
    enabled = True

    def __new__(cls, fn=None):
        mode = super().__new__(cls)
        return mode if fn is None else mode(fn)

    def __enter__(self):
        global _grad_enabled
        self._previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Ops inside `with tg.no_grad():` (or a function decorated with it) record no graph."""
    enabled = False


class enable_grad(_GradMode):
    """Turns graph recording back on inside a `no_grad` block."""
    enabled = True


def _float64_fixup(out, inputs):
    """NumPy computes int (op) float32 and int / int in float64; we keep the default float unless
    an input already was float64."""
    for x in inputs:
        if x.data.dtype is _FLOAT64 or x.data.dtype == _FLOAT64:
            return out
    return out.astype(_tensor.default_float())


class Function:
    """One differentiable op. Subclasses write `forward(*arrays, **params) -> ndarray` and
    `backward(grad: Tensor) -> Tensor | None | tuple` (one entry per input, Tensor ops only).

    `apply` sets, before forward runs: `self.inputs` (the input Tensors), `self.needs_input_grad`
    (one bool per input; backward returns None where it is False) and, after it, `self.output`
    (the output Tensor, held by weakref).
    """

    exact_dtype = False  # True keeps forward's dtype (Cast); see _float64_fixup otherwise

    @classmethod
    def apply(cls, *inputs, **params):
        """Runs forward on the inputs' arrays and, when grad mode is on and some input requires
        grad, records this op in the graph. Non-Tensor inputs become constants (tensor.lift_all).
        It does not call __init__: a Function keeps its state in attributes set by forward."""
        Tensor = _tensor.Tensor
        for x in inputs:
            if x.__class__ is not Tensor and not isinstance(x, Tensor):
                inputs = _tensor.lift_all(inputs, cls.__name__)
                break
        ctx = _new(cls)
        ctx.inputs = inputs
        if _grad_enabled:
            needs = tuple([x.requires_grad for x in inputs])
        else:
            needs = (False,) * len(inputs)
        ctx.needs_input_grad = needs
        try:
            out = ctx.forward(*[x.data for x in inputs], **params)
        except ValueError as exc:
            shapes = " and ".join(str(x.data.shape) for x in inputs)
            raise ValueError(f"{cls.__name__} on shapes {shapes}: {exc}") from None
        if out.__class__ is not _ndarray:
            out = np.asarray(out)
        if out.dtype is _FLOAT64 and not cls.exact_dtype:
            out = _float64_fixup(out, inputs)
        result = _new(Tensor)
        result.data, result.grad, result._retains_grad = out, None, False
        if True in needs:
            result.requires_grad, result._ctx = True, ctx
            ctx._output = weakref.ref(result)
        else:
            result.requires_grad, result._ctx = False, None
        return result

    @property
    def output(self):
        return self._output()

    def forward(self, *arrays, **params):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__}.backward")


# ***** the graph walk *****

def _topological_order(roots):
    """Non-leaf tensors reachable from roots, each after all it depends on (iterative DFS)."""
    order, visited = [], set()
    for root in roots:
        if root._ctx is None or id(root) in visited:
            continue
        visited.add(id(root))
        stack = [(root, iter(_inputs_of(root)))]
        while stack:
            node, pending = stack[-1]
            for x in pending:
                if x._ctx is not None and id(x) not in visited:
                    visited.add(id(x))
                    stack.append((x, iter(_inputs_of(x))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _inputs_of(node):
    inputs = node._ctx.inputs
    if inputs is None:
        raise RuntimeError(_FREED)
    return inputs


def sum_to(grad, shape):
    """Sums a broadcast gradient back to `shape` (the one place broadcasting is undone): with
    Tensor ops under create_graph, directly on the array otherwise."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    if not _grad_enabled:
        # The leading axes go without keepdims and the broadcast ones with it, which leaves
        # exactly `shape`: no reshape, so the sum stays an array of its own, which a leaf may
        # adopt as its .grad (_run_backward).
        summed = grad.data.sum(axis=tuple(range(lead))) if lead else grad.data
        if kept:
            summed = summed.sum(axis=kept, keepdims=True)
        return _tensor.Tensor._make(summed, False, None)
    axes = tuple(range(lead)) + tuple(lead + i for i in kept)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape) if grad.shape != shape else grad


def _add(a, b):
    """a + b for gradients: an op under create_graph, a bare array add otherwise."""
    if _grad_enabled:
        return a + b
    return _tensor.Tensor._make(a.data + b.data, False, None)


def _accumulate(t, g, create_graph, owned=False):
    """t.grad += g. A first gradient is copied unless it carries a graph or is `owned` (an array
    nothing else refers to): backward passes often hand the same array to several inputs, and
    `.grad` may be updated in place."""
    if t.grad is not None:
        t.grad = _add(t.grad, g)
    elif create_graph or owned:
        t.grad = g
    else:
        t.grad = _tensor.Tensor._make(g.data.copy(), False, None)


def _free(ctx):
    ctx.__dict__.clear()
    ctx.inputs = None


def _hand(handed, array):
    """Records that array was handed on (only ndarrays are ever adopted: see _run_backward)."""
    if array.__class__ is _ndarray:
        handed[id(array)] = weakref.ref(array)


def _run_backward(roots, root_grads, retain_graph, create_graph, targets=None):
    """Propagates root_grads from roots through the graph.

    targets=None: accumulate into `.grad` of leaves requiring grad and of non-leaves that
    retain_grad(); otherwise return {id(t): grad} for the tensors in targets, touching no `.grad`.
    """
    grads = {}
    for root, g in zip(roots, root_grads):
        grads[id(root)] = grads[id(root)] + g if id(root) in grads else g
    # The arrays handed on so far (root gradients, gradients waiting in `grads`, adopted ones), by
    # id, as weak references: a leaf may adopt a gradient array, instead of copying it, only if it
    # owns its memory (not a view), was never handed on before, and no retained graph can hand it
    # out again. The weak reference tells a handed array from a new one that reuses the id of a
    # freed one (common: NumPy recycles array objects), without keeping freed gradients alive.
    handed = {}
    for g in root_grads:
        _hand(handed, g.data)
    if targets is None:  # leaves that are themselves roots
        for root in roots:
            if root._ctx is None and id(root) in grads:
                _accumulate(root, grads.pop(id(root)), create_graph)
    order = _topological_order(roots)
    wanted = None if targets is None else {id(t) for t in targets}
    found = {}
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, create_graph
    try:
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if wanted is None:
                if node._retains_grad:
                    _accumulate(node, g, create_graph)
            elif id(node) in wanted:
                found[id(node)] = g
            ctx = node._ctx
            input_grads = ctx.backward(g)
            if input_grads.__class__ is not tuple:
                input_grads = (input_grads,)
            for x, gx, need in zip(ctx.inputs, input_grads, ctx.needs_input_grad):
                if gx is None or not need:
                    continue
                data, grad_data = x.data, gx.data
                if grad_data.shape != data.shape:
                    gx = sum_to(gx, data.shape)
                if gx.data.dtype is not data.dtype and gx.data.dtype != data.dtype:
                    gx = gx.astype(data.dtype)
                if x._ctx is None and wanted is None:
                    array = gx.data
                    before = handed.get(id(array))
                    owned = not retain_graph and array.__class__ is _ndarray and \
                        array.base is None and (before is None or before() is not array)
                    _hand(handed, array)
                    _accumulate(x, gx, create_graph, owned)
                    continue
                key = id(x)
                grads[key] = gx = _add(grads[key], gx) if key in grads else gx
                _hand(handed, gx.data)
            if not retain_graph:
                _free(ctx)
    finally:
        _grad_enabled = previous
    if wanted is not None:
        for key, g in grads.items():  # leaves among the targets
            if key in wanted:
                found[key] = g
    return found


def _as_grad_output(output, gradient, what):
    Tensor = _tensor.Tensor
    if gradient is None:
        if output.data.size != 1:
            raise RuntimeError(f"{what}: output has shape {output.shape}; gradients can be implied "
                               f"only for one-element outputs. Pass the gradient of the output "
                               f"explicitly (e.g. backward(gradient=tg.ones_like(out))).")
        return Tensor._make(np.ones_like(output.data), False, None)
    gradient = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=output.dtype)
    if gradient.shape != output.shape:
        raise ValueError(f"{what}: gradient shape {gradient.shape} does not match output shape "
                         f"{output.shape}")
    return gradient


def backward(tensor, gradient=None, retain_graph=None, create_graph=False):
    """Accumulates d(tensor)/d(leaf) into `.grad` of every leaf that requires grad."""
    if not tensor.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no graph "
                           "(was it computed under no_grad, or from inputs without requires_grad?)")
    gradient = _as_grad_output(tensor, gradient, "backward")
    keep = create_graph if retain_graph is None else retain_graph
    _run_backward([tensor], [gradient], keep, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple; `.grad` is untouched.

    With create_graph=True the returned gradients carry a graph of their own, so they can be
    differentiated again (second derivatives, Hessian-vector products, gradient penalties).
    retain_graph defaults to create_graph.

    >>> (g,) = tg.grad((x ** 3).sum(), [x], create_graph=True)
    >>> (h,) = tg.grad(g.sum(), [x])          # 6 * x
    """
    Tensor = _tensor.Tensor
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for t in outputs + inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: outputs and inputs must be Tensors, got {type(t).__name__}")
    for n, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {n} (shape {t.shape}) does not require grad")
    for n, t in enumerate(outputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: output {n} (shape {t.shape}) does not require grad")
    seeds = [_as_grad_output(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    keep = create_graph if retain_graph is None else retain_graph
    found = _run_backward(outputs, seeds, keep, create_graph, targets=inputs)
    result = []
    for n, t in enumerate(inputs):
        g = found.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {n} (shape {t.shape}) was not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)


# ***** visualisation *****

def to_dot(tensor):
    """Graphviz DOT text of the graph that produced `tensor`: tensors as boxes (shape, dtype),
    ops as ellipses (Function names). Render with `dot -Tpng`."""
    lines = ["digraph tinygrad_ko {", '  rankdir="LR";', '  node [fontname="monospace"];']
    seen, stack = set(), [tensor]

    def label(t):
        kind = "leaf" if t._ctx is None else "tensor"
        grad = ", requires_grad" if t.requires_grad and t._ctx is None else ""
        return f"{kind} {t.data.shape} {t.data.dtype}{grad}"

    lines.append(f'  t{id(tensor)} [shape=box, label="{label(tensor)}", style=bold];')
    while stack:
        t = stack.pop()
        if id(t) in seen or t._ctx is None:
            continue
        seen.add(id(t))
        ctx = t._ctx
        lines.append(f'  f{id(ctx)} [shape=ellipse, label="{type(ctx).__name__}"];')
        lines.append(f"  f{id(ctx)} -> t{id(t)};")
        if ctx.inputs is None:
            lines.append(f'  x{id(ctx)} [shape=plaintext, label="(freed by backward)"];')
            lines.append(f"  x{id(ctx)} -> f{id(ctx)};")
            continue
        for x in ctx.inputs:
            if id(x) not in seen:
                lines.append(f'  t{id(x)} [shape=box, label="{label(x)}"];')
            lines.append(f"  t{id(x)} -> f{id(ctx)};")
            stack.append(x)
    lines.append("}")
    return "\n".join(dict.fromkeys(lines)) + "\n"


from . import tensor as _tensor  # noqa: E402  (late: tensor.py imports this module)
