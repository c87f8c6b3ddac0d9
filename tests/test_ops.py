"""Every differentiable op in one table: forward against NumPy (float32 and float64, both
backends), first- and second-order gradcheck in float64, broadcasting; then random compositions
against torch."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_ko as tg

_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _unbiased(fn):
    return lambda x: fn(x, ddof=1)


# name, our function (Tensors), NumPy reference (arrays), input shapes, input domain
# domain: "any" (standard normal), "positive" (in [0.5, 2]), or a tuple per input
OPS = [
    # ---- binary, with broadcasting ----
    ("add", lambda a, b: a + b, np.add, [(2, 3), (2, 3)], "any"),
    ("add_bcast_row", lambda a, b: a + b, np.add, [(2, 3), (3,)], "any"),
    ("add_bcast_outer", lambda a, b: a + b, np.add, [(2, 1), (1, 3)], "any"),
    ("add_scalar_tensor", lambda a, b: a + b, np.add, [(), (2, 3)], "any"),
    ("radd_number", lambda a: 2.5 + a, lambda a: 2.5 + a, [(2, 3)], "any"),
    ("sub_bcast", lambda a, b: a - b, np.subtract, [(3, 1), (2, 1, 4)], "any"),
    ("rsub_number", lambda a: 1.5 - a, lambda a: 1.5 - a, [(4,)], "any"),
    ("mul_bcast", lambda a, b: a * b, np.multiply, [(2, 3), (3,)], "any"),
    ("rmul_number", lambda a: 3 * a, lambda a: 3 * a, [(4,)], "any"),
    ("div_bcast", lambda a, b: a / b, np.divide, [(2, 3), (2, 1)], ("any", "positive")),
    ("rdiv_number", lambda a: 2.0 / a, lambda a: 2.0 / a, [(4,)], "positive"),
    ("pow_tensor", lambda a, b: a ** b, np.power, [(2, 3), (3,)], "positive"),
    ("pow_cube", lambda a: a ** 3, lambda a: a ** 3, [(2, 3)], "any"),
    ("rpow_number", lambda a: 2.0 ** a, lambda a: 2.0 ** a, [(4,)], "any"),
    ("neg", lambda a: -a, np.negative, [(2, 3)], "any"),
    ("maximum", lambda a, b: a.maximum(b), np.maximum, [(2, 3), (3,)], "any"),
    ("minimum", lambda a, b: tg.minimum(a, b), np.minimum, [(2, 3), (2, 1)], "any"),
    ("where", lambda a, b: tg.where(a > 0, a * a, b), lambda a, b: np.where(a > 0, a * a, b),
     [(2, 3), (3,)], "any"),
    # ---- matmul ----
    ("matmul_2d", lambda a, b: a @ b, np.matmul, [(3, 4), (4, 2)], "any"),
    ("matmul_batched", lambda a, b: a.matmul(b), np.matmul, [(2, 3, 4), (4, 5)], "any"),
    ("matmul_bcast_batch", lambda a, b: a @ b, np.matmul, [(2, 1, 3, 4), (3, 4, 2)], "any"),
    ("matmul_vec_mat", lambda a, b: a @ b, np.matmul, [(4,), (4, 3)], "any"),
    ("matmul_mat_vec", lambda a, b: a @ b, np.matmul, [(2, 3, 4), (4,)], "any"),
    ("matmul_dot", lambda a, b: a @ b, np.matmul, [(4,), (4,)], "any"),
    # ---- unary ----
    ("exp", lambda a: a.exp(), np.exp, [(2, 3)], "any"),
    ("log", lambda a: a.log(), np.log, [(2, 3)], "positive"),
    ("sqrt", lambda a: a.sqrt(), np.sqrt, [(2, 3)], "positive"),
    ("abs", lambda a: abs(a), np.abs, [(2, 3)], "any"),
    ("clip", lambda a: a.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [(3, 4)], "any"),
    ("clip_low", lambda a: a.clip(low=0.1), lambda a: np.clip(a, 0.1, None), [(3, 4)], "any"),
    ("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), [(3, 4)], "any"),
    ("leaky_relu", lambda a: a.leaky_relu(0.2), lambda a: np.where(a > 0, a, 0.2 * a),
     [(3, 4)], "any"),
    ("elu", lambda a: a.elu(), lambda a: np.where(a > 0, a, np.exp(a) - 1), [(3, 4)], "any"),
    ("sigmoid", lambda a: a.sigmoid(), _sigmoid, [(3, 4)], "any"),
    ("tanh", lambda a: a.tanh(), np.tanh, [(3, 4)], "any"),
    ("softplus", lambda a: a.softplus(), lambda a: np.logaddexp(0, a), [(3, 4)], "any"),
    ("gelu", lambda a: a.gelu(), lambda a: 0.5 * a * (1 + _erf(a / np.sqrt(2))), [(3, 4)], "any"),
    ("gelu_tanh", lambda a: a.gelu("tanh"),
     lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3))),
     [(3, 4)], "any"),
    ("erf", lambda a: a.erf(), _erf, [(3, 4)], "any"),
    # ---- reductions ----
    ("sum_all", lambda a: a.sum(), np.sum, [(2, 3, 4)], "any"),
    ("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), [(2, 3, 4)], "any"),
    ("sum_axes_keepdims", lambda a: a.sum(axis=(0, -1), keepdims=True),
     lambda a: a.sum(axis=(0, -1), keepdims=True), [(2, 3, 4)], "any"),
    ("mean", lambda a: a.mean(axis=0), lambda a: a.mean(axis=0), [(3, 4)], "any"),
    ("mean_all", lambda a: a.mean(), np.mean, [(3, 4)], "any"),
    ("max_all", lambda a: a.max(), np.max, [(3, 4)], "any"),
    ("max_axis", lambda a: a.max(axis=1), lambda a: a.max(axis=1), [(3, 4)], "any"),
    ("min_axes_keepdims", lambda a: a.min(axis=(0, 2), keepdims=True),
     lambda a: a.min(axis=(0, 2), keepdims=True), [(2, 3, 4)], "any"),
    ("var", lambda a: a.var(axis=1), lambda a: a.var(axis=1), [(3, 4)], "any"),
    ("var_unbiased", lambda a: a.var(ddof=1), _unbiased(np.var), [(3, 4)], "any"),
    ("std", lambda a: a.std(axis=0, keepdims=True), lambda a: a.std(axis=0, keepdims=True),
     [(3, 4)], "any"),
    # ---- movement ----
    ("reshape", lambda a: a.reshape(4, -1) * 2, lambda a: a.reshape(4, -1) * 2, [(2, 3, 2)], "any"),
    ("flatten", lambda a: a.flatten(1), lambda a: a.reshape(2, -1), [(2, 3, 2)], "any"),
    ("transpose", lambda a: a.transpose() * 1, lambda a: a.transpose(), [(2, 3, 4)], "any"),
    ("T", lambda a: a.T @ a, lambda a: a.T @ a, [(3, 2)], "any"),
    ("permute", lambda a: a.permute(1, 2, 0) * 1, lambda a: a.transpose(1, 2, 0),
     [(2, 3, 4)], "any"),
    ("swapaxes", lambda a: a.swapaxes(0, -1) * 1, lambda a: a.swapaxes(0, -1), [(2, 3, 4)], "any"),
    ("expand", lambda a: a.expand(2, 3, 4) * 1, lambda a: np.broadcast_to(a, (2, 3, 4)),
     [(3, 1)], "any"),
    ("squeeze", lambda a: a.squeeze() * 1, lambda a: a.squeeze(), [(1, 3, 1)], "any"),
    ("unsqueeze", lambda a: a.unsqueeze(-1) * 1, lambda a: a[..., None], [(2, 3)], "any"),
    ("getitem_int_slice", lambda a: a[1, ::2] * 1, lambda a: a[1, ::2], [(3, 5)], "any"),
    ("getitem_none_ellipsis", lambda a: a[None, ..., 1:] * 1, lambda a: a[None, ..., 1:],
     [(2, 3)], "any"),
    ("getitem_int_array_repeats", lambda a: a[np.array([0, 2, 0, 0])] * 1,
     lambda a: a[np.array([0, 2, 0, 0])], [(3, 2)], "any"),
    ("getitem_bool_mask", lambda a: a[a.data > 0] * 1, lambda a: a[a > 0], [(3, 4)], "any"),
    ("getitem_mixed", lambda a: a[[1, 0, 1], :, [2, 2, 0]] * 1,
     lambda a: a[[1, 0, 1], :, [2, 2, 0]], [(2, 2, 3)], "any"),
    ("getitem_tensor_index", lambda a: a[tg.Tensor([1, 1, 0])] * 1, lambda a: a[[1, 1, 0]],
     [(2, 3)], "any"),
    ("concatenate", lambda a, b: tg.concatenate([a, b, a], axis=1),
     lambda a, b: np.concatenate([a, b, a], axis=1), [(2, 3), (2, 1)], "any"),
    ("stack", lambda a, b: tg.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], axis=-1),
     [(2, 3), (2, 3)], "any"),
    ("pad", lambda a: a.pad(((1, 0), (2, 1)), value=0.5),
     lambda a: np.pad(a, ((1, 0), (2, 1)), constant_values=0.5), [(2, 3)], "any"),
    ("split", lambda a: tg.concatenate(a.split([1, 3], axis=1)[::-1], axis=1),
     lambda a: np.concatenate(np.split(a, [1, 3], axis=1)[::-1], axis=1), [(2, 5)], "any"),
]
IDS = [entry[0] for entry in OPS]


def _inputs(shapes, domain, dtype, seed=0):
    rng = np.random.default_rng(seed)
    domains = domain if isinstance(domain, tuple) else (domain,) * len(shapes)
    arrays = []
    for shape, kind in zip(shapes, domains):
        values = rng.uniform(0.5, 2.0, shape) if kind == "positive" else rng.standard_normal(shape)
        arrays.append(np.asarray(values, dtype))
    return arrays


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, fn, ref, shapes, domain", OPS, ids=IDS)
def test_forward_matches_numpy(backend, name, fn, ref, shapes, domain, dtype):
    arrays = _inputs(shapes, domain, dtype)
    out = fn(*[tg.Tensor(a, requires_grad=True) for a in arrays])
    expected = ref(*[a.astype(np.float64) for a in arrays])
    assert out.dtype == dtype
    assert out.shape == np.shape(expected)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.numpy(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name, fn, ref, shapes, domain", OPS, ids=IDS)
def test_gradcheck_first_and_second_order(backend, name, fn, ref, shapes, domain):
    assert tg.gradcheck(fn, _inputs(shapes, domain, np.float64), order=2)


@pytest.mark.parametrize("name, fn, ref, shapes, domain", OPS, ids=IDS)
def test_float32_gradients_keep_dtype(name, fn, ref, shapes, domain):
    inputs = [tg.Tensor(a, requires_grad=True) for a in _inputs(shapes, domain, np.float32)]
    fn(*inputs).sum().backward()
    for x in inputs:
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


SCALAR_OPS = ["exp", "log", "sqrt", "abs", "clip", "relu", "leaky_relu", "elu", "sigmoid", "tanh",
              "softplus", "gelu", "gelu_tanh", "erf", "sum_all", "mean_all", "max_all", "neg"]


@pytest.mark.parametrize("name", SCALAR_OPS)
def test_zero_dimensional_inputs(name):
    _, fn, ref, _, domain = OPS[IDS.index(name)]
    (x,) = _inputs([()], domain, np.float64)
    out = fn(tg.Tensor(x))
    assert out.shape == () and np.allclose(out.numpy(), ref(x))
    assert tg.gradcheck(fn, [x], order=2)


def test_max_splits_gradient_evenly_among_ties():
    x = tg.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


def test_maximum_splits_ties_in_half():
    a, b = tg.Tensor([1.0, 2.0], requires_grad=True), tg.Tensor([1.0, 0.0], requires_grad=True)
    a.maximum(b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.0])


def test_getitem_repeated_indices_accumulate():
    x = tg.Tensor(np.arange(4.0), requires_grad=True)
    x[[0, 0, 3, 0]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 0, 0, 1])


def test_dropout_is_inverted_and_seeded():
    x = tg.ones(1000, 10, requires_grad=True)
    tg.manual_seed(3)
    y = x.dropout(0.25)
    tg.manual_seed(3)
    np.testing.assert_array_equal(x.dropout(0.25).numpy(), y.numpy())
    kept = y.numpy() != 0
    assert 0.72 < kept.mean() < 0.78
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())
    assert x.dropout(0.5, training=False) is x
    assert x.dropout(1.0).numpy().sum() == 0
    with pytest.raises(ValueError, match="dropout probability"):
        x.dropout(1.5)


def test_astype_between_floats_is_differentiable():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    labels = x.astype(np.int64)
    assert labels.dtype == np.int64 and not labels.requires_grad


def test_non_differentiable_ops_return_constants():
    x = tg.Tensor([[1.0, -2.0, 3.0]], requires_grad=True)
    for out in (x > 0, x == 1, x.argmax(axis=1), x.argmin(), x.sign()):
        assert not out.requires_grad
    assert (x > 0).dtype == bool and x.argmax(axis=1).tolist() == [2]
    assert (x <= tg.Tensor([[1.0, -3.0, 3.0]])).tolist() == [[True, False, True]]


# ---- random compositions against torch.autograd ----

UNARY = [
    ("exp", lambda t: (t * 0.5).exp(), lambda t, th: (t * 0.5).exp()),
    ("tanh", lambda t: t.tanh(), lambda t, th: t.tanh()),
    ("sigmoid", lambda t: t.sigmoid(), lambda t, th: t.sigmoid()),
    ("relu", lambda t: t.relu(), lambda t, th: t.relu()),
    ("softplus", lambda t: t.softplus(), lambda t, th: th.nn.functional.softplus(t)),
    ("gelu", lambda t: t.gelu(), lambda t, th: th.nn.functional.gelu(t)),
    ("elu", lambda t: t.elu(), lambda t, th: th.nn.functional.elu(t)),
    ("square", lambda t: t ** 2, lambda t, th: t ** 2),
    ("logsq", lambda t: (t * t + 1).log(), lambda t, th: (t * t + 1).log()),
    ("abs", lambda t: abs(t), lambda t, th: t.abs()),
    ("neg_scale", lambda t: -t * 0.7 + 0.1, lambda t, th: -t * 0.7 + 0.1),
]
BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b),
    ("sub", lambda a, b: a - b, lambda a, b: a - b),
    ("mul", lambda a, b: a * b, lambda a, b: a * b),
    ("div", lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    ("maximum", lambda a, b: a.maximum(b), lambda a, b: a.maximum(b)),
    ("matmul", lambda a, b: (a @ b.T) * 0.3, lambda a, b: (a @ b.T) * 0.3),
]


def _random_program(rng, depth):
    """A random expression over leaves x, y (shape (3, 3)) as a list of steps."""
    program = []
    for _ in range(depth):
        if rng.random() < 0.5:
            program.append(("unary", int(rng.integers(len(UNARY)))))
        else:
            program.append(("binary", int(rng.integers(len(BINARY))), bool(rng.integers(2))))
    return program


def _run(program, x, y, torch_module=None):
    """Runs the program on our tensors, or on torch's when torch_module is given."""
    h = x
    for step in program:
        if step[0] == "unary":
            ours, theirs = UNARY[step[1]][1:]
            h = theirs(h, torch_module) if torch_module else ours(h)
        else:
            ours, theirs = BINARY[step[1]][1:]
            h = (theirs if torch_module else ours)(h, y if step[2] else x)
    return h


