"""tinygrad_ko: a small deep-learning framework with autodiff over our own SIMD C kernels."""
from ._backend import backend_info, get_backend, get_num_threads, set_backend, set_num_threads
from .autograd import enable_grad, grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .tensor import (Tensor, arange, concatenate, default_rng, eye, full, manual_seed, maximum,
                     minimum, ones, ones_like, pad, rand, randint, randn, split, stack, where,
                     zeros, zeros_like)

__version__ = "0.1.0"
