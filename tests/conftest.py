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
def torch():
    """PyTorch as an oracle, when installed (and not under the sanitizer build)."""
    if os.environ.get("TINYGRAD_KO_NO_TORCH") == "1":
        pytest.skip("torch oracle disabled (TINYGRAD_KO_NO_TORCH=1)")
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
