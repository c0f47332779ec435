"""Batched eigensystems, direct gaps and near-degeneracy detection.

Eigenvalues come in ascending order along the last axis; eigenvectors are the columns of
``U`` (``H @ U[..., :, n] = E[..., n] * U[..., :, n]``).  Two-band models use the closed form
of H = d_0 + d . s; 3..8 bands the compiled batched solver of :mod:`magcore.kernels`
(same results as :func:`numpy.linalg.eigh` to round-off), larger matrices LAPACK.
"""

from __future__ import annotations

import numpy as np

from .models.base import Model, TwoBandModel

try:  # compiled batched solver for small matrices (numpy's eigh pays ~us of call overhead per matrix)
    from .kernels import MAX_BANDS as _MAX_FAST_BANDS, eigh as _fast_eigh
except ImportError:  # pragma: no cover - numba is a declared dependency
    _fast_eigh, _MAX_FAST_BANDS = None, 0


def _eigh(H: np.ndarray, vectors: bool = True):
    """numpy.linalg.eigh / eigvalsh semantics; small matrices (3..8) go to the compiled solver."""
    n = H.shape[-1]
    if _fast_eigh is not None and 3 <= n <= _MAX_FAST_BANDS and H.size >= 64 * n * n:
        return _fast_eigh(H, vectors=vectors)
    return np.linalg.eigh(H) if vectors else np.linalg.eigvalsh(H)


