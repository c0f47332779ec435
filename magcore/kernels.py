"""Numba kernels for the hot k-space loops.

Two kinds of compiled kernels, all single-threaded (parallelism is Dask's job) and compiled
with ``cache=True`` (the first call in a fresh environment compiles, later processes load the
machine code from ``magcore/__pycache__``); the eigensystems come from :mod:`magcore.linalg`
(per matrix, ``_heev``, or in SIMD lanes, ``_heev_block``):

* a closed-form two-band path: from the d-vector of H = d_0 + d . s and its Jacobians, the
  band energies, dE/dl = d_0' -/+ d_hat . d', and the pair Berry curvature
  Omega^-_{ab} = -(1/2) d . (d_a x d_b) / |d|^3 of the lower band (the sum-over-states result of
  :mod:`magcore.geometry`, to round-off);
* fused chapter-2 kernels (:func:`chapter2_sums`): for one (m-chunk, k-block) every k-sum of
  :data:`magcore.quantities.KERNEL_SUMS` is accumulated in a single pass, with the matrix
  elements V = U^dag [dH/dk; dH/dm] U computed once per point and reused by every sum.  Each sum
  has one accumulation routine (``_sea_*`` for the Fermi sea, on SIMD lanes; ``_surface_*`` for
  the Fermi surface, per point), called by all three drivers: the per-point kernel
  (:func:`_chapter2_generic`, one lane), the closed-form two-band kernel and, for models with an
  exchange coupling, the lane kernel (:func:`_chapter2_lanes`: eigensystems, matrix elements,
  occupations and Fermi-sea sums of LANES k-points at once).  The occupied Berry curvature is
  accumulated over every pair of parameters (k, m) at once, so its (m, m), (k, m) and (k, k)
  blocks (Omega_mm, intrinsic H^E and pumping, anomalous Hall conductivity) come from one sum.
  User models with many bands (:data:`BATCHED_MIN_BANDS`) take a fourth driver,
  :func:`_chapter2_batched`: eigensystems by LAPACK on stacked matrices, matrix elements by
  batched matrix products, the same lane sums (:func:`_chapter2_elements`).
  Semantics are those of the numpy reference :func:`magcore.sphere._sphere_partial_sums_numpy`
  (same keys, shapes, degeneracy counting, T = 0 and T > 0, smearing, the cutoff-centre
  Jacobian term of dG/dm).

The model evaluation (H, dH/dk, dH/dm or the d-vector and its Jacobians) is the model's: numpy
or its own compiled code, evaluated as arrays and copied into the lanes.  No kernel takes a
function argument: its type would hold the dispatcher's address, and every new process would
miss the on-disk cache and compile again (two at once can corrupt the cache index).
"""

from __future__ import annotations

import numpy as np

from ._numba import kernel as _kernel
from .linalg.eigh import _heev, _heev_work
from .linalg.lane_eigensolver import LANES, _heev_block, _lane_buffers, _lane_work, block_solver
from .models.base import Model, TwoBandModel
from .occupation import FERMI_WINDOW
from .quantities import KERNEL_SUMS

_BATCH_BYTES = 24 * 2**20
"""Target size of the model arrays (H, dH) evaluated per sub-batch of an (m-chunk, k-block)."""


# ------------------------------------------------------------------------------------------------
# scalar helpers (bit-compatible with magcore.occupation / scipy.special.expit)
# ------------------------------------------------------------------------------------------------

@_kernel
def _fermi(E, mu, T):
    if T == 0.0:
        if E < mu:
            return 1.0
        if E == mu:
            return 0.5
        return 0.0
    # magcore.occupation.fermi_dirac: scipy.special.expit(-(E - mu) / T), exactly 0 beyond
    # FERMI_WINDOW T (bands outside the window skip the Fermi-surface terms)
    x = (E - mu) / T
    if x > FERMI_WINDOW:
        return 0.0
    return 1.0 / (1.0 + np.exp(x))


@_kernel
def _fermi_derivative(E, mu, T):
    if T == 0.0:
        return 0.0
    f = _fermi(E, mu, T)
    return -f * (1.0 - f) / T


@_kernel
def _grand_potential(E, mu, T):
    if T == 0.0:
        x = E - mu
        return x if x < 0.0 else 0.0
    y = -(E - mu) / T  # numpy.logaddexp(0, y)
    if y == 0.0:
        return -T * np.log(2.0)
    if y < 0.0:
        return -T * np.log1p(np.exp(y))
    return -T * (y + np.log1p(np.exp(-y)))


# ------------------------------------------------------------------------------------------------
# the chapter-2 k-sums (magcore.quantities.KERNEL_SUMS): one accumulation routine per sum
#
# Parameters lambda = (k_1 .. k_d, m_x, m_y, m_z) (index x < d: k, else m), matrix elements
# V_x = U^dag dH/dlambda_x U, diagonal D[x, n] = dE_n/dlambda_x.  The Fermi-sea routines work on
# SIMD lanes (arrays lane-last; the per-point kernels call them with one lane), the
# Fermi-surface routines per point (lane ``l``), for the points with a band where df0/de != 0.
# ------------------------------------------------------------------------------------------------

@_kernel
def _occupations(El, mu, T, T_fs, f, fp, g, on_surface):
    """f0 (n, L) at T, df0/de (n, L) at T_fs, sum_n g(E_n) per lane (L,), and per lane whether a
    band has df0/de != 0, for the energies El (n, L)."""
    n, L = El.shape
    for l in range(L):
        g[l] = 0.0
        on_surface[l] = False
    for a in range(n):
        for l in range(L):
            e = El[a, l]
            fa = _fermi(e, mu, T)
            if T_fs == T and T > 0.0:  # same f0 (bit for bit): skip the second exp
                fpa = -fa * (1.0 - fa) / T
            else:
                fpa = _fermi_derivative(e, mu, T_fs)
            f[a, l] = fa
            fp[a, l] = fpa
            g[l] += _grand_potential(e, mu, T)
            on_surface[l] = on_surface[l] or fpa != 0.0


@_kernel
def _pair_weights(El, f, a, b, w, tol, c, near):
    """Weights c[l] = -2 w (f_a - f_b) / (E_a - E_b)^2 of the band pair a < b in the Fermi-sea
    curvature; 0 where f_a = f_b, and 0 where |E_a - E_b| < tol (never divided by: ``near[l]``
    is set and the point counted in n_degenerate).  Returns whether the pair enters on any lane."""
    L = c.shape[0]
    enters = 0
    for l in range(L):
        df = f[a, l] - f[b, l]
        dE = El[a, l] - El[b, l]
        close = (abs(dE) < tol) & (df != 0.0)
        near[l] = near[l] | close
        skip = (df == 0.0) | close
        c[l] = 0.0 if skip else -2.0 * df / (dE * dE) * w[l]
        enters += 0 if skip else 1
    return enters > 0


@_kernel
def _sea_curvature(c, P, acc):
    """Fermi-sea Berry curvature int f0 Omega_{lambda lambda'} (eqs. 2.6, 2.10, 2.17, 2.21), one
    band pair: acc[x, y, l] += c[l] P[x, y, l] for x < y, with P[x, y] = Im(V_x[a, b] V_y[b, a])
    of the pair and c its weight (:func:`_pair_weights`).  The lower triangle is filled by
    antisymmetry when the lanes are reduced."""
    nop = P.shape[0]
    L = c.shape[0]
    for x in range(nop):
        for y in range(x + 1, nop):
            for l in range(L):
                acc[x, y, l] += c[l] * P[x, y, l]


@_kernel
def _sea_free_energy(g, w, acc):
    """Electron free energy int sum_n g(E_n) (eq. 2.12), g per lane from :func:`_occupations`."""
    for l in range(w.shape[0]):
        acc[l] += w[l] * g[l]


@_kernel
def _sea_hellmann_feynman(D, f, w, Jc, dim, acc):
    """dG/dm = int sum_n f0 dE_n/dm (eq. 2.12, Hellmann-Feynman) at fixed q = k - k0(m): the
    derivative at fixed k plus (dk0_j/dm_i) dE_n/dk_j (Jc, zero on lattices).  D (p, n, L)."""
    n, L = f.shape
    for a in range(n):
        for i in range(3):
            for l in range(L):
                x = D[dim + i, a, l]
                for j in range(dim):
                    x += Jc[i, j] * D[j, a, l]
                acc[i, l] += w[l] * f[a, l] * x


@_kernel
def _surface_velocities(D, fp, l, w, tau, dim, acc):
    """-tau int sum_n f0'(E_n) dE_n/dlambda_x dE_n/dlambda_y (eqs. 2.11, 2.17, 2.21) at lane l of
    one point, for y an m direction: the damping (m, m) and the extrinsic H^E and pumping (k, m)
    blocks.  acc (p, p); its columns y < dim (the (k, k) block, a Drude conductivity that no
    quantity uses) are left at zero."""
    nop, n = D.shape[0], D.shape[1]
    for a in range(n):
        if fp[a, l] == 0.0:
            continue
        wfp = -tau * w * fp[a, l]
        for x in range(nop):
            for y in range(dim, nop):
                acc[x, y] += wfp * D[x, a, l] * D[y, a, l]


@_kernel
def _surface_density_of_states(fp, l, w, acc):
    """Density of states at mu, -int sum_n f0'(E_n), at lane l of one point.  acc (1,)."""
    s = 0.0
    for a in range(fp.shape[0]):
        if fp[a, l] != 0.0:
            s += fp[a, l]
    acc[0] -= s * w


@_kernel
def _surface_curvature_E(El, D, Pim, fp, l, w, tau, tol, dim, bo, X, Y):
    """Band-resolved parts of the field-induced curvature Omega^E and damping eta^E (eqs. 2.18,
    2.19) at lane l of one point: X[j, i, q] += tau w f0' Omega^n_{k_j m_i} dE_n/dm_q and
    Y[j, i, q] += tau w f0' v_j Omega^n_{m_i m_q} over the bands with df0/de != 0
    (:func:`_field_induced_curvature` combines them).  Pim[a, b, x, y] = Im(V_x[a, b] V_y[b, a])
    for a < b, x < y, filled for every pair with a band on the Fermi surface.  A band with a
    partner closer than ``tol`` is left out and True returned (the point is counted)."""
    n = El.shape[0]
    bad = False
    for a in range(n):
        if fp[a, l] == 0.0:
            continue
        for i in range(3):
            for q in range(3):
                bo[a, dim + i, dim + q] = 0.0
            for j in range(dim):
                bo[a, j, dim + i] = 0.0
        degenerate = False
        for b in range(n):
            if b == a:
                continue
            dE = El[a, l] - El[b, l]
            if abs(dE) < tol:
                degenerate = True
                break
            # Pim is stored for (lower, upper) pairs and is antisymmetric under their exchange
            if a < b:
                c = -2.0 / (dE * dE)
                lo, hi = a, b
            else:
                c = 2.0 / (dE * dE)
                lo, hi = b, a
            for i in range(3):
                for q in range(i + 1, 3):
                    bo[a, dim + i, dim + q] += c * Pim[lo, hi, dim + i, dim + q]
                for j in range(dim):
                    bo[a, j, dim + i] += c * Pim[lo, hi, j, dim + i]
        if degenerate:
            bad = True
            continue
        wfp = w * fp[a, l] * tau
        for i in range(3):
            for q in range(i + 1, 3):
                om = bo[a, dim + i, dim + q]
                for j in range(dim):
                    t = wfp * D[j, a, l] * om
                    Y[j, i, q] += t
                    Y[j, q, i] -= t
            for j in range(dim):
                t = wfp * bo[a, j, dim + i]
                for q in range(3):
                    X[j, i, q] += t * D[dim + q, a, l]
    return bad


