"""Compile options shared by the numba kernels (:mod:`magcore.kernels`,
:mod:`magcore.lane_eigensolver`)."""

from __future__ import annotations

import numpy as np
from numba import njit

kernel = njit(cache=True, error_model="numpy", fastmath={"contract"})
"""Compile options of every kernel: cached machine code; IEEE division (every division by a
possibly vanishing quantity is guarded explicitly, so Python's ZeroDivisionError checks are
dropped); fused multiply-add allowed (no other reassociation; results still agree with the numpy
reference to round-off, tests/test_kernels.py)."""

EPS = float(np.finfo(float).eps)
