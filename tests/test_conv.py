"""Convolution: C kernels vs NumPy references, gradients by finite differences, PyTorch as oracle,
the study notes' numbers (seed 001), and bad input."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko import functional as F
from tinygrad_ko._backend import c_available, kernels, ref, selection

# (n, h, w, c_in, c_out, kh, kw, stride, dilation, padding as (top, bottom, left, right))
KERNEL_CASES = [
    (2, 7, 9, 3, 5, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),       # odd sizes, 'same'
    (1, 28, 28, 1, 32, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),    # the toy CNN's input layer, batch 1
    (3, 14, 14, 32, 64, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),   # its second layer
    (2, 6, 5, 3, 17, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0)),      # 1x1, C_out not a vector multiple
    (2, 11, 10, 2, 3, 5, 5, (2, 2), (1, 1), (1, 2, 2, 1)),     # 5x5, stride 2, asymmetric pads
    (1, 9, 12, 3, 8, 3, 2, (2, 3), (2, 1), (0, 0, 3, 0)),      # mixed stride, dilation, even kernel
    (2, 5, 5, 16, 40, 2, 2, (1, 1), (1, 1), (1, 0, 0, 1)),     # even kernel 'same' split
    (1, 4, 4, 5, 3, 4, 4, (3, 3), (1, 1), (3, 3, 3, 3)),       # pads as large as the kernel
    (2, 8, 3, 1, 1, 3, 1, (1, 1), (3, 1), (0, 0, 0, 0)),       # one channel in and out, dilation 3
    (1, 9, 10, 2, 3, 2, 1, (4, 3), (1, 1), (0, 1, 2, 0)),      # stride > kernel: untouched pixels
    (2, 8, 8, 3, 4, 3, 3, (2, 2), (2, 2), (2, 2, 2, 2)),       # stride and dilation share a factor
    (3, 7, 9, 32, 24, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),     # 14-row tiles wrapping image rows
]


def _case_arrays(case, dtype, rng):
    n, h, w, c, o, kh, kw, stride, dilation, padding = case
    out_hw = kernels.conv2d_output_hw((h, w), (kh, kw), stride, dilation, padding)
    return (rng.standard_normal((n, h, w, c)).astype(dtype),
            rng.standard_normal((kh, kw, c, o)).astype(dtype),
            rng.standard_normal(o).astype(dtype),
            rng.standard_normal((n, *out_hw, o)).astype(dtype))


def _simd_levels():
    from tinygrad_ko._backend import c
    best = c.select_simd(99)
    return list(range(best + 1))


@pytest.mark.kernel
@pytest.mark.skipif(not c_available(), reason="C backend not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", KERNEL_CASES, ids=lambda case: "x".join(map(str, case[:7])))
def test_c_kernels_match_reference(case, dtype, rng):
    """Every SIMD body, 1 and 2 threads, every kernel, against the im2col/einsum reference."""
    from tinygrad_ko._backend import c
    x, w, b, dy = _case_arrays(case, dtype, rng)
    kh, kw, stride, dilation, padding = case[5:]
    geometry = dict(stride=stride, dilation=dilation, padding=padding)
    calls = {
        "conv2d_forward": (x, w, b),
        "conv2d_backward_input": (dy, w, x.shape[1:3]),
        "conv2d_backward_weight": (x, dy, (kh, kw)),
    }
    expected = {name: getattr(ref, name)(*args, **geometry) for name, args in calls.items()}
    expected_bias = ref.conv2d_backward_bias(dy)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-11)
    threads = selection.get_num_threads()
    try:
        for level in _simd_levels():
            c.select_simd(level)
            for n_threads in (1, 2):
                selection.set_num_threads(n_threads)
                for name, args in calls.items():
                    got = getattr(c, name)(*args, **geometry)
                    assert got.dtype == dtype
                    np.testing.assert_allclose(got, expected[name], **tol, err_msg=name)
                np.testing.assert_allclose(c.conv2d_backward_bias(dy), expected_bias, **tol)
                dw, db = c.conv2d_backward_weight_bias(x, dy, (kh, kw), **geometry)
                np.testing.assert_allclose(dw, expected["conv2d_backward_weight"], **tol)
                np.testing.assert_allclose(db, expected_bias, **tol)
    finally:
        c.select_simd(99)
        selection.set_num_threads(threads)


@pytest.mark.kernel
def test_forward_without_bias_and_empty_batch(backend, rng):
    x = rng.standard_normal((2, 5, 5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    y = kernels.conv2d_forward(x, w)
    np.testing.assert_allclose(y, ref.conv2d_forward(x, w, None, (1, 1), (1, 1), (0, 0, 0, 0)),
                               rtol=1e-5, atol=1e-5)
    empty = kernels.conv2d_forward(x[:0], w, padding=(1, 1, 1, 1))
    assert empty.shape == (0, 5, 5, 4)
    dw = kernels.conv2d_backward_weight(x[:0], empty, (3, 3), padding=(1, 1, 1, 1))
    assert dw.shape == (3, 3, 3, 4) and not dw.any()


@pytest.mark.kernel
@pytest.mark.parametrize("call, match", [
    (lambda x, w: kernels.conv2d_forward(x, w[:, :, :2].copy()), "input channels differ"),
    (lambda x, w: kernels.conv2d_forward(x[:, :2, :2].copy(), w), "larger than the padded input"),
    (lambda x, w: kernels.conv2d_forward(x, w, stride=(0, 1)), "stride must be positive"),
    (lambda x, w: kernels.conv2d_forward(x, w, dilation=(1, -1)), "dilation must be positive"),
    (lambda x, w: kernels.conv2d_forward(x, w, padding=(0, -1, 0, 0)), "must be >= 0"),
    (lambda x, w: kernels.conv2d_forward(x[0], w), "must be 4-D"),
    (lambda x, w: kernels.conv2d_forward(x[:, :, ::2], w), "C-contiguous"),
    (lambda x, w: kernels.conv2d_forward(x, w, np.zeros(5, np.float32)), "bias b must have shape"),
    (lambda x, w: kernels.conv2d_backward_input(np.zeros((2, 3, 3, 4), np.float32), w, (6, 6)),
     "does not match input size"),
    (lambda x, w: kernels.conv2d_backward_weight(x, np.zeros((2, 5, 5, 4), np.float32), (3, 3)),
     "does not match x"),
])
def test_bad_input_raises_value_error(call, match, rng):
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=match):
        call(x, w)


@pytest.mark.kernel
def test_bad_dtypes_raise_type_error(rng):
    x = rng.standard_normal((1, 5, 5, 2))
    w = rng.standard_normal((3, 3, 2, 2))
    with pytest.raises(TypeError, match="dtypes differ"):
        kernels.conv2d_forward(x.astype(np.float32), w)
    with pytest.raises(TypeError, match="float32 or float64"):
        kernels.conv2d_forward(x.astype(np.int32), w.astype(np.int32))
    with pytest.raises(TypeError, match="stride must be a tuple"):
        kernels.conv2d_forward(x, w, stride=2)
    with pytest.raises(ValueError, match="input channels"):
        F.conv2d(tg.Tensor(x), tg.Tensor(w[:, :, :1]))
    with pytest.raises(ValueError, match="4-D"):
        F.conv2d(tg.Tensor(x[0]), tg.Tensor(w))
    with pytest.raises(ValueError, match="padding must be"):
        F.conv2d(tg.Tensor(x), tg.Tensor(w), padding="mirror")


# ---- padding semantics ----

@pytest.mark.parametrize("size, k, stride, dilation", [(28, 3, 1, 1), (7, 3, 2, 1), (8, 2, 2, 1),
                                                       (5, 4, 3, 1), (9, 3, 2, 2), (1, 5, 1, 1)])
def test_same_padding_follows_keras(size, k, stride, dilation):
    top, bottom, left, right = F.conv_padding("same", (size, size), (k, k), (stride,) * 2,
                                              (dilation,) * 2)
    total = max((-(-size // stride) - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    assert (top, bottom) == (left, right) == (total // 2, total - total // 2)
    x = tg.zeros(1, size, size, 1)
    y = F.conv2d(x, tg.zeros(k, k, 1, 2), stride=stride, padding="same", dilation=dilation)
    assert y.shape == (1, -(-size // stride), -(-size // stride), 2)


def test_padding_specs():
    args = ((6, 6), (3, 3), (1, 1), (1, 1))
    assert F.conv_padding("valid", *args) == (0, 0, 0, 0)
    assert F.conv_padding("full", *args) == (2, 2, 2, 2)
    assert F.conv_padding(1, *args) == (1, 1, 1, 1)
    assert F.conv_padding((1, 2), *args) == (1, 1, 2, 2)
    assert F.conv_padding(((0, 1), (2, 3)), *args) == (0, 1, 2, 3)


# ---- the study notes (seed 001) ----

def test_seed001_conv1d_is_flipped_cross_correlation(backend):
    """np.convolve(x, w, 'same') flips w; our conv1d (like Keras) does not: pass w[::-1]."""
    x = tg.Tensor(np.array([1, 3, 2, 4, 5, 6, 1, 3], np.float32).reshape(1, 8, 1))
    w = np.array([1, 0, 3, 1, 2], np.float32)
    y = F.conv1d(x, tg.Tensor(w[::-1].copy().reshape(5, 1, 1)), padding=2)
    assert y.numpy().reshape(8).tolist() == [5, 14, 16, 26, 24, 34, 19, 22]
    same = F.conv1d(x, tg.Tensor(w[::-1].copy().reshape(5, 1, 1)), padding="same")
    assert same.numpy().reshape(8).tolist() == [5, 14, 16, 26, 24, 34, 19, 22]
    causal = F.conv1d(x, tg.Tensor(w.reshape(5, 1, 1)), padding="causal")
    assert causal.numpy().tolist() == F.conv1d(x, tg.Tensor(w.reshape(5, 1, 1)),
                                               padding=((4, 0),)).numpy().tolist()


def test_seed001_conv2d_matches_scipy_convolve2d_with_flipped_kernel(backend):
    X = np.array([[1, 3, 2, 4], [5, 6, 1, 3], [1, 2, 0, 2], [3, 4, 3, 2]], np.float32)
    W = np.array([[1, 0, 3], [1, 2, 1], [0, 1, 1]], np.float32)
    printed = [[11, 25, 32, 13], [19, 25, 24, 13], [13, 28, 25, 17], [11, 17, 14, 9]]
    flipped = tg.Tensor(W[::-1, ::-1].copy().reshape(3, 3, 1, 1))
    y = F.conv2d(tg.Tensor(X.reshape(1, 4, 4, 1)), flipped, padding=1)
    assert y.numpy().reshape(4, 4).tolist() == printed
    unflipped = F.conv2d(tg.Tensor(X.reshape(1, 4, 4, 1)), tg.Tensor(W.reshape(3, 3, 1, 1)),
                         padding="same")
    assert unflipped.numpy().reshape(4, 4).tolist() != printed


# ---- gradients (float64 central differences, first and second order) ----

@pytest.mark.parametrize("stride, padding, dilation", [(1, "same", 1), (2, "same", 1),
                                                       ((2, 1), ((1, 0), (0, 2)), (1, 2))])
def test_conv2d_gradcheck(backend, rng, stride, padding, dilation):
    x, w, b = rng.standard_normal((2, 5, 4, 2)), rng.standard_normal((2, 3, 2, 3)), \
        rng.standard_normal(3)
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation), [x, w, b])


def test_conv2d_second_order(backend, rng):
    x, w, b = rng.standard_normal((1, 4, 4, 2)), rng.standard_normal((2, 2, 2, 2)), \
        rng.standard_normal(2)
    fn = lambda x, w, b: F.conv2d(x, w, b, stride=2, padding="same").tanh()  # noqa: E731
    assert tg.gradcheck(fn, [x, w, b], order=2)


def test_conv1d_gradcheck(backend, rng):
    x, w, b = rng.standard_normal((2, 7, 2)), rng.standard_normal((3, 2, 2)), rng.standard_normal(2)
    assert tg.gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding="causal",
                                                 dilation=2), [x, w, b])


def test_conv_transpose2d_gradcheck_second_order(backend, rng):
    x, w, b = rng.standard_normal((1, 3, 3, 2)), rng.standard_normal((2, 2, 2, 2)), \
        rng.standard_normal(2)
    fn = lambda x, w, b: (F.conv_transpose2d(x, w, b, stride=2, padding="same") ** 2)  # noqa: E731
    assert tg.gradcheck(fn, [x, w, b], order=2)


def test_mixed_dtypes_and_views(backend, rng):
    """float32 images with a float64 kernel compute in float64; gradients come back in each
    input's dtype; non-contiguous views (a transpose) are accepted."""
    x = tg.Tensor(rng.standard_normal((2, 5, 6, 3)).astype(np.float32), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 3, 3, 2)), requires_grad=True)
    y = F.conv2d(x.transpose(0, 2, 1, 3), w, padding="same")
    assert y.dtype == np.float64 and y.shape == (2, 6, 5, 2)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    expected = ref.conv2d_forward(np.ascontiguousarray(x.numpy().astype(np.float64)
                                                       .transpose(0, 2, 1, 3)), w.numpy(), None,
                                  (1, 1), (1, 1), (1, 1, 1, 1))
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-10)