@_kernel
def _field_induced_curvature(X, Y, o_omegaE, o_etaE):
    """Omega^E_{m_i m_q} = Y - (X)_A and eta^E = (X)_S per field direction j (eqs. 2.18, 2.19)."""
    dim = X.shape[0]
    for j in range(dim):
        for i in range(3):
            for q in range(3):
                o_omegaE[j, i, q] = Y[j, i, q] - 0.5 * (X[j, i, q] - X[j, q, i])
                o_etaE[j, i, q] = 0.5 * (X[j, i, q] + X[j, q, i])


@_kernel
def _reduce_lanes(acc_curv, acc_g, acc_hf, o_curv, o_g, o_hf):
    """Add the per-lane Fermi-sea sums of one magnetization to its outputs, lane by lane in
    order; the curvature's lower triangle by antisymmetry."""
    nop, L = acc_curv.shape[0], acc_curv.shape[2]
    g = 0.0
    for l in range(L):
        g += acc_g[l]
        for i in range(3):
            o_hf[i] += acc_hf[i, l]
        for x in range(nop):
            for y in range(x + 1, nop):
                o_curv[x, y] += acc_curv[x, y, l]
                o_curv[y, x] -= acc_curv[x, y, l]
    o_g[0] += g


@_kernel
def _sums_work(B, n, dim, L):
    """Work arrays of the chapter-2 kernels for B magnetizations, n bands, dim k directions and
    L lanes: per-lane Fermi-sea sums (curvature, free energy, dG/dm), per-magnetization
    Fermi-surface parts X, Y of Omega^E and eta^E, and per-point work (occupations, weights,
    diagonal elements D, pair products Pim, band-resolved curvatures)."""
    nop = dim + 3
    return (np.zeros((B, nop, nop, L)), np.zeros((B, L)), np.zeros((B, 3, L)),
            np.zeros((B, dim, 3, 3)), np.zeros((B, dim, 3, 3)),
            np.empty((n, L)), np.empty((n, L)), np.empty(L), np.empty(L, np.bool_), np.empty(L), np.empty(L, np.bool_),
            np.empty((nop, n, L)), np.zeros((n, n, nop, nop)), np.zeros((n, nop, nop)))


_OUTPUTS = ("sea_curvature", "surface_velocities", "free_energy", "hellmann_feynman", "density_of_states",
            "berry_curvature_mm_E", "damping_E", "n_degenerate")
"""The order in which the drivers take their outputs (the order of KERNEL_SUMS; a test checks it)."""


@_kernel
def _finish(s, acc_curv, acc_g, acc_hf, X, Y, nbad, out):
    """Outputs of magnetization s from its lane sums and Fermi-surface parts."""
    o_curv, _, o_g, o_hf, _, o_omegaE, o_etaE, o_ndeg = out
    _reduce_lanes(acc_curv[s], acc_g[s], acc_hf[s], o_curv[s], o_g[s:s + 1], o_hf[s])
    _field_induced_curvature(X[s], Y[s], o_omegaE[s], o_etaE[s])
    o_ndeg[s] += nbad


@_kernel
def _one_point(El, D, Pim, f, fp, g, on_surface, w1, c, near, wk, Jc, tau, tol, dim, s, acc_curv, acc_g, acc_hf,
               bo, X, Y, out):
    """Every chapter-2 sum of one (k, m) point (one lane): E, D, Pim (pairs that enter),
    occupations f, fp, g and on_surface given.  Returns True when the point is counted in
    n_degenerate."""
    n = El.shape[0]
    nop = D.shape[0]
    o_surf, o_dos = out[1], out[4]
    w1[0] = wk
    near[0] = False
    _sea_free_energy(g, w1, acc_g[s])
    for a in range(n):
        for b in range(a + 1, n):
            if _pair_weights(El, f, a, b, w1, tol, c, near):
                _sea_curvature(c, Pim[a, b].reshape((nop, nop, 1)), acc_curv[s])
    _sea_hellmann_feynman(D, f, w1, Jc, dim, acc_hf[s])
    bad = near[0]
    if on_surface[0]:
        _surface_velocities(D, fp, 0, wk, tau, dim, o_surf[s])
        _surface_density_of_states(fp, 0, wk, o_dos[s:s + 1])
        bad = _surface_curvature_E(El, D, Pim, fp, 0, wk, tau, tol, dim, bo, X[s], Y[s]) or bad
    return bad


@_kernel
def _sandwich(dH, U, UH, W, V, need):
    """V[a, c] = (U^H dH U)[a, c] for a <= c where ``need[a, c]``; zero entries of dH are
    skipped (the operators of most models are sparse).  UH = U^H, W is work."""
    n = U.shape[0]
    for a in range(n):
        for c in range(n):
            W[a, c] = 0.0
        for b in range(n):
            h = dH[a, b]
            if h.real == 0.0 and h.imag == 0.0:
                continue
            for c in range(n):
                W[a, c] += h * U[b, c]
    for a in range(n):
        for c in range(a, n):
            if need[a, c]:
                acc = 0.0j
                for b in range(n):
                    acc += UH[a, b] * W[b, c]
                V[a, c] = acc


@_kernel
def _spin_sandwich(J, up, dn, U, P, V, need):
    """Matrix elements V[i][a, c] = <a| J s_i |c> (a <= c where ``need``) of the exchange operator
    on the spin pairs (up[j], dn[j]), from the overlaps P_ud[a, c] = sum_j U*[up_j, a] U[dn_j, c]
    and P_uu[a, c] = sum_j U*[up_j, a] U[up_j, c]:  s_x = P_ud + P_ud^dag,
    s_y = -i P_ud + i P_ud^dag, s_z = P_uu - P_dd = 2 P_uu - 1 (U unitary).  P is work (n, n)."""
    n = U.shape[0]
    r = up.shape[0]
    for a in range(n):
        for c in range(n):
            acc = 0.0j
            for j in range(r):
                acc += U[up[j], a].conjugate() * U[dn[j], c]
            P[a, c] = acc
    for a in range(n):
        for c in range(a, n):
            if not need[a, c]:
                continue
            uu = 0.0j
            for j in range(r):
                uu += U[up[j], a].conjugate() * U[up[j], c]
            x = P[a, c]
            y = P[c, a].conjugate()
            V[0, a, c] = J * (x + y)
            V[1, a, c] = J * (-1j * x + 1j * y)
            V[2, a, c] = J * (2.0 * uu - (1.0 if a == c else 0.0))


@_kernel
def _complex_pair_products(V, a, b, P):
    """P[x, y] = Im(V_x[a, b] V_y[b, a]) for x < y from the complex matrix elements V (p, n, n)
    (V Hermitian: V_y[b, a] = conj(V_y[a, b]))."""
    p = V.shape[0]
    for x in range(p):
        vx = V[x, a, b]
        for y in range(x + 1, p):
            vy = V[y, a, b]
            P[x, y] = vx.imag * vy.real - vx.real * vy.imag


@_kernel
def _chapter2_generic(H, dHk, dHm, Hm, spin_J, up, dn, w, Jc, mu, T, T_fs, tau, tol, out):
    """The chapter-2 sums (``out``, in the order of :data:`magcore.quantities.KERNEL_SUMS`) for
    B magnetizations x K k-points, point by point.

    Point (s, k) has the Hamiltonian H[s, k] + Hm[s] and the operators dHk[s, k] (dim
    matrices) and dHm[s, k] (3 matrices), where a leading axis of length 1 is shared by every
    s (or k).  General models pass H (B, K, n, n), dH/dk (B, K, dim, n, n), dH/dm (B, K, 3, n, n)
    and Hm = 0 (1, n, n); models that declare an exchange coupling M pass H(k; 0) (1, K, n, n),
    dH/dk (1, K, dim, n, n), dH/dm = M (1, 1, 3, n, n) and Hm = m_s . M (B, n, n), so the model
    is evaluated once per k-point instead of once per (k, m).  If ``spin_J`` is nonzero, dH/dm is
    the exchange J s_i on spin pairs (up[j], dn[j]) (:func:`_spin_pairs`) and its matrix elements
    come from the spin-resolved overlaps of the eigenvectors (:func:`_spin_sandwich`).  Outputs
    are indexed by s."""
    B = Hm.shape[0] if Hm.shape[0] > H.shape[0] else H.shape[0]
    K, n = H.shape[1], H.shape[2]
    dim = dHk.shape[2]
    nop = dim + 3
    U = np.empty((n, n), np.complex128)
    A, Q, Z, d, e, v, p, ph = _heev_work(n)
    W = np.empty((n, n), np.complex128)
    UH = np.empty((n, n), np.complex128)
    Hp = np.empty((n, n), np.complex128)
    need = np.empty((n, n), np.bool_)
    V = np.empty((nop, n, n), np.complex128)
    E = np.empty(n)
    El = E.reshape((n, 1))
    acc_curv, acc_g, acc_hf, X, Y, f, fp, g, on_surface, c, near, D, Pim, bo = _sums_work(B, n, dim, 1)
    w1 = np.empty(1)
    for s in range(B):
        sh = s if H.shape[0] > 1 else 0
        sm = s if dHm.shape[0] > 1 else 0
        sx = s if Hm.shape[0] > 1 else 0
        nbad = 0
        for kk in range(K):
            km = kk if dHm.shape[1] > 1 else 0
            for a in range(n):
                for b in range(n):
                    Hp[a, b] = H[sh, kk, a, b] + Hm[sx, a, b]
            _heev(Hp, E, U, A, Q, Z, d, e, v, p, ph, True)
            _occupations(El, mu, T, T_fs, f, fp, g, on_surface)
            # matrix elements that enter: diagonal, pairs of different occupation, and every
            # pair with a band on the Fermi surface (df0/de != 0)
            for a in range(n):
                UH[a, a] = U[a, a].conjugate()
                need[a, a] = True
                for b in range(a + 1, n):
                    UH[a, b] = U[b, a].conjugate()
                    UH[b, a] = U[a, b].conjugate()
                    need[a, b] = f[a, 0] != f[b, 0] or fp[a, 0] != 0.0 or fp[b, 0] != 0.0
            for op in range(nop):
                if op < dim:
                    _sandwich(dHk[sh, kk, op], U, UH, W, V[op], need)
                elif spin_J == 0.0:
                    _sandwich(dHm[sm, km, op - dim], U, UH, W, V[op], need)
                elif op == dim:
                    _spin_sandwich(spin_J, up, dn, U, W, V[dim:], need)
                for a in range(n):
                    D[op, a, 0] = V[op, a, a].real
            for a in range(n):
                for b in range(a + 1, n):
                    if not need[a, b]:
                        continue
                    _complex_pair_products(V, a, b, Pim[a, b])
            if _one_point(El, D, Pim, f, fp, g, on_surface, w1, c, near, w[kk], Jc[s], tau, tol, dim, s,
                          acc_curv, acc_g, acc_hf, bo, X, Y, out):
                nbad += 1
        _finish(s, acc_curv, acc_g, acc_hf, X, Y, nbad, out)


