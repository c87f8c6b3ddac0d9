"""GEMM: the C kernel against the NumPy reference and numpy.matmul, over odd shapes, transposes,
strided views, alpha/beta, both dtypes, every SIMD level and thread count, batched broadcasting, and
bad input."""
import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko._backend import c_available, kernels

pytestmark = pytest.mark.kernel

EPS = {np.float32: 1.2e-7, np.float64: 2.3e-16}


def tol(dtype, K=64):
    """Rounding of a length-K dot product of unit normals: relative plus absolute ~ eps * K."""
    return dict(rtol=50 * EPS[dtype], atol=4 * EPS[dtype] * max(K, 16))

# 0, 1, primes, tall/skinny and sizes straddling every register tile (4x8, 6x16, 12x32, and the
# short-row / half-width tiles for the last panels) and a depth block (kc = 256).
SHAPES = [(0, 3, 4), (3, 0, 4), (3, 4, 0), (1, 1, 1), (1, 7, 1), (7, 1, 13), (2, 3, 5), (13, 17, 19),
          (12, 32, 8), (25, 65, 31), (97, 1, 101), (1, 97, 101), (300, 5, 7), (5, 300, 7),
          (61, 67, 257), (131, 45, 600), (32, 300, 50)]


def c_module():
    if not c_available():
        pytest.skip("C backend not built")
    from tinygrad_ko._backend import c
    return c


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request):
    return request.param


@pytest.fixture(params=[0, 1, 2], ids=["generic", "avx2", "avx512"])
def simd(request):
    """Runs a test with the micro-kernel lowered to each ISA (skips levels the CPU lacks)."""
    c = c_module()
    before = c.select_simd(99)
    if c.select_simd(request.param) != request.param:
        c.select_simd(before)
        pytest.skip(f"CPU lacks SIMD level {request.param}")
    yield request.param
    c.select_simd(before)


@pytest.fixture
def threads():
    before = tg.get_num_threads()
    yield tg.set_num_threads
    tg.set_num_threads(before)


def random(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def reference(a, b, alpha=1.0, beta=0.0, c=None):
    product = np.matmul(a.astype(np.float64), b.astype(np.float64)) * alpha
    return product if c is None or beta == 0 else product + beta * c.astype(np.float64)


@pytest.mark.parametrize("M,N,K", SHAPES)
def test_matmul_matches_numpy_every_isa(backend, simd, dtype, rng, M, N, K):
    a, b = random(rng, (M, K), dtype), random(rng, (K, N), dtype)
    out = kernels.matmul(a, b)
    assert out.dtype == dtype and out.shape == (M, N)
    np.testing.assert_allclose(out, reference(a, b), **tol(dtype, K))


@pytest.mark.parametrize("M,N,K", [(1543, 7, 9), (5, 1031, 9), (777, 1030, 5)])
def test_shapes_crossing_cache_blocks(simd, dtype, rng, threads, M, N, K):
    """More rows than one packed A block (mc) or columns than one B block (nc) of any recipe."""
    c_module()
    a, b = random(rng, (K, M), dtype).T, random(rng, (K, N), dtype)
    expect = reference(a, b)
    for n in (1, 2):
        threads(n)
        np.testing.assert_allclose(kernels.gemm(a.T, b, trans_a=True), expect, **tol(dtype, K))
        np.testing.assert_allclose(kernels.matmul(np.ascontiguousarray(a), b), expect, **tol(dtype, K))


def test_b_packed_while_multiplied_over_several_depth_blocks(simd, dtype, rng, threads):
    """Many row panels share B, so the first row panel's kernels pack its full panels as they
    multiply them (prefetching rows ahead); the depth spans several blocks (beta = 1 after the
    first) and the last column panel is partial, packed apart. A row-major A is read in place."""
    c_module()
    M, N, K = 157, 75, 1100
    a, b = random(rng, (M, K), dtype), random(rng, (K, N), dtype)
    c0 = random(rng, (M, N), dtype)
    expect = reference(a, b, -0.5, 0.25, c0)
    results = []
    for n in (1, 2):
        threads(n)
        out = c0.copy()
        kernels.gemm(a, b, out=out, alpha=-0.5, beta=0.25)
        np.testing.assert_allclose(out, expect, **tol(dtype, K))
        results.append(out)
    assert np.array_equal(results[0], results[1])


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 0.0), (1.0, 1.0), (2.0, -0.75), (0.0, 0.5)])
def test_gemm_trans_alpha_beta(backend, dtype, rng, trans_a, trans_b, alpha, beta):
    M, N, K = 29, 41, 37
    a = random(rng, (K, M) if trans_a else (M, K), dtype)
    b = random(rng, (N, K) if trans_b else (K, N), dtype)
    c0 = random(rng, (M, N), dtype)
    out = c0.copy()
    result = kernels.gemm(a, b, out=out, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b)
    assert result is out
    expect = reference(a.T if trans_a else a, b.T if trans_b else b, alpha, beta, c0)
    np.testing.assert_allclose(out, expect, **tol(dtype))