@pytest.mark.parametrize("seed", range(12))
def test_random_compositions_match_torch(torch, backend, seed):
    rng = np.random.default_rng(seed)
    program = _random_program(rng, depth=6)
    xs, ys = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    x, y = tg.Tensor(xs, requires_grad=True), tg.Tensor(ys, requires_grad=True)
    tx, ty = torch.tensor(xs, requires_grad=True), torch.tensor(ys, requires_grad=True)
    ours, theirs = _run(program, x, y), _run(program, tx, ty, torch)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-12)
    weights = rng.standard_normal(ours.shape)
    (ours * weights).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_second_derivatives_match_torch(torch):
    xs = np.random.default_rng(1).standard_normal((2, 3))
    x, tx = tg.Tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
    (g,) = tg.grad((x.tanh() * x.sigmoid()).sum(), [x], create_graph=True)
    (tg_,) = torch.autograd.grad((tx.tanh() * tx.sigmoid()).sum(), [tx], create_graph=True)
    (h,) = tg.grad((g * g).sum(), [x])
    (torch_h,) = torch.autograd.grad((tg_ * tg_).sum(), [tx])
    np.testing.assert_allclose(h.numpy(), torch_h.numpy(), rtol=1e-9)


# ---- reductions, movement and indexing against torch (semantics, not just self-consistency) ----