@_kernel
def _lane_block_sums(El, D, Vr, Vi, lo, hi, wl, nl, Jc, mu, T, T_fs, tau, tol, s, P, work, out):
    """The chapter-2 sums of magnetization s over one block of lanes (the first nl of them real
    k-points) from its energies El (n, L), diagonal elements D and the matrix elements Vr, Vi at
    the band pairs a < hi, b >= lo (the only pairs that enter: outside them both bands are full,
    or both empty, at every point; lo = 0, hi = n: every pair): occupations and Fermi-sea sums in
    the lanes, the Fermi-surface sums per point, into the work arrays ``work``
    (:func:`_sums_work`) and the per-point outputs ``out``.  Returns the number of points of the
    block counted in n_degenerate."""
    acc_curv, acc_g, acc_hf, X, Y, fl, fpl, gs, anyfs, cl, flag, _, Pim, bo = work
    o_surf, o_dos = out[1], out[4]
    n, L = El.shape[0], El.shape[1]
    dim = D.shape[0] - 3
    # occupations (the exponentials stay scalar: no vector exp in numba)
    _occupations(El, mu, T, T_fs, fl, fpl, gs, anyfs)
    _sea_free_energy(gs, wl, acc_g[s])
    for l in range(L):
        flag[l] = False
    for a in range(hi):
        for b in range(max(a + 1, lo), n):
            if _pair_weights(El, fl, a, b, wl, tol, cl, flag):
                _lane_pair_products(Vr, Vi, a, b, P)
                _sea_curvature(cl, P, acc_curv[s])
    _sea_hellmann_feynman(D, fl, wl, Jc, dim, acc_hf[s])
    # Fermi surface, per point
    nbad = 0
    for l in range(nl):
        fs_bad = False
        if anyfs[l]:
            for a in range(hi):
                for b in range(max(a + 1, lo), n):
                    if fpl[a, l] == 0.0 and fpl[b, l] == 0.0:
                        continue
                    _lane_point_products(Vr, Vi, a, b, l, dim, Pim[a, b])
            _surface_velocities(D, fpl, l, wl[l], tau, dim, o_surf[s])
            _surface_density_of_states(fpl, l, wl[l], o_dos[s:s + 1])
            fs_bad = _surface_curvature_E(El, D, Pim, fpl, l, wl[l], tau, tol, dim, bo, X[s], Y[s])
        if flag[l] or fs_bad:
            nbad += 1
    return nbad


@_kernel
def _chapter2_elements(E, V, lo, hi, w, Jc, mu, T, T_fs, tau, tol, s, lw, work, out):
    """The chapter-2 sums of magnetization s over K k-points from their energies E (K, n) and
    matrix elements V (K, nop, n, n) = U^dag [dH/dk; dH/dm] U (computed by batched LAPACK and
    matrix products, :func:`_chapter2_batched`): E and V are copied into the lanes of ``lw``
    (El, Vr, Vi, D) on the diagonal and at the band pairs a < hi, b >= lo, the only pairs that
    enter (:func:`_band_window`), and each block of lanes is summed by :func:`_lane_block_sums`,
    as in :func:`_chapter2_lanes`.  ``work`` (:func:`_sums_work` with LANES lanes) holds the per-lane
    sums of every magnetization.  Returns the number of points counted in n_degenerate
    (:func:`_finish` adds it at the end)."""
    K, n = E.shape[0], E.shape[1]
    nop = V.shape[1]
    L = LANES
    El, Vr, Vi, D, wl, P = lw
    nbad = 0
    for k0 in range(0, K, L):
        nl = min(L, K - k0)
        for l in range(L):
            kk = k0 + l if l < nl else k0  # lanes past the end repeat a point with weight 0
            wl[l] = w[kk] if l < nl else 0.0
            for a in range(n):
                El[a, l] = E[kk, a]
            for op in range(nop):
                for a in range(n):
                    D[op, a, l] = V[kk, op, a, a].real
                for a in range(hi):
                    for b in range(max(a + 1, lo), n):
                        Vr[op, a, b, l] = V[kk, op, a, b].real
                        Vi[op, a, b, l] = V[kk, op, a, b].imag
        nbad += _lane_block_sums(El, D, Vr, Vi, lo, hi, wl, nl, Jc, mu, T, T_fs, tau, tol, s, P, work, out)
    return nbad


@_kernel
def _lane_sandwich(Or, Oi, nz, Ur, Ui, L, Wr, Wi, Vr, Vi, want):
    """Matrix elements V[a, c] = (U^H O U)[a, c], a <= c, of one operator on a block of L lanes
    (all arrays lane-last; ``nz[a, b]`` False where O[a, b] vanishes on every lane), for the
    pairs with ``want[a, c]`` (the others are left as they are)."""
    n = Ur.shape[0]
    cols = np.zeros(n, np.bool_)  # columns of W = O U that are needed
    for c in range(n):
        for a in range(c + 1):
            cols[c] = cols[c] or want[a, c]
    for a in range(n):
        for c in range(n):
            for l in range(L):
                Wr[a, c, l] = 0.0
                Wi[a, c, l] = 0.0
        for b in range(n):
            if not nz[a, b]:
                continue
            for c in range(n):
                if not cols[c]:
                    continue
                for l in range(L):
                    Wr[a, c, l] += Or[a, b, l] * Ur[b, c, l] - Oi[a, b, l] * Ui[b, c, l]
                    Wi[a, c, l] += Or[a, b, l] * Ui[b, c, l] + Oi[a, b, l] * Ur[b, c, l]
    for a in range(n):
        for c in range(a, n):
            if not want[a, c]:
                continue
            for l in range(L):
                Vr[a, c, l] = 0.0
                Vi[a, c, l] = 0.0
            for b in range(n):
                for l in range(L):
                    Vr[a, c, l] += Ur[b, a, l] * Wr[b, c, l] + Ui[b, a, l] * Wi[b, c, l]
                    Vi[a, c, l] += Ur[b, a, l] * Wi[b, c, l] - Ui[b, a, l] * Wr[b, c, l]


@_kernel
def _lane_spin_sandwich(J, up, dn, Ur, Ui, L, Pr, Pi, Vr, Vi):
    """Exchange matrix elements <a| J s_i |c> (a <= c) on L lanes from the spin-resolved
    overlaps, as :func:`_spin_sandwich`: P_ud[a, c] = sum_j conj(U[up_j, a]) U[dn_j, c] in
    (Pr, Pi)[0] and P_uu in (Pr, Pi)[1] (work (2, n, n, L)); Vr, Vi (3, n, n, L)."""
    n = Ur.shape[0]
    for a in range(n):
        for c in range(n):
            for l in range(L):
                Pr[0, a, c, l] = 0.0
                Pi[0, a, c, l] = 0.0
                Pr[1, a, c, l] = 0.0
                Pi[1, a, c, l] = 0.0
            for j in range(up.shape[0]):
                u = up[j]
                v = dn[j]
                for l in range(L):
                    Pr[0, a, c, l] += Ur[u, a, l] * Ur[v, c, l] + Ui[u, a, l] * Ui[v, c, l]
                    Pi[0, a, c, l] += Ur[u, a, l] * Ui[v, c, l] - Ui[u, a, l] * Ur[v, c, l]
                if c < a:  # P_uu enters for a <= c only
                    continue
                for l in range(L):
                    Pr[1, a, c, l] += Ur[u, a, l] * Ur[u, c, l] + Ui[u, a, l] * Ui[u, c, l]
                    Pi[1, a, c, l] += Ur[u, a, l] * Ui[u, c, l] - Ui[u, a, l] * Ur[u, c, l]
    # s_x = P_ud + P_ud^dag, s_y = -i P_ud + i P_ud^dag, s_z = 2 P_uu - 1
    for a in range(n):
        for c in range(a, n):
            one = 1.0 if a == c else 0.0
            for l in range(L):
                xr = Pr[0, a, c, l]
                xi = Pi[0, a, c, l]
                yr = Pr[0, c, a, l]
                yi = Pi[0, c, a, l]
                Vr[0, a, c, l] = J * (xr + yr)
                Vi[0, a, c, l] = J * (xi - yi)
                Vr[1, a, c, l] = J * (xi + yi)
                Vi[1, a, c, l] = J * (yr - xr)
                Vr[2, a, c, l] = J * (2.0 * Pr[1, a, c, l] - one)
                Vi[2, a, c, l] = J * 2.0 * Pi[1, a, c, l]


@_kernel
def _lane_pair_products(Vr, Vi, a, b, P):
    """P[x, y, l] = Im(V_x[a, b] V_y[b, a]) for x < y on every lane (V Hermitian)."""
    nop, L = Vr.shape[0], Vr.shape[3]
    for x in range(nop):
        for y in range(x + 1, nop):
            for l in range(L):
                P[x, y, l] = Vi[x, a, b, l] * Vr[y, a, b, l] - Vr[x, a, b, l] * Vi[y, a, b, l]


@_kernel
def _lane_elements_work(n, dim, L):
    """Work arrays of :func:`_lane_elements` for n bands, dim k directions and L lanes."""
    nop = dim + 3
    W, Hr, Hi, El, Ur, Ui = _lane_buffers(n, L)
    return (_lane_work(n, L), W, Hr, Hi, El, Ur, Ui, np.empty((n * n, L)), np.empty((n * n, L)),
            np.empty((dim * n * n, L)), np.empty((dim * n * n, L)), np.empty((n, n, L)), np.empty((n, n, L)),
            np.empty((n, n, L)), np.empty((n, n, L)), np.empty((2, n, n, L)), np.empty((2, n, n, L)),
            np.empty((nop, n, n, L)), np.empty((nop, n, n, L)), np.empty((nop, n, L)), np.ones((n, n), np.bool_))


@_kernel
def _lane_block(H0, dK, w, k0, L, lw, wl):
    """Copy the k-block starting at k0 of H(k; 0) (K, n * n) and dH/dk (K, dim * n * n) into the
    lanes of the work arrays ``lw`` (:func:`_lane_elements_work`) and its weights w into wl (0
    on the lanes past the end); returns the number of k-points of the block."""
    _fill_lanes(H0, k0, L, lw[7], lw[8], True)
    _fill_lanes(dK, k0, L, lw[9], lw[10], False)
    nl = min(L, H0.shape[0] - k0)
    for l in range(L):
        wl[l] = w[k0 + l] if l < nl else 0.0
    return nl


