"""Validating entry points to the kernels: every check happens here, once, before either backend runs.

Bad input raises TypeError/ValueError naming the argument, shapes and dtypes; the C core validates
nothing, so nothing reaches it unchecked.
"""
import numpy as np  # noqa: F401

from . import selection  # noqa: F401