def test_input_gradient_skipped_when_not_required(backend, rng):
    x = tg.Tensor(rng.standard_normal((2, 6, 6, 1)).astype(np.float32))
    w = tg.Tensor(rng.standard_normal((3, 3, 1, 4)).astype(np.float32), requires_grad=True)
    b = tg.Tensor(np.zeros(4, np.float32), requires_grad=True)
    F.conv2d(x, w, b, padding="same").sum().backward()
    assert x.grad is None and w.grad.shape == (3, 3, 1, 4)
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 72.0))


# ---- PyTorch as oracle ----

def _nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


@pytest.mark.parametrize("size, stride, dilation", [(9, 1, 1), (9, 2, 1), (10, 2, 1), (8, 1, 2)])
def test_conv2d_matches_torch_with_keras_same_padding(torch, backend, rng, size, stride, dilation):
    """Keras 'same' with stride 2 pads asymmetrically: give torch the explicit pads (F.pad)."""
    x = rng.standard_normal((2, size, size, 3))
    w, b = rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    xt, wt, bt = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True), \
        tg.Tensor(b, requires_grad=True)
    y = F.conv2d(xt, wt, bt, stride=stride, padding="same", dilation=dilation)
    dy = rng.standard_normal(y.shape)
    y.backward(tg.Tensor(dy))
    top, bottom, left, right = F.conv_padding("same", (size, size), (3, 3), (stride,) * 2,
                                              (dilation,) * 2)
    tx = torch.tensor(_nchw(x), requires_grad=True)
    tw = torch.tensor(w.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = torch.nn.functional.conv2d(torch.nn.functional.pad(tx, (left, right, top, bottom)), tw,
                                    tb, stride=stride, dilation=dilation)
    ty.backward(torch.tensor(_nchw(dy)))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(wt.grad.numpy(), tw.grad.numpy().transpose(2, 3, 1, 0), atol=1e-10)
    np.testing.assert_allclose(bt.grad.numpy(), tb.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("stride, padding, output_padding, dilation",
                         [(2, 0, 1, 1), (1, 1, 0, 1), (3, 2, 2, 1), (2, 1, 1, 2)])
def test_conv_transpose2d_matches_torch(torch, backend, rng, stride, padding, output_padding,
                                        dilation):
    x, w, b = rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((3, 3, 2, 3)), \
        rng.standard_normal(2)
    y = F.conv_transpose2d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), stride=stride,
                           padding=padding, output_padding=output_padding, dilation=dilation)
    # torch's layout is (C_in, C_out, kh, kw); ours (Keras's) is (kh, kw, C_out, C_in)
    ty = torch.nn.functional.conv_transpose2d(
        torch.tensor(_nchw(x)), torch.tensor(w.transpose(3, 2, 0, 1).copy()), torch.tensor(b),
        stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    np.testing.assert_allclose(y.numpy(), ty.numpy().transpose(0, 2, 3, 1), atol=1e-10)


@pytest.mark.parametrize("padding, size, stride", [("same", 5, 2), ("valid", 5, 2),
                                                   ("same", 4, 1), ("valid", 3, 4)])
def test_conv_transpose2d_keras_output_sizes(backend, padding, size, stride):
    y = F.conv_transpose2d(tg.zeros(1, size, size, 2), tg.zeros(3, 3, 4, 2), stride=stride,
                           padding=padding)
    expected = size * stride + (max(3 - stride, 0) if padding == "valid" else 0)
    assert y.shape == (1, expected, expected, 4)


def test_conv1d_matches_torch(torch, backend, rng):
    x, w = rng.standard_normal((2, 11, 3)), rng.standard_normal((4, 3, 5))
    y = F.conv1d(tg.Tensor(x), tg.Tensor(w), stride=2, padding=(2, 1), dilation=2)
    tx = torch.nn.functional.pad(torch.tensor(x.transpose(0, 2, 1).copy()), (2, 1))
    ty = torch.nn.functional.conv1d(tx, torch.tensor(w.transpose(2, 1, 0).copy()), stride=2,
                                    dilation=2)
    np.testing.assert_allclose(y.numpy(), ty.numpy().transpose(0, 2, 1), atol=1e-10)
