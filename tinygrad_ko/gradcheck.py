"""Finite-difference gradient checks in float64: first order, and second order through create_graph.

The check projects the output on a random direction v and compares, for every input element,
the analytic d(v . f)/dx (one backward pass) with the central difference
(v . f(x + eps) - v . f(x - eps)) / 2 eps. Second order applies the same check to
x -> u . grad(v . f, x, create_graph=True), which exercises every backward's own backward.
"""
import numpy as np

from . import autograd
from . import tensor as _tensor


class GradcheckError(AssertionError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def _float64_inputs(inputs):
    Tensor = _tensor.Tensor
    out = []
    for x in inputs:
        array = x.data if isinstance(x, Tensor) else np.asarray(x)
        if array.dtype.kind == "f":
            out.append(Tensor(array.astype(np.float64), requires_grad=True))
        else:
            out.append(Tensor(array))
    return out


def _project(output, direction):
    return (output * direction).sum()


def _check_first_order(fn, inputs, eps, atol, rtol, rng, what):
    output = fn(*inputs)
    direction = rng.standard_normal(output.shape)
    differentiable = [x for x in inputs if x.requires_grad]
    projected = _project(output, direction)
    if projected.requires_grad:
        analytic = autograd.grad(projected, differentiable, allow_unused=True)
    else:  # fn does not depend on its inputs (e.g. the gradient of a linear op): zero gradients
        analytic = [None] * len(differentiable)
    for n, (x, g) in enumerate(zip(differentiable, analytic)):
        g = np.zeros(x.shape) if g is None else g.data
        numeric = np.zeros(x.shape)
        flat, numeric_flat = x.data.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            plus = _project(fn(*inputs), direction).item()
            flat[i] = saved - eps
            minus = _project(fn(*inputs), direction).item()
            flat[i] = saved
            numeric_flat[i] = (plus - minus) / (2 * eps)
        if not np.allclose(g, numeric, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(g - numeric)), x.shape) if x.ndim else ()
            raise GradcheckError(
                f"{what} gradient mismatch for input {n} (shape {x.shape}) at index {worst}: "
                f"analytic {g[worst]!r} vs numerical {numeric[worst]!r}\n"
                f"analytic:\n{g}\nnumerical:\n{numeric}")


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, order=1, seed=0):
    """Checks fn's gradients against central differences in float64; True, or GradcheckError.

    fn: Tensors -> Tensor. inputs: Tensors or arrays; float ones are copied to float64 and
    differentiated, integer ones are passed through unchanged. order=2 also checks second
    derivatives (the backward of every backward).

    >>> tg.gradcheck(lambda x: (x * x).tanh(), [np.random.randn(3)], order=2)
    True
    """
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order}")
    inputs = _float64_inputs(inputs)
    rng = np.random.default_rng(seed)
    _check_first_order(fn, inputs, eps, atol, rtol, rng, "first-order")
    if order == 2:
        probe_direction = rng.standard_normal(fn(*inputs).shape)
        differentiable = [x for x in inputs if x.requires_grad]
        weights = [rng.standard_normal(x.shape) for x in differentiable]

        def gradient_projection(*xs):
            diff = [x for x in xs if x.requires_grad]
            grads = autograd.grad(_project(fn(*xs), probe_direction), diff, create_graph=True,
                                  allow_unused=True)
            terms = [(g * w).sum() for g, w in zip(grads, weights)
                     if g is not None and g.requires_grad]
            total = terms[0] if terms else _tensor.Tensor(0.0, dtype=np.float64)
            for term in terms[1:]:
                total = total + term
            return total

        _check_first_order(gradient_projection, inputs, eps, atol, rtol, rng, "second-order")
    return True
