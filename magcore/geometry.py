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


# -- interband connection and non-Abelian geometry ----------------------------------------------

def interband_connection(
    E: np.ndarray,
    A: np.ndarray,
    *,
    degeneracy_tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Interband Berry connection A^{nl}_i = i <u_n | d_i u_l> for n != l, by sum over states.

    From H|l> = E_l|l>:  <n|d_i u_l> = <n|d_i H|l> / (E_l - E_n), so

        A^{nl}_i = i <n|d_i H|l> / (E_l - E_n)        (n != l).

    Units: 1 / (units of the parameter l_i), e.g. length for k-derivatives.  Under a change of
    eigenvector phases |l> -> e^{i phi_l}|l> it is gauge covariant, A^{nl} -> e^{-i phi_n} A^{nl}
    e^{i phi_l}; |A^{nl}|^2 is gauge invariant.  The diagonal (intraband, gauge dependent) part is
    not defined by this formula and is returned as 0, so that sums over l != n can run over all l.

    Parameters
    ----------
    E : (..., n) band energies.
    A : (..., p, n, n) matrix elements <n|d_i H|l> (:func:`matrix_elements`).
    degeneracy_tol : pairs n != l with |E_n - E_l| < tol get NaN (never inf) and are flagged.

    Returns
    -------
    conn : (..., p, n, n) complex, conn[..., i, n, l] = A^{nl}_i; NaN on near-degenerate pairs.
    degenerate : (..., n, n) bool, True on the near-degenerate off-diagonal pairs.
    """
    E = np.asarray(E, dtype=float)
    dE = E[..., None, :] - E[..., :, None]  # [n, l] = E_l - E_n
    idx = np.arange(E.shape[-1])
    close = np.abs(dE) < degeneracy_tol
    close[..., idx, idx] = False
    offdiag = ~np.eye(E.shape[-1], dtype=bool)
    safe = offdiag & ~close
    w = np.where(safe, 1.0 / np.where(safe, dE, 1.0), 0.0)
    conn = 1j * A * w[..., None, :, :]
    conn = np.where(close[..., None, :, :], np.nan + 0j, conn)
    return conn, close


def _band_indices(occupied, n: int) -> np.ndarray:
    occ = np.asarray(occupied)
    if occ.dtype == bool:
        if occ.shape != (n,):
            raise ValueError(f"boolean 'occupied' must have shape ({n},), got {occ.shape}")
        occ = np.flatnonzero(occ)
    occ = np.unique(occ.astype(int).ravel())
    if occ.size == 0 or occ.min() < 0 or occ.max() >= n:
        raise ValueError(f"occupied bands must be a non-empty subset of 0..{n - 1}, got {occupied!r}")
    return occ


def non_abelian_curvature(
    E: np.ndarray,
    A: np.ndarray,
    occupied,
    *,
    degeneracy_tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Non-Abelian Berry curvature of the occupied subspace, by sum over the unoccupied states.

    With the Hermitian connection A^{ab}_i = i <a|d_i b> (a, b occupied),
    F_ij = d_i A_j - d_j A_i - i [A_i, A_j] = i Q-projected (<d_i a|Q|d_j b> - <d_j a|Q|d_i b>):

        F^{ab}_ij = i sum_{c unocc} [<a|d_iH|c><c|d_jH|b> - (i <-> j)] / ((E_a - E_c)(E_b - E_c)).

    For a single occupied band F_ij = -2 Im <d_i u|d_j u> = Omega_ij (docs/physics.md), and in
    general tr F_ij = sum of the band curvatures Omega^a_ij of the occupied bands (the
    intra-occupied terms cancel pairwise).  Gauge covariant under U(n_occ) rotations W of the
    occupied frame (exact within a degenerate block): F_ij -> W^dagger F_ij W; tr F and tr(F F)
    are invariant.  Degeneracies inside the occupied (or the unoccupied) set are harmless.

    Parameters
    ----------
    E : (..., n) band energies.
    A : (..., p, n, n) matrix elements <n|d_i H|l> (:func:`matrix_elements`).
    occupied : band indices (sequence of ints) or a boolean mask of shape (n,), the same at
        every point of the batch.
    degeneracy_tol : points where an occupied and an unoccupied band are closer than this are
        flagged and their F is NaN.

    Returns
    -------
    F : (..., p, p, n_occ, n_occ) complex, Hermitian in (a, b), antisymmetric in (i, j); units
        1 / (units of l_i l_j).
    bad : (...) bool, True where an occupied/unoccupied pair is near-degenerate.
    """
    E = np.asarray(E, dtype=float)
    n = E.shape[-1]
    occ = _band_indices(occupied, n)
    unocc = np.setdiff1d(np.arange(n), occ)
    batch = np.broadcast_shapes(E.shape[:-1], A.shape[:-3])
    p = A.shape[-3]
    if unocc.size == 0:  # the full space has zero curvature
        return np.zeros(batch + (p, p, occ.size, occ.size), dtype=complex), np.zeros(batch, bool)
    d = E[..., occ, None] - E[..., None, unocc]  # (..., a, c) = E_a - E_c
    close = np.abs(d) < degeneracy_tol
    w = np.where(close, 0.0, 1.0 / np.where(close, 1.0, d))
    # Y_j^{cb} = <c|d_j H|b> / (E_b - E_c) = <c|d_j b>;  X_i = Y_i^dagger
    Y = A[..., :, unocc[:, None], occ[None, :]] * np.swapaxes(w, -1, -2)[..., None, :, :]
    X = np.conj(np.swapaxes(Y, -1, -2))
    M = np.einsum("...iac,...jcb->...ijab", X, Y, optimize=True)
    F = 1j * (M - np.swapaxes(M, -3, -4))
    bad = close.any(axis=(-1, -2))
    F = np.where(bad[..., None, None, None, None], np.nan + 0j, F)
    return F, np.broadcast_to(bad, batch)


def _levi_civita(dim: int) -> np.ndarray:
    from itertools import permutations

    eps = np.zeros((dim,) * dim)
    for perm in permutations(range(dim)):
        sign = np.linalg.det(np.eye(dim)[list(perm)])
        eps[perm] = round(sign)
    return eps


def second_chern_density(F: np.ndarray) -> np.ndarray:
    """Second Chern form density (1 / 32 pi^2) eps^{ijkl} tr(F_ij F_kl) of a 4-parameter curvature.

    ``F`` : (..., 4, 4, n_occ, n_occ) Hermitian non-Abelian curvature (:func:`non_abelian_curvature`,
    convention F = dA - i A^A with A = i <u|du>, so that a single band has F = Omega of
    docs/physics.md).  eps^{ijkl} is the Levi-Civita symbol with eps^{0123} = +1 in the order of
    the parameters (l_0, l_1, l_2, l_3) given to F.  The second Chern number of a closed
    4-manifold is

        C2 = int d^4 l  (1/32 pi^2) eps^{ijkl} tr(F_ij F_kl) = (1/8 pi^2) int tr(F ^ F),

    the ch_2 term of tr exp(F / 2 pi); it is even in F (independent of the sign convention of F)
    and odd under an odd permutation of the parameters.  On a lattice BZ with the [dk] weights of
    :func:`magcore.kmesh.bz_mesh`, C2 = (2 pi)^4 sum_k w_k density(k).  The same eps tr(F F)
    with all derivatives taken by plaquettes is what :mod:`magcore.topology` sums.

    Returns the real density (...) in 1 / (units of l)^4; NaN where F is NaN.
    """
    F = np.asarray(F)
    if F.shape[-4:-2] != (4, 4):
        raise ValueError(f"F must have shape (..., 4, 4, n, n), got {F.shape}")
    eps = _levi_civita(4)
    val = np.einsum("ijkl,...ijab,...klba->...", eps, F, F, optimize=True)
    return val.real / (32 * np.pi**2)


def skew(m: np.ndarray) -> np.ndarray:
    """[m]_x, the matrix with [m]_x v = m x v, shape (..., 3, 3)."""
    z = np.zeros(m.shape[:-1])
    return np.stack([np.stack([z, -m[..., 2], m[..., 1]], -1),
                     np.stack([m[..., 2], z, -m[..., 0]], -1),
                     np.stack([-m[..., 1], m[..., 0], z], -1)], axis=-2)
