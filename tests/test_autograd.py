"""The engine: graph walk, accumulation, grad modes, freed graphs, create_graph, tg.grad, memory."""
import gc
import os
import weakref

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko.autograd import Function


def test_user_example():
    x = tg.Tensor(np.random.randn(4, 3), requires_grad=True)
    w = tg.Tensor(np.random.randn(3, 2), requires_grad=True)
    loss = (x @ w).relu().sum()
    loss.backward()
    mask = (x.data @ w.data > 0).astype(float)
    np.testing.assert_allclose(x.grad.numpy(), mask @ w.data.T)
    np.testing.assert_allclose(w.grad.numpy(), x.data.T @ mask)
    with tg.no_grad():
        y = x @ w
    assert not y.requires_grad and y.grad_fn is None
    (g,) = tg.grad((x ** 3).sum(), [x], create_graph=True)
    (h,) = tg.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 6 * x.data)


def test_shared_subexpression_accumulates():
    x = tg.Tensor([2.0, -1.0], requires_grad=True)
    y = x * x
    z = y + y * 3 + x  # y used twice, x used three times
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * x.data + 1)


def test_backward_accumulates_across_calls_until_zero_grad():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_leaf_grads_never_alias_each_other():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    b = tg.Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())


def test_only_leaves_get_grad_unless_retained():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 2
    kept = x * 3
    kept.retain_grad()
    (hidden * kept).sum().backward()
    assert hidden.grad is None
    np.testing.assert_allclose(kept.grad.numpy(), hidden.data)
    assert not hidden.is_leaf and x.is_leaf


def test_deep_chain_has_no_recursion_limit():
    x = tg.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert abs(x.grad.item() - 1.0001 ** 5000) < 1e-3


def test_non_scalar_backward_needs_gradient():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only for one-element outputs"):
        y.backward()
    y.backward(gradient=tg.Tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])
    with pytest.raises(ValueError, match="does not match output shape"):
        (x * 2).backward(gradient=np.ones(3))


def test_second_backward_through_freed_graph_raises():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_repeated_backward():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_leaf_gradients_never_share_memory():
    # Add hands one array to both inputs, and a root gradient belongs to the caller: leaves copy
    # those; arrays nothing else refers to (here Mul's products) are adopted without a copy.
    a, b = (tg.Tensor(np.ones((2, 3)), requires_grad=True) for _ in range(2))
    ((a + b) * 2.0).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data[...] = 7.0
    np.testing.assert_array_equal(b.grad.numpy(), np.full((2, 3), 2.0))
    seed = np.ones((2, 3))
    c = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    (c + 0.0).backward(gradient=seed)
    assert not np.shares_memory(c.grad.data, seed)
    d = tg.Tensor(np.ones(3), requires_grad=True)
    e = tg.Tensor(np.ones((4, 3)), requires_grad=True)
    (d * e).backward(gradient=np.ones((4, 3)), retain_graph=True)
    np.testing.assert_array_equal(d.grad.numpy(), [4.0, 4.0, 4.0])  # summed to d's shape


def test_backward_on_tensor_without_graph_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.Tensor([1.0]).sum().backward()


def test_no_grad_and_enable_grad():
    x = tg.Tensor([1.0], requires_grad=True)
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        assert not (x * 2).requires_grad
        with tg.enable_grad():
            assert (x * 2).requires_grad
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def predict(t):
        return t * 2

    assert not predict(x).requires_grad and tg.is_grad_enabled()

    @tg.no_grad
    def predict_bare(t):
        """Doc."""
        return t * 2

    assert not predict_bare(x).requires_grad and predict_bare.__doc__ == "Doc."


def test_detach_and_requires_grad_():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), d.data)
    w = tg.zeros(3)
    assert w.requires_grad_() is w and w.requires_grad
    with pytest.raises(RuntimeError, match="detach"):
        (x * 2).requires_grad_(False)


