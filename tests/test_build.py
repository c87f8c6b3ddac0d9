import importlib.util
import os
import re

import pytest

import tinygrad_ko as tg
from tinygrad_ko._backend import c_available

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("build_ffi_under_test", os.path.join(ROOT, "csrc", "build_ffi.py"))


@pytest.fixture(scope="module")
def build_ffi():
    module = importlib.util.module_from_spec(spec)
    cwd = os.getcwd()
    os.chdir(ROOT)  # the build script resolves sources relative to the project root
    try:
        spec.loader.exec_module(module)
    finally:
        os.chdir(cwd)
    return module


def test_cdef_drops_preprocessor_lines(build_ffi):
    text = "#ifndef X\n#define X\nint tk_a(void);\n  #include <y.h>\nvoid tk_b(int n);\n#endif\n"
    assert build_ffi.cdef_from_header(text).split() == "int tk_a(void); void tk_b(int n);".split()


def test_header_and_binding_agree(build_ffi):
    if not c_available():
        pytest.skip("C backend not built")
    from tinygrad_ko._tk import lib
    with open(os.path.join(ROOT, "csrc", "tk.h")) as f:
        names = set(re.findall(r"\b(tk_\w+)\s*\(", build_ffi.cdef_from_header(f.read())))
    assert names and all(hasattr(lib, name) for name in names)


@pytest.mark.parametrize("env, present, absent", [
    ({}, ["-O3", "-march=native", "-fopenmp"], ["-fsanitize=address,undefined"]),
    ({"TINYGRAD_KO_PORTABLE": "1"}, ["-O3", "-fopenmp"], ["-march=native"]),
    ({"TINYGRAD_KO_OPENMP": "0"}, ["-O3"], ["-fopenmp"]),
    ({"TINYGRAD_KO_SANITIZE": "1"}, ["-fsanitize=address,undefined", "-g"], ["-O3"]),
])
def test_build_flags_follow_environment(build_ffi, env, present, absent):
    args = build_ffi.compile_args(env)
    assert all(a in args for a in present) and not any(a in args for a in absent)
    assert ("-fsanitize=address,undefined" in build_ffi.link_args(env)) == ("TINYGRAD_KO_SANITIZE" in env)


def test_backend_info_reports_backend_simd_threads():
    info = tg.backend_info()
    assert info["backend"] in ("c", "numpy") and info["threads"] >= 1
    if c_available():
        assert info["simd"] in ("avx512", "avx2", "generic") and isinstance(info["openmp"], bool)


def test_set_backend_and_threads_validate():
    with pytest.raises(ValueError, match="unknown backend"):
        tg.set_backend("cuda")
    with pytest.raises(TypeError):
        tg.set_num_threads(1.5)
    with pytest.raises(ValueError):
        tg.set_num_threads(0)
    before = tg.get_num_threads()
    tg.set_num_threads(1)
    assert tg.backend_info()["threads"] == 1
    tg.set_num_threads(before)


@pytest.mark.kernel
def test_simd_level_can_be_lowered_and_restored():
    if not c_available():
        pytest.skip("C backend not built")
    from tinygrad_ko._backend import c
    best = c.select_simd(99)
    assert c.select_simd(0) == 0 and c.build_info()["simd"] == "generic"
    assert c.select_simd(best) == best
