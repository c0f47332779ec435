"""Batched eigensystems, direct gaps and near-degeneracy detection.

Eigenvalues come in ascending order along the last axis; eigenvectors are the columns of
``U`` (``H @ U[..., :, n] = E[..., n] * U[..., :, n]``).  Two-band models use the closed form
of H = d_0 + d . s; 3..8 bands the compiled batched solver of :mod:`magcore.kernels`
(same results as :func:`numpy.linalg.eigh` to round-off), larger matrices LAPACK.
"""

from __future__ import annotations

import numpy as np

from .kmesh import KMesh
from .models.base import Model, TwoBandModel


def _eigh(H: np.ndarray, vectors: bool = True):
    """numpy.linalg.eigh / eigvalsh semantics; batches of small matrices (3..8) go to the compiled
    solver of :mod:`magcore.linalg` (numpy's eigh pays ~us of call overhead per matrix), imported
    here so that only a diagonalisation imports numba."""
    n = H.shape[-1]
    if 3 <= n and H.size >= 64 * n * n:
        from .linalg import MAX_BANDS, eigh

        if n <= MAX_BANDS:
            return eigh(H, vectors=vectors)
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


def midgap_chemical_potential(model: Model, m: np.ndarray, mesh: KMesh, filling: int, *,
                              chunk: int | None = None) -> tuple[float, float, float]:
    """(mu, top, bottom): the middle of the global gap above ``filling`` bands, between the top
    of band ``filling - 1`` and the bottom of band ``filling`` over the mesh (relative to
    ``model.k_center(m)``) and all magnetizations ``m`` (P, 3).  Directions are diagonalised
    ``chunk`` at a time (default :func:`directions_per_chunk`: bounded memory).  Raises
    ``ValueError`` if the bands overlap (no global gap)."""
    m = np.atleast_2d(np.asarray(m, dtype=float))
    chunk = directions_per_chunk(mesh.size, model.n_bands) if chunk is None else chunk
    edges = [band_edges(model, m[s:s + chunk], mesh.points, filling) for s in range(0, len(m), chunk)]
    top, bottom = max(e[0] for e in edges), min(e[1] for e in edges)
    if bottom <= top:
        raise ValueError(f"filling {filling}: bands {filling - 1} and {filling} overlap "
                         f"(top {top:.6g} >= bottom {bottom:.6g}); set electrons.chemical_potential instead")
    return 0.5 * (top + bottom), top, bottom


def mesh_energies(model: Model, m: np.ndarray, mesh_points: np.ndarray) -> np.ndarray:
    """Band energies ``(P, K, n)`` on the mesh (relative to ``model.k_center(m)``) for each
    magnetization in ``m`` (P, 3)."""
    m = np.asarray(m, dtype=float)
    return energies(model, model.k_center(m)[:, None, :] + mesh_points[None, :, :], m[:, None, :])


