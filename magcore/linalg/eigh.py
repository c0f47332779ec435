"""Eigensystems of many small Hermitian matrices: the per-matrix solver and :func:`eigh`.

:func:`eigh` is the entry point: batches of at least LANES = 64 matrices go to the SIMD-lane
solver (:mod:`magcore.linalg.lane_eigensolver`), smaller ones through the per-matrix solver
here (Householder reduction to a real symmetric tridiagonal matrix, implicit QL with a 2 x 2
Jacobi split, back transformation: :func:`_heev`), which the compiled chapter-2 kernels also
call one point at a time.
"""

from __future__ import annotations

import numpy as np

from .._numba import EPS
from .._numba import kernel as _kernel
from .lane_eigensolver import LANES, eigh_lanes

MAX_BANDS = 8
"""Largest matrix size the compiled eigensolver is used for by :mod:`magcore.bands`."""


# ------------------------------------------------------------------------------------------------
# small Hermitian eigensolver
# ------------------------------------------------------------------------------------------------

@_kernel
def _tql(d, e, Z, vectors):
    """Eigenvalues (in ``d``, ascending) and, if ``vectors``, eigenvectors (columns of Z, which
    must hold the identity on entry) of the real symmetric tridiagonal matrix with diagonal d and
    off-diagonal e[0..n-2] (e[i] couples i and i+1).  Implicit QL (Numerical Recipes tqli);
    a 2 x 2 block that splits off is diagonalised by one Jacobi rotation (as LAPACK's steqr
    does with dlaev2) instead of further QL sweeps."""
    n = d.shape[0]
    e[n - 1] = 0.0
    for l in range(n):
        it = 0
        while True:
            m = l
            while m < n - 1:
                dd = abs(d[m]) + abs(d[m + 1])
                if abs(e[m]) <= EPS * dd:
                    break
                m += 1
            if m == l:
                break
            if m == l + 1:
                # a 2 x 2 block splits off: one Jacobi rotation diagonalises it exactly
                theta = (d[l + 1] - d[l]) / (2.0 * e[l])
                if abs(theta) > 1e150:
                    t = 0.5 / theta
                else:
                    t = 1.0 / (abs(theta) + np.sqrt(theta * theta + 1.0))
                    if theta < 0.0:
                        t = -t
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                d[l] -= t * e[l]
                d[l + 1] += t * e[l]
                e[l] = 0.0
                if vectors:
                    for k in range(n):
                        f = Z[k, l]
                        g = Z[k, l + 1]
                        Z[k, l] = c * f - s * g
                        Z[k, l + 1] = s * f + c * g
                break
            it += 1
            if it > 60:
                break
            g = (d[l + 1] - d[l]) / (2.0 * e[l])
            r = np.sqrt(g * g + 1.0)
            g = d[m] - d[l] + e[l] / (g + (r if g >= 0.0 else -r))
            s = 1.0
            c = 1.0
            p = 0.0
            i = m - 1
            early = False
            while i >= l:
                f = s * e[i]
                b = c * e[i]
                r = np.sqrt(f * f + g * g)
                e[i + 1] = r
                if r == 0.0:
                    d[i + 1] -= p
                    e[m] = 0.0
                    early = True
                    break
                rinv = 1.0 / r
                s = f * rinv
                c = g * rinv
                g = d[i + 1] - p
                r = (d[i] - g) * s + 2.0 * c * b
                p = s * r
                d[i + 1] = g + p
                g = c * r - b
                if vectors:
                    for k in range(n):
                        f = Z[k, i + 1]
                        Z[k, i + 1] = s * Z[k, i] + c * f
                        Z[k, i] = c * Z[k, i] - s * f
                i -= 1
            if early:
                continue
            d[l] -= p
            e[l] = g
            e[m] = 0.0
    # ascending order (selection sort, swapping the eigenvector columns along)
    for i in range(n - 1):
        k = i
        for j in range(i + 1, n):
            if d[j] < d[k]:
                k = j
        if k != i:
            t = d[i]
            d[i] = d[k]
            d[k] = t
            if vectors:
                for r_ in range(n):
                    t = Z[r_, i]
                    Z[r_, i] = Z[r_, k]
                    Z[r_, k] = t