@_kernel
def _lane_elements(solver, nzk, Mr, Mi, nzm, hmr, hmi, spin_J, up, dn, L, lw):
    """Eigensystems of H(k; 0) + m . M on the lanes of the current k-block (:func:`_lane_block`)
    and the matrix elements V = U^dag [dH/dk; M] U, a <= c, with their diagonal D: the energies
    El (n, L), Vr, Vi (nop, n, n, L) and D (nop, n, L) in ``lw`` (:func:`_lane_elements_work`).
    m . M as hmr, hmi (n, n); M as Mr, Mi (3, n, n) with its non-zeros nzm, or the exchange
    J s_i on the spin pairs (up, dn) when spin_J != 0."""
    work, W, Hr, Hi, El, Ur, Ui, H0r, H0i, dKr, dKi, Wr, Wi, Or, Oi, Pr, Pi, Vr, Vi, D, every = lw
    dim, n = nzk.shape[0], nzk.shape[1]
    for a in range(n):
        for b in range(n):
            hr = hmr[a, b]
            hi = hmi[a, b]
            for l in range(L):
                Hr[a, b, l] = H0r[a * n + b, l] + hr
                Hi[a, b, l] = H0i[a * n + b, l] + hi
    _heev_block(W, Hr, Hi, L, El, Ur, Ui, work, solver)
    dK3r = dKr.reshape((dim, n, n, L))
    dK3i = dKi.reshape((dim, n, n, L))
    for op in range(dim):
        _lane_sandwich(dK3r[op], dK3i[op], nzk[op], Ur, Ui, L, Wr, Wi, Vr[op], Vi[op], every)
    if spin_J != 0.0:
        _lane_spin_sandwich(spin_J, up, dn, Ur, Ui, L, Pr, Pi, Vr[dim:], Vi[dim:])
    else:
        for i in range(3):
            for a in range(n):
                for b in range(n):
                    for l in range(L):
                        Or[a, b, l] = Mr[i, a, b]
                        Oi[a, b, l] = Mi[i, a, b]
            _lane_sandwich(Or, Oi, nzm[i], Ur, Ui, L, Wr, Wi, Vr[dim + i], Vi[dim + i], every)
    for op in range(dim + 3):
        for a in range(n):
            for l in range(L):
                D[op, a, l] = Vr[op, a, a, l]


@_kernel
def _lane_point_products(Vr, Vi, a, b, l, first, P):
    """P[x, y] = Im(V_x[a, b] V_y[b, a]) at lane l for x < y, y >= first (first = dim: the
    (k, m) and (m, m) blocks the Fermi-surface sums use; 0: every pair)."""
    nop = Vr.shape[0]
    for x in range(nop):
        xr = Vr[x, a, b, l]
        xi = Vi[x, a, b, l]
        for y in range(max(x + 1, first), nop):
            P[x, y] = xi * Vr[y, a, b, l] - xr * Vi[y, a, b, l]


@_kernel
def _chapter2_lanes(solver, H0, dK, nzk, Mr, Mi, nzm, Hmr, Hmi, spin_J, up, dn, w, Jc, mu, T, T_fs, tau, tol,
                    out):
    """:func:`_chapter2_generic` for models with an exchange coupling, vectorised over k-points:
    the eigensystems and matrix elements (:func:`_lane_elements`), the occupations and the
    Fermi-sea sums are computed for blocks of LANES k-points at once in SIMD lanes (per-lane
    partial sums, reduced per magnetization); the Fermi-surface sums per point, for the points
    that have a band with df0/de != 0 (:func:`_lane_block_sums`).  k-blocks are the outer loop: a block's H(k; 0) and
    dH/dk are copied into the lanes once and serve every magnetization (each magnetization's
    sums run over the k-points in the same order as a loop over magnetizations outside would).
    H(k; 0) as H0 (K, n * n) and dH/dk as dK (K, dim * n * n) (flattened), nzk (dim, n, n) the
    structural non-zeros of dH/dk, M as Mr, Mi (3, n, n) with nzm, and m_s . M as Hmr, Hmi
    (B, n, n)."""
    B = Hmr.shape[0]
    K = H0.shape[0]
    dim, n = nzk.shape[0], nzk.shape[1]
    nop = dim + 3
    L = LANES
    lw = _lane_elements_work(n, dim, L)
    El, Vr, Vi, D = lw[4], lw[17], lw[18], lw[19]
    wl = np.empty(L)
    P = np.empty((nop, nop, L))
    work = _sums_work(B, n, dim, L)
    acc_curv, acc_g, acc_hf, X, Y = work[:5]
    nbad = np.zeros(B, np.int64)
    for k0 in range(0, K, L):
        nl = _lane_block(H0, dK, w, k0, L, lw, wl)
        for s in range(B):
            _lane_elements(solver, nzk, Mr, Mi, nzm, Hmr[s], Hmi[s], spin_J, up, dn, L, lw)
            nbad[s] += _lane_block_sums(El, D, Vr, Vi, 0, n, wl, nl, Jc[s], mu, T, T_fs, tau, tol, s, P, work, out)
    for s in range(B):
        _finish(s, acc_curv, acc_g, acc_hf, X, Y, nbad[s], out)


# ------------------------------------------------------------------------------------------------
# Fermi scans: the chapter-2 sums at many chemical potentials from one eigensystem per (k, m)
#
# Every sum has the form sum_n w(E_n - mu) X_n(k, m) (the Fermi-sea curvature as the band-resolved
# Omega_n, or at T = 0 as band pairs that enter between their two energies).  The kernels deposit
# the X_n on an energy axis; magcore.fermi_scan evaluates every mu from the deposits:
# * T = 0, Fermi sea: in the interval of mu values each energy falls into (``step``: the first
#   mu_j >= E; ``tie``: mu_j == E, where f0 = 1/2), a cumulative sum over mu gives f0 = 1 below;
# * T > 0 (sea) or max(T, smearing) > 0 (surface): as Taylor moments sum X_n (E_n - e_i)^r / r!
#   on bins of width h centred at e_i, so w(E - mu) = sum_r w^(r)(e_i - mu) (E - e_i)^r / r!.
# Sea components (``step``, ``tie``, ``below``): [pair curvature (x < y) | dG/dm (3) | 1 | E];
# sea moments: [band curvature Omega_n (x < y) | dG/dm (3) | 1]; surface moments:
# [dE/dlambda_x dE/dm_i (p x 3) | 1 | Omega^n_{k_j m_i} dE/dm_q (d x 3 x 3) | dE/dk_j Omega^n_{m_i m_q}].
# ------------------------------------------------------------------------------------------------

@_kernel
def _scan_index(mu, E):
    """(j, tie): j the first index with mu[j] >= E (len(mu) if none), tie whether mu[j] == E."""
    j = np.searchsorted(mu, E)
    return j, (j < mu.shape[0] and mu[j] == E)


@_kernel
def _scan_step(mu, E, x, c0, step, tie):
    """Deposit x (values for components c0, c0 + 1, ...) at energy E for f0 = 1 above E, 1/2 at E."""
    j, at = _scan_index(mu, E)
    if at:
        for c in range(x.shape[0]):
            tie[j, c0 + c] += x[c]
        j += 1
    for c in range(x.shape[0]):
        step[j, c0 + c] += x[c]


@_kernel
def _scan_moments(E, x, lo, h, mom, absx, pw):
    """Deposit x at energy E as Taylor moments x (E - e_i)^r / r! in its bin i (centre e_i =
    lo + (i + 1/2) h); |x| into absx.  Returns False (nothing deposited) outside the bins."""
    i = int(np.floor((E - lo) / h))
    if E < lo or i >= mom.shape[0]:
        return False
    d = E - (lo + (i + 0.5) * h)
    pw[0] = 1.0
    for r in range(1, pw.shape[0]):
        pw[r] = pw[r - 1] * d / r
    for r in range(pw.shape[0]):
        for c in range(x.shape[0]):
            mom[i, r, c] += x[c] * pw[r]
    for c in range(x.shape[0]):
        absx[c] += abs(x[c])
    return True


@_kernel
def _scan_pairs_start(bands, bo, near):
    """Reset the near-degeneracy flags near (n, L) and, if ``bands``, the band-resolved
    curvatures bo (n, nop, nop, L) before the pairs of a block (:func:`_scan_pair`)."""
    n, L = near.shape
    for a in range(n):
        for l in range(L):
            near[a, l] = False
    if bands:
        nop = bo.shape[1]
        for a in range(n):
            for x in range(nop):
                for y in range(x + 1, nop):
                    for l in range(L):
                        bo[a, x, y, l] = 0.0


@_kernel
def _scan_pair(El, P, a, b, nl, wl, tol, step_on, bands, jb, tb, bo, near, xs, sc, s):
    """The band pair (a, b) of a block (lanes l < nl), with P[x, y, l] = Im(V_x[a, b] V_y[b, a]):
    if ``step_on`` (a state at T = 0) its Fermi-sea curvature deposits if it enters for some mu
    (between its two energies, :func:`_scan_step`); if ``bands``, its part of the band-resolved curvatures
    bo[a, x, y, l] = -2 sum_b Im(V_x[a, b] V_y[b, a]) / (E_a - E_b)^2 (x < y).  A pair closer than
    ``tol`` is left out, as in the single-mu sums, and near[., l] set for both bands.  jb, tb:
    each band's first mu index at or above its energy, and ties."""
    mus, step, tie = sc[0], sc[1][s], sc[2][s]
    nop, L = P.shape[0], P.shape[2]
    nt = nop * (nop - 1) // 2
    for l in range(nl):
        dE = El[a, l] - El[b, l]
        if abs(dE) < tol:
            near[a, l] = True
            near[b, l] = True
            continue
        if step_on and (jb[a, l] != jb[b, l] or tb[a, l] or tb[b, l]):
            c = -2.0 * wl[l] / (dE * dE)
            t = 0
            for x in range(nop):
                for y in range(x + 1, nop):
                    xs[t] = c * P[x, y, l]
                    t += 1
            _scan_step(mus, El[a, l], xs[:nt], 0, step, tie)
            for t in range(nt):
                xs[t] = -xs[t]
            _scan_step(mus, El[b, l], xs[:nt], 0, step, tie)
    if bands:
        for l in range(L):
            dE = El[a, l] - El[b, l]
            cl = 0.0 if abs(dE) < tol else -2.0 / (dE * dE)
            for x in range(nop):
                for y in range(x + 1, nop):
                    v = cl * P[x, y, l]
                    bo[a, x, y, l] += v
                    bo[b, x, y, l] -= v