def test_grad_function_leaves_dot_grad_alone():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = tg.Tensor([3.0], requires_grad=True)
    gx, gy = tg.grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(gx.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(gy.numpy(), [3.0])
    assert x.grad is None and y.grad is None


def test_grad_with_respect_to_intermediate_and_grad_outputs():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    out = h * h
    (gh,) = tg.grad(out, [h], grad_outputs=[tg.Tensor([1.0, 0.5])])
    np.testing.assert_allclose(gh.numpy(), [6.0, 6.0])


def test_grad_allow_unused():
    x = tg.Tensor([1.0], requires_grad=True)
    unused = tg.Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad((x * 2).sum(), [x, unused], retain_graph=True)
    gx, gu = tg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.tolist() == [2.0]


def test_hessian_vector_product_and_gradient_penalty():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    a = a + a.T
    x = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    v = rng.standard_normal(3)
    f = 0.5 * (x @ tg.Tensor(a) @ x) + (x ** 4).sum()
    (g,) = tg.grad(f, [x], create_graph=True)
    (hv,) = tg.grad((g * v).sum(), [x])
    np.testing.assert_allclose(hv.numpy(), a @ v + 12 * x.data ** 2 * v)
    w = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    (gw,) = tg.grad((w.tanh() * x).sum(), [w], create_graph=True)
    penalty = (gw * gw).sum()
    penalty.backward()
    assert w.grad.shape == (3,) and x.grad.shape == (3,)


def test_backward_create_graph_gives_differentiable_grad():
    x = tg.Tensor([0.5, -1.0], requires_grad=True)
    x.tanh().sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    x.grad = None
    first.sum().backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.numpy(), -2 * t * (1 - t * t))


def test_custom_function_contract():
    class Cube(Function):
        def forward(self, x):
            return x ** 3

        def backward(self, grad):
            assert self.output is not None and self.needs_input_grad == (True,)
            (x,) = self.inputs
            return grad * 3 * x * x

    x = tg.Tensor([2.0], requires_grad=True)
    (g,) = tg.grad(Cube.apply(x).sum(), [x], create_graph=True)
    (h,) = tg.grad(g.sum(), [x])
    assert g.tolist() == [12.0] and h.tolist() == [12.0]


def test_engine_sums_broadcast_gradients():
    class BroadcastAdd(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, grad):
            return grad, grad  # broadcast shape; the engine reduces

    a, b = tg.zeros(2, 3, requires_grad=True), tg.zeros(3, requires_grad=True)
    BroadcastAdd.apply(a, b).sum().backward()
    assert b.grad.tolist() == [2.0, 2.0, 2.0]


def test_to_dot_names_ops_shapes_and_dtypes():
    x = tg.Tensor(np.ones((2, 3)), requires_grad=True)
    dot = ((x @ tg.Tensor(np.ones((3, 4)))).relu().sum()).to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for text in ("Matmul", "Relu", "Sum", "(2, 3) float64", "(3, 4) float64", "requires_grad"):
        assert text in dot


# ---- memory ----

def test_activations_die_without_garbage_collector():
    gc.disable()
    try:
        w = tg.Tensor(np.random.randn(4, 4), requires_grad=True)
        x = tg.Tensor(np.random.randn(3, 4))
        hidden = (x @ w).tanh()
        loss = (hidden * hidden).sum()
        alive = weakref.ref(hidden)
        del hidden
        assert alive() is not None  # the graph holds it until backward
        loss.backward()
        del loss
        assert alive() is None
        hidden = (x @ w).sigmoid()
        alive = weakref.ref(hidden)
        (hidden.sum() * 2)  # graph built, never differentiated, then dropped
        del hidden
        assert alive() is None
    finally:
        gc.enable()


def test_no_reference_cycles_in_a_training_step():
    w = tg.Tensor(np.random.randn(5, 3), requires_grad=True)
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            x = tg.Tensor(np.random.randn(4, 5))
            loss = ((x @ w).relu() - 1).max(axis=1).mean()
            loss.backward()
            w.grad = None
        del x, loss
        assert gc.collect() == 0
    finally:
        gc.enable()


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_rss_stays_flat_over_many_small_steps():
    rng = np.random.default_rng(0)
    w1 = tg.Tensor(rng.standard_normal((8, 16)) * 0.1, requires_grad=True)
    w2 = tg.Tensor(rng.standard_normal((16, 4)) * 0.1, requires_grad=True)

    def step():
        x = tg.Tensor(rng.standard_normal((32, 8)))
        loss = ((x @ w1).tanh() @ w2).sigmoid().mean()
        loss.backward()
        with tg.no_grad():
            for w in (w1, w2):
                w.data = (w - 0.1 * w.grad).data
                w.grad = None

    for _ in range(300):
        step()
    before = _rss_bytes()
    for _ in range(3000):
        step()
    assert _rss_bytes() - before < 4 * 2 ** 20
