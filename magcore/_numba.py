"""Compile options shared by the numba kernels (:mod:`magcore.kernels`,
:mod:`magcore.linalg`, the tmd model)."""

from __future__ import annotations

import numpy as np
from numba import njit

kernel = njit(cache=True, error_model="numpy")
"""Compile options of every kernel: cached machine code; IEEE division (every division by a
possibly vanishing quantity is guarded explicitly, so Python's ZeroDivisionError checks are
dropped).  No fast-math flags, not even FMA contraction: with strict IEEE arithmetic the packed
SIMD and the scalar code of a loop round identically, so results are bit-for-bit the same
whatever the compiler decides to inline or vectorise, in a process that compiled the kernels and
in one that loaded them from the cache (with contraction they were not: the Dask worker-count
test caught it).  Contraction gave no measurable speed here (benchmarks/README.md)."""

EPS = float(np.finfo(float).eps)