@_kernel
def _scan_sea(El, D, l, wk, Jc, dim, step_on, moments_on, grid, bo, xs, pw, sc, s):
    """Fermi-sea band deposits of one (k, m) point (lane l): dG/dm and the free energy as steps
    (``step_on``: for the states at T = 0), and with the band-resolved curvature as Taylor
    moments (``moments_on``: for the states at T > 0)."""
    mus, step, tie, below, mom = sc[0], sc[1][s], sc[2][s], sc[3][s], sc[4][s]
    n, nop = El.shape[0], D.shape[0]
    nt = nop * (nop - 1) // 2
    for a in range(n):
        for i in range(3):
            x = D[dim + i, a, l]
            for j in range(dim):
                x += Jc[i, j] * D[j, a, l]
            xs[nt + i] = wk * x
        xs[nt + 3] = wk
        xs[nt + 4] = wk * El[a, l]
        if step_on:
            _scan_step(mus, El[a, l], xs[nt:nt + 5], nt, step, tie)
        if not moments_on:
            continue
        t = 0
        for x in range(nop):
            for y in range(x + 1, nop):
                xs[t] = wk * bo[a, x, y, l]
                t += 1
        if El[a, l] < grid[0]:
            for c in range(nt + 5):
                below[c] += xs[c]
        else:
            _scan_moments(El[a, l], xs[:nt + 4], grid[0], grid[1], mom, sc[6][s], pw)


@_kernel
def _scan_surface(El, D, l, wk, dim, grid, bo, near, xf, pw, sc, s):
    """Fermi-surface deposits of one (k, m) point (lane l), band by band, as Taylor moments."""
    momf, absf = sc[5][s], sc[7][s]
    n, nop = El.shape[0], D.shape[0]
    lo, h = grid[2], grid[3]
    for a in range(n):
        if El[a, l] < lo or El[a, l] >= lo + momf.shape[0] * h:
            continue  # df0/de = 0 at every mu
        t = 0
        for x in range(nop):
            for i in range(3):
                xf[t] = wk * D[x, a, l] * D[dim + i, a, l]
                t += 1
        xf[t] = wk
        t += 1
        skip = near[a, l]  # the band-resolved curvature of a band with a near partner is left out
        for j in range(dim):  # Omega^n_{k_j m_i} dE_n/dm_q
            for i in range(3):
                for q in range(3):
                    xf[t] = 0.0 if skip else wk * bo[a, j, dim + i, l] * D[dim + q, a, l]
                    t += 1
        for j in range(dim):  # dE_n/dk_j Omega^n_{m_i m_q}
            for i in range(3):
                for q in range(3):
                    if i < q:
                        om = bo[a, dim + i, dim + q, l]
                    elif q < i:
                        om = -bo[a, dim + q, dim + i, l]
                    else:
                        om = 0.0
                    xf[t] = 0.0 if skip else wk * D[j, a, l] * om
                    t += 1
        _scan_moments(El[a, l], xf, lo, h, momf, absf, pw)


@_kernel
def _scan_degenerate(El, l, tol, Ts, Tfs, near, sc, s):
    """n_degenerate at every mu of every state (temperatures Ts, Fermi-surface temperatures Tfs)
    for a point with a near-degenerate pair, exactly as the single-mu sums count it: a pair
    closer than ``tol`` with f0_a != f0_b, or a band with such a partner and df0/de != 0."""
    for st in range(Ts.shape[0]):
        _scan_degenerate_state(El, l, tol, Ts[st], Tfs[st], near, sc[0], sc[8][s, st])


@_kernel
def _scan_degenerate_state(El, l, tol, T, T_fs, near, mus, ndeg):
    """:func:`_scan_degenerate` for one state: ndeg (M,) per mu."""
    n = El.shape[0]
    for jm in range(mus.shape[0]):
        m_ = mus[jm]
        bad = False
        for a in range(n):
            if not near[a, l]:
                continue
            if T_fs > 0.0 and _fermi_derivative(El[a, l], m_, T_fs) != 0.0:
                bad = True
                break
            for b in range(a + 1, n):
                if abs(El[a, l] - El[b, l]) < tol and _fermi(El[a, l], m_, T) != _fermi(El[b, l], m_, T):
                    bad = True
                    break
            if bad:
                break
        if bad:
            ndeg[jm] += 1


@_kernel
def _chapter2_scan_lanes(solver, H0, dK, nzk, Mr, Mi, nzm, Hmr, Hmi, spin_J, up, dn, w, Jc, Ts, Tfs, tol, grid,
                         sc):
    """Fermi-scan deposits (``sc``: mu, step, tie, below, sea moments, surface moments, |sea|,
    |surface|, n_degenerate per mu; see magcore.fermi_scan) of B magnetizations over a k-block,
    with the eigensystems and matrix elements of :func:`_chapter2_lanes`.  ``grid``: (lo, h) of
    the sea bins and (lo, h) of the surface bins; Ts, Tfs the temperatures and Fermi-surface
    temperatures of the states evaluated from the deposits."""
    B = Hmr.shape[0]
    K = H0.shape[0]
    dim, n = nzk.shape[0], nzk.shape[1]
    nop = dim + 3
    nt = nop * (nop - 1) // 2
    L = LANES
    lw = _lane_elements_work(n, dim, L)
    El, Vr, Vi, D = lw[4], lw[17], lw[18], lw[19]
    P = np.empty((nop, nop, L))
    step_on, moments_on, surface_on = np.any(Ts == 0.0), np.any(Ts > 0.0), np.any(Tfs > 0.0)
    bands = moments_on or surface_on
    bo = np.zeros((n, nop, nop, L) if bands else (1, 1, 1, 1))
    near = np.zeros((n, L), np.bool_)
    jb = np.zeros((n, L), np.int64)
    tb = np.zeros((n, L), np.bool_)
    wl = np.zeros(L)
    xs = np.empty(nt + 5)
    xf = np.empty(3 * nop + 1 + 18 * dim)
    pw = np.empty(sc[4].shape[2])
    for k0 in range(0, K, L):
        nl = _lane_block(H0, dK, w, k0, L, lw, wl)
        for s in range(B):
            _lane_elements(solver, nzk, Mr, Mi, nzm, Hmr[s], Hmi[s], spin_J, up, dn, L, lw)
            if step_on:
                for a in range(n):
                    for l in range(nl):
                        jb[a, l], tb[a, l] = _scan_index(sc[0], El[a, l])
            _scan_pairs_start(bands, bo, near)
            for a in range(n):
                for b in range(a + 1, n):
                    _lane_pair_products(Vr, Vi, a, b, P)
                    _scan_pair(El, P, a, b, nl, wl, tol, step_on, bands, jb, tb, bo, near, xs, sc, s)
            for l in range(nl):
                _scan_sea(El, D, l, wl[l], Jc[s], dim, step_on, moments_on, grid, bo, xs, pw, sc, s)
                if surface_on:
                    _scan_surface(El, D, l, wl[l], dim, grid, bo, near, xf, pw, sc, s)
                for a in range(n):
                    if near[a, l]:
                        _scan_degenerate(El, l, tol, Ts, Tfs, near, sc, s)
                        break


@_kernel
def _chapter2_scan_two_band(dvec, jk, jm, w, Jc, Ts, Tfs, tol, grid, sc):
    """:func:`_chapter2_scan_lanes` for a two-band model from d (B, K, 4), dd/dk (B, K, dim, 4)
    and dd/dm (B, K, 3, 4), in closed form (:func:`_two_band_point`, :func:`_pair_im`), point by
    point."""
    B, K = dvec.shape[0], dvec.shape[1]
    dim = jk.shape[2]
    nop = dim + 3
    nt = nop * (nop - 1) // 2
    Ja = np.empty((nop, 4))
    dhat = np.empty(3)
    E = np.empty(2)
    El = E.reshape((2, 1))
    D = np.empty((nop, 2, 1))
    P = np.zeros((nop, nop, 1))
    P2 = P.reshape((nop, nop))
    step_on, moments_on, surface_on = np.any(Ts == 0.0), np.any(Ts > 0.0), np.any(Tfs > 0.0)
    bands = moments_on or surface_on
    bo = np.zeros((2, nop, nop, 1))
    near = np.zeros((2, 1), np.bool_)
    jb = np.zeros((2, 1), np.int64)
    tb = np.zeros((2, 1), np.bool_)
    wl = np.empty(1)
    xs = np.empty(nt + 5)
    xf = np.empty(3 * nop + 1 + 18 * dim)
    pw = np.empty(sc[4].shape[2])
    for s in range(B):
        for kk in range(K):
            _two_band_elements(dvec, jk, jm, s, kk, Ja, E, D, dhat, P2)
            wl[0] = w[kk]
            if step_on:
                for a in range(2):
                    jb[a, 0], tb[a, 0] = _scan_index(sc[0], El[a, 0])
            _scan_pairs_start(bands, bo, near)
            _scan_pair(El, P, 0, 1, 1, wl, tol, step_on, bands, jb, tb, bo, near, xs, sc, s)
            _scan_sea(El, D, 0, w[kk], Jc[s], dim, step_on, moments_on, grid, bo, xs, pw, sc, s)
            if surface_on:
                _scan_surface(El, D, 0, w[kk], dim, grid, bo, near, xf, pw, sc, s)
            if near[0, 0] or near[1, 0]:
                _scan_degenerate(El, 0, tol, Ts, Tfs, near, sc, s)


@_kernel
def _two_band_point(dv, Ja, E, D, dhat):
    """Energies and diagonal derivatives D[x, n, 0] of H = d_0 + d . s at one point; returns |d|."""
    r = np.sqrt(dv[1] * dv[1] + dv[2] * dv[2] + dv[3] * dv[3])
    E[0] = dv[0] - r
    E[1] = dv[0] + r
    if r > 0.0:
        dhat[0] = dv[1] / r
        dhat[1] = dv[2] / r
        dhat[2] = dv[3] / r
    else:  # the identity gauge of magcore.bands.eigensystem_two_band at d = 0
        dhat[0] = 0.0
        dhat[1] = 0.0
        dhat[2] = -1.0
    for op in range(Ja.shape[0]):
        x = dhat[0] * Ja[op, 1] + dhat[1] * Ja[op, 2] + dhat[2] * Ja[op, 3]
        D[op, 0, 0] = Ja[op, 0] - x
        D[op, 1, 0] = Ja[op, 0] + x
    return r


@_kernel
def _pair_im(dv, r, Ja, a, b):
    """Im(V_a[0, 1] conj(V_b[0, 1])) of a two-band model = -d . (d_a x d_b) / |d|."""
    cx = Ja[a, 2] * Ja[b, 3] - Ja[a, 3] * Ja[b, 2]
    cy = Ja[a, 3] * Ja[b, 1] - Ja[a, 1] * Ja[b, 3]
    cz = Ja[a, 1] * Ja[b, 2] - Ja[a, 2] * Ja[b, 1]
    return -(dv[1] * cx + dv[2] * cy + dv[3] * cz) / r


@_kernel
def _two_band_elements(dvec, jk, jm, s, kk, Ja, E, D, dhat, P):
    """Energies E, diagonal derivatives D and the pair products P[x, y] = Im(V_x[0, 1] V_y[1, 0])
    (x < y; 0 where E_0 = E_1, a pair that is always excluded) of the two-band point (s, kk)."""
    nop = Ja.shape[0]
    dim = jk.shape[2]
    for op in range(nop):
        for q in range(4):
            Ja[op, q] = jk[s, kk, op, q] if op < dim else jm[s, kk, op - dim, q]
    dv = dvec[s, kk]
    r = _two_band_point(dv, Ja, E, D, dhat)
    for x in range(nop):
        for y in range(x + 1, nop):
            P[x, y] = _pair_im(dv, r, Ja, x, y) if r > 0.0 else 0.0