TORCH_OPS = [
    ("sum_axes", lambda t: t.sum(axis=(0, 2)), lambda t, th: t.sum(dim=(0, 2))),
    ("mean_keepdims", lambda t: t.mean(axis=1, keepdims=True),
     lambda t, th: t.mean(dim=1, keepdim=True)),
    ("max_axis", lambda t: t.max(axis=-1), lambda t, th: t.amax(dim=-1)),
    ("min_all", lambda t: t.min(), lambda t, th: t.amin()),
    ("var_unbiased", lambda t: t.var(axis=0, ddof=1), lambda t, th: t.var(dim=0)),
    ("std_biased", lambda t: t.std(axis=(1, 2)), lambda t, th: t.std(dim=(1, 2), correction=0)),
    ("getitem", lambda t: t[1:, [0, 2, 2], ::-2],
     lambda t, th: t[1:, [0, 2, 2]].flip(-1)[..., ::2]),
    ("bool_mask", lambda t: t[t.data > 0.3], lambda t, th: t[t > 0.3]),
    ("permute_reshape", lambda t: t.permute(2, 0, 1).reshape(4, -1),
     lambda t, th: t.permute(2, 0, 1).reshape(4, -1)),
    ("concat_pad", lambda t: tg.concatenate([t, t.pad(((0, 0), (1, 0), (0, 0)))[:, :3]], axis=2),
     lambda t, th: th.cat([t, th.nn.functional.pad(t, (0, 0, 1, 0))[:, :3]], dim=2)),
    ("stack_split", lambda t: tg.stack(t.split(2, axis=2), axis=0),
     lambda t, th: th.stack(t.split(2, dim=2), dim=0)),
    ("clip_where", lambda t: tg.where(t.data > 0, t.clip(-0.5, 0.5), t * t),
     lambda t, th: th.where(t > 0, t.clamp(-0.5, 0.5), t * t)),
    ("leaky_relu", lambda t: t.leaky_relu(0.1),
     lambda t, th: th.nn.functional.leaky_relu(t, 0.1)),
    ("gelu_tanh", lambda t: t.gelu("tanh"),
     lambda t, th: th.nn.functional.gelu(t, approximate="tanh")),
    ("unsqueeze_expand", lambda t: t.unsqueeze(1).expand(2, 5, 3, 4),
     lambda t, th: t.unsqueeze(1).expand(2, 5, 3, 4)),
]


