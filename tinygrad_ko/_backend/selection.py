"""Which kernels run: the compiled C core ("c") or the NumPy references ("numpy"), and on how many threads.

Chosen by set_backend()/set_num_threads() or the environment variables TINYGRAD_KO_BACKEND and
TINYGRAD_KO_NUM_THREADS. If the compiled module cannot be imported the package still works: it warns
once, with the reason and the rebuild command, and runs on NumPy.
"""
import os
import warnings

from . import ref

try:
    from . import c as _c
    _c_error = None
except ImportError as exc:  # not built, or built for another Python
    _c, _c_error = None, exc

BACKENDS = ("c", "numpy")
REBUILD_HINT = "rebuild the C core with `pip install -e .` from the project root"

impl = ref  # the active kernel module; kernels.py calls through this name


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def set_backend(name):
    """Select the kernels: "c" (compiled SIMD core, the default) or "numpy" (the references)."""
    global impl
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    if name == "c" and _c is None:
        raise RuntimeError(f"the C backend is unavailable ({_c_error}); {REBUILD_HINT}")
    impl = _c if name == "c" else ref


def get_backend():
    return "c" if impl is _c and _c is not None else "numpy"


def c_available():
    return _c is not None


def set_num_threads(n):
    """Threads used by the C kernels (default: the usable cores, or $TINYGRAD_KO_NUM_THREADS)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads expects an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads expects n >= 1, got {n}")
    global _num_threads
    _num_threads = n
    if _c is not None:
        _c.set_num_threads(n)


def get_num_threads():
    return _num_threads


def backend_info():
    """A dict saying which backend is active, what the C core was built for, and the thread count."""
    info = {"backend": get_backend(), "threads": _num_threads, "c_available": _c is not None}
    if _c is not None:
        info.update(_c.build_info())
    else:
        info["c_error"] = str(_c_error)
    return info


def _init_from_environment():
    requested = os.environ.get("TINYGRAD_KO_BACKEND", "c").strip().lower() or "c"
    if requested not in BACKENDS:
        warnings.warn(f"TINYGRAD_KO_BACKEND={requested!r} is not one of {BACKENDS}; using 'c'")
        requested = "c"
    if requested == "c" and _c is None:
        warnings.warn(f"tinygrad_ko: C backend unavailable ({_c_error}); running on the NumPy "
                      f"backend. To fix: {REBUILD_HINT}", RuntimeWarning, stacklevel=3)
        requested = "numpy"
    set_backend(requested)
    threads = os.environ.get("TINYGRAD_KO_NUM_THREADS", "").strip()
    try:
        set_num_threads(int(threads) if threads else _usable_cores())
    except ValueError:
        warnings.warn(f"TINYGRAD_KO_NUM_THREADS={threads!r} is not a positive integer; ignored")
        set_num_threads(_usable_cores())


_num_threads = 1
_init_from_environment()