@_kernel
def _chapter2_two_band(dvec, jk, jm, w, Jc, mu, T, T_fs, tau, tol, out):
    """The chapter-2 sums of a two-band model from d (B, K, 4), dd/dk (B, K, dim, 4) and
    dd/dm (B, K, 3, 4), in closed form (no eigenvectors)."""
    B, K = dvec.shape[0], dvec.shape[1]
    dim = jk.shape[2]
    nop = dim + 3
    Ja = np.empty((nop, 4))
    dhat = np.empty(3)
    E = np.empty(2)
    El = E.reshape((2, 1))
    acc_curv, acc_g, acc_hf, X, Y, f, fp, g, on_surface, c, near, D, Pim, bo = _sums_work(B, 2, dim, 1)
    w1 = np.empty(1)
    for s in range(B):
        nbad = 0
        for kk in range(K):
            _two_band_elements(dvec, jk, jm, s, kk, Ja, E, D, dhat, Pim[0, 1])
            _occupations(El, mu, T, T_fs, f, fp, g, on_surface)
            if _one_point(El, D, Pim, f, fp, g, on_surface, w1, c, near, w[kk], Jc[s], tau, tol, dim, s,
                          acc_curv, acc_g, acc_hf, bo, X, Y, out):
                nbad += 1
        _finish(s, acc_curv, acc_g, acc_hf, X, Y, nbad, out)


