"""Sum-over-states Berry geometry (dissertation eq. after 2.7; conventions in docs/physics.md).

Berry curvature of band n in parameters (l_i, l_j), any of k or m:

    Omega^n_ij = -2 Im <d_i u_n | d_j u_n>
               = -2 Im sum_{l != n} <n|d_i H|l><l|d_j H|n> / (E_n - E_l)^2.

Gauge invariant by construction: only products <n|A|l><l|B|n> of matrix elements enter.
Energy denominators are never divided through silently: pairs closer than ``degeneracy_tol``
are excluded from the sum and counted, and the caller turns a nonzero count into NaN + flag.
"""

from __future__ import annotations

import numpy as np


def matrix_elements(U: np.ndarray, dH: np.ndarray) -> np.ndarray:
    """<n| dH_p |l> for a batch of operators: ``U`` (..., n, n), ``dH`` (..., p, n, n)."""
    return np.einsum("...an,...pab,...bl->...pnl", U.conj(), dH, U, optimize=True)


def berry_curvature(
    E: np.ndarray,
    A: np.ndarray,
    B: np.ndarray | None = None,
    *,
    degeneracy_tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Band-resolved Berry curvature Omega^n_{ij} from matrix elements.

    Parameters
    ----------
    E : (..., n) band energies.
    A, B : (..., p, n, n) and (..., q, n, n) matrix elements <n|d_i H|l> (see
        :func:`matrix_elements`); ``B`` defaults to ``A``.
    degeneracy_tol : pairs with |E_n - E_l| < tol are left out of the sum and reported.

    Returns
    -------
    omega : (..., p, q, n); NaN for bands that have a near-degenerate partner.
    degenerate : (..., n) bool, True where band n has a partner within ``tol``.
    """
    B = A if B is None else B
    dE = E[..., :, None] - E[..., None, :]
    idx = np.arange(E.shape[-1])
    close = np.abs(dE) < degeneracy_tol
    close[..., idx, idx] = False
    with np.errstate(divide="ignore"):
        w = np.where(np.abs(dE) < degeneracy_tol, 0.0, 1.0 / np.where(dE == 0, 1.0, dE) ** 2)
    w[..., idx, idx] = 0.0
    omega = -2.0 * np.einsum("...inl,...jln,...nl->...ijn", A, B, w, optimize=True).imag
    degenerate = close.any(axis=-1)
    omega = np.where(degenerate[..., None, None, :], np.nan, omega)
    return omega, degenerate


def occupied_berry_curvature(
    E: np.ndarray,
    f: np.ndarray,
    A: np.ndarray,
    B: np.ndarray | None = None,
    *,
    degeneracy_tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Occupation-weighted band sum sum_n f_n Omega^n_ij at each point (integrand of eq. 2.10).

    Uses the pair form  -sum_{n != l} (f_n - f_l) Im(A_nl B_ln) / (E_n - E_l)^2, in which pairs
    of equally occupied states cancel exactly (degenerate filled bands are harmless).

    Returns ``(omega (..., p, q), bad (...))``: ``bad`` is True at points where a pair with
    different occupation is closer than ``degeneracy_tol``; those pairs are left out, so the
    caller must treat the point as unreliable.
    """
    B = A if B is None else B
    dE = E[..., :, None] - E[..., None, :]
    df = f[..., :, None] - f[..., None, :]
    active = df != 0
    close = active & (np.abs(dE) < degeneracy_tol)
    safe = active & ~close
    w = np.where(safe, df / np.where(safe, dE, 1.0) ** 2, 0.0)
    omega = -np.einsum("...inl,...jln,...nl->...ij", A, B, w, optimize=True).imag
    return omega, close.any(axis=(-1, -2))


def vector_form(omega_mm: np.ndarray) -> np.ndarray:
    """Vector form Omega_i = eps_ijk Omega_jk / 2 of an antisymmetric (..., 3, 3) tensor (eq. 2.16)."""
    return np.stack(
        [omega_mm[..., 1, 2], omega_mm[..., 2, 0], omega_mm[..., 0, 1]], axis=-1
    )
