"""Conventions of the compiled per-patient loops (numba kernels) the stages share.

Every kernel is compiled with :data:`JIT` (cached beside the package, so a process after the
first loads it instead of compiling; no GIL; numpy's division semantics, x / 0 = inf, rather
than Python's exception) and takes its arrays through :func:`kernel_array`, so that each
kernel has one compiled version. Kernels index without bounds checks: the Python functions
around them check shapes and codes first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["JIT", "kernel_array"]

JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


def kernel_array(array, dtype) -> np.ndarray:
    """``array`` as the kernels take it: C-contiguous, writable and of ``dtype``; copied only
    if it is not already."""
    return np.require(array, dtype, "CW")