def _rows_per_batch(K: int, bytes_per_point: int, P: int) -> int:
    return int(max(1, min(P, _BATCH_BYTES // max(1, K * bytes_per_point))))


def _as(x, shape, dtype):
    """``x`` broadcast to ``shape`` as a C-contiguous, writeable array of ``dtype`` (one numba
    signature per kernel: read-only or strided inputs would each compile a variant)."""
    x = np.asarray(x)
    if x.shape != shape:
        x = np.broadcast_to(x, shape)
    if x.dtype != dtype or not x.flags.c_contiguous or not x.flags.writeable:
        x = np.array(x, dtype=dtype, order="C", copy=True)
    return x


def _c128(x, shape):
    return _as(x, shape, np.complex128)


def _f64(x, shape):
    return _as(x, shape, np.float64)


_NO_PAIRS = np.zeros(0, dtype=np.int64)


def _spin_pairs(coupling: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Recognise an exchange coupling M_i = J sum_j (s_i)_{ab} |r_a(j)><r_b(j)| on disjoint pairs
    of basis states (r_up(j), r_dn(j)) (spin outer or inner (x) any orbital factor); returns
    (J, up, dn), or (0.0, empty, empty) when M has another form (then the general sandwich is used)."""
    M = np.asarray(coupling)
    n = M.shape[-1]
    dz = np.diag(M[2]).real
    J = float(np.max(dz)) if n else 0.0
    up, dn = np.flatnonzero(dz > 0), np.flatnonzero(dz < 0)
    if J <= 0 or 2 * len(up) != n or len(dn) != len(up):
        return 0.0, _NO_PAIRS, _NO_PAIRS
    built = np.zeros((3, n, n), dtype=complex)
    for a, b in zip(up, dn):
        idx = np.array([a, b])
        for i, s in enumerate(_PAULI_XYZ):
            built[i][np.ix_(idx, idx)] = J * s
    if not np.allclose(M, built, rtol=0, atol=1e-14 * J):
        return 0.0, _NO_PAIRS, _NO_PAIRS
    return J, up.astype(np.int64), dn.astype(np.int64)


_PAULI_XYZ = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])


BATCHED_MIN_BANDS = 28
"""User models (``batched_eigensystems``) with an exchange coupling and at least this many
bands take the batched LAPACK path (:func:`_chapter2_batched`), smaller ones the SIMD lanes.
Measured crossover (benchmarks/wannier90_throughput.py --crossover, one core, us per (k, m)):
24 bands lanes 104, batched 161; 32 bands lanes 211, batched 181; 48 bands 758 against 450."""


def _band_window(E: np.ndarray, mu: float, T: float, T_fs: float) -> tuple[int, int]:
    """Bands lo .. hi - 1 of the sub-batch E (K, n) (ascending) that may enter a pair: below lo
    every band of every point is full (f0 = 1 and df0/de = 0 exactly: E < mu - 41 max(T, T_fs),
    where :func:`_fermi` rounds to 1 and its derivative to 0), from hi on every band is empty
    (E > mu + 41 max(T, T_fs)).  A pair a < b enters a sum only if a < hi and b >= lo."""
    t = 41.0 * max(T, T_fs)
    n = E.shape[-1]
    lo = int(np.min(np.sum(E < mu - t, axis=-1)))
    hi = n - int(np.min(np.sum(E > mu + t, axis=-1)))
    return lo, max(hi, lo)


def _exchange_elements(U: np.ndarray, UH: np.ndarray, spin_J: float, up, dn, M, lo: int, hi: int,
                       V: np.ndarray) -> None:
    """The matrix elements V[:, i, a, b] = (U^dag M_i U)[a, b] of dH/dm for a < hi, b >= lo and on
    the whole diagonal (eigenvectors U (K, n, n) as columns, UH = U^dag).  For the exchange
    J s_i on spin pairs (up_j, dn_j) (:func:`_spin_pairs`) from the overlaps P_ud = U_up^dag U_dn
    and P_uu = U_up^dag U_up, as :func:`_spin_sandwich`: J s_x = J (P_ud + P_ud^dag),
    J s_y = J (-i P_ud + i P_ud^dag), J s_z = J (2 P_uu - 1)."""
    n = U.shape[-1]
    if spin_J == 0.0:
        for i in range(3):
            MU = M[i] @ U
            V[:, i, :hi, lo:] = UH[:, :hi] @ MU[:, :, lo:]
            d = np.einsum("kra,kra->ka", np.conj(U), MU).real
            V[:, i, np.arange(n), np.arange(n)] = d
        return
    if np.array_equal(up, np.arange(len(up))) and np.array_equal(dn, len(up) + np.arange(len(dn))):
        up, dn = slice(0, len(up)), slice(len(up), n)  # spin outer: views, no copies
    Uu, Ud = U[:, up, :], U[:, dn, :]
    UuH = UH[:, :, up]
    x = UuH[:, :hi] @ Ud[:, :, lo:]  # P_ud[a, b]
    y = np.conj(np.swapaxes(UuH[:, lo:] @ Ud[:, :, :hi], -1, -2))  # conj(P_ud[b, a])
    V[:, 0, :hi, lo:] = spin_J * (x + y)
    V[:, 1, :hi, lo:] = spin_J * (-1j * x + 1j * y)
    z = 2.0 * (UuH[:, :hi] @ Uu[:, :, lo:])
    a = np.arange(lo, hi)
    z[:, a, a - lo] -= 1.0
    V[:, 2, :hi, lo:] = spin_J * z
    pud = np.einsum("kja,kja->ka", np.conj(Uu), Ud)
    puu = np.einsum("kja,kja->ka", np.conj(Uu), Uu).real
    d = np.arange(n)
    V[:, 0, d, d] = 2.0 * spin_J * pud.real
    V[:, 1, d, d] = 2.0 * spin_J * pud.imag
    V[:, 2, d, d] = spin_J * (2.0 * puu - 1.0)


def _chapter2_batched(H0, dHk, M, Hm, spin_J, up, dn, w, Jc, mu, T, T_fs, tau, tol, out) -> None:
    """:func:`_chapter2_generic` for a model H(k; m) = H(k; 0) + m . M with the eigensystems of a
    sub-batch of k-points from LAPACK (``numpy.linalg.eigh``, zheevd on the lower triangle) and
    the matrix elements V = U^dag [dH/dk; M] U from batched matrix products, for the band pairs
    that can enter (:func:`_band_window`) and the diagonal (:func:`_exchange_elements` for M);
    the sums from E and V by the compiled :func:`_chapter2_elements`.  H0 (K, n, n),
    dHk (K, dim, n, n), M (3, n, n), Hm = m_s . M (B, n, n).  Sub-batches of k are the outer
    loop (each is shared by every magnetization); each magnetization's sums run over the
    k-points in mesh order.  dE/dk of the bands outside the window is left at 0: it enters
    only through the mesh-centre term of dG/dm, whose Jacobian Jc is 0 on lattices (otherwise
    the window is every band)."""
    B, K, n = Hm.shape[0], H0.shape[0], H0.shape[-1]
    dim = dHk.shape[1]
    nop = dim + 3
    work = _sums_work(B, n, dim, LANES)
    lw = (np.empty((n, LANES)), np.zeros((nop, n, n, LANES)), np.zeros((nop, n, n, LANES)),
          np.empty((nop, n, LANES)), np.empty(LANES), np.empty((nop, nop, LANES)))
    nbad = np.zeros(B, np.int64)
    rows = int(max(LANES, min(K, _BATCH_BYTES // (16 * n * n * (nop + 3)) // LANES * LANES)))
    V = np.empty((rows, nop, n, n), np.complex128)
    every = bool(np.any(Jc != 0.0))
    d = np.arange(n)
    for k0 in range(0, K, rows):
        k1 = min(K, k0 + rows)
        Vb = V[: k1 - k0]
        for s in range(B):
            E, U = np.linalg.eigh(H0[k0:k1] + Hm[s])
            lo, hi = (0, n) if every else _band_window(E, mu, T, T_fs)
            UH = np.conj(np.swapaxes(U, -1, -2))
            # U^dag[:hi] (dH/dk_i U[:, lo:]) for every i in two products
            W = dHk[k0:k1].reshape(k1 - k0, dim * n, n) @ np.ascontiguousarray(U[:, :, lo:])
            W = W.reshape(k1 - k0, dim, n, n - lo).transpose(0, 2, 1, 3).reshape(k1 - k0, n, dim * (n - lo))
            X = np.ascontiguousarray(UH[:, :hi]) @ W
            Vb[:, :dim, :hi, lo:] = X.reshape(k1 - k0, hi, dim, n - lo).transpose(0, 2, 1, 3)
            Vb[:, :dim, d[:lo], d[:lo]] = 0.0
            Vb[:, :dim, d[hi:], d[hi:]] = 0.0
            _exchange_elements(U, UH, spin_J, up, dn, M, lo, hi, Vb[:, dim:])
            nbad[s] += _chapter2_elements(E, Vb, lo, hi, w[k0:k1], Jc[s], mu, T, T_fs, tau, tol, s, lw, work, out)
    acc_curv, acc_g, acc_hf, X, Y = work[:5]
    for s in range(B):
        _finish(s, acc_curv, acc_g, acc_hf, X, Y, nbad[s], out)


def chapter2_sums(model: Model, m: np.ndarray, q: np.ndarray, w: np.ndarray, electrons) -> dict[str, np.ndarray]:
    """Compiled :func:`magcore.sphere.sphere_partial_sums`: the k-sums of
    :data:`magcore.quantities.KERNEL_SUMS` (same keys, shapes and semantics as the numpy
    reference) for magnetizations ``m`` (P, 3) and a mesh block ``q`` (K, dim), ``w`` (K,).

    Two-band models go through their d-vectors (no eigenvectors at all), every other model
    through the compiled eigensolver and one pass over V = U^dag [dH/dk; dH/dm] U per point.
    Models that declare :meth:`~magcore.models.base.Model.exchange_coupling` (H affine in m)
    are evaluated once per k-point (H(k; 0), dH/dk) and shared by every m; others are evaluated
    in numpy in sub-batches of magnetizations (bounded memory).
    """
    from .kmesh import k_center_jacobian

    m = np.asarray(m, dtype=float)
    q = np.asarray(q, dtype=float)
    dim = model.dim
    P, K = m.shape[0], q.shape[0]
    w = _f64(w, (K,))  # writeable: read-only inputs (e.g. unpickled on a Dask worker) would
    # compile a second specialisation, whose machine code may round differently
    center = model.k_center(m)
    Jc = np.ascontiguousarray(k_center_jacobian(model, m), dtype=float)
    out = {s.name: np.zeros((P,) + s.size(dim), dtype=s.dtype) for s in KERNEL_SUMS}
    if P == 0 or K == 0:
        return out
    args = (electrons.chemical_potential, float(electrons.temperature), float(electrons.fermi_surface_temperature),
            float(electrons.relaxation_time), float(electrons.degeneracy_tol))
    two_band = isinstance(model, TwoBandModel)
    coupling = None if two_band else model.exchange_coupling()
    if coupling is not None and np.all(center == center[:1]):
        # H = H(k; 0) + m . M: the model is evaluated once per k-point and shared by every m
        k = center[0] + q
        zero = np.zeros(3)
        n = coupling.shape[-1]
        H0 = _c128(model.hamiltonian(k, zero), (K, n, n))[None]
        dHk = _c128(model.dh_dk(k, zero), (K, dim, n, n))[None]
        dHm = _c128(coupling, (1, 1, 3, n, n))
        Hm = _c128(np.einsum("pi,iab->pab", m, coupling), (P, n, n))
        spin_J, up, dn = _spin_pairs(coupling)
        outputs = tuple(out.values())
        if n >= BATCHED_MIN_BANDS and model.batched_eigensystems:
            # many bands: LAPACK on stacked matrices and batched matrix products
            _chapter2_batched(H0[0], dHk[0], dHm[0, 0], Hm, spin_J, up, dn, w, Jc, *args, outputs)
            return out
        if K < LANES:  # too few k-points to fill the SIMD lanes
            _chapter2_generic(H0, dHk, dHm, Hm, spin_J, up, dn, w, Jc, *args, outputs)
            return out
        # k-points in SIMD lanes
        M = dHm[0, 0]
        _chapter2_lanes(block_solver(n), H0.reshape(K, -1), dHk.reshape(K, -1), np.any(dHk[0] != 0, axis=0),
                        np.ascontiguousarray(M.real), np.ascontiguousarray(M.imag), np.ascontiguousarray(M != 0),
                        np.ascontiguousarray(Hm.real), np.ascontiguousarray(Hm.imag), spin_J, up, dn, w, Jc,
                        *args, outputs)
        return out
    if two_band:
        rows = _rows_per_batch(K, 8 * 4 * (1 + dim + 3), P)
    else:
        n = int(model.hamiltonian(center[:1, None, :] + q[None, :1, :], m[:1, None, :]).shape[-1])
        rows = _rows_per_batch(K, 16 * n * n * (1 + dim + 3), P)
        no_coupling = np.zeros((1, n, n), np.complex128)
    for s in range(0, P, rows):
        sl = slice(s, min(P, s + rows))
        B = sl.stop - sl.start
        k = center[sl, None, :] + q[None, :, :]
        mm = m[sl, None, :]
        outputs = tuple(x[sl] for x in out.values())
        if two_band:
            dvec = _f64(model.d_vector(k, mm), (B, K, 4))
            jk = _f64(model.d_jacobian_k(k, mm), (B, K, dim, 4))
            jm = _f64(model.d_jacobian_m(k, mm), (B, K, 3, 4))
            _chapter2_two_band(dvec, jk, jm, w, Jc[sl], *args, outputs)
        else:
            H = _c128(model.hamiltonian(k, mm), (B, K, n, n))
            dHk = _c128(model.dh_dk(k, mm), (B, K, dim, n, n))
            dHm = _c128(model.dh_dm(k, mm), (B, K, 3, n, n))
            _chapter2_generic(H, dHk, dHm, no_coupling, 0.0, _NO_PAIRS, _NO_PAIRS, w, Jc[sl], *args, outputs)
    return out


def fermi_scan_deposits(model: Model, m: np.ndarray, q: np.ndarray, w: np.ndarray, states, grid: np.ndarray,
                        deposits: tuple) -> None:
    """Add the Fermi-scan deposits of the mesh block ``q`` (K, dim), ``w`` (K,) for the
    magnetizations ``m`` (P, 3) to ``deposits`` (the arrays of :class:`magcore.fermi_scan.FermiScan`,
    in the order of :func:`_chapter2_scan_lanes`) for the electron ``states`` (Electrons: their
    temperatures and smearing; one degeneracy tolerance); ``grid`` = (lo, h) of the Fermi-sea and
    of the Fermi-surface bins.  Two-band models (closed form, :func:`_chapter2_scan_two_band`) and models
    with an exchange coupling and an m-independent mesh centre (SIMD lanes)."""
    from .kmesh import k_center_jacobian

    q = np.asarray(q, dtype=float)
    K, dim, P = q.shape[0], model.dim, len(m)
    if K == 0 or P == 0:
        return
    center = model.k_center(m)
    Jc = np.ascontiguousarray(k_center_jacobian(model, m), dtype=float)
    Ts = np.array([float(e.temperature) for e in states])
    Tfs = np.array([float(e.fermi_surface_temperature) for e in states])
    tol = float(states[0].degeneracy_tol)
    if isinstance(model, TwoBandModel):
        rows = _rows_per_batch(K, 8 * 4 * (1 + dim + 3), P)
        for s0 in range(0, P, rows):
            sl = slice(s0, min(P, s0 + rows))
            B = sl.stop - sl.start
            k = center[sl, None, :] + q[None, :, :]
            mm = m[sl, None, :]
            dvec = _f64(model.d_vector(k, mm), (B, K, 4))
            jk = _f64(model.d_jacobian_k(k, mm), (B, K, dim, 4))
            jm = _f64(model.d_jacobian_m(k, mm), (B, K, 3, 4))
            _chapter2_scan_two_band(dvec, jk, jm, _f64(w, (K,)), Jc[sl], Ts, Tfs, tol, grid,
                                    (deposits[0],) + tuple(x[sl] for x in deposits[1:]))
        return
    coupling = model.exchange_coupling()
    if coupling is None or not np.all(center == center[:1]):
        raise NotImplementedError(f"Fermi scans need a two-band model, or a model with an exchange coupling and an "
                                  f"m-independent mesh centre; {model.name!r} is neither")
    n = coupling.shape[-1]
    k = center[0] + q
    zero = np.zeros(3)
    H0 = _c128(model.hamiltonian(k, zero), (K, n, n)).reshape(K, n * n)
    dHk = _c128(model.dh_dk(k, zero), (K, dim, n, n)).reshape(K, dim * n * n)
    M = _c128(coupling, (3, n, n))
    Hm = np.einsum("pi,iab->pab", m, M)
    spin_J, up, dn = _spin_pairs(M)
    _chapter2_scan_lanes(block_solver(n), H0, dHk, np.ascontiguousarray(np.any(dHk.reshape(K, dim, n, n) != 0, axis=0)),
                         np.ascontiguousarray(M.real), np.ascontiguousarray(M.imag), np.ascontiguousarray(M != 0),
                         np.ascontiguousarray(Hm.real), np.ascontiguousarray(Hm.imag), spin_J, up, dn, _f64(w, (K,)),
                         Jc, Ts, Tfs, tol, grid, deposits)


# ------------------------------------------------------------------------------------------------
# occupied Berry curvature of a model on a (k, m) batch (benchmarks, maps)
# ------------------------------------------------------------------------------------------------

@_kernel
def _occupied_block(acc, l, pa, pb, same, out):
    """out[i, j] = the (A_i, B_j) element of the antisymmetric curvature whose upper triangle
    is acc[x, y, l] (x < y), operators A = 0 .. pa - 1 and B = A if ``same`` else pa .. pa + pb - 1."""
    for i in range(pa):
        for j in range(pb):
            y = j if same else pa + j
            if i < y:
                out[i, j] = acc[i, y, l]
            elif i > y:
                out[i, j] = -acc[y, i, l]
            else:
                out[i, j] = 0.0


@_kernel
def _occupied_generic(H, dX, pa, pb, same, mu, T, tol, omega, bad):
    """Occupied Berry curvature sum_n f_n Omega^n (:func:`_sea_curvature` with unit weight, per
    point) for H (N, n, n) and the operators dX (N, p, n, n): the (A, B) block of
    :func:`_occupied_block` into omega (N, pa, pb), near-degenerate pairs in ``bad``."""
    N, n = H.shape[0], H.shape[1]
    p = dX.shape[1]
    E = np.empty(n)
    El = E.reshape((n, 1))
    U = np.empty((n, n), np.complex128)
    A, Q, Z, d, e, v, ph_, ph = _heev_work(n)
    W = np.empty((n, n), np.complex128)
    UH = np.empty((n, n), np.complex128)
    need = np.empty((n, n), np.bool_)
    V = np.empty((p, n, n), np.complex128)
    Pim = np.zeros((n, n, p, p))
    f = np.empty((n, 1))
    one = np.ones(1)
    c = np.empty(1)
    near = np.empty(1, np.bool_)
    acc = np.empty((p, p, 1))
    for s in range(N):
        _heev(H[s], E, U, A, Q, Z, d, e, v, ph_, ph, True)
        for a in range(n):
            f[a, 0] = _fermi(E[a], mu, T)
        for a in range(n):
            UH[a, a] = U[a, a].conjugate()
            need[a, a] = False
            for b in range(a + 1, n):
                UH[a, b] = U[b, a].conjugate()
                UH[b, a] = U[a, b].conjugate()
                need[a, b] = f[a, 0] != f[b, 0]
        for op in range(p):
            _sandwich(dX[s, op], U, UH, W, V[op], need)
        acc[:] = 0.0
        near[0] = False
        for a in range(n):
            for b in range(a + 1, n):
                if not need[a, b]:
                    continue
                _complex_pair_products(V, a, b, Pim[a, b])
                if _pair_weights(El, f, a, b, one, tol, c, near):
                    _sea_curvature(c, Pim[a, b].reshape((p, p, 1)), acc)
        _occupied_block(acc, 0, pa, pb, same, omega[s])
        bad[s] = near[0]


@_kernel
def _fill_lanes(X, s0, L, Xr, Xi, pad):
    """Lanes l < L of Xr + i Xi (R, L) <- X[s0 + l] (flattened to R); lanes past the end of X get
    the identity (``pad``, for Hamiltonians, R = n * n) or zero."""
    N = X.shape[0]
    R = X.shape[1]
    n = int(np.sqrt(R) + 0.5)
    for l in range(L):
        if s0 + l < N:
            x = X[s0 + l]
            for r in range(R):
                Xr[r, l] = x[r].real
                Xi[r, l] = x[r].imag
        else:
            for r in range(R):
                Xr[r, l] = 1.0 if (pad and r % (n + 1) == 0) else 0.0
                Xi[r, l] = 0.0


@_kernel
def _fill_hamiltonian_lanes(H, s0, L, Hr, Hi):
    """Lower triangles of the lane matrices Hr + i Hi (n, n, L) <- H[s0 + l] (flattened n * n),
    the identity past the end of H (what the lane eigensolvers read)."""
    N = H.shape[0]
    n = Hr.shape[0]
    for l in range(L):
        if s0 + l < N:
            h = H[s0 + l]
            for i in range(n):
                for j in range(i + 1):
                    x = h[i * n + j]
                    Hr[i, j, l] = x.real
                    Hi[i, j, l] = x.imag
        else:
            for i in range(n):
                for j in range(i + 1):
                    Hr[i, j, l] = 1.0 if i == j else 0.0
                    Hi[i, j, l] = 0.0


@_kernel
def _lane_nonzeros(Xr, Xi, nz):
    """nz[op, a, b] = whether element (a, b) of operator op is non-zero on any lane of the block
    Xr + i Xi (p * n * n, L) (the sandwiches skip the others)."""
    p, n = nz.shape[0], nz.shape[1]
    L = Xr.shape[1]
    for r in range(p * n * n):
        cnt = 0
        for l in range(L):
            cnt += 1 if (Xr[r, l] != 0.0 or Xi[r, l] != 0.0) else 0
        nz[r // (n * n), (r // n) % n, r % n] = cnt > 0


@_kernel
def _array_lanes(data, s0, L, Hr, Hi, Ar, Ai, Br, Bi, fill_b, scratch):
    """H and the operators A, B in the lanes of a block, from evaluated arrays
    data = (H (N, n * n), dA (N, pa * n * n), dB (N, pb * n * n)), flattened."""
    H, dA, dB = data
    _fill_hamiltonian_lanes(H, s0, L, Hr, Hi)
    _fill_lanes(dA, s0, L, Ar, Ai, False)
    if fill_b:
        _fill_lanes(dB, s0, L, Br, Bi, False)


@_kernel
def _occupied_lanes(solver, data, N, n, pa, pb, same, mu, T, tol, omega, bad):
    """:func:`_occupied_generic` in SIMD lanes of LANES points: :func:`_array_lanes` writes the
    lanes of H and of the operators A (pa of them) and B (pb; not written when ``same``: B is A)
    of a block from ``data``; N points; writes omega (N, pa, pb) and bad (N,).  Elements of A, B
    that vanish on a whole block and band pairs that do not enter on any lane of a block are
    skipped.  (No function is passed in: a dispatcher argument's type holds its address, so a
    new process would miss the on-disk cache and compile again.)"""
    L = LANES
    p = pa if same else pa + pb
    nzA = np.empty((pa, n, n), np.bool_)
    nzB = nzA if same else np.empty((pb, n, n), np.bool_)
    work = _lane_work(n, L)
    Ar = np.zeros((pa * n * n, L))  # zeros: a source writes only the elements that can be non-zero
    Ai = np.zeros((pa * n * n, L))
    Br = np.zeros((pb * n * n, L))
    Bi = np.zeros((pb * n * n, L))
    scratch = np.empty((8, L))
    W, Hr, Hi, El, Ur, Ui = _lane_buffers(n, L)
    Wr = np.empty((n, n, L))
    Wi = np.empty((n, n, L))
    Vr = np.empty((p, n, n, L))  # matrix elements of A, then of B unless B is A
    Vi = np.empty((p, n, n, L))
    f = np.empty((n, L))
    one = np.ones(L)
    cab = np.empty((n, n, L))
    live = np.zeros((n, n), np.bool_)
    flag = np.empty(L, np.bool_)
    P = np.empty((p, p, L))
    acc = np.empty((p, p, L))
    for s0 in range(0, N, L):
        _array_lanes(data, s0, L, Hr, Hi, Ar, Ai, Br, Bi, not same, scratch)
        _lane_nonzeros(Ar, Ai, nzA)
        _heev_block(W, Hr, Hi, L, El, Ur, Ui, work, solver)
        for a in range(n):
            if T == 0.0:  # step function as selects (vectorised)
                for l in range(L):
                    x = El[a, l]
                    f[a, l] = 1.0 if x < mu else (0.5 if x == mu else 0.0)
            else:
                for l in range(L):
                    f[a, l] = _fermi(El[a, l], mu, T)
        # weights of the band pairs a < b; "live" pairs enter on some lane of the block
        flag[:] = False
        for a in range(n):
            for b in range(a + 1, n):
                live[a, b] = _pair_weights(El, f, a, b, one, tol, cab[a, b], flag)
        # matrix elements of the live pairs only
        A3r = Ar.reshape((pa, n, n, L))
        A3i = Ai.reshape((pa, n, n, L))
        for op in range(pa):
            _lane_sandwich(A3r[op], A3i[op], nzA[op], Ur, Ui, L, Wr, Wi, Vr[op], Vi[op], live)
        if not same:
            _lane_nonzeros(Br, Bi, nzB)
            B3r = Br.reshape((pb, n, n, L))
            B3i = Bi.reshape((pb, n, n, L))
            for op in range(pb):
                _lane_sandwich(B3r[op], B3i[op], nzB[op], Ur, Ui, L, Wr, Wi, Vr[pa + op], Vi[pa + op], live)
        acc[:] = 0.0
        for a in range(n):
            for b in range(a + 1, n):
                if live[a, b]:
                    _lane_pair_products(Vr, Vi, a, b, P)
                    _sea_curvature(cab[a, b], P, acc)
        for l in range(min(L, N - s0)):
            bad[s0 + l] = flag[l]
            _occupied_block(acc, l, pa, pb, same, omega[s0 + l])


@_kernel
def _occupied_two_band(dvec, jx, pa, pb, same, mu, T, tol, omega, bad):
    """:func:`_occupied_generic` for a two-band model from d (N, 4) and the Jacobians of the
    operators jx (N, p, 4), in closed form: the one band pair's weight (:func:`_pair_weights`)
    times its product Im(V_x V_y) (:func:`_pair_im`, antisymmetric in x, y to the bit), which is
    :func:`_sea_curvature` of a single pair."""
    N = jx.shape[0]
    E = np.empty(2)
    El = E.reshape((2, 1))
    f = np.empty((2, 1))
    one = np.ones(1)
    c = np.empty(1)
    near = np.empty(1, np.bool_)
    for s in range(N):
        dv = dvec[s]
        r = np.sqrt(dv[1] * dv[1] + dv[2] * dv[2] + dv[3] * dv[3])
        E[0] = dv[0] - r
        E[1] = dv[0] + r
        f[0, 0] = _fermi(E[0], mu, T)
        f[1, 0] = _fermi(E[1], mu, T)
        near[0] = False
        enters = _pair_weights(El, f, 0, 1, one, tol, c, near)
        for i in range(pa):
            for j in range(pb):
                y = j if same else pa + j
                omega[s, i, j] = c[0] * _pair_im(dv, r, jx[s], i, y) if (enters and i != y) else 0.0
        bad[s] = near[0]


def occupied_berry_curvature_map(model: Model, k: np.ndarray, m: np.ndarray, mu: float, *,
                                 temperature: float = 0.0, params: str = "mm",
                                 degeneracy_tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Occupied Berry curvature sum_n f_n Omega^n of ``model`` at (k, m) (batches broadcast).

    ``params`` picks the two parameter sets: "mm" (3 x 3, Omega_{m_i m_j}), "km" (dim x 3,
    Omega_{k_j m_i}) or "kk" (dim x dim).  Same result and ``bad`` flag as
    ``occupied_berry_curvature(E, f, V_a, V_b)`` of :mod:`magcore.geometry`, computed without
    storing eigenvectors or matrix elements.
    """
    if len(params) != 2 or set(params) - {"k", "m"}:
        raise ValueError(f"params must be two of 'k' and 'm' (e.g. 'mm', 'km'), got {params!r}")
    k = np.asarray(k, dtype=float)
    m = np.asarray(m, dtype=float)
    batch = np.broadcast_shapes(k.shape[:-1], m.shape[:-1])
    N = int(np.prod(batch))
    if isinstance(model, TwoBandModel):
        dvec = _f64(model.d_vector(k, m), batch + (4,)).reshape(N, 4)
        jac = {"k": lambda: model.d_jacobian_k(k, m), "m": lambda: model.d_jacobian_m(k, m)}
        same = params[1] == params[0]
        ja = jac[params[0]]()
        jx = ja if same else np.concatenate([ja, jac[params[1]]()], axis=-2)
        pa = ja.shape[-2]
        jx = _f64(jx, batch + jx.shape[-2:]).reshape(N, -1, 4)
        pb = pa if same else jx.shape[1] - pa
        omega = np.empty((N, pa, pb))
        bad = np.empty(N, dtype=bool)
        _occupied_two_band(dvec, jx, pa, pb, same, float(mu), float(temperature), float(degeneracy_tol), omega, bad)
    else:
        same = params[1] == params[0]
        n = model.n_bands
        size = {"k": model.dim, "m": 3}
        pa, pb = size[params[0]], size[params[1]]
        omega = np.empty((N, pa, pb))
        bad = np.empty(N, dtype=bool)
        H = _c128(model.hamiltonian(k, m), batch + (n, n)).reshape(N, n, n)
        ops = {"k": lambda: model.dh_dk(k, m), "m": lambda: model.dh_dm(k, m)}
        dA = _c128(ops[params[0]](), batch + (pa, n, n)).reshape(N, pa, n, n)
        dB = dA if same else _c128(ops[params[1]](), batch + (pb, n, n)).reshape(N, pb, n, n)
        if N < LANES:
            dX = dA if same else np.concatenate([dA, dB], axis=1)
            _occupied_generic(H, dX, pa, pb, same, float(mu), float(temperature), float(degeneracy_tol), omega, bad)
            return omega.reshape(batch + omega.shape[1:]), bad.reshape(batch)
        data = (H.reshape(N, -1), dA.reshape(N, -1), dB.reshape(N, -1))  # SIMD lanes
        _occupied_lanes(block_solver(n), data, N, n, pa, pb, same, float(mu), float(temperature),
                        float(degeneracy_tol), omega, bad)
    return omega.reshape(batch + omega.shape[1:]), bad.reshape(batch)
