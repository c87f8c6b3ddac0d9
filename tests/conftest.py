import os

import numpy as np
import pytest

import tinygrad_ko as tg
from tinygrad_ko._backend import c_available, get_backend, set_backend

REQUIRE_C = os.environ.get("TINYGRAD_KO_REQUIRE_C") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "kernel: C-kernel test, also run under ASan/UBSan")
    if REQUIRE_C and not c_available():
        raise pytest.UsageError(f"TINYGRAD_KO_REQUIRE_C=1 but the C backend is unavailable: "
                                f"{tg.backend_info().get('c_error')}")


@pytest.fixture(params=["c", "numpy"])
def backend(request):
    """Runs a test once per backend, restoring the previous one afterwards."""
    if request.param == "c" and not c_available():
        pytest.skip("C backend not built")
    previous = get_backend()
    set_backend(request.param)
    yield request.param
    set_backend(previous)


@pytest.fixture
def c_impl():
    """The C backend module itself, for kernel tests that call it directly."""
    if not c_available():
        pytest.skip("C backend not built")
    from tinygrad_ko._backend import c
    return c


@pytest.fixture(params=[0, 1, 2], ids=["generic", "avx2", "avx512"])
def simd(request, c_impl):
    """Runs a kernel test once per SIMD body the CPU has, restoring the best one afterwards."""
    best = c_impl.select_simd(99)
    if request.param > best:
        pytest.skip("CPU lacks this ISA")
    c_impl.select_simd(request.param)
    yield request.param
    c_impl.select_simd(best)


@pytest.fixture
def torch():
    """PyTorch as an oracle, when installed (and not under the sanitizer build)."""
    if os.environ.get("TINYGRAD_KO_NO_TORCH") == "1":
        pytest.skip("torch oracle disabled (TINYGRAD_KO_NO_TORCH=1)")
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