@pytest.mark.parametrize("M,N,K", [(5, 7, 3), (37, 70, 300), (3, 4, 0)])
def test_beta_zero_never_reads_c(backend, simd, dtype, rng, M, N, K):
    a, b = random(rng, (M, K), dtype), random(rng, (K, N), dtype)
    out = np.full((M, N), np.nan, dtype)
    kernels.gemm(a, b, out=out, alpha=1.5, beta=0.0)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, reference(a, b, 1.5), **tol(dtype))


def test_views_need_no_copy_and_are_exact(backend, dtype, rng):
    big = random(rng, (90, 80), dtype)
    views = {
        "sliced": big[3:50, 5:44],                  # leading dimension 80, unit inner stride
        "transposed": big[5:44, 3:50].T,            # column-major view
        "reversed": big[49:2:-1, 5:44],             # negative leading dimension
        "every_other": big[3:50, 2:80:2],           # no unit stride: must be copied
        "broadcast": np.broadcast_to(big[0, 5:44], (47, 39)),  # leading dimension 0
    }
    b = random(rng, (39, 23), dtype)
    for name, a in views.items():
        expect = reference(a, b)
        np.testing.assert_allclose(kernels.matmul(a, b), expect, **tol(dtype), err_msg=name)
        np.testing.assert_allclose(kernels.matmul(b.T, a.T), expect.T, **tol(dtype), err_msg=name)
    # Short, wide right operands with negative and zero row strides (B read in place).
    rights = {"reversed": big[49:10:-1, 5:70], "broadcast": np.broadcast_to(big[0, :65], (39, 65))}
    for name, right in rights.items():
        np.testing.assert_allclose(kernels.matmul(b.T, right), reference(b.T, right), **tol(dtype),
                                   err_msg=name)


def test_backends_agree_and_c_is_deterministic(dtype, rng, threads):
    c = c_module()
    a, b = random(rng, (203, 157), dtype), random(rng, (157, 311), dtype)
    from tinygrad_ko._backend import ref
    expect = ref.matmul(a, b)
    results = {}
    for n in (1, 2, 3):
        threads(n)
        results[n] = [c.matmul(a, b) for _ in range(2)]
        assert np.array_equal(results[n][0], results[n][1]), f"not bitwise repeatable at {n} threads"
        np.testing.assert_allclose(results[n][0], expect, **tol(dtype))
    # No reduction is split across threads, so even different thread counts agree bitwise.
    assert all(np.array_equal(results[1][0], results[n][0]) for n in (2, 3))


@pytest.mark.parametrize("a_shape,b_shape", [
    ((4, 5, 6), (4, 6, 3)), ((4, 5, 6), (6, 3)), ((5, 6), (4, 6, 3)), ((2, 1, 5, 6), (3, 6, 7)),
    ((2, 3, 5, 6), (1, 3, 6, 7)), ((3, 1, 4, 5), (1, 2, 5, 6)), ((6,), (3, 6, 2)), ((2, 4, 6), (6,)),
    ((6,), (6, 4)), ((4, 6), (6,)), ((6,), (6,)), ((0, 3, 4), (4, 5)), ((2, 3, 0), (2, 0, 5)),
    ((32, 2, 3), (32, 3, 2)),
])
def test_batched_matmul_broadcasts_like_numpy(backend, dtype, rng, a_shape, b_shape, threads):
    a, b = random(rng, a_shape, dtype), random(rng, b_shape, dtype)
    expect = np.matmul(a.astype(np.float64), b.astype(np.float64))
    for n in (1, 2):
        threads(n)
        out = kernels.matmul(a, b)
        assert isinstance(out, np.ndarray) and out.shape == expect.shape and out.dtype == dtype
        np.testing.assert_allclose(out, expect, **tol(dtype))


def test_batched_transposed_and_strided_operands(backend, dtype, rng):
    a = random(rng, (3, 7, 6, 5), dtype).transpose(0, 1, 3, 2)     # per-matrix transposed
    b = random(rng, (6, 7, 9), dtype)[:, :, ::2].transpose(1, 0, 2)  # no unit stride: copied
    np.testing.assert_allclose(kernels.matmul(a, b), np.matmul(a, b), **tol(dtype))
    a = random(rng, (3, 1, 6, 5), dtype).transpose(0, 1, 3, 2)     # transposed, and not one stride
    b = random(rng, (1, 2, 6, 7), dtype)                            # over the (3, 2) batch: copied
    np.testing.assert_allclose(kernels.matmul(a, b), np.matmul(a, b), **tol(dtype))