def eigensystem_two_band(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form eigensystem of H = d_0 + d . s for a batch of d-vectors ``(..., 4)``.

    E = d_0 -/+ |d|.  The eigenvector gauge is chosen per point from the hemisphere of d, so
    it is regular everywhere except at |d| = 0, where the identity is returned.
    """
    d = np.asarray(d, dtype=float)
    d0, dx, dy, dz = np.moveaxis(d, -1, 0)
    r = np.sqrt(dx * dx + dy * dy + dz * dz)
    E = np.stack([d0 - r, d0 + r], axis=-1)

    north = dz >= 0
    # Upper state: (r + dz, dx + i dy) in the north gauge, (dx - i dy, r - dz) in the south.
    a = np.where(north, r + dz, dx) + 1j * np.where(north, 0.0, -dy)
    b = np.where(north, dx + 1j * dy, r - dz)
    norm = np.sqrt(np.abs(a) ** 2 + np.abs(b) ** 2)
    zero = norm == 0
    norm = np.where(zero, 1.0, norm)
    a = np.where(zero, 0.0, a / norm)
    b = np.where(zero, 1.0, b / norm)
    U = np.empty(d.shape[:-1] + (2, 2), dtype=complex)
    U[..., 0, 1] = a
    U[..., 1, 1] = b
    # Lower state orthogonal to the upper one: (-conj(b), conj(a)).
    U[..., 0, 0] = -np.conj(b)
    U[..., 1, 0] = np.conj(a)
    return E, U


def eigensystem(model: Model, k: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues ``(..., n)`` and eigenvectors ``(..., n, n)`` of ``model`` at (k, m)."""
    if isinstance(model, TwoBandModel):
        return eigensystem_two_band(model.d_vector(k, m))
    return _eigh(model.hamiltonian(k, m))


def energies(model: Model, k: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Band energies ``(..., n)`` in ascending order."""
    if isinstance(model, TwoBandModel):
        return eigensystem_two_band(model.d_vector(k, m))[0]
    return _eigh(model.hamiltonian(k, m), vectors=False)


def near_degenerate_pairs(E: np.ndarray, tol: float) -> np.ndarray:
    """Mask ``(..., n, n)``: True where bands n != l are closer than ``tol`` in energy."""
    diff = np.abs(E[..., :, None] - E[..., None, :])
    mask = diff < tol
    idx = np.arange(E.shape[-1])
    mask[..., idx, idx] = False
    return mask


def gap_at(E: np.ndarray, mu: float) -> np.ndarray:
    """Direct gap at each point between the highest state <= mu and the lowest state > mu.

    Where every state is on one side of ``mu`` the gap is +inf (no occupied/empty pair).
    """
    below = np.where(E <= mu, E, -np.inf).max(axis=-1)
    above = np.where(E > mu, E, np.inf).min(axis=-1)
    return above - below


def gap_above_band(E: np.ndarray, filling: int) -> np.ndarray:
    """Direct gap E_filling - E_(filling-1) between the top filled and the lowest empty band
    when the lowest ``filling`` bands are filled."""
    if not 0 < filling < E.shape[-1]:
        raise ValueError(f"filling must be between 1 and {E.shape[-1] - 1} bands, got {filling}")
    return E[..., filling] - E[..., filling - 1]


def _gap_on(model: Model, k: np.ndarray, m: np.ndarray, mu: float | None, filling: int | None) -> np.ndarray:
    E = energies(model, k, m)
    return gap_above_band(E, filling) if filling is not None else gap_at(E, mu)


def band_edges(model: Model, m: np.ndarray, mesh_points: np.ndarray, filling: int) -> tuple[float, float]:
    """Top of band ``filling - 1`` and bottom of band ``filling`` over the mesh (relative to
    ``model.k_center(m)``) and all magnetizations ``m`` (P, 3): the global gap of a filling."""
    m = np.asarray(m, dtype=float)
    E = energies(model, model.k_center(m)[:, None, :] + mesh_points[None, :, :], m[:, None, :])
    gap_above_band(E[:1, :1], filling)  # validates the band index
    return float(E[..., filling - 1].max()), float(E[..., filling].min())


def minimum_direct_gap(
    model: Model,
    m: np.ndarray,
    mesh_points: np.ndarray,
    mu: float | None = None,
    *,
    filling: int | None = None,
    iterations: int = 48,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum over k of the direct gap at ``mu`` (or above the lowest ``filling`` bands), for
    each magnetization in ``m`` (P, 3).

    The mesh minimum is refined by a vectorised pattern search (a 5 x 5 stencil that moves to
    its best point and halves its step otherwise), so a gap that closes between mesh points is
    found to ~ step * 2**-iterations rather than missed.  ``mesh_points`` are relative to
    ``model.k_center(m)``.

    Returns ``(gap (P,), k_min (P, dim))`` with k_min in absolute k.
    """
    if (mu is None) == (filling is None):
        raise ValueError("give exactly one of mu and filling")
    m = np.asarray(m, dtype=float)
    center = model.k_center(m)  # (P, dim)
    k = center[:, None, :] + mesh_points[None, :, :]
    gap = _gap_on(model, k, m[:, None, :], mu, filling)  # (P, N)
    best = np.argmin(gap, axis=1)
    k_best = k[np.arange(len(m)), best]  # (P, dim)
    g_best = gap[np.arange(len(m)), best]
    # initial step: distance from the best mesh point to its nearest mesh neighbour
    step = np.empty(len(m))
    for i, b in enumerate(np.unique(best)):  # few distinct best points; bounded memory
        d = np.linalg.norm(mesh_points - mesh_points[b], axis=-1)
        d[d == 0] = np.inf
        step[best == b] = d.min() if np.isfinite(d.min()) else 1.0
    dim = mesh_points.shape[1]
    offsets = np.stack(np.meshgrid(*([np.arange(-2, 3)] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
    for _ in range(iterations):
        trial = k_best[:, None, :] + step[:, None, None] * offsets[None, :, :]
        g_trial = _gap_on(model, trial, m[:, None, :], mu, filling)
        j = np.argmin(g_trial, axis=1)
        g_new = g_trial[np.arange(len(m)), j]
        improved = g_new < g_best
        k_best = np.where(improved[:, None], trial[np.arange(len(m)), j], k_best)
        g_best = np.where(improved, g_new, g_best)
        step = np.where(improved, step, 0.5 * step)
    return g_best, k_best
