"""Second-order wavepacket coefficients and the field-induced spin density of a texture
(dissertation chapter 3, sections 3.3-3.5; conventions in docs/physics.md).

Conventions
-----------
* Units hbar = e = 1 (quantities linear in the electric field are given per unit eE), the
  model's energy and length units (``tmd``: eV, Angstrom); [dk] = d^d k / (2 pi)^d.
* The dissertation writes the local Hamiltonian as H0 - sigma . m (eq. 3.15, J = 1), so that a
  magnetization gradient perturbs it by H'_m = -d_j m_k sigma^k (x - x_c)_j (eq. 3.18).  For a
  model with any coupling to m (``tmd``: + J m . s) the operator that plays the role of sigma is
  therefore **sigma := -dH/dm** (``-model.dh_dm``); every formula below is written with
  M^k := dH/dm_k = -sigma^k, which makes the results independent of how a model spells its
  exchange term.  "gamma, eta = alpha, beta with V -> -sigma" then reads V -> M.
* Band n (the dissertation's band 0), sums over l != n, eigenbasis matrix elements
  V^i = <n|dH/dk_i|l>, M^k = <n|dH/dm_k|l>, reduced resolvent R_n = sum_{l != n} |l><l| / (E_n - E_l),
  and S(A, B; a) := (A R^a B)_nn = sum_l A_nl B_ln / (E_n - E_l)^a.  Then

    alpha_ij  = 2 Re S(V^i, V^j; 3)                                                   (3.28)
    beta_ijk  = -Re d_{k_j} S(V^i, M^k; 2)
                + 2 Re[(V^i R^2 M^k R V^j)_nn - v_j S(V^i, M^k; 3)]                    (3.29)
    gamma_ij  = 2 Re S(M^i, V^j; 3)              (i: m index, j: field index)          (3.33)
    eta_ijk   = beta_ijk with V^i -> M^i                                               (3.34)
    chi_ijk   = -beta_ijk - v_j gamma_ki                                               (3.46)
    t_{k_j m_k} = -Im <d_j u|(E_n - H)|d_{m_k} u> = -Im S(V^j, M^k; 1)                  (3.42)
    Omega_ab  = -2 Im S(X^a, X^b; 2)             (X any of V, M)

  Eq. (3.29) is the dissertation's sum_n d_pj[sigma^k_n0 V^i_0n / 2(e0 - en)^2]
  + sum_n i Q^{jk}_n0 V^i_0n / (e0 - en)^2 + c.c. with Q^{jk}_n0 = v0_j A^{m,k}_n0
  + sum_{n2 != 0} sigma^k_{n n2} A^j_{n2 0}, A^j_{n0} = i V^j_n0 / (e0 - en), rewritten with
  sigma = -M.  In eq. (3.46) the index order of gamma is gamma_ki (m index first), as in eqs.
  (3.43), (3.49) and (3.59); eq. (3.46)'s "gamma_ik" is a typo (i is a field index there).
* k- and m-derivatives of the S-functions are analytic (perturbation theory of the reduced
  resolvent, d R = R D R - D_nn R^2 - P D R^2 - R^2 D P with D = dH/d lambda, P = |n><n|); the
  second derivatives of H they need come from the model (``d2h_dk2``/``d2h_dkdm`` if it defines
  them) or from Richardson-extrapolated central differences of its analytic ``dh_dk``.
* Near-degeneracies: a band n with a partner closer than ``degeneracy_tol`` gets NaN in every
  coefficient and is flagged (``degenerate``); integrated quantities leave such points out of
  the sum and count them (``n_degenerate``), never inf.

Integrated quantities (Fermi sea, f = f0(E_n), g = g0(E_n) = -T ln(1 + exp(-(E_n - mu)/T))):

    T^eq_{k_j m_k}  = int [dk] sum_n (f t_{jk} - g Omega_{k_j m_k})                      (3.56)
    kappa_ijk       = int [dk] sum_n (-2 f beta_ijk + g d alpha_ji / d m_k)             (3.59, 3.86)
    P^E_{ji}        = -int [dk] sum_n f alpha_ji      (electron polarization per unit eE_i,
                                                       charge -e; eq. 3.75)
  and the spin density (effective field) of a texture under an electric field E (eq. 3.81, 3.87):
    first Chern form   h1_k = eE_i int sum_n f Omega_{k_i m_k}
    second Chern form  h2_k = eE_i int sum_n f sum_j P(k_i, k_j, x_j, m_k)
                       P(a,b,c,d) = Omega_ab Omega_cd - Omega_ac Omega_bd + Omega_ad Omega_bc
                                  = eps^{abcd} Omega_ab Omega_cd / 8,
                       Omega_{a x_j} = Omega_{a m_l} d_j m_l (y-derivatives through m(y), eq. 3.12)
    spin dipole        hF_k = (d_{m_k} kappa_ijl - d_{m_l} kappa_ijk) E_i d_j m_l        (3.87)
  The second Chern form is given both per band (the semiclassical, Abelian form of eq. 3.12,
  summed over bands with f) and for the occupied subspace (non-Abelian, (1/8) eps tr(F F),
  which is smooth across degeneracies among the filled bands).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .bands import eigensystem, midgap_chemical_potential
from .electrons import Electrons
from .geometry import matrix_elements, non_abelian_curvature
from .kmesh import KMesh
from .models.base import Model
from .occupation import fermi_dirac, grand_potential_per_state

log = logging.getLogger(__name__)

FLAG_NEAR_DEGENERATE = 2


# ------------------------------------------------------------------------------------------
# second derivatives of H
# ------------------------------------------------------------------------------------------

def _richardson(f, x, h, n_dir):
    """[..., D, *rest] = d f / d x_D for D < n_dir by 4th-order Richardson extrapolation of
    central differences (truncation ~ h^4); ``f(x)`` returns (..., *rest) with ``rest`` = 3 axes."""
    out = []
    for i in range(n_dir):
        e = np.zeros(x.shape[-1])
        e[i] = 1.0
        d1 = (f(x + h * e) - f(x - h * e)) / (2 * h)
        d2 = (f(x + 2 * h * e) - f(x - 2 * h * e)) / (4 * h)
        out.append((4 * d1 - d2) / 3)
    return np.stack(out, axis=-4)


def _k_scale(model: Model) -> float:
    try:
        return float(np.linalg.norm(model.reciprocal_vectors(), axis=-1).max())
    except NotImplementedError:
        return 1.0


def hamiltonian_second_derivatives(model: Model, k: np.ndarray, m: np.ndarray,
                                   step: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """d^2 H / dk_j dk_i (..., d, d, n, n) [j, i] and d^2 H / dk_i dm_l (..., d, 3, n, n) [i, l]
    (None when dh_dk does not depend on m).

    Uses ``model.d2h_dk2(k, m)`` / ``model.d2h_dkdm(k, m)`` when the model defines them;
    otherwise 4th-order Richardson central differences of the analytic ``dh_dk`` with steps
    ``step * max|b|`` in k and ``step * max(|m|, 1)`` in m (truncation ~ step^4, round-off
    ~ 1e-16 / step relative).  An m-independent ``dh_dk`` (e.g. ``tmd``) gives an exact zero.
    """
    k = np.asarray(k, dtype=float)
    m = np.asarray(m, dtype=float)
    batch = np.broadcast_shapes(k.shape[:-1], m.shape[:-1])
    kb = np.broadcast_to(k, batch + k.shape[-1:])
    mb = np.broadcast_to(m, batch + (3,))
    if hasattr(model, "d2h_dk2"):
        dkk = np.asarray(model.d2h_dk2(kb, mb))
    else:
        dkk = _richardson(lambda kk: model.dh_dk(kk, mb), kb, step * _k_scale(model), model.dim)
    if hasattr(model, "d2h_dkdm"):
        dkm = np.asarray(model.d2h_dkdm(kb, mb))
    elif np.array_equal(model.dh_dk(kb, mb), model.dh_dk(kb, mb + np.array([0.37, -0.21, 0.13]))):
        dkm = None  # dh_dk does not depend on m (e.g. tmd): d2H/dk dm = 0 exactly
    else:
        hm = step * max(float(np.max(np.linalg.norm(mb, axis=-1), initial=0.0)), 1.0)
        d = _richardson(lambda mm: model.dh_dk(kb, mm), mb, hm, 3)  # [l, i]
        dkm = np.swapaxes(d, -3, -4)  # [i, l]
    return dkk, dkm


# ------------------------------------------------------------------------------------------
# band-resolved resolvent algebra
# ------------------------------------------------------------------------------------------

@dataclass
class _Eig:
    """Eigen-data at a batch of points for the bands ``rows`` (the band index n of every
    band-resolved result runs over ``rows``; sums over l run over all bands)."""

    E: np.ndarray        # (..., N)
    rows: np.ndarray     # (n_rows,) band indices n
    r: np.ndarray        # (..., n_rows, N) = 1 / (E_n - E_l), 0 for l = n and on close pairs
    degenerate: np.ndarray  # (..., n_rows) band n has a partner closer than tol
    V: np.ndarray        # (..., d, N, N)  <n|dH/dk_i|l>
    M: np.ndarray        # (..., 3, N, N)  <n|dH/dm_k|l>
    Wkk: np.ndarray | None = None  # (..., d, d, N, N) <n|d2H/dk_j dk_i|l>  [derivative j, component i]
    Wkm: np.ndarray | None = None  # (..., d, 3, N, N) <n|d2H/dk_i dm_k|l>  [k index i, m index k]


def _resolvent_weights(E, tol, rows=None):
    N = E.shape[-1]
    rows = np.arange(N) if rows is None else np.asarray(rows)
    dE = E[..., rows, None] - E[..., None, :]
    off = rows[:, None] != np.arange(N)[None, :]
    close = off & (np.abs(dE) < tol)
    safe = off & ~close
    r = np.where(safe, 1.0 / np.where(safe, dE, 1.0), 0.0)
    return r, close.any(axis=-1)


def _prepare(model, k, m, *, eig=None, degeneracy_tol=1e-9, second=True, fd_step=1e-3, rows=None) -> _Eig:
    k = np.asarray(k, dtype=float)
    m = np.asarray(m, dtype=float)
    E, U = eigensystem(model, k, m) if eig is None else eig
    rows = np.arange(E.shape[-1]) if rows is None else np.asarray(rows)
    r, deg = _resolvent_weights(E, degeneracy_tol, rows)
    Uh = np.conj(np.swapaxes(U, -1, -2))[..., None, :, :]
    V = Uh @ model.dh_dk(k, m) @ U[..., None, :, :]
    M = Uh @ model.dh_dm(k, m) @ U[..., None, :, :]
    out = _Eig(E=E, rows=rows, r=r, degenerate=deg, V=V, M=M)
    if second:
        dkk, dkm = hamiltonian_second_derivatives(model, k, m, fd_step)
        Uh = np.conj(np.swapaxes(U, -1, -2))[..., None, None, :, :]
        out.Wkk = Uh @ dkk @ U[..., None, None, :, :]
        out.Wkm = None if dkm is None else Uh @ dkm @ U[..., None, None, :, :]
    return out


def _S(A, B, r, a, rows):
    """S(A, B; a)[..., p, q, n] = sum_l A[p, n, l] r[n, l]^a B[q, l, n], n in ``rows``."""
    Ar = A[..., rows, :] * (r**a)[..., None, :, :] if a else A[..., rows, :]
    Bt = np.swapaxes(B, -1, -2)[..., rows, :]
    return (Ar[..., :, None, :, :] * Bt[..., None, :, :, :]).sum(-1)


def _T(A, B, C, r, a, b, rows):
    """T[..., p, q, s, n] = sum_{l, j} A[p, n, l] r[n, l]^a B[q, l, j] r[n, j]^b C[s, j, n]."""
    Ar = A[..., rows, :] * (r**a)[..., None, :, :]
    Cr = np.swapaxes(C, -1, -2)[..., rows, :] * (r**b)[..., None, :, :]  # [s, n, j] = C[s, j, n] r[n, j]^b
    Y = np.matmul(Ar[..., :, None, :, :], B[..., None, :, :, :])  # [p, q, n, j]
    return (Y[..., :, :, None, :, :] * Cr[..., None, None, :, :, :]).sum(-1)


def _diag(A, rows=None):
    d = np.einsum("...nn->...n", A)
    return d if rows is None else d[..., rows]


def _dS(A, B, r, a, D, dA, dB, rows):
    """Derivative of S(A, B; a) along parameters lambda_L with D[L] = <n|dH/dlambda_L|l>,
    dA[L, p] = <n|dA_p/dlambda_L|l>, dB[L, q] likewise (None: zero).

    Returns (..., L, p, q, n).  Parallel-transport gauge |d n> = R D |n>; S is gauge invariant:
    d S = (D R A R^a B)_nn + (A R^a B R D)_nn + (dA R^a B)_nn + (A R^a dB)_nn + (A d(R^a) B)_nn,
    d R = R D R - D_nn R^2 - P D R^2 - R^2 D P  (R the reduced resolvent of band n, P = |n><n|).
    """
    out = _T(D, A, B, r, 1, a, rows)                                  # [L, p, q, n]
    out = out + np.moveaxis(_T(A, B, D, r, a, 1, rows), -2, -4)       # [p, q, L, n] -> [L, p, q, n]
    if dA is not None:
        out = out + _S(dA.reshape(dA.shape[:-4] + (-1,) + dA.shape[-2:]), B, r, a, rows).reshape(
            dA.shape[:-2] + (B.shape[-3], r.shape[-2]))
    if dB is not None:
        out = out + np.moveaxis(_S(A, dB.reshape(dB.shape[:-4] + (-1,) + dB.shape[-2:]), r, a, rows).reshape(
            A.shape[:-2] + dB.shape[-4:-2] + (r.shape[-2],)), -4, -3)  # [p, L, q] -> [L, p, q]
    for s_ in range(a):
        out = out + np.moveaxis(_T(A, D, B, r, s_ + 1, a - s_, rows), -3, -4)  # [p, L, q, n] -> [L, p, q, n]
    out = out - a * _diag(D, rows)[..., :, None, None, :] * _S(A, B, r, a + 1, rows)[..., None, :, :, :]
    out = out - _diag(A, rows)[..., None, :, None, :] * _S(D, B, r, a + 1, rows)[..., :, None, :, :]
    out = out - np.swapaxes(_S(A, D, r, a + 1, rows), -2, -3)[..., :, :, None, :] * _diag(B, rows)[..., None, None, :, :]
    return out


# ------------------------------------------------------------------------------------------
# per-band coefficients
# ------------------------------------------------------------------------------------------

def _beta_like(X, ev: _Eig, dX_dk):
    """beta_ijk with first operator X^i (V for beta, M for eta), shape (..., i, j, k, n).
    dX_dk[..., j, i] = <n|d X^i / d k_j|l> in the eigenbasis."""
    r, V, M, rows = ev.r, ev.V, ev.M, ev.rows
    v = _diag(V, rows).real  # (..., j, n)
    dS = _dS(X, M, r, 2, V, dX_dk, ev.Wkm, rows)  # [j, i, k, n] = d_{k_j} S(X^i, M^k; 2)
    term1 = -np.moveaxis(dS, -4, -3).real  # [i, j, k, n]
    TT = _T(X, M, V, r, 2, 1, rows)  # [i, k, j, n]
    term2 = 2.0 * np.swapaxes(TT, -2, -3).real  # [i, j, k, n]
    S3 = _S(X, M, r, 3, rows)  # [i, k, n]
    term3 = -2.0 * (v[..., None, :, None, :] * S3[..., :, None, :, :]).real
    return term1 + term2 + term3


def band_coefficients(
    model: Model,
    k: np.ndarray,
    m: np.ndarray,
    *,
    eig: tuple[np.ndarray, np.ndarray] | None = None,
    degeneracy_tol: float = 1e-9,
    fd_step: float = 1e-3,
) -> dict[str, np.ndarray]:
    """Second-order wavepacket coefficients of every band n at (k, m), vectorised over the
    broadcast batch of ``k`` (..., d) and ``m`` (..., 3) (formulas in the module docstring).

    ``eig`` = (E, U) overrides the eigensystem (e.g. to test gauge invariance).

    Returns a dict of real arrays, the band index last (index conventions [i, j, k, n]):

    =============  ==================  =============================================  =======
    key            shape               meaning                                        eq.
    =============  ==================  =============================================  =======
    energy         (..., n)            E_n                                             -
    velocity       (..., d, n)         v_j = dE_n/dk_j                                  -
    berry_kk       (..., d, d, n)      Omega_{k_i k_j}          [L^2]                   2.7
    berry_km       (..., d, 3, n)      Omega_{k_j m_k}          [L]                     2.7
    berry_mm       (..., 3, 3, n)      Omega_{m_i m_k}          [1]                     2.7
    spin_dipole    (..., d, 3, n)      t_{k_j m_k}              [E L]                   3.42
    alpha          (..., d, d, n)      alpha_ij                 [L^2 / E]               3.28
    dalpha_dm      (..., d, d, 3, n)   d alpha_ij / d m_k                               -
    beta           (..., d, d, 3, n)   beta_ijk                 [L^2]                   3.29
    gamma          (..., 3, d, n)      gamma_ij (i: m, j: field) [L / E]                3.33
    eta            (..., 3, d, 3, n)   eta_ijk                  [L]                     3.34
    chi            (..., d, d, 3, n)   chi_ijk = -beta_ijk - v_j gamma_ki              3.46
    degenerate     (..., n) bool       band n has a partner within degeneracy_tol       -
    =============  ==================  =============================================  =======

    All coefficients are NaN on degenerate bands.  L, E: the model's length and energy units
    (m dimensionless); e = hbar = 1.
    """
    ev = _prepare(model, k, m, eig=eig, degeneracy_tol=degeneracy_tol, fd_step=fd_step)
    r, V, M, d, rows = ev.r, ev.V, ev.M, model.dim, ev.rows
    X = np.concatenate([V, M], axis=-3)
    S2 = _S(X, X, r, 2, rows)
    omega = -2.0 * S2.imag
    t = -_S(V, M, r, 1, rows).imag
    alpha = 2.0 * _S(V, V, r, 3, rows).real
    Wmk = None if ev.Wkm is None else np.swapaxes(ev.Wkm, -3, -4)
    dalpha = 2.0 * np.moveaxis(_dS(V, V, r, 3, M, Wmk, Wmk, rows).real, -4, -2)
    gamma = 2.0 * _S(M, V, r, 3, rows).real
    beta = _beta_like(V, ev, ev.Wkk)
    eta = _beta_like(M, ev, ev.Wkm)
    v = _diag(V).real
    chi = -beta - v[..., None, :, None, :] * np.moveaxis(gamma, -3, -2)[..., :, None, :, :]
    # chi[i, j, k] = -beta[i, j, k] - v_j gamma[k, i]; gamma moved to [i, k, n]
    out = {
        "energy": ev.E,
        "velocity": v,
        "dE_dm": _diag(M).real,
        "berry_kk": omega[..., :d, :d, :],
        "berry_km": omega[..., :d, d:, :],
        "berry_mm": omega[..., d:, d:, :],
        "spin_dipole": t,
        "alpha": alpha,
        "dalpha_dm": dalpha,
        "beta": beta,
        "gamma": gamma,
        "eta": eta,
        "chi": chi,
    }
    deg = ev.degenerate
    for key in list(out):
        if key not in ("energy", "velocity", "dE_dm"):
            out[key] = np.where(deg.reshape(deg.shape[:-1] + (1,) * (out[key].ndim - deg.ndim) + deg.shape[-1:]),
                                np.nan, out[key])
    out["degenerate"] = deg
    return out


def second_chern_form(omega: np.ndarray, a: int, b: int, c: int, dd: int) -> np.ndarray:
    """P(a, b, c, d) = Omega_ab Omega_cd - Omega_ac Omega_bd + Omega_ad Omega_bc
    = eps^{abcd} Omega_ab Omega_cd / 8 for a curvature ``omega`` (..., p, p, ...) (parameter
    axes at -3, -2 when a band axis is last; pass band-less arrays with p, p last)."""
    o = omega
    return (o[..., a, b, :] * o[..., c, dd, :] - o[..., a, c, :] * o[..., b, dd, :]
            + o[..., a, dd, :] * o[..., b, c, :])


def _texture_curvature(X_k, X_m, grad):
    """Matrix elements of the 4 + 3 parameters: k (d), x_j = grad[j, l] M^l (d), m (3)."""
    Xx = np.einsum("...jl,...lab->...jab", grad, X_m)
    return np.concatenate([X_k, Xx, X_m], axis=-3)


def texture_second_chern(E, r, V, M, grad, f, deg, rows=None):
    """Band-resolved (Abelian) second Chern term h2[..., i, k] = sum_n f_n sum_j P^n(k_i, k_j, x_j, m_k),
    with x_j the texture coordinates (d_{x_j} H = d_j m_l dH/dm_l).  Returns (h2, bad)."""
    d = V.shape[-3]
    X = _texture_curvature(V, M, grad)
    rows = np.arange(E.shape[-1]) if rows is None else rows
    omega = -2.0 * _S(X, X, r, 2, rows).imag  # (..., 2d+3, 2d+3, n in rows); f, deg given on rows
    h = np.zeros(omega.shape[:-3] + (d, 3))
    use = f != 0
    bad = (deg & use).any(axis=-1)
    for i in range(d):
        for kk in range(3):
            acc = 0.0
            for j in range(d):
                if j == i:
                    continue
                acc = acc + second_chern_form(omega, i, j, d + j, 2 * d + kk)
            h[..., i, kk] = np.where(use & ~deg, f * np.nan_to_num(acc), 0.0).sum(-1)
    return h, bad


def texture_geometry(
    model: Model,
    k: np.ndarray,
    m: np.ndarray,
    grad: np.ndarray,
    *,
    occupied=None,
    eig: tuple[np.ndarray, np.ndarray] | None = None,
    degeneracy_tol: float = 1e-9,
) -> dict[str, np.ndarray]:
    """Per-k integrands of the geometric spin density (3.81) at (k, m) with gradient ``grad``
    (..., d, 3), grad[j, l] = d_j m_l:

    * ``first_chern``  (..., d, 3, n): Omega^n_{k_i m_k} per band (NaN on degenerate bands);
    * ``second_chern`` (..., d, 3, n): sum_j P^n(k_i, k_j, x_j, m_k) per band (Abelian; NaN on
      degenerate bands);
    * ``second_chern_nonabelian`` (..., d, 3) if ``occupied`` (band indices) is given:
      sum_j (1/8) eps tr(F F)(k_i, k_j, x_j, m_k) of the occupied subspace (NaN where an occupied
      and an empty band are closer than ``degeneracy_tol``);
    * ``degenerate`` (..., n).
    Units: first Chern L, second Chern L (times d_j m in 1/L: the same units per unit eE).
    """
    k = np.asarray(k, dtype=float)
    m = np.asarray(m, dtype=float)
    ev = _prepare(model, k, m, eig=eig, degeneracy_tol=degeneracy_tol, second=False)
    d, rows = model.dim, ev.rows
    X = _texture_curvature(ev.V, ev.M, np.asarray(grad, dtype=float))
    omega = -2.0 * _S(X, X, ev.r, 2, rows).imag
    h2 = np.zeros(omega.shape[:-3] + (d, 3, len(rows)))
    for i in range(d):
        for kk in range(3):
            for j in range(d):
                if j != i:
                    h2[..., i, kk, :] += second_chern_form(omega, i, j, d + j, 2 * d + kk)
    deg = ev.degenerate
    nanmask = deg[..., None, None, :]
    out = {"first_chern": np.where(nanmask, np.nan, omega[..., :d, 2 * d:, :]),
           "second_chern": np.where(nanmask, np.nan, h2), "degenerate": deg}
    if occupied is not None:
        hna, bad = texture_second_chern_nonabelian(ev.E, ev.V, ev.M, np.asarray(grad, dtype=float),
                                                   occupied, degeneracy_tol)
        out["second_chern_nonabelian"] = np.where(bad[..., None, None], np.nan, hna)
    return out


def texture_second_chern_nonabelian(E, V, M, grad, occupied, tol):
    """Occupied-subspace second Chern term h2NA[..., i, k] = sum_j tr P_F(k_i, k_j, x_j, m_k),
    P_F(a,b,c,d) = tr(F_ab F_cd - F_ac F_bd + F_ad F_bc) = eps^{abcd} tr(F_ab F_cd) / 8."""
    d = V.shape[-3]
    X = _texture_curvature(V, M, grad)
    F, bad = non_abelian_curvature(E, X, occupied, degeneracy_tol=tol)
    F = np.nan_to_num(F)

    def tr(a, b, c, dd):
        return np.einsum("...ab,...ba->...", F[..., a, b, :, :], F[..., c, dd, :, :]).real

    h = np.zeros(F.shape[:-4] + (d, 3))
    for i in range(d):
        for kk in range(3):
            for j in range(d):
                if j == i:
                    continue
                a, b, c, dd = i, j, d + j, 2 * d + kk
                h[..., i, kk] += tr(a, b, c, dd) - tr(a, c, b, dd) + tr(a, dd, b, c)
    return h, bad


# ------------------------------------------------------------------------------------------
# k-integrals over blocks
# ------------------------------------------------------------------------------------------

def _weights(E, el: Electrons):
    f = fermi_dirac(E, el.chemical_potential, el.temperature)
    g = grand_potential_per_state(E, el.chemical_potential, el.temperature)
    use = (f != 0) | (g != 0)
    rows = np.flatnonzero(use.reshape(-1, E.shape[-1]).any(axis=0))
    return f[..., rows], g[..., rows], use[..., rows], rows


def _kappa_integrand(model, k, m, el: Electrons, *, hessian_step: float, eig=None):
    """Band sums at each k of -2 f beta_ijk + g d alpha_ji / d m_k (3.59), of -f alpha_ji (P^E)
    and the bad-point mask; shapes (..., d, d, 3), (..., d, d), (...).  Only bands with a
    nonzero f or g enter (at T = 0: the filled bands)."""
    E, U = eigensystem(model, k, m) if eig is None else eig
    f, g, use, rows = _weights(E, el)
    ev = _prepare(model, k, m, eig=(E, U), degeneracy_tol=el.degeneracy_tol, fd_step=hessian_step, rows=rows)
    bad = (ev.degenerate & use).any(axis=-1)
    good = use & ~ev.degenerate
    beta = _beta_like(ev.V, ev, ev.Wkk)  # [i, j, k, n]
    Wmk = None if ev.Wkm is None else np.swapaxes(ev.Wkm, -3, -4)  # [k (m), i (k), n, l]
    dalpha = 2.0 * _dS(ev.V, ev.V, ev.r, 3, ev.M, Wmk, Wmk, rows).real  # [k, j, i, n] = d alpha_ji / d m_k
    dalpha_ji = np.moveaxis(dalpha, -4, -2)  # [j, i, k, n]
    alpha = 2.0 * _S(ev.V, ev.V, ev.r, 3, rows).real  # [j, i, n]
    fw = np.where(good, f, 0.0)
    gw = np.where(good, g, 0.0)
    kap = (-2.0 * np.einsum("...n,...ijkn->...ijk", fw, beta)
           + np.einsum("...n,...jikn->...ijk", gw, dalpha_ji))
    pol = -np.einsum("...n,...jin->...ji", fw, alpha)
    return kap, pol, bad


def texture_partial_sums(
    model: Model,
    m: np.ndarray,
    grad: np.ndarray,
    q: np.ndarray,
    w: np.ndarray,
    electrons: Electrons,
    *,
    fd_step: float = 0.02,
    hessian_step: float = 1e-3,
) -> dict[str, np.ndarray]:
    """Partial k-sums over one mesh block (``q`` (K, d), ``w`` (K,)) for a batch of texture
    points with magnetization ``m`` (P, 3) and gradient ``grad`` (P, d, 3) (grad[j, l] = d_j m_l).
    ``fd_step``: step h (units of |m|) of the Richardson central differences of kappa in m;
    ``hessian_step``: relative step of the second derivatives of H; ``electrons.filling``: the
    filled bands of the non-Abelian second Chern form (None: not computed).

    ================  ===============  =========================================================
    key               shape            integrand (band sum, times the [dk] weight)
    ================  ===============  =========================================================
    first_chern       (P, d, 3)        f Omega_{k_i m_k}                  (3.81, first term)
    second_chern      (P, d, 3)        f sum_j P^n(k_i, k_j, x_j, m_k)    (3.81, Abelian/band)
    second_chern_na   (P, d, 3)        sum_j P_F(k_i, k_j, x_j, m_k)      (occupied subspace)
    dmi               (P, d, 3)        f t_{k_j m_k} - g Omega_{k_j m_k}   (3.56)
    kappa             (P, d, d, 3)     -2 f beta_ijk + g d alpha_ji/d m_k (3.59)
    polarization      (P, d, d)        -f alpha_ji                        (3.75, per unit eE_i)
    dkappa_dm         (P, d, d, 3, 3)  d kappa_ijk / d m_l, Richardson FD of the block sums
    dkappa_dm_plain   (P, d, d, 3, 3)  the plain central difference at step h (error estimate)
    n_degenerate      (P,)             k-points left out (near-degenerate pair with weight)
    ================  ===============  =========================================================

    The integrand at the shifted m's of the finite differences uses the same k-points (for a
    continuum model: the same disc centre model.k_center(m)).  Bands with f = g = 0 (empty at
    T = 0) are skipped.
    """
    m = np.asarray(m, dtype=float)
    grad = np.asarray(grad, dtype=float)
    P = len(m)
    k = model.k_center(m)[:, None, :] + q[None, :, :]
    mm = m[:, None, :]
    el = electrons
    E, U = eigensystem(model, k, mm)
    f, g, use, rows = _weights(E, el)
    ev = _prepare(model, k, mm, eig=(E, U), degeneracy_tol=el.degeneracy_tol, second=False, rows=rows)
    wb = np.broadcast_to(w, (P, len(w)))
    out, bad = _geometric_block_sums(E, ev, f, g, use, grad, wb, el)
    kap, pol, badk = _kappa_integrand(model, k, mm, el, hessian_step=hessian_step, eig=(E, U))
    out["kappa"] = np.einsum("pqijk,pq->pijk", kap, wb)
    out["polarization"] = np.einsum("pqji,pq->pji", pol, wb)
    bad = bad | badk
    out["dkappa_dm"], out["dkappa_dm_plain"], bad_fd = _kappa_m_derivatives(model, k, m, el, wb, fd_step=fd_step,
                                                                             hessian_step=hessian_step)
    out["n_degenerate"] = (bad | bad_fd).sum(axis=1)
    return out


def _geometric_block_sums(E, ev: _Eig, f, g, use, grad, wb,
                          el: Electrons) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Block sums of the first Chern form, the DMI tensor, the Abelian second Chern form and
    (with ``el.filling``) the occupied-subspace one, from the eigen-data ``ev`` on the weighted
    bands (weights ``f``, ``g``, used where ``use``), k-weights ``wb`` (P, K); and the mask
    (P, K) of k-points left out."""
    rows = ev.rows
    good = use & ~ev.degenerate
    bad = (ev.degenerate & use).any(axis=-1)
    omega_km = -2.0 * _S(ev.V, ev.M, ev.r, 2, rows).imag  # [j, k, n]
    t = -_S(ev.V, ev.M, ev.r, 1, rows).imag
    fw, gw = np.where(good, f, 0.0), np.where(good, g, 0.0)
    first = np.einsum("pqn,pqikn,pq->pik", fw, omega_km, wb)
    dmi = np.einsum("pqn,pqjkn,pq->pjk", fw, t, wb) - np.einsum("pqn,pqjkn,pq->pjk", gw, omega_km, wb)
    h2, bad2 = texture_second_chern(E, ev.r, ev.V, ev.M, grad[:, None], fw, ev.degenerate, rows)
    bad = bad | bad2
    out = {
        "first_chern": first,
        "second_chern": np.einsum("pqik,pq->pik", h2, wb),
        "dmi": dmi,
    }
    if el.filling is not None:
        hna, bad_na = texture_second_chern_nonabelian(E, ev.V, ev.M, grad[:, None], np.arange(el.filling),
                                                      el.degeneracy_tol)
        out["second_chern_na"] = np.einsum("pqik,pq->pik", hna, wb)
        bad = bad | bad_na
    return out, bad