def test_batched_c_kernel_direct_with_broadcast_operand(dtype, rng, threads):
    c_module()  # skips without the C core
    from tinygrad_ko._tk import ffi, lib
    batched = lib.tk_gemm_batched_f32 if dtype == np.float32 else lib.tk_gemm_batched_f64
    size = lib.tk_gemm_workspace_size_f32 if dtype == np.float32 else lib.tk_gemm_workspace_size_f64
    ctype = "float *" if dtype == np.float32 else "double *"
    batch, M, N, K = 5, 9, 33, 17
    a, b = random(rng, (batch, M, K), dtype), random(rng, (N, K), dtype)  # b shared, transposed
    for n in (1, 2):
        threads(n)
        out = np.full((batch, M, N), np.nan, dtype)
        work = np.zeros(size(M, N, K) + 64, np.uint8)
        work = work[-work.__array_interface__["data"][0] % 64:]
        batched(0, 1, batch, M, N, K, 2.0, ffi.from_buffer(ctype, a), K, M * K,
                ffi.from_buffer(ctype, b), K, 0, 0.0, ffi.from_buffer(ctype, out), N, M * N,
                ffi.from_buffer(work))
        np.testing.assert_allclose(out, 2.0 * np.matmul(a, b.T), **tol(dtype))


def test_cached_small_workspace_covers_every_small_problem(dtype, rng, threads):
    # c.py skips the size query for M, N, K <= SMALL_GEMM: the cached size must bound them all,
    # for any thread count.
    c = c_module()
    from tinygrad_ko._tk import lib
    size = lib.tk_gemm_workspace_size_f32 if dtype == np.float32 else lib.tk_gemm_workspace_size_f64
    edges = [1, 2, 5, 7, 13, 31, c.SMALL_GEMM - 1, c.SMALL_GEMM]
    for n in (1, 3, 8):
        threads(n)
        bound = c._small_gemm_bytes[np.dtype(dtype)]
        assert bound == size(c.SMALL_GEMM, c.SMALL_GEMM, c.SMALL_GEMM)
        for M in edges:
            for N in edges:
                for K in edges:
                    assert size(M, N, K) <= bound, (n, M, N, K)


def test_mixed_and_integer_dtypes_follow_numpy(backend, rng):
    a32, b64 = random(rng, (3, 4), np.float32), random(rng, (4, 2), np.float64)
    out = kernels.matmul(a32, b64)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, a32.astype(np.float64) @ b64, rtol=1e-12)
    ai, bi = np.arange(12).reshape(3, 4), np.arange(8).reshape(4, 2)
    assert kernels.matmul(ai, bi).dtype == np.matmul(ai, bi).dtype
    np.testing.assert_array_equal(kernels.matmul(ai, bi), ai @ bi)
    assert kernels.matmul(a32, bi).dtype == np.result_type(a32, bi)


@pytest.mark.parametrize("call, error, match", [
    (lambda a, b: kernels.matmul(a, b.T), ValueError, r"\(5, 4\) @ \(3, 4\)"),
    (lambda a, b: kernels.matmul(a.tolist(), b), TypeError, "ndarrays"),
    (lambda a, b: kernels.matmul(a, np.ones(())), ValueError, "at least 1-D"),
    (lambda a, b: kernels.matmul(np.ones((2, 5, 4)), np.ones((3, 4, 3))), ValueError, "broadcast"),
    (lambda a, b: kernels.gemm(a, a), ValueError, r"\(5, 4\) @ op\(b\) \(5, 4\)"),
    (lambda a, b: kernels.gemm(a, b.astype(np.float64)), TypeError, "float32 and float64"),
    (lambda a, b: kernels.gemm(a.astype(np.int32), b), TypeError, "int32"),
    (lambda a, b: kernels.gemm(a[None], b), ValueError, r"2-D, got shape \(1, 5, 4\)"),
    (lambda a, b: kernels.gemm(a, b, out=np.zeros((5, 4), np.float32)), ValueError, r"\(5, 3\)"),
    (lambda a, b: kernels.gemm(a, b, out=np.zeros((5, 3), np.float64)), ValueError, "float32"),
    (lambda a, b: kernels.gemm(a, b, out=np.zeros((3, 5), np.float32).T), ValueError, "contiguous"),
    (lambda a, b: kernels.gemm(a, b, out=[[0.0] * 3] * 5), TypeError, "out must be an ndarray"),
    (lambda a, b: kernels.gemm(a, b, beta=1.0), ValueError, "beta"),
    (lambda a, b: kernels.gemm(a, b, alpha="2"), TypeError, "alpha"),
    (lambda a, b: kernels.gemm("a", b), TypeError, "a must be an ndarray"),
])
def test_bad_input_raises_naming_shapes(backend, call, error, match):
    a, b = np.ones((5, 4), np.float32), np.ones((4, 3), np.float32)
    with pytest.raises(error, match=match):
        call(a, b)


def test_out_overlapping_an_operand_is_refused(backend):
    buf = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="overlaps"):
        kernels.gemm(buf, buf, out=buf)
