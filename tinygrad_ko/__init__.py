"""tinygrad_ko: a small deep-learning framework with autodiff over our own SIMD C kernels."""
from ._backend import backend_info, get_backend, get_num_threads, set_backend, set_num_threads

__version__ = "0.1.0"
