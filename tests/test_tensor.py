"""Tensor creation, dtype rules, conversions, indexing, repr and bad input."""
import copy
import pickle

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko.tensor import default_rng


# ---- creation ----

def test_creation_from_python_data_uses_default_dtypes():
    assert tg.Tensor([1.5, 2.0]).dtype == np.float32
    assert tg.Tensor(3.0).dtype == np.float32 and tg.Tensor(3.0).shape == ()
    assert tg.Tensor([[1, 2], [3, 4]]).dtype == np.int64
    assert tg.Tensor([True, False]).dtype == bool
    assert tg.Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert tg.Tensor([1.0, 2.0], dtype="float64").dtype == np.float64


def test_creation_from_arrays_shares_memory_when_dtype_matches():
    a = np.arange(6.0).reshape(2, 3)
    t = tg.Tensor(a)
    assert t.dtype == np.float64 and np.shares_memory(t.numpy(), a)
    f = np.ones(3, np.float32)
    assert np.shares_memory(tg.Tensor(f, dtype=np.float32).numpy(), f)
    assert not np.shares_memory(tg.Tensor(f, dtype=np.float64).numpy(), f)


def test_creation_from_tensor_is_a_new_leaf():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = tg.Tensor(x * 2)
    assert y.is_leaf and not y.requires_grad and y.tolist() == [2.0, 4.0]


def test_creation_helpers():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == np.float32
    assert tg.ones(4, dtype=np.float64).dtype == np.float64
    assert tg.full((2, 2), 7).dtype == np.int64 and tg.full(3, 0.5).dtype == np.float32
    assert tg.full(3, 0.5).tolist() == [0.5, 0.5, 0.5]
    x = tg.Tensor(np.ones((2, 3)))
    assert tg.zeros_like(x).dtype == np.float64 and tg.ones_like(x).shape == (2, 3)
    assert tg.arange(5).dtype == np.int64 and tg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(0, 1, 0.25).dtype == np.float32
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    assert tg.eye(2, 3).shape == (2, 3)
    assert tg.randn(3, 4, requires_grad=True).requires_grad
    assert tg.rand(5).dtype == np.float32 and tg.rand(5, dtype=np.float64).dtype == np.float64
    labels = tg.randint(0, 10, size=(100,))
    assert labels.dtype == np.int64 and 0 <= labels.numpy().min() and labels.numpy().max() < 10


def test_manual_seed_makes_random_ops_reproducible():
    tg.manual_seed(42)
    a, b, c = tg.randn(3), tg.rand(2), tg.randint(5, size=4)
    tg.manual_seed(42)
    np.testing.assert_array_equal(tg.randn(3).numpy(), a.numpy())
    np.testing.assert_array_equal(tg.rand(2).numpy(), b.numpy())
    np.testing.assert_array_equal(tg.randint(5, size=4).numpy(), c.numpy())
    tg.manual_seed(42)
    assert default_rng().standard_normal(dtype=np.float32) == a.numpy()[0]


# ---- dtype promotion ----

def test_python_scalars_do_not_upcast():
    x = tg.Tensor([1.0, 2.0])
    assert (x * 2.0).dtype == np.float32 and (2.0 * x).dtype == np.float32
    assert (x + 1).dtype == np.float32 and (x ** 2).dtype == np.float32
    assert (x * np.float64(2.0)).dtype == np.float32  # NumPy scalars count as Python scalars


def test_tensor_promotion_rules():
    f32, f64 = tg.Tensor([1.0]), tg.Tensor(np.array([1.0]))
    i64 = tg.Tensor([3])
    assert (f32 + f64).dtype == np.float64
    assert (f32 + np.ones(1)).dtype == np.float64  # arrays are tensors, not scalars
    assert (i64 + 1).dtype == np.int64
    assert (i64 * 0.5).dtype == np.float32  # int tensor with a float scalar -> default float
    assert (i64 / i64).dtype == np.float32
    assert (i64 + f32).dtype == np.float32
    assert (i64 + f64).dtype == np.float64
    assert i64.mean().dtype == np.float32


def test_mixed_precision_gradients_come_back_in_each_inputs_dtype():
    a = tg.Tensor([1.0, 2.0], requires_grad=True)
    b = tg.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 4.0])


# ---- conversions ----

