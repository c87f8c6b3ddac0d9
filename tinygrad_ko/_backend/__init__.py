"""The single dispatch point between Python and the kernels (C core or NumPy references)."""
from . import kernels
from .selection import (BACKENDS, backend_info, c_available, get_backend, get_num_threads,
                        set_backend, set_num_threads)

__all__ = ["BACKENDS", "backend_info", "c_available", "get_backend", "get_num_threads", "kernels",
           "set_backend", "set_num_threads"]