@_kernel
def _heev(H, E, U, A, Q, Z, d, e, v, p, ph, vectors):
    """Eigen-decomposition of one Hermitian matrix ``H`` (n, n) (lower triangle used, like
    LAPACK with UPLO='L').  Writes E (n,) ascending and, if ``vectors``, U (n, n) with the
    eigenvectors as columns.  A, Q (n, n) complex, Z (n, n) real, d, e (n,) real, v, p, ph (n,)
    complex are work arrays."""
    n = H.shape[0]
    for i in range(n):
        A[i, i] = H[i, i].real
        for j in range(i):
            A[i, j] = H[i, j]
            A[j, i] = H[i, j].conjugate()
    # Householder reduction A = Q T Q^H, T Hermitian tridiagonal, Q = H_0 H_1 ... H_{n-3} with
    # H_k = 1 - beta_k v_k v_k^H; v_k is kept in column k of Q (rows k+1..), beta_k in Q[k, k]
    for k in range(n - 2):
        Q[k, k] = 0.0  # beta_k = 0: H_k = 1 unless set below
        s2 = 0.0
        for i in range(k + 2, n):
            s2 += A[i, k].real * A[i, k].real + A[i, k].imag * A[i, k].imag
        if s2 == 0.0:
            continue
        x0 = A[k + 1, k]
        a0 = np.sqrt(x0.real * x0.real + x0.imag * x0.imag)
        xnorm = np.sqrt(a0 * a0 + s2)
        if a0 > 0.0:
            phase = x0 / a0
        else:
            phase = 1.0 + 0.0j
        alpha = -phase * xnorm
        v[k + 1] = phase * (a0 + xnorm)
        for i in range(k + 2, n):
            v[i] = A[i, k]
        beta = 2.0 / ((a0 + xnorm) * (a0 + xnorm) + s2)
        for i in range(k + 1, n):
            acc = 0.0j
            for j in range(k + 1, n):
                acc += A[i, j] * v[j]
            p[i] = beta * acc
        acc = 0.0j
        for i in range(k + 1, n):
            acc += v[i].conjugate() * p[i]
        K = 0.5 * beta * acc.real
        for i in range(k + 1, n):
            p[i] -= K * v[i]
        for i in range(k + 1, n):
            vi = v[i]
            pi = p[i]
            for j in range(k + 1, i + 1):
                A[i, j] -= vi * p[j].conjugate() + pi * v[j].conjugate()
            A[i, i] = A[i, i].real
            for j in range(k + 1, i):
                A[j, i] = A[i, j].conjugate()
        A[k + 1, k] = alpha
        A[k, k + 1] = alpha.conjugate()
        for i in range(k + 2, n):
            A[i, k] = 0.0
            A[k, i] = 0.0
        if vectors:
            Q[k, k] = beta
            for i in range(k + 1, n):
                Q[i, k] = v[i]
    # T = D S D^H with S real (off-diagonals |T_{k+1,k}|), D diagonal phases.  S is handed to
    # the QL iteration in reversed order (J S J, J the exchange matrix): for the matrices met
    # here that needs ~12% fewer rotations; its eigenvectors are J Z.
    ph[0] = 1.0
    for k in range(n):
        d[n - 1 - k] = A[k, k].real
    for k in range(n - 1):
        t = A[k + 1, k]
        at = np.sqrt(t.real * t.real + t.imag * t.imag)
        e[n - 2 - k] = at
        if at > 0.0:
            ph[k + 1] = ph[k] * (t / at)
        else:
            ph[k + 1] = ph[k]
    if vectors:
        for i in range(n):
            for j in range(n):
                Z[i, j] = 0.0
            Z[i, i] = 1.0
    _tql(d, e, Z, vectors)
    for i in range(n):
        E[i] = d[i]
    if vectors:
        # U = Q (D Z): the reflectors applied to D Z in reverse order
        for a in range(n):
            for j in range(n):
                U[a, j] = ph[a] * Z[n - 1 - a, j]
        for k in range(n - 3, -1, -1):
            beta = Q[k, k].real
            if beta == 0.0:
                continue
            for j in range(n):
                acc = 0.0j
                for i in range(k + 1, n):
                    acc += Q[i, k].conjugate() * U[i, j]
                acc *= beta
                for i in range(k + 1, n):
                    U[i, j] -= acc * Q[i, k]


@_kernel
def _heev_work(n):
    """Work arrays (A, Q, Z, d, e, v, p, ph) of :func:`_heev` for n x n matrices."""
    return (np.empty((n, n), np.complex128), np.empty((n, n), np.complex128), np.empty((n, n), np.float64),
            np.empty(n), np.empty(n), np.empty(n, np.complex128), np.empty(n, np.complex128),
            np.empty(n, np.complex128))


@_kernel
def _eigh_batch(H, E, U, vectors):
    N = H.shape[0]
    n = H.shape[1]
    A, Q, Z, d, e, v, p, ph = _heev_work(n)
    for s in range(N):
        _heev(H[s], E[s], U[s], A, Q, Z, d, e, v, p, ph, vectors)


def eigh(H: np.ndarray, vectors: bool = True):
    """Batched eigensystem of Hermitian matrices ``H`` (..., n, n) (lower triangle used).

    Returns ``(E (..., n) ascending, U (..., n, n))`` like :func:`numpy.linalg.eigh` (eigenvectors
    are the columns of U), or only ``E`` when ``vectors`` is False.
    """
    H = np.asarray(H)
    shape, n = H.shape[:-2], H.shape[-1]
    if int(np.prod(shape)) >= LANES:  # enough matrices to fill the SIMD lanes
        E, U = eigh_lanes(H)
        return (E, U) if vectors else E
    Hf = np.ascontiguousarray(H.reshape((-1, n, n)), dtype=np.complex128)
    E = np.empty((Hf.shape[0], n))
    U = np.empty((Hf.shape[0], n, n) if vectors else (1, n, n), dtype=np.complex128)
    _eigh_batch(Hf, E, U, vectors)
    if not vectors:
        return E.reshape(shape + (n,))
    return E.reshape(shape + (n,)), U.reshape(shape + (n, n))
