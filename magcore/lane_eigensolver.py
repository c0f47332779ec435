"""Eigensolver for many small Hermitian matrices at once, one matrix per SIMD lane (issue 8).

The per-matrix solver :func:`magcore.kernels._heev` spends most of its ~2 us on a 6 x 6 matrix
in dependency chains of scalar square roots, divisions and Givens rotations.  Here the same
algorithm (Householder reduction to a real tridiagonal matrix, implicit QL with a 2 x 2 Jacobi
split, back transformation with the reflectors) runs on a block of ``L`` matrices stored
"structure of arrays": element (i, j) of all matrices is one contiguous vector ``A[i, j, :]`` of
lanes, every loop over lanes is innermost and free of branches (conditions are selects), so the
compiler emits packed SIMD instructions for them (AVX2: 4 lanes of float64).

The data-dependent parts of QL are run in lock step with masks: every lane of the block takes
the same outer steps, and a lane whose own iteration is finished (or which is not taking part
in a step) applies the identity rotation (c, s) = (1, 0), which leaves its numbers unchanged
bit for bit.  The number of sweeps at each stage is the maximum over the lanes of the block.

Layout: matrices H[i, j, lane] as separate real and imaginary parts (lower triangle used, like
LAPACK with UPLO='L'); results E[n, lane] ascending and U[a, j, lane] with eigenvector j in
column j.  Private: used by the kernels in :mod:`magcore.kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from . import _lane_kernels
from ._lane_kernels import heev_fixed
from ._numba import EPS, kernel

LANES = 64
"""Matrices per block: 64 lanes keep the work arrays of a 6 x 6 block in L2 (~0.3 MB) and
amortise the set-up of each lane loop (32 lanes: 15% slower)."""

if _lane_kernels.LANES != LANES:  # pragma: no cover - regenerate: python -m magcore._lane_codegen
    raise ImportError("magcore._lane_kernels was generated for a different LANES")


@kernel
def _lane_work(n, L):
    """Work arrays of :func:`_heev_lanes` for n x n matrices in blocks of L lanes."""
    return (np.empty((n, n, L)), np.empty((n, n, L)),      # Ar, Ai: matrix being reduced
            np.empty((n, n, L)), np.empty((n, n, L)),      # Vr, Vi: reflector k in row k
            np.empty((n, L)),                               # beta
            np.empty((n, L)), np.empty((n, L)),             # pr, pi
            np.empty((n, L)), np.empty((n, L)),             # d, e (reversed tridiagonal)
            np.empty((n, L)), np.empty((n, L)),             # phr, phi: diagonal phases
            np.empty((n, n, L)),                            # Z: tridiagonal eigenvectors
            np.empty((8, L)),                               # per-lane scalars
            np.empty(L, np.int64))                          # per-lane split index m


@kernel
def _lane_buffers(n, L):
    """The flat lane array W of a block of L n x n matrices and its views: the input Hr, Hi
    (n, n, L) and the outputs E (n, L), Ur, Ui (n, n, L) of :func:`_heev_block`.  The generated
    kernels (:mod:`magcore._lane_codegen`) keep their work space in W after these; the layout
    (row r of lane l at W[r * L + l]) is the one of ``magcore._lane_codegen._Layout``."""
    W = np.empty((7 * n * n + 8 * n) * L)
    nn = n * n * L
    nl = n * L
    return (W, W[0:nn].reshape((n, n, L)), W[nn:2 * nn].reshape((n, n, L)),
            W[2 * nn:2 * nn + nl].reshape((n, L)), W[2 * nn + nl:3 * nn + nl].reshape((n, n, L)),
            W[3 * nn + nl:4 * nn + nl].reshape((n, n, L)))


_GENERATED = np.empty(0, np.int8)
_GENERIC = np.empty(0, np.int16)


def block_solver(n: int) -> np.ndarray:
    """Token argument of the lane kernels that picks their block eigensolver at compile time:
    numba specialises a kernel on the token's type, so the generated fixed-size kernels (~40 s
    of cold compilation each) are compiled only into the specialisation used for a matrix size
    that has them (``magcore._lane_kernels.SIZES``)."""
    return _GENERATED if n in _lane_kernels.SIZES else _GENERIC


def _heev_block(W, Hr, Hi, L, E, Ur, Ui, work, solver):
    """Eigensystems of the block of lane matrices in the buffers of :func:`_lane_buffers`: by
    the generated fixed-size kernels if ``solver`` is ``block_solver(n)`` of a size that has them
    (and L == LANES), else by :func:`_heev_lanes`.  Both run the same algorithm and agree to
    round-off.  Compiled code only (the implementations are chosen in :func:`_heev_block_impl`)."""
    raise NotImplementedError("_heev_block is called from compiled kernels only")


@overload(_heev_block, jit_options=dict(cache=True, error_model="numpy"))
def _heev_block_impl(W, Hr, Hi, L, E, Ur, Ui, work, solver):
    if solver.dtype == types.int8:
        def generated(W, Hr, Hi, L, E, Ur, Ui, work, solver):
            if L != LANES or not heev_fixed(W, Hr.shape[0]):
                _heev_lanes(Hr, Hi, L, E, Ur, Ui, work)
        return generated

    def generic(W, Hr, Hi, L, E, Ur, Ui, work, solver):
        _heev_lanes(Hr, Hi, L, E, Ur, Ui, work)
    return generic


@kernel
def _heev_lanes(Hr, Hi, L, E, Ur, Ui, work):
    """Eigen-decomposition of the L matrices H[:, :, 0..L-1] = Hr + i Hi (lower triangle used).

    Writes E[:, lane] (ascending) and U[:, :, lane] = Ur + i Ui (eigenvector j in column j).
    Same algorithm and accuracy as :func:`magcore.kernels._heev` (tests/test_lane_eigensolver.py
    checks both against LAPACK)."""
    Ar, Ai, Vr, Vi, beta, pr, pi, d, e, phr, phi, Z, t, mm = work
    n = Hr.shape[0]
    for i in range(n):
        for j in range(i + 1):
            for l in range(L):
                Ar[i, j, l] = Hr[i, j, l]
                Ai[i, j, l] = Hi[i, j, l]
                Ar[j, i, l] = Hr[i, j, l]
                Ai[j, i, l] = -Hi[i, j, l]
        for l in range(L):
            Ai[i, i, l] = 0.0
    # Householder reduction A = Q T Q^H, Q = H_0 ... H_{n-3}, H_k = 1 - beta_k v_k v_k^H.
    # T's off-diagonal alpha_k = T[k+1, k] is kept in (Vr, Vi)[k, k] (v_k has entries k+1..).
    for k in range(n - 2):
        s2 = t[0]
        for l in range(L):
            s2[l] = 0.0
        for i in range(k + 2, n):
            for l in range(L):
                s2[l] += Ar[i, k, l] * Ar[i, k, l] + Ai[i, k, l] * Ai[i, k, l]
        for l in range(L):
            xr = Ar[k + 1, k, l]
            xi = Ai[k + 1, k, l]
            a0 = np.sqrt(xr * xr + xi * xi)
            xn = np.sqrt(a0 * a0 + s2[l])
            has = s2[l] > 0.0
            nz = a0 > 0.0
            inv = 1.0 / a0
            cr = xr * inv if nz else 1.0
            ci = xi * inv if nz else 0.0
            h = a0 + xn
            b = 2.0 / (h * h + s2[l])
            beta[k, l] = b if has else 0.0
            Vr[k, k + 1, l] = cr * h
            Vi[k, k + 1, l] = ci * h
            Vr[k, k, l] = -cr * xn if has else xr  # alpha = T[k+1, k]
            Vi[k, k, l] = -ci * xn if has else xi
        for i in range(k + 2, n):
            for l in range(L):
                Vr[k, i, l] = Ar[i, k, l]
                Vi[k, i, l] = Ai[i, k, l]
        # p = beta A v, then p -= (beta/2) (v^H p) v
        for i in range(k + 1, n):
            for l in range(L):
                pr[i, l] = 0.0
                pi[i, l] = 0.0
            for j in range(k + 1, n):
                for l in range(L):
                    pr[i, l] += Ar[i, j, l] * Vr[k, j, l] - Ai[i, j, l] * Vi[k, j, l]
                    pi[i, l] += Ar[i, j, l] * Vi[k, j, l] + Ai[i, j, l] * Vr[k, j, l]
        K = t[1]
        for l in range(L):
            K[l] = 0.0
        for i in range(k + 1, n):
            for l in range(L):
                pr[i, l] *= beta[k, l]
                pi[i, l] *= beta[k, l]
                K[l] += Vr[k, i, l] * pr[i, l] + Vi[k, i, l] * pi[i, l]
        for l in range(L):
            K[l] *= 0.5 * beta[k, l]
        for i in range(k + 1, n):
            for l in range(L):
                pr[i, l] -= K[l] * Vr[k, i, l]
                pi[i, l] -= K[l] * Vi[k, i, l]
        # A <- A - v p^H - p v^H on the trailing block (both triangles)
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                for l in range(L):
                    Ar[i, j, l] -= (Vr[k, i, l] * pr[j, l] + Vi[k, i, l] * pi[j, l]
                                    + pr[i, l] * Vr[k, j, l] + pi[i, l] * Vi[k, j, l])
                    Ai[i, j, l] -= (Vi[k, i, l] * pr[j, l] - Vr[k, i, l] * pi[j, l]
                                    + pi[i, l] * Vr[k, j, l] - pr[i, l] * Vi[k, j, l])
    # T = D S D^H, S real symmetric tridiagonal with off-diagonals |T[k+1, k]|, D = diag(ph);
    # S goes to QL in reversed order (as in _heev), its eigenvectors are then J Z
    for l in range(L):
        phr[0, l] = 1.0
        phi[0, l] = 0.0
    for k in range(n):
        for l in range(L):
            d[n - 1 - k, l] = Ar[k, k, l]
    for k in range(n - 1):
        for l in range(L):
            if k < n - 2:
                tr = Vr[k, k, l]
                ti = Vi[k, k, l]
            else:
                tr = Ar[n - 1, n - 2, l]
                ti = Ai[n - 1, n - 2, l]
            at = np.sqrt(tr * tr + ti * ti)
            e[n - 2 - k, l] = at
            nz = at > 0.0
            inv = 1.0 / at
            ur = tr * inv if nz else 1.0
            ui = ti * inv if nz else 0.0
            phr[k + 1, l] = phr[k, l] * ur - phi[k, l] * ui
            phi[k + 1, l] = phr[k, l] * ui + phi[k, l] * ur
    for i in range(n):
        for j in range(n):
            for l in range(L):
                Z[i, j, l] = 1.0 if i == j else 0.0
    _tql_lanes(d, e, Z, L, t, mm)
    for i in range(n):
        for l in range(L):
            E[i, l] = d[i, l]
    # U = Q (D J Z): the reflectors applied in reverse order
    for a in range(n):
        for j in range(n):
            for l in range(L):
                z = Z[n - 1 - a, j, l]
                Ur[a, j, l] = phr[a, l] * z
                Ui[a, j, l] = phi[a, l] * z
    sr = t[0]
    si = t[1]
    for k in range(n - 3, -1, -1):
        for j in range(n):
            for l in range(L):
                sr[l] = 0.0
                si[l] = 0.0
            for i in range(k + 1, n):
                for l in range(L):  # conj(v_i) U_ij
                    sr[l] += Vr[k, i, l] * Ur[i, j, l] + Vi[k, i, l] * Ui[i, j, l]
                    si[l] += Vr[k, i, l] * Ui[i, j, l] - Vi[k, i, l] * Ur[i, j, l]
            for i in range(k + 1, n):
                for l in range(L):
                    ar = beta[k, l] * sr[l]
                    ai = beta[k, l] * si[l]
                    Ur[i, j, l] -= ar * Vr[k, i, l] - ai * Vi[k, i, l]
                    Ui[i, j, l] -= ar * Vi[k, i, l] + ai * Vr[k, i, l]


@kernel
def _tql_lanes(d, e, Z, L, t, mm):
    """Implicit QL with a 2 x 2 Jacobi split (:func:`magcore.kernels._tql`) on L real symmetric
    tridiagonal matrices in lock step; eigenvalues ascending in d, eigenvectors in the columns
    of Z (identity on entry)."""
    n = d.shape[0]
    s = t[2]
    c = t[3]
    p = t[4]
    g = t[5]
    run = t[6]   # 1.0 while the lane's current QL sweep goes on, else 0.0
    two = t[7]   # 1.0 for lanes whose 2 x 2 block splits off
    zs = t[0]    # rotation applied to Z: the lane's own (s, c), or (0, 1) if it sits out
    zc = t[1]
    for l in range(L):
        e[n - 1, l] = 0.0
    for lev in range(n):
        for it in range(64):
            # m = first index >= lev with a negligible e[m] (e[n-1] = 0)
            for l in range(L):
                mm[l] = n - 1
            for q in range(n - 2, lev - 1, -1):
                for l in range(L):
                    small = abs(e[q, l]) <= EPS * (abs(d[q, l]) + abs(d[q + 1, l]))
                    mm[l] = q if small else mm[l]
            mmax = lev
            for l in range(L):
                mmax = max(mmax, mm[l])
            if mmax == lev:
                break
            # 2 x 2 blocks (m = lev + 1): one Jacobi rotation
            any_two = False
            for l in range(L):
                two[l] = 1.0 if mm[l] == lev + 1 else 0.0
                any_two = any_two or mm[l] == lev + 1
            if any_two and lev + 1 < n:
                for l in range(L):
                    el = e[lev, l]
                    on = two[l] > 0.0
                    theta = (d[lev + 1, l] - d[lev, l]) / (2.0 * el)
                    tt = 1.0 / (abs(theta) + np.sqrt(theta * theta + 1.0))
                    tt = 0.5 / theta if abs(theta) > 1e150 else (-tt if theta < 0.0 else tt)
                    cc = 1.0 / np.sqrt(tt * tt + 1.0)
                    tt = tt if on else 0.0
                    c[l] = cc if on else 1.0
                    s[l] = tt * cc if on else 0.0
                    d[lev, l] -= tt * el
                    d[lev + 1, l] += tt * el
                    e[lev, l] = 0.0 if on else el
                for r in range(n):
                    for l in range(L):
                        f = Z[r, lev, l]
                        h = Z[r, lev + 1, l]
                        Z[r, lev, l] = c[l] * f - s[l] * h
                        Z[r, lev + 1, l] = s[l] * f + c[l] * h
            if mmax < lev + 2:
                continue
            # QL sweep from m-1 down to lev for the lanes with m >= lev + 2
            for l in range(L):
                on = mm[l] >= lev + 2
                run[l] = 1.0 if on else 0.0
                el = e[lev, l]
                gg = (d[lev + 1, l] - d[lev, l]) / (2.0 * el)
                r = np.sqrt(gg * gg + 1.0)
                g[l] = -d[lev, l] + el / (gg + (r if gg >= 0.0 else -r))
                s[l] = 1.0
                c[l] = 1.0
                p[l] = 0.0
            for q in range(lev + 2, n):  # g += d[m] (a select per row: no gathers)
                for l in range(L):
                    g[l] += d[q, l] if mm[l] == q else 0.0
            for i in range(mmax - 1, lev - 1, -1):
                for l in range(L):
                    on = run[l] > 0.0 and i < mm[l]
                    ei = e[i, l]
                    f = s[l] * ei
                    b = c[l] * ei
                    r = np.sqrt(f * f + g[l] * g[l])
                    stop = on and r == 0.0  # underflow: deflate here (Numerical Recipes tqli)
                    on = on and r != 0.0
                    rinv = 1.0 / r
                    sn = f * rinv
                    cn = g[l] * rinv
                    gn = d[i + 1, l] - p[l]
                    rn = (d[i, l] - gn) * sn + 2.0 * cn * b
                    pn = sn * rn
                    e[i + 1, l] = r if (on or stop) else e[i + 1, l]
                    d[i + 1, l] = gn + pn if on else (d[i + 1, l] - p[l] if stop else d[i + 1, l])
                    g[l] = cn * rn - b if on else g[l]
                    p[l] = pn if on else p[l]
                    s[l] = sn if on else s[l]
                    c[l] = cn if on else c[l]
                    zs[l] = sn if on else 0.0
                    zc[l] = cn if on else 1.0
                    run[l] = -1.0 if stop else run[l]
                for r_ in range(n):
                    for l in range(L):
                        f = Z[r_, i + 1, l]
                        Z[r_, i + 1, l] = zs[l] * Z[r_, i, l] + zc[l] * f
                        Z[r_, i, l] = zc[l] * Z[r_, i, l] - zs[l] * f
            for l in range(L):
                done = run[l] > 0.0
                d[lev, l] -= p[l] if done else 0.0
                e[lev, l] = g[l] if done else e[lev, l]
            for q in range(lev + 2, n):
                for l in range(L):
                    e[q, l] = 0.0 if (run[l] != 0.0 and mm[l] == q) else e[q, l]
    # ascending order: odd-even transposition sort, eigenvector columns along
    for rnd in range(n):
        for i in range(rnd % 2, n - 1, 2):
            for l in range(L):
                sw = d[i + 1, l] < d[i, l]
                a = d[i, l]
                b = d[i + 1, l]
                d[i, l] = b if sw else a
                d[i + 1, l] = a if sw else b
                s[l] = 1.0 if sw else 0.0
            for r_ in range(n):
                for l in range(L):
                    sw = s[l] > 0.0
                    a = Z[r_, i, l]
                    b = Z[r_, i + 1, l]
                    Z[r_, i, l] = b if sw else a
                    Z[r_, i + 1, l] = a if sw else b


@kernel
def _eigh_lanes_batch(H, E, U, solver):
    """H (N, n, n) complex -> E (N, n), U (N, n, n), in blocks of LANES lanes (the last block
    padded with identity matrices); ``solver`` = :func:`block_solver` (n)."""
    N, n = H.shape[0], H.shape[1]
    L = LANES
    work = _lane_work(n, L)
    W, Hr, Hi, El, Ur, Ui = _lane_buffers(n, L)
    for s0 in range(0, N, L):
        for l in range(L):
            if s0 + l < N:
                for i in range(n):
                    for j in range(i + 1):
                        Hr[i, j, l] = H[s0 + l, i, j].real
                        Hi[i, j, l] = H[s0 + l, i, j].imag
            else:
                for i in range(n):
                    for j in range(i + 1):
                        Hr[i, j, l] = 1.0 if i == j else 0.0
                        Hi[i, j, l] = 0.0
        _heev_block(W, Hr, Hi, L, El, Ur, Ui, work, solver)
        for l in range(min(L, N - s0)):
            for i in range(n):
                E[s0 + l, i] = El[i, l]
                for j in range(n):
                    U[s0 + l, i, j] = Ur[i, j, l] + 1j * Ui[i, j, l]


def eigh_lanes(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigensystem of Hermitian matrices ``H`` (..., n, n) (lower triangle used) by the SIMD-lane
    solver: ``(E (..., n) ascending, U (..., n, n))`` with the eigenvectors as columns, like
    :func:`numpy.linalg.eigh`."""
    H = np.asarray(H)
    shape, n = H.shape[:-2], H.shape[-1]
    Hf = np.ascontiguousarray(H.reshape((-1, n, n)), dtype=np.complex128)
    if not Hf.flags.writeable:  # one compiled specialisation (see magcore._numba)
        Hf = Hf.copy()
    E = np.empty((Hf.shape[0], n))
    U = np.empty((Hf.shape[0], n, n), np.complex128)
    _eigh_lanes_batch(Hf, E, U, block_solver(n))
    return E.reshape(shape + (n,)), U.reshape(shape + (n, n))