def minimum_direct_gap(
    model: Model,
    m: np.ndarray,
    mesh_points: np.ndarray,
    mu: float | None = None,
    *,
    filling: int | None = None,
    iterations: int = 48,
    energies_on_mesh: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum over k of the direct gap at ``mu`` (or above the lowest ``filling`` bands), for
    each magnetization in ``m`` (P, 3).

    The mesh minimum is refined by a vectorised pattern search (a 5 x 5 stencil that moves to
    its best point and halves its step otherwise), so a gap that closes between mesh points is
    found to ~ step * 2**-iterations rather than missed.  ``mesh_points`` are relative to
    ``model.k_center(m)``; ``energies_on_mesh`` (P, K, n), if given, are the band energies on them
    (:func:`mesh_energies`), so they are not computed twice.

    Returns ``(gap (P,), k_min (P, dim))`` with k_min in absolute k.  Where the band energies on
    the mesh are not all finite (overflow) the gap is NaN.
    """
    if (mu is None) == (filling is None):
        raise ValueError("give exactly one of mu and filling")
    m = np.asarray(m, dtype=float)
    center = model.k_center(m)  # (P, dim)
    k = center[:, None, :] + mesh_points[None, :, :]
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: NaN gap, reported by the caller
        E = energies(model, k, m[:, None, :]) if energies_on_mesh is None else energies_on_mesh
        finite = np.isfinite(E).all(axis=(1, 2))
        gap = gap_above_band(E, filling) if filling is not None else gap_at(E, mu)  # (P, N)
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
    return np.where(finite, g_best, np.nan), k_best


# -- where mu sits: Fermi surface, its resolution by the mesh, mu outside the bands -------------

FERMI_WINDOW_HALF_WIDTH = 3.0
"""Half width of the Fermi window, in units of the Fermi-surface temperature T_fs: -df0/de
carries 1 - 2 / (1 + e^3) = 91% of its weight within mu +/- 3 T_fs."""

FERMI_WINDOW_MAX_SPACING = 3.5
"""Largest spacing of the mesh energies inside the Fermi window, in units of T_fs, for which a
Fermi-surface sum counts as resolved.  The mesh turns the density of states into a comb of
delta functions at its energies; -df0/de (full width at half maximum 3.53 T_fs) smooths an even
comb of spacing s into a continuous function up to a ripple of relative amplitude
4 x exp(-x), x = 2 pi^2 T_fs / s (from the Fourier transform x / sinh x of -df0/de at the comb's
first harmonic): 8% at s = 3.5 T_fs, 2e-3 at s = 2 T_fs.  A larger spacing means the sum can
miss the window (or land on a single state) and is not an integral any more.  This is a
criterion for gross failure, not for convergence."""


def fermi_level_summary(E: np.ndarray, mu: float, fermi_temperature: float) -> dict[str, np.ndarray]:
    """Where ``mu`` sits in the band energies ``E`` (P, K, n) on the mesh, per magnetization:

    * ``mesh_energies_finite``: every band energy on the mesh is finite (no overflow);
    * ``fermi_surface``: some band has mesh energies on both sides of mu (or one at mu);
    * ``mu_outside_bands``: every state is on the same side of mu (all filled or all empty);
    * ``fermi_window_spacing``: the largest gap between consecutive mesh energies (all bands)
      inside the Fermi window mu +/- FERMI_WINDOW_HALF_WIDTH * T_fs, the window ends included;
      an empty window gives its full width;
    * ``fermi_surface_resolved``: T_fs > 0 and that spacing <= FERMI_WINDOW_MAX_SPACING * T_fs.

    A Fermi surface that is not resolved makes every Fermi-surface (-df0/de) sum meaningless:
    exactly 0 at T_fs = 0, a sum over a handful of states (or none) on too coarse a mesh.
    """
    E = np.asarray(E, dtype=float)
    finite = np.isfinite(E).all(axis=(1, 2))
    with np.errstate(invalid="ignore"):
        below = (E < mu).any(axis=1)  # (P, n)
        above = (E > mu).any(axis=1)
        at = (E == mu).any(axis=1)
    fermi_surface = ((below & above) | at).any(axis=-1) & finite
    outside = (~below.any(-1) | ~above.any(-1)) & ~at.any(-1) & finite
    half = FERMI_WINDOW_HALF_WIDTH * fermi_temperature
    flat = np.clip(np.where(np.isfinite(E), E, mu + 2 * half + 1.0).reshape(len(E), -1), mu - half, mu + half)
    ends = np.broadcast_to(np.array([mu - half, mu + half]), (len(E), 2))
    comb = np.sort(np.concatenate([ends, flat], axis=1), axis=1)
    spacing = np.diff(comb, axis=1).max(axis=1) if comb.shape[1] > 1 else np.full(len(E), 2 * half)
    resolved = (fermi_temperature > 0) & (spacing <= FERMI_WINDOW_MAX_SPACING * fermi_temperature)
    return {"mesh_energies_finite": finite, "fermi_surface": fermi_surface, "mu_outside_bands": outside,
            "fermi_window_spacing": spacing, "fermi_surface_resolved": resolved}


CHUNK_BYTES = 512 * 2**20
"""Memory for the Hamiltonians and eigenvectors of one chunk of directions diagonalised on the
whole mesh (:func:`directions_per_chunk`)."""


def directions_per_chunk(n_k: int, n_bands: int, max_directions: int = 256) -> int:
    """Magnetization directions diagonalised together on a whole mesh of ``n_k`` points: at most
    ``max_directions``, and few enough that their H, eigenvectors and work copies (~64 n^2 bytes
    per (k, m) point) stay within :data:`CHUNK_BYTES`."""
    per_direction = max(1, 64 * n_bands * n_bands * int(n_k))
    return max(1, min(int(max_directions), CHUNK_BYTES // per_direction))


def fermi_level_map(model: Model, m: np.ndarray, mesh_points: np.ndarray, mu: float, fermi_temperature: float,
                    *, chunk: int | None = None) -> dict[str, np.ndarray]:
    """:func:`fermi_level_summary` for every magnetization in ``m`` (P, 3), in chunks of
    ``chunk`` directions (default :func:`directions_per_chunk`: bounded memory)."""
    m = np.asarray(m, dtype=float)
    chunk = directions_per_chunk(len(mesh_points), model.n_bands) if chunk is None else chunk
    parts = []
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported as mesh_energies_finite
        for s in range(0, len(m), chunk):
            parts.append(fermi_level_summary(mesh_energies(model, m[s:s + chunk], mesh_points), mu, fermi_temperature))
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


# -- gap closings between the points of the (theta, phi) grid ------------------------------------

_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def magnetizations(theta: np.ndarray, phi: np.ndarray, magnitude: float) -> np.ndarray:
    """m = |m| (sin t cos p, sin t sin p, cos t) at the angles ``theta``, ``phi`` (same shape,
    radians): shape ``theta.shape + (3,)``."""
    return magnitude * np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=-1)


def _golden_section(f, lo: np.ndarray, hi: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised golden-section search for the minimum of ``f`` (batch -> batch) on [lo, hi];
    returns the best point seen and its value."""
    a, b = lo.copy(), hi.copy()
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    best_x, best_f = np.where(fc <= fd, c, d), np.minimum(fc, fd)
    for _ in range(iterations):
        left = fc <= fd  # the minimum is in [a, d]
        a, b = np.where(left, a, c), np.where(left, d, b)
        c_new, d_new = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
        x_new = np.where(left, c_new, d_new)
        f_new = f(x_new)
        c, d = np.where(left, c_new, d), np.where(left, c, d_new)
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        better = f_new < best_f
        best_x, best_f = np.where(better, x_new, best_x), np.where(better, f_new, best_f)
    return best_x, best_f


def gap_closings_between_grid_points(
    model: Model,
    theta: np.ndarray,
    phi: np.ndarray,
    gap: np.ndarray,
    mesh_points: np.ndarray,
    mu: float | None = None,
    *,
    filling: int | None = None,
    tolerance: float,
    magnitude: float = 1.0,
    resolution: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray]:
    """Gap closings that fall between the points of the (theta, phi) grid.

    ``gap`` (theta, phi) is the gap map (:func:`minimum_direct_gap` at every grid direction).
    From every grid point where it has a local minimum along theta or along phi (and is not
    already below ``tolerance``), the gap is minimised over the neighbouring grid cells:
    golden-section searches over theta in [theta_{i-1}, theta_{i+1}], then over phi in
    [phi_{j-1}, phi_{j+1}] at the theta found, then over theta again (a closing on a line, like
    the TI-surface equator, is found by the first search, an isolated closing point by the
    alternation), each down to ``resolution`` rad, with the same gap routine.  Where the
    minimum found is below ``tolerance`` the grid points bracketing it (the two rows, or the
    corners of the cell) are marked.

    Returns ``(closed (theta, phi) bool, nearby (theta, phi))``: ``nearby`` is the smallest gap
    found at or next to each grid point (the grid value where no closing was found).
    """
    theta, phi = np.asarray(theta, float), np.asarray(phi, float)
    gap = np.asarray(gap, float)
    nt, nph = gap.shape
    nearby = gap.copy()
    closed = np.zeros(gap.shape, bool)
    big = np.where(np.isfinite(gap), gap, np.inf)
    pad = np.full((1, nph), np.inf)
    up, down = np.concatenate([pad, big[:-1]]), np.concatenate([big[1:], pad])
    scale = np.nanmax(np.abs(gap[np.isfinite(gap)])) if np.isfinite(gap).any() else 0.0
    noise = 1e-9 * scale  # differences below this are round-off of the gap routine, not a minimum
    # local minima (not plateaus) along theta and along phi
    min_theta = (big <= up) & (big <= down) & (np.maximum(up, down) > big + noise)
    dphi = 2 * np.pi / nph
    sin_t = np.sin(theta)[:, None]
    min_phi = np.zeros_like(min_theta)
    if nph >= 3:
        left, right = np.roll(big, 1, axis=1), np.roll(big, -1, axis=1)
        min_phi = (big <= left) & (big <= right) & (np.maximum(left, right) > big + noise)
        min_phi &= sin_t > 1e-12  # every phi is the same direction at a pole
    # Screening: the gap is Lipschitz in m; with L twice the steepest slope of the map around a
    # point, no value between it and a neighbour at distance h falls below (g + g_nb - L h) / 2.
    # Points where that bound stays above the tolerance on every side are not searched.
    d_theta = np.diff(theta).min() if nt > 1 else np.pi
    neighbours = [(up, d_theta), (down, d_theta)]
    if nph >= 3:
        h_phi = np.where(sin_t > 1e-12, sin_t * dphi, np.inf)  # no phi direction at a pole
        neighbours += [(left, h_phi), (right, h_phi)]
    usable = [np.isfinite(nb) & np.isfinite(h) & np.isfinite(big) for nb, h in neighbours]
    with np.errstate(invalid="ignore"):
        L = 2 * np.max([np.where(ok, np.abs(nb - big) / h, 0.0) for ok, (nb, h) in zip(usable, neighbours)], axis=0)
        lower = np.min([np.where(ok, (big + nb - L * h) / 2, np.inf) for ok, (nb, h) in zip(usable, neighbours)],
                       axis=0)
    cand = (min_theta | min_phi) & np.isfinite(gap) & (gap >= tolerance) & (lower < tolerance)
    if not cand.any():
        return closed, nearby
    ii, jj = np.nonzero(cand)
    t_lo, t_hi = theta[np.maximum(ii - 1, 0)], theta[np.minimum(ii + 1, nt - 1)]
    p_lo, p_hi = phi[jj] - (dphi if nph >= 2 else np.pi), phi[jj] + (dphi if nph >= 2 else np.pi)

    def gap_at_directions(t, p):
        g, _ = minimum_direct_gap(model, magnetizations(t, p, magnitude), mesh_points, mu, filling=filling)
        return np.where(np.isfinite(g), g, np.inf)

    def iterations(width):
        return int(np.ceil(np.log(max(np.max(width), resolution) / resolution) / -np.log(_GOLDEN)))

    t_best, p_best = theta[ii].copy(), phi[jj].copy()
    g_best = gap[ii, jj].copy()
    for axis in ("theta", "phi", "theta"):
        active = g_best >= tolerance
        if axis == "phi":
            active &= (nph >= 2) & (np.sin(t_best) > 1e-12)
        if not active.any():
            break
        a = np.nonzero(active)[0]
        if axis == "theta":
            x, g = _golden_section(lambda t: gap_at_directions(t, p_best[a]), t_lo[a], t_hi[a],
                                   iterations(t_hi[a] - t_lo[a]))
            better = g < g_best[a]
            t_best[a] = np.where(better, x, t_best[a])
        else:
            x, g = _golden_section(lambda p: gap_at_directions(t_best[a], p), p_lo[a], p_hi[a],
                                   iterations(p_hi[a] - p_lo[a]))
            better = g < g_best[a]
            p_best[a] = np.where(better, x, p_best[a])
        g_best[a] = np.where(better, g, g_best[a])
    # a closing found within round-off of a grid line (a smooth minimum is located to
    # ~ sqrt(machine epsilon) only) is on that line: only its grid points are marked
    snap_theta, snap_phi = max(10 * resolution, 1e-6 * d_theta), max(10 * resolution, 1e-6 * dphi)
    for n in np.nonzero(g_best < tolerance)[0]:  # mark the grid points bracketing the closing found
        t, p = t_best[n], p_best[n]
        on_row = np.nonzero(np.abs(theta - t) <= snap_theta)[0]
        if on_row.size:
            rows = [int(on_row[0])]
        else:
            i0 = int(np.clip(np.searchsorted(theta, t) - 1, 0, nt - 2))
            rows = [i0, i0 + 1]
        offset = np.angle(np.exp(1j * (p - phi)))  # signed distance to every grid column
        on_col = np.nonzero(np.abs(offset) <= snap_phi)[0]
        if nph == 1 or on_col.size:
            cols = [int(on_col[0]) if on_col.size else 0]
        else:
            j0 = int(np.argmin(np.where(offset > 0, offset, np.inf)))  # nearest column below p
            cols = [j0, (j0 + 1) % nph]
        for r in rows:
            for c in cols:
                closed[r, c] = True
                nearby[r, c] = min(nearby[r, c], g_best[n])
    return closed, nearby