def test_conversions_and_properties():
    x = tg.Tensor(np.arange(6.0).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.T.shape == (3, 2)
    assert np.asarray(x) is x.numpy()
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x[1, 2].item() == 5.0 and float(x.sum()) == 15.0 and int(x[0, 1]) == 1
    rows = list(x)
    assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0, 5.0]
    assert bool(tg.Tensor(1.0)) and not bool(tg.Tensor([0.0]))
    with pytest.raises(TypeError, match="0-d"):
        len(tg.Tensor(1.0))
    with pytest.raises(ValueError):
        x.item()


def test_numpy_arrays_on_the_left_give_tensors():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([2.0, 3.0], np.float32) * x
    assert isinstance(y, tg.Tensor) and y.requires_grad
    assert isinstance(np.ones(2) + x, tg.Tensor) and isinstance(np.float32(2) - x, tg.Tensor)


def test_repr_is_readable():
    assert repr(tg.Tensor([1.0, 2.0])) == "Tensor([1., 2.], dtype=float32)"
    x = tg.Tensor([1.0], requires_grad=True)
    assert repr(x) == "Tensor([1.], dtype=float32, requires_grad=True)"
    assert repr(x * 2) == "Tensor([2.], dtype=float32, grad_fn=Mul)"
    assert repr(tg.zeros(2, 2)) == "Tensor([[0., 0.],\n        [0., 0.]], dtype=float32)"


# ---- indexing ----

def test_indexing_matches_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = tg.Tensor(a)
    for index in [0, -1, (1, 2), (slice(None), 1), (Ellipsis, 0), (None, 0), (0, slice(1, None, 2)),
                  np.array([1, 0, 1]), (slice(None), [0, 2]), a > 10, (0, a[0] > 5)]:
        np.testing.assert_array_equal(x[index].numpy(), a[index])
    np.testing.assert_array_equal(x[tg.Tensor([1, 0])].numpy(), a[[1, 0]])
    np.testing.assert_array_equal(x[x.data > 20].numpy(), a[a > 20])


def test_bad_indices_raise_type_errors():
    x = tg.zeros(3)
    with pytest.raises(TypeError, match="index"):
        x[1.5]
    with pytest.raises(TypeError, match="integer or bool"):
        x[np.array([0.5])]
    with pytest.raises(IndexError):
        x[5]


def test_no_in_place_ops():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x
    y += 1  # rebinds y; x and any graph holding it are untouched
    assert x.tolist() == [1.0, 2.0] and y.tolist() == [2.0, 3.0] and y is not x
    with pytest.raises(TypeError):
        x[0] = 5.0


# ---- bad input ----

def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"Add on shapes \(2, 3\) and \(4,\)"):
        tg.zeros(2, 3) + tg.zeros(4)
    with pytest.raises(ValueError, match=r"Matmul on shapes \(2, 3\) and \(2, 3\)"):
        tg.zeros(2, 3) @ tg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        tg.zeros(2, 3) < tg.zeros(4)


def test_wrong_types_raise_type_errors():
    with pytest.raises(TypeError):
        tg.Tensor("abc")
    with pytest.raises(TypeError):
        tg.Tensor({"a": 1})
    with pytest.raises(TypeError, match="Add: unsupported operand"):
        tg.zeros(2) + "x"
    with pytest.raises(TypeError):
        tg.zeros(2) * None
    with pytest.raises(TypeError, match="only float tensors"):
        tg.Tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="shape entries"):
        tg.zeros(2.5)
    with pytest.raises(TypeError, match="compare"):
        tg.zeros(2) < "a"


def test_shape_errors_are_value_errors():
    x = tg.zeros(2, 3)
    with pytest.raises(ValueError):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="out of range"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match="size 3, not 1"):
        x.squeeze(1)
    with pytest.raises(ValueError, match="equal sections"):
        x.split(2, axis=1)
    with pytest.raises(ValueError, match="empty"):
        tg.zeros(0).max()


def test_pickle_and_deepcopy_give_leaves():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    for clone in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        assert clone.is_leaf and clone.requires_grad and clone.tolist() == [3.0, 6.0]
    z = copy.deepcopy(x)
    assert z.requires_grad and not np.shares_memory(z.numpy(), x.numpy())


def test_tensor_from_list_of_tensors():
    t = tg.Tensor([tg.Tensor([1.0, 2.0]), tg.Tensor([3.0, 4.0])])
    assert t.shape == (2, 2) and t.dtype == np.float32
