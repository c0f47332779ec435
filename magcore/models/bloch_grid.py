"""Bloch sums of real-space hoppings on product grids of k, one lattice axis at a time.

For hoppings H(R) on integer lattice vectors R = (R_1 .. R_d) the Bloch sum

    G(f) = sum_R H(R) exp(2 pi i f . R)                      (f: fractional k, k = f @ b)

factorises over the lattice axes.  When the k-points of a batch lie on a product grid
F_1 x ... x F_d (every point of a uniform mesh, or a contiguous block of one in C order), the
sum is done axis by axis on the dense box of R: the last axis first,

    A_d(R_1 .. R_{d-1}; f_d) = sum_{R_d} H(R) exp(2 pi i f_d R_d), ... ,

each step one matrix product with the (|F_i| x r_i) phase matrix, or, when F_i is a whole
uniform axis f = (j + s) / N (j = 0 .. N-1), one inverse FFT of length N of the hoppings folded
modulo N with the pre-phase exp(2 pi i s R_i / N) (numpy.fft; the fold makes R ranges longer
than N exact).  The cost is ~ K r_1 n^2 instead of ~ K n_R n^2 for the direct sum over all R
(K points, n bands, n_R vectors, r_i the extent of R along axis i).  The derivative
dG/dk_a = sum_R i (R @ A)_a H(R) exp(i k . R_cart) is sum_i A[i, a] times the same transform of
i R_i H(R) (A: lattice vectors as rows).

Only the hoppings' summation order changes: the results equal the direct sum to round-off
(tests/physics/test_wannier90_fast_path.py).  Used by :class:`magcore.models.tight_binding.
TightBindingModel` for batches of at least :data:`MIN_POINTS` k-points.
"""

from __future__ import annotations

import numpy as np

MIN_POINTS = 64
"""Smaller batches take the direct sum (the grid analysis costs more than it saves)."""

FFT_MIN_EXTENT = 48
"""An axis that is a whole uniform axis of the grid is transformed by FFT when the extent r_i
of R along it is at least this; below, the phase-matrix product is faster (one axis of N = 48
and 96 points, 256 matrix elements: FFT 7.4 / 27 ms against 6.3 / 31 ms at r = 48, 5.8 / 23 ms
against 4.2 / 22 ms at r = 24; benchmarks/README.md).  Wannier90 files have r_i = the DFT
k-grid (~4-20), so their sums take the product."""

_SAME = 1e-12
"""Fractional coordinates closer than this are one grid value (the points of a mesh come from
one fractional value per axis; the Cartesian round trip adds ~1e-16)."""


def grid_axes(frac: np.ndarray):
    """The product-grid structure of the fractional k-points ``frac`` (K, d): per axis the
    distinct values F_i (sorted) and the index of every point in them, or None when the points
    are not on a product grid of at most 2 K nodes (then the direct sum is cheaper)."""
    K, d = frac.shape
    values, index = [], []
    size = 1
    for i in range(d):
        x = frac[:, i]
        order = np.argsort(x, kind="stable")
        xs = x[order]
        new = np.empty(K, dtype=bool)
        new[0] = True
        new[1:] = np.diff(xs) > _SAME
        group = np.cumsum(new) - 1
        first = xs[new]
        if np.any(np.abs(xs - first[group]) > _SAME):
            return None
        idx = np.empty(K, dtype=np.int64)
        idx[order] = group
        values.append(first)
        index.append(idx)
        size *= len(first)
    if size > 2 * K:
        return None
    return values, index


def _uniform_shift(F: np.ndarray):
    """s when F = (j + s) / N for j = 0 .. N-1 (N = len(F), up to one integer offset of s),
    else None."""
    N = len(F)
    if N < 2:
        return None
    s = F * N - np.arange(N)
    if np.ptp(s) > 1e-9:
        return None
    return float(np.mean(s))


def _box(R: np.ndarray, X: np.ndarray):
    """The hoppings X (P, n_R, c) on the dense box of R: (P, r_1, .., r_d, c), and the lowest R."""
    lo = R.min(axis=0)
    ext = R.max(axis=0) - lo + 1
    box = np.zeros((X.shape[0],) + tuple(int(e) for e in ext) + X.shape[2:], dtype=complex)
    box[(slice(None),) + tuple((R - lo).T)] = X  # R vectors are distinct
    return box, lo


def _axis_transform(A: np.ndarray, axis: int, lo: int, F: np.ndarray) -> np.ndarray:
    """sum over R_i of A[.., R_i - lo, ..] exp(2 pi i F R_i) along ``axis`` of A (replaced by F)."""
    r = A.shape[axis]
    s = _uniform_shift(F) if r >= FFT_MIN_EXTENT else None
    if s is not None:
        N = len(F)
        Ri = lo + np.arange(r)
        pre = np.exp(2j * np.pi * s * Ri / N).reshape((r,) + (1,) * (A.ndim - axis - 1))
        folded = np.zeros(A.shape[:axis] + (N,) + A.shape[axis + 1:], dtype=complex)
        for j in range(r):  # fold modulo N (R ranges longer than N alias exactly)
            folded[(slice(None),) * axis + (int(Ri[j] % N),)] += A[(slice(None),) * axis + (j,)] * pre[j]
        return np.fft.ifft(folded, axis=axis) * N  # sum_R folded[R] exp(+2 pi i j R / N)
    P = np.exp(2j * np.pi * np.outer(F, lo + np.arange(r)))  # (|F|, r)
    lead = int(np.prod(A.shape[:axis]))
    out = np.matmul(P, A.reshape(lead, r, -1))  # (lead, |F|, rest), contiguous
    return out.reshape(A.shape[:axis] + (len(F),) + A.shape[axis + 1:])


def bloch_on_grid(R: np.ndarray, H: np.ndarray, lattice: np.ndarray, frac: np.ndarray, value: bool = True,
                  derivative: bool = False, axes=None):
    """G(f) = sum_R H(R) exp(2 pi i f . R) (K, n, n) at the fractional points ``frac`` (K, d)
    if ``value``, and dG/dk = sum_R i R_cart H(R) exp(...) (K, d, n, n), k Cartesian, if
    ``derivative`` (None for what is not asked), from R (n_R, d) integers, H (n_R, n, n) and
    the lattice vectors (rows of ``lattice``, R_cart = R @ lattice).  Returns None when the
    points are not on a product grid (:func:`grid_axes`); pass ``axes`` to reuse its result."""
    K, d = frac.shape
    n = H.shape[-1]
    axes = grid_axes(frac) if axes is None else axes
    if axes is None:
        return None
    values, index = axes
    X = H.reshape(len(R), n * n)
    Rc = R @ lattice
    parts = ([X] if value else []) + ([(1j * Rc[:, a, None]) * X for a in range(d)] if derivative else [])
    box, lo = _box(R, np.stack(parts))  # (P, r_1 .. r_d, n^2)
    for ax in range(d, 0, -1):
        box = _axis_transform(box, ax, int(lo[ax - 1]), values[ax - 1])
    sizes = tuple(len(v) for v in values)
    flat = np.ravel_multi_index(tuple(index), sizes)
    T = box.reshape(len(parts), -1, n * n)
    if not (len(flat) == T.shape[1] and np.array_equal(flat, np.arange(len(flat)))):
        T = T[:, flat]  # a block of the grid, or its points in another order
    G = T[0].reshape(K, n, n) if value else None
    dG = np.moveaxis(T[int(value):], 0, 1).reshape(K, d, n, n) if derivative else None
    return G, dG