@pytest.mark.parametrize("name, ours, theirs", TORCH_OPS, ids=[e[0] for e in TORCH_OPS])
def test_op_semantics_match_torch(torch, name, ours, theirs):
    xs = np.random.default_rng(5).standard_normal((2, 3, 4))
    x, tx = tg.Tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
    out, tout = ours(x), theirs(tx, torch)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(6).standard_normal(out.shape)
    (out * weights).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- broadcasting, property-based ----

@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       op=st.sampled_from(["add", "sub", "mul", "div", "maximum"]))
def test_broadcast_gradients_reduce_to_input_shapes(shapes, op):
    rng = np.random.default_rng(0)
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    a = tg.Tensor(rng.standard_normal(shape_a), requires_grad=True)
    b = tg.Tensor(rng.uniform(0.5, 2.0, shape_b), requires_grad=True)
    fn = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q, "mul": lambda p, q: p * q,
          "div": lambda p, q: p / q, "maximum": lambda p, q: p.maximum(q)}[op]
    out = fn(a, b)
    assert out.shape == out_shape
    out.sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    assert tg.gradcheck(fn, [a.data, b.data])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_indexing_gradient_is_scatter_add(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    index = data.draw(st.one_of(hnp.basic_indices(shape, allow_newaxis=True),
                                hnp.integer_array_indices(shape),
                                hnp.arrays(bool, shape)))
    x = tg.Tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape), requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.numpy(), x.data[index])
    weights = np.random.default_rng(0).standard_normal(out.shape)
    (out * weights).sum().backward()
    expected = np.zeros(shape)
    np.add.at(expected, index, weights)
    np.testing.assert_allclose(x.grad.numpy(), expected)