def _kappa_m_derivatives(model, k, m, el: Electrons, wb, *, fd_step: float,
                         hessian_step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d kappa_ijk / d m_l of the block sums at the texture points ``m`` (P, 3) on the k-points
    ``k`` (P, K, d) with weights ``wb``: 4th-order Richardson extrapolation of central
    differences with step h = ``fd_step`` |m|, the plain central difference at h (its error
    estimate), both (P, d, d, 3, 3), and the mask (P, K) of k-points left out at any shifted m."""
    P, d = len(m), model.dim
    bad = np.zeros(k.shape[:2], dtype=bool)
    h = fd_step * np.linalg.norm(m, axis=-1)  # (P,)
    dk = np.zeros((P, d, d, 3, 3))
    dk_plain = np.zeros_like(dk)
    for l in range(3):
        vals = {}
        for s in (-2, -1, 1, 2):
            ms = m.copy()
            ms[:, l] += s * h
            ks, _, bs = _kappa_integrand(model, k, ms[:, None, :], el, hessian_step=hessian_step)
            vals[s] = np.einsum("pqijk,pq->pijk", ks, wb)
            bad = bad | bs
        hh = h[:, None, None, None]
        d1 = (vals[1] - vals[-1]) / (2 * hh)
        d2 = (vals[2] - vals[-2]) / (4 * hh)
        dk[..., l] = (4 * d1 - d2) / 3
        dk_plain[..., l] = d1
    return dk, dk_plain, bad


def integrate_texture(
    model: Model,
    m: np.ndarray,
    grad: np.ndarray,
    mesh: KMesh,
    electrons: Electrons,
    *,
    fd_step: float = 0.02,
    hessian_step: float = 1e-3,
    client=None,
    points_per_chunk: int = 4,
    k_block: int = 2048,
    checkpoints=None,
) -> dict[str, np.ndarray]:
    """k-integrals of :func:`texture_partial_sums` for texture points ``m`` (P, 3), ``grad``
    (P, d, 3); tasks are (chunks of ``points_per_chunk`` points) x (blocks of ``k_block``
    k-points), run here or on a ``distributed.Client``; tile sums are reduced in mesh order
    (results bitwise independent of the number of workers and the chunking) by
    :func:`magcore.engine.integrate_over_mesh`,
    which also logs progress and, with ``checkpoints``, resumes after an interruption."""
    from .engine import integrate_over_mesh

    sums = functools.partial(texture_partial_sums, fd_step=fd_step, hessian_step=hessian_step)
    return integrate_over_mesh(sums, model, np.asarray(m, dtype=float), mesh, electrons,
                               per_point=(np.asarray(grad, dtype=float),), client=client,
                               points_per_chunk=points_per_chunk, k_block=k_block, checkpoints=checkpoints)



# ------------------------------------------------------------------------------------------
# derived quantities
# ------------------------------------------------------------------------------------------

def spin_dipole_spin_density(dkappa_dm: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """hF[..., i, k] = sum_{j,l} (d_{m_k} kappa_ijl - d_{m_l} kappa_ijk) d_j m_l per unit eE_i (3.87).
    ``dkappa_dm[..., i, j, k, l]`` = d kappa_ijk / d m_l; ``grad[..., j, l]`` = d_j m_l."""
    A = np.swapaxes(dkappa_dm, -1, -2) - dkappa_dm  # [i, j, k, l] = d_{m_k} kappa_ijl - d_{m_l} kappa_ijk
    return np.einsum("...ijkl,...jl->...ik", A, grad)


def wall_response(
    model: Model,
    wall,
    y: np.ndarray,
    mesh: KMesh,
    *,
    chemical_potential: float | None = None,
    filling: int | None = None,
    temperature: float = 0.0,
    degeneracy_tol: float = 1e-9,
    fd_step: float = 0.02,
    client=None,
    points_per_chunk: int = 4,
    k_block: int = 2048,
    checkpoints=None,
) -> xr.Dataset:
    """Field-induced spin density across a domain wall (section 3.5, eqs. 3.81 and 3.87), shaped
    for ``texture.zarr`` (units of every variable in its attributes; the model's energy and
    length units).

    ``wall``: a :class:`magcore.texture.DomainWall` (or any callable r -> (m, grad));
    ``y``: signed distances from the wall centre along its normal (length unit); positions are
    ``wall.along_normal(y)`` if the wall has it, else (0, y).  Give ``chemical_potential`` or
    ``filling`` (then mu is mid-gap over the mesh and all m(y)); with ``filling`` the
    occupied-subspace (non-Abelian) second Chern form is also stored.  Everything linear in E is
    per unit eE along ``field`` (e = 1).
    """
    y = np.asarray(y, dtype=float)
    r = wall.along_normal(y) if hasattr(wall, "along_normal") else np.stack([np.zeros_like(y), y], -1)
    m, grad = wall(r)
    if chemical_potential is None:
        if filling is None:
            raise ValueError("give chemical_potential or filling")
        chemical_potential, top, bottom = midgap_chemical_potential(model, m, mesh, filling)
    el = Electrons(chemical_potential=chemical_potential, temperature=temperature,
                   degeneracy_tol=degeneracy_tol, filling=filling)
    S = integrate_texture(model, m, grad, mesh, el, fd_step=fd_step, client=client,
                          points_per_chunk=points_per_chunk, k_block=k_block, checkpoints=checkpoints)
    attrs = {"model": model.name, "model_parameters": dict(model.params),
             "model_material": str(getattr(model, "material", "")),
             "energy_unit": model.energy_unit, "length_unit": model.length_unit,
             "chemical_potential": float(chemical_potential),
             "temperature": temperature, "filling": -1 if filling is None else int(filling),
             "k_points": mesh.size, "fd_step": fd_step, "degeneracy_tol": degeneracy_tol}
    for key in ("width", "phi", "profile", "magnitude", "center"):
        if hasattr(wall, key):
            attrs[f"wall_{key}"] = getattr(wall, key)
    return xr.Dataset(data_vars=_wall_variables(model, m, grad, S), coords=_wall_coords(model, y), attrs=attrs)


def _variable(dims, data, long_name, units, equation, **extra) -> tuple:
    """(dims, data, attrs) of a store variable."""
    return (dims, data, {"long_name": long_name, "units": units, "equation": equation, **extra})


def _wall_variables(model: Model, m: np.ndarray, grad: np.ndarray, S: dict[str, np.ndarray]) -> dict[str, tuple]:
    """The variables of ``texture.zarr`` along a wall from the k-integrals ``S`` of
    :func:`integrate_texture` at magnetizations ``m`` with gradients ``grad``: every integrated
    quantity is NaN (and flagged) at points with near-degenerate k-points."""
    d = model.dim
    nd = S["n_degenerate"]
    bad = nd > 0
    flag = np.where(bad, FLAG_NEAR_DEGENERATE, 0).astype(np.uint8)

    def masked(x):
        return np.where(bad.reshape((-1,) + (1,) * (x.ndim - 1)), np.nan, x)

    hF = masked(spin_dipole_spin_density(S["dkappa_dm"], grad))
    hF_plain = spin_dipole_spin_density(S["dkappa_dm_plain"], grad)
    h1 = masked(S["first_chern"])
    h2 = masked(S["second_chern"])
    from .units import canonical

    L, Eu = model.length_unit, model.energy_unit
    per_field = canonical(f"{Eu} {L}^-{d} / ({Eu} {L}^-1)")
    Y, C, C2, F, G = ("y",), ("component",), ("component2",), ("field",), ("gradient",)
    var = _variable
    data = {
        "magnetization": var(Y + C, m, "magnetization m(y) of the wall", "1", "3.82-3.83"),
        "magnetization_gradient": var(Y + G + C, grad, "gradient d m_l / d x_j", canonical(f"{L}^-1"), "3.82"),
        "spin_density_first_chern": var(Y + F + C, h1, "induced spin density (effective field), first Chern form "
                                        "int f Omega_{k_i m_k}, per unit eE_i", per_field, "3.81"),
        "spin_density_second_chern": var(Y + F + C, h2, "induced spin density, second Chern form "
                                         "int sum_n f_n sum_j P^n(k_i, k_j, x_j, m_k) (Abelian, per band), per unit eE_i",
                                         per_field, "3.81, 3.12, 3.55, 3.62"),
        "spin_density_geometric": var(Y + F + C, h1 + h2, "geometric induced spin density (first + second Chern form), "
                                      "per unit eE_i", per_field, "3.81"),
        "spin_density_spin_dipole": var(Y + F + C, hF, "spin-dipole induced spin density "
                                        "(d_mk kappa_ijl - d_ml kappa_ijk) d_j m_l, per unit eE_i", per_field, "3.87"),
        "spin_density_spin_dipole_fd_error": var(Y + F + C, np.abs(hF - masked(hF_plain)),
                                                 "error bound of the spin-dipole density from the m finite differences "
                                                 "(|Richardson - plain central|)", per_field, "3.87"),
        "dmi_tensor": var(Y + G + C, masked(S["dmi"]), "equilibrium spin dipole density (DMI tensor) T_{k_j m_k}",
                          canonical(f"{Eu} {L}^-{d - 1}"), "3.56"),
        "kappa": var(Y + F + G + C, masked(S["kappa"]),
                     "field-induced spin dipole kappa_ijk (T^E_{k_j m_k} = kappa_ijk eE_i)",
                     canonical(f"{Eu} {L}^-{d - 1} / ({Eu} {L}^-1)"), "3.59, 3.86"),
        "kappa_m_derivative": var(Y + F + G + C + C2, masked(S["dkappa_dm"]), "d kappa_ijk / d m_l (Richardson FD)",
                                  canonical(f"{Eu} {L}^-{d - 1} / ({Eu} {L}^-1)"), "3.87"),
        "polarization_E": var(Y + G + F, masked(S["polarization"]),
                              "field-induced electron polarization P_j per unit eE_i (-int f alpha_ji)",
                              canonical(f"e {L}^-{d - 1} / ({Eu} {L}^-1)"), "3.75"),
        "n_degenerate_k": var(Y, nd.astype(np.int64), "k-points with near-degenerate pairs among weighted bands", "1",
                              "-"),
        "flag": var(Y, flag, "reliability flags", "1", "-", flag_masks=[FLAG_NEAR_DEGENERATE],
                    flag_meanings="near_degenerate_k_points"),
    }
    if "second_chern_na" in S:
        data["spin_density_second_chern_nonabelian"] = var(
            Y + F + C, masked(S["second_chern_na"]),
            "induced spin density, second Chern form of the occupied subspace sum_j (1/8) eps tr(F F)(k_i, k_j, x_j, m_k), "
            "per unit eE_i", per_field, "3.81, 3.84")
    return data


def _wall_coords(model: Model, y: np.ndarray) -> dict[str, tuple]:
    """Coordinates of ``texture.zarr``: the distance y from the wall centre and the component,
    field and gradient directions."""
    comp = np.array(["x", "y", "z"], dtype=object)
    fld = np.array(["x", "y", "z", "w"][:model.dim], dtype=object)
    return {
        "y": ("y", y, {"long_name": "distance from the wall centre along its normal", "units": model.length_unit}),
        "component": ("component", comp, {"long_name": "Cartesian component", "units": "1"}),
        "component2": ("component2", comp,
                       {"long_name": "second Cartesian component (derivative d/d m_l)", "units": "1"}),
        "field": ("field", fld, {"long_name": "direction of the electric field", "units": "1"}),
        "gradient": ("gradient", fld,
                     {"long_name": "direction j of the spatial gradient / momentum p_j", "units": "1"}),
    }


# ------------------------------------------------------------------------------------------
# second Chern number of a full rotation of the wall (3.84-3.85)
# ------------------------------------------------------------------------------------------

def _rotation_sphere(n_theta: int, n_phi: int, magnitude: float):
    """Quadrature over the directions (theta, phi) of m swept by a full rotation of the wall:
    m, dm/dtheta, dm/dphi (P, 3) and the weights (P,) of Gauss-Legendre in theta (the poles
    avoided) times the trapezoid in phi."""
    x, wx = np.polynomial.legendre.leggauss(n_theta)
    th = 0.5 * np.pi * (x + 1)
    wth = 0.5 * np.pi * wx
    ph = 2 * np.pi * np.arange(n_phi) / n_phi
    wph = np.full(n_phi, 2 * np.pi / n_phi)
    T, Pp = np.meshgrid(th, ph, indexing="ij")
    W = np.outer(wth, wph).ravel()
    T, Pp = T.ravel(), Pp.ravel()
    m = magnitude * np.stack([np.sin(T) * np.cos(Pp), np.sin(T) * np.sin(Pp), np.cos(T)], -1)
    dm_dth = magnitude * np.stack([np.cos(T) * np.cos(Pp), np.cos(T) * np.sin(Pp), -np.sin(T)], -1)
    dm_dph = magnitude * np.stack([-np.sin(T) * np.sin(Pp), np.sin(T) * np.cos(Pp), np.zeros_like(T)], -1)
    return m, dm_dth, dm_dph, W


def _rotation_second_chern_sums(model: Model, q, w, m, dm_dth, dm_dph, occ, degeneracy_tol: float):
    """Weighted k-sums over the mesh block (``q``, ``w``) of the second Chern form
    P(k_x, k_y, theta, phi) at one direction ``m`` of the rotation, for the occupied bands
    ``occ``: (occupied-subspace sum, k-points left out of it, Abelian band sum, k-points left
    out of it)."""
    k = model.k_center(m) + q
    E, U = eigensystem(model, k, m)
    Vk = matrix_elements(U, model.dh_dk(k, m))
    Mm = matrix_elements(U, model.dh_dm(k, m))
    Xt = np.einsum("l,...lab->...ab", dm_dth, Mm)
    Xp = np.einsum("l,...lab->...ab", dm_dph, Mm)
    X = np.concatenate([Vk, Xt[..., None, :, :], Xp[..., None, :, :]], axis=-3)
    F, bad = non_abelian_curvature(E, X, occ, degeneracy_tol=degeneracy_tol)
    trFF = (np.einsum("...ab,...ba->...", F[..., 0, 1, :, :], F[..., 2, 3, :, :])
            - np.einsum("...ab,...ba->...", F[..., 0, 2, :, :], F[..., 1, 3, :, :])
            + np.einsum("...ab,...ba->...", F[..., 0, 3, :, :], F[..., 1, 2, :, :])).real
    r, deg = _resolvent_weights(E, degeneracy_tol, occ)
    om = -2.0 * _S(X, X, r, 2, occ).imag
    Pn = second_chern_form(om, 0, 1, 2, 3)
    dg = deg.any(-1)
    return (np.sum(np.where(bad, 0.0, w * trFF)), int(bad.sum()),
            np.sum(np.where(dg, 0.0, w * np.nan_to_num(Pn).sum(-1))), int(dg.sum()))


def wall_rotation_second_chern(
    model: Model,
    mesh: KMesh,
    filling: int,
    *,
    n_theta: int = 16,
    n_phi: int = 16,
    magnitude: float = 1.0,
    chemical_potential: float | None = None,
    degeneracy_tol: float = 1e-9,
    k_block: int = 2048,
) -> dict[str, float]:
    """C2 over (k_x, k_y) x (wall coordinate, rotation angle) = T^2 x S^2 (eqs. 3.84-3.85).

    Rotating a wall whose polar angle runs 0 -> pi by 2 pi about its easy axis z sweeps m over
    the whole sphere; the wall coordinate y enters only through theta(y), so C2 is the integral
    over (theta, phi) (parametrisation independent):

        C2 = (1/4 pi^2) int d^2k dtheta dphi  P(k_x, k_y, theta, phi)
           = (2 pi)^2 sum_k w_k sum_{theta, phi} w_theta w_phi P,

    Gauss-Legendre in theta (n_theta nodes, the poles are avoided), trapezoid in phi.  Returns
    the occupied-subspace value ``C2_nonabelian`` ((1/32 pi^2) eps tr(F F), the topological
    invariant), the Abelian band sum ``C2_abelian`` (sum over the filled bands of the per-band
    form), and the counts of points left out.

    The mesh is walked in blocks of ``k_block`` points (``compute.k_block``), rounded up to a
    multiple of :data:`~magcore.engine.mesh_integral.K_TILE` as in the other k-integrals; the
    k-sums are taken over tiles of K_TILE consecutive mesh points and added in mesh order (for
    each tile, the directions in order), so the result is bitwise independent of ``k_block``.
    """
    from .engine.mesh_integral import K_TILE

    if k_block <= 0:
        raise ValueError(f"k_block must be positive, got {k_block}")
    m, dm_dth, dm_dph, W = _rotation_sphere(n_theta, n_phi, magnitude)
    if chemical_potential is None:
        chemical_potential = midgap_chemical_potential(model, m, mesh, filling)[0]
    occ = np.arange(filling)
    c_na = c_ab = 0.0
    n_bad_na = n_bad_ab = 0
    for q_block, w_block in mesh.blocks(-(-k_block // K_TILE) * K_TILE):
        for start in range(0, len(q_block), K_TILE):
            q, w = q_block[start:start + K_TILE], w_block[start:start + K_TILE]
            for p in range(len(m)):
                s_na, bad_na, s_ab, bad_ab = _rotation_second_chern_sums(model, q, w, m[p], dm_dth[p], dm_dph[p],
                                                                         occ, degeneracy_tol)
                c_na += W[p] * s_na
                n_bad_na += bad_na
                c_ab += W[p] * s_ab
                n_bad_ab += bad_ab
    scale = (2 * np.pi) ** 2 / (4 * np.pi**2)
    return {"C2_nonabelian": scale * c_na, "C2_abelian": scale * c_ab,
            "n_degenerate_nonabelian": n_bad_na, "n_degenerate_abelian": n_bad_ab,
            "chemical_potential": chemical_potential}
