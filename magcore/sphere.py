"""Coefficient maps over the magnetization sphere (dissertation chapter 2).

For each magnetization direction m = |m| (sin t cos p, sin t sin p, cos t) on a (theta, phi)
grid, k-integrals over the occupied states:

* gyrotropic Berry curvature  Omega_mm = int [dk] f0 Omega_mm                 (eq. 2.10)
* its vector form and the gyromagnetic ratio  Omega = m / (gamma_s m^2)       (eq. 2.16)
* the total gyromagnetic ratio  1/gamma = 1/gamma_f + 1/gamma_s               (eq. 2.33)
* the electron free energy (grand potential)  G = int [dk] sum_n g(E_n)       (eq. 2.12)

The k-integrals run on :func:`magcore.engine.integrate_over_mesh`: (sphere-point chunks) x
(k-mesh blocks) on Dask, tile sums reduced in mesh order, so the result is bitwise independent
of the number of workers and of the chunking (points_per_chunk, k_block).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .bands import FERMI_WINDOW_HALF_WIDTH, FERMI_WINDOW_MAX_SPACING, eigensystem, fermi_level_map
from .electrons import Electrons
from .engine import ChunkCheckpoints, integrate_over_mesh
from .geometry import berry_curvature, matrix_elements, occupied_berry_curvature, skew, vector_form
from .kmesh import KMesh, k_center_jacobian
from .models.base import Model
from .occupation import fermi_dirac, grand_potential_per_state
from .quantities import SPHERE_QUANTITIES, units_of

log = logging.getLogger(__name__)

FLAG_GAP_CLOSED = 1
FLAG_NEAR_DEGENERATE = 2
FLAG_NON_FINITE = 4
FLAG_FERMI_SURFACE_UNRESOLVED = 8
FLAG_MU_OUTSIDE_BANDS = 16
FLAG_STENCIL_TOUCHES_FLAGGED = 32
FLAG_UNDEFINED_ON_GRID = 64
FLAG_MASKS = (FLAG_GAP_CLOSED, FLAG_NEAR_DEGENERATE, FLAG_NON_FINITE, FLAG_FERMI_SURFACE_UNRESOLVED,
              FLAG_MU_OUTSIDE_BANDS, FLAG_STENCIL_TOUCHES_FLAGGED, FLAG_UNDEFINED_ON_GRID)
FLAG_MEANINGS = ("gap_closed near_degenerate_k_points non_finite_k_sums fermi_surface_unresolved "
                 "mu_outside_bands stencil_touches_flagged undefined_on_grid")
"""Bits of the ``flag`` variable of :func:`sphere_map` (CF ``flag_masks`` / ``flag_meanings``):

1  gap_closed: the gap at mu closes at (or next to) this direction; quantities with energy
   denominators (Berry curvatures, gamma, intrinsic H^E and pumping, Omega^E, eta^E, torques) NaN;
2  near_degenerate_k_points: k-points with an occupied/empty pair closer than degeneracy_tol
   (never divided by); the same quantities NaN;
4  non_finite_k_sums: a k-sum or a band energy on the mesh is not finite (overflow): every
   electronic quantity of the point NaN;
8  fermi_surface_unresolved: mu is inside a band but the Fermi-surface temperature
   max(T, smearing) is 0 or not resolved by the mesh: every Fermi-surface (-df0/de) quantity NaN
   (density of states, damping, extrinsic H^E and pumping, Omega^E, eta^E, torques);
16 mu_outside_bands: every state is filled or empty (results trivial, not NaN);
32 stencil_touches_flagged: the point's own values are fine, but a derived quantity whose
   stencil reaches a NaN point (finite differences in theta, the spectral phi derivative along
   the whole row, the antipode -m of a parity split) is NaN;
64 undefined_on_grid: a derived quantity is not defined here on this grid (the curl at the
   poles, parity parts without the antipode on the grid, theta derivatives with n_theta < 3).
"""


class GapClosingWarning(RuntimeWarning):
    """Emitted when sphere points are set to NaN because the gap closes or nearly closes."""


class NonFiniteWarning(RuntimeWarning):
    """Emitted when k-sums or band energies are not finite (overflow): those points are NaN."""


class FermiSurfaceWarning(RuntimeWarning):
    """Emitted when a Fermi surface is not resolved (its quantities are NaN), or when mu lies
    outside all bands."""


def sphere_grid(n_theta: int, n_phi: int) -> tuple[np.ndarray, np.ndarray]:
    """theta in [0, pi] including both poles, phi in [0, 2 pi) evenly spaced."""
    if n_theta < 2 or n_phi < 1:
        raise ValueError(f"need n_theta >= 2 and n_phi >= 1, got {n_theta}, {n_phi}")
    return np.linspace(0.0, np.pi, n_theta), 2 * np.pi * np.arange(n_phi) / n_phi


def unit_vectors(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """m_hat(theta, phi), shape ``theta.shape x phi.shape x (3,)`` on the outer grid."""
    t, p = np.meshgrid(theta, phi, indexing="ij")
    return np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1)


def fermi_derivative(E: np.ndarray, mu: float, T: float) -> np.ndarray:
    """df0/de at temperature T (zero everywhere at T = 0: no resolvable Fermi surface)."""
    if T == 0:
        return np.zeros_like(E)
    f = fermi_dirac(E, mu, T)
    return -f * (1.0 - f) / T


def sphere_partial_sums(
    model: Model,
    m: np.ndarray,
    q: np.ndarray,
    w: np.ndarray,
    electrons: Electrons,
) -> dict[str, np.ndarray]:
    """Partial k-sums of every chapter-2 integrand over one mesh block, for a batch of m.

    Runs the compiled single-pass kernel :func:`magcore.kernels.chapter2_sums`; the numpy
    reference implementation, with the table of integrands, is :func:`_sphere_partial_sums_numpy`
    (the two agree to round-off, tests/unit/test_kernels.py).
    """
    from .kernels import chapter2_sums

    return chapter2_sums(model, np.asarray(m, dtype=float), q, w, electrons)


def _sphere_partial_sums_numpy(
    model: Model,
    m: np.ndarray,
    q: np.ndarray,
    w: np.ndarray,
    electrons: Electrons,
) -> dict[str, np.ndarray]:
    """Partial k-sums of every chapter-2 integrand over one mesh block, for a batch of m
    (numpy reference implementation of :func:`sphere_partial_sums`).

    ``m`` (P, 3) full magnetization vectors; ``q`` (K, dim), ``w`` (K,) a block of the mesh
    relative to ``model.k_center(m)``.  With the parameters lambda = (k_1 .. k_d, m_x, m_y, m_z),
    V_x = <n|dH/dlambda_x|l> computed once per point, f = f0(E), f' = df0/de (at the
    Fermi-surface temperature), tau = relaxation time, the keys of
    :data:`magcore.quantities.KERNEL_SUMS`:

    ====================  ========================================================  ==========
    key                   integrand (summed over bands, weighted by [dk])           eq.
    ====================  ========================================================  ==========
    sea_curvature (p,p)   f Omega_{lambda lambda'}                                  2.6, 2.10
    surface_velocities    -tau f' dE/dlambda dE/dlambda'                            2.11, 2.17
    free_energy           g(E)                                                      2.12
    hellmann_feynman (3)  f dE/dm_i (with the cutoff-centre shift)                  2.12
    density_of_states     -f'  (density of states at mu, smeared)                   -
    berry_curvature_mm_E  tau f' [v_j Omega_{m_i m_l} - (Omega_{k_j m_i} dE/dm_l)_A]  2.18
    damping_E (d,3,3)     tau f' (Omega_{k_j m_i} dE/dm_l)_S                        2.19
    n_degenerate          k-points where a pair that enters is closer than tol      -
    ====================  ========================================================  ==========
    """
    dim = model.dim
    k = model.k_center(m)[:, None, :] + q[None, :, :]
    mm = m[:, None, :]
    E, U = eigensystem(model, k, mm)
    dH = np.concatenate([model.dh_dk(k, mm), model.dh_dm(k, mm)], axis=-3)  # (P, K, d+3, n, n)
    V = matrix_elements(U, dH)
    mu, T_fs, tau = electrons.chemical_potential, electrons.fermi_surface_temperature, electrons.relaxation_time
    f = fermi_dirac(E, mu, electrons.temperature)
    fp = fermi_derivative(E, mu, T_fs)
    omega, bad = occupied_berry_curvature(E, f, V, degeneracy_tol=electrons.degeneracy_tol)
    g = grand_potential_per_state(E, mu, electrons.temperature).sum(-1)
    diag = np.einsum("...pnn->...pn", V).real  # (P, K, d+3, n): dE_n/dk_j, dE_n/dm_i at fixed k
    vk, dEm = diag[..., :dim, :], diag[..., dim:, :]
    # total derivative at fixed q = k - k0(m): dE/dm + (dk0/dm) . dE/dk  (zero shift on lattices)
    dEm_q = dEm + np.einsum("pij,pkjn->pkin", k_center_jacobian(model, m), vk)
    wb = np.broadcast_to(w, bad.shape)
    out = {
        "sea_curvature": np.einsum("pk,pkxy->pxy", wb, omega),
        "surface_velocities": np.concatenate([np.zeros(m.shape[:1] + (dim + 3, dim)),  # (k, k) block: unused
                                              -tau * np.einsum("pk,pkn,pkxn,pkyn->pxy", wb, fp, diag, dEm)], axis=-1),
        "free_energy": (g * wb).sum(axis=1),
        "hellmann_feynman": np.einsum("pk,pkn,pkin->pi", wb, f, dEm_q),
        "density_of_states": -(fp.sum(-1) * wb).sum(axis=1),
    }
    omegaE = np.zeros(m.shape[:1] + (dim, 3, 3))
    etaE = np.zeros_like(omegaE)
    on_fs = fp != 0
    if on_fs.any():
        band_omega, degenerate = berry_curvature(E, V, degeneracy_tol=electrons.degeneracy_tol)
        bad = bad | (degenerate & on_fs).any(axis=-1)
        # degenerate bands (NaN, counted in ``bad``) are left out; any other non-finite value
        # (overflow) is kept, so that the caller sees it
        band_omega = np.where((on_fs & ~degenerate)[..., None, None, :], band_omega, 0.0)
        wfp = wb[..., None] * fp * tau  # (P, K, n)
        X = np.einsum("pkn,pkjin,pkln->pjil", wfp, band_omega[..., :dim, dim:, :], dEm)  # Omega_{k_j m_i} dE/dm_l
        omegaE = np.einsum("pkn,pkjn,pkiln->pjil", wfp, vk, band_omega[..., dim:, dim:, :]) \
            - 0.5 * (X - X.swapaxes(-1, -2))
        etaE = 0.5 * (X + X.swapaxes(-1, -2))
    out["berry_curvature_mm_E"] = omegaE
    out["damping_E"] = etaE
    out["n_degenerate"] = bad.sum(axis=1)
    return out


def gyromagnetic_ratio(omega_vec: np.ndarray, m: np.ndarray) -> np.ndarray:
    """gamma_s = 1 / (|m| Omega . m_hat), from Omega = m / (gamma_s m^2) (eq. 2.16)."""
    norm = np.linalg.norm(m, axis=-1)
    radial = np.einsum("...i,...i->...", omega_vec, m) / norm
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(radial == 0, np.inf, 1.0 / (norm * radial))


def total_gyromagnetic_ratio(gamma_s: np.ndarray, gamma_f: float) -> np.ndarray:
    """1/gamma = 1/gamma_f + 1/gamma_s (eq. 2.33)."""
    return 1.0 / (1.0 / gamma_f + 1.0 / gamma_s)


def field_free_precession(m: np.ndarray, H: np.ndarray, gamma: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Rate m_dot_0 of the field-free LLG, eq. 2.15 m_dot = -gamma m x (H - eta . m_dot), solved
    exactly for a damping tensor: (1 - gamma [m]_x eta) m_dot = -gamma m x H.

    ``m`` (..., 3) is the magnetization (with its magnitude), ``H`` (..., 3) the effective field,
    ``gamma`` (...) the gyromagnetic ratio and ``eta`` (..., 3, 3) the damping tensor (2.11).
    Units: those of gamma * m * H.  To first order in eta, m_dot_0 = -gamma m x (H + gamma eta.(m x H))
    (the form in eq. 2.28); eq. 2.29 uses the zeroth order, -gamma m x H.  Points where any input
    is not finite give NaN.
    """
    m, H, eta = np.asarray(m, float), np.asarray(H, float), np.asarray(eta, float)
    gamma = np.broadcast_to(np.asarray(gamma, float), m.shape[:-1])
    ok = np.isfinite(gamma) & np.isfinite(m).all(-1) & np.isfinite(H).all(-1) & np.isfinite(eta).all((-1, -2))
    g = np.where(ok, gamma, 0.0)
    m0 = np.where(ok[..., None], m, 0.0)
    A = np.eye(3) - g[..., None, None] * skew(m0) @ np.where(ok[..., None, None], eta, 0.0)
    b = -g[..., None] * np.cross(m0, np.where(ok[..., None], H, 0.0))
    mdot = np.linalg.solve(A, b[..., None])[..., 0]
    return np.where(ok[..., None], mdot, np.nan)


def tangent_basis(theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors e_theta, e_phi on the outer (theta, phi) grid, shape (nt, np, 3)."""
    t, p = np.meshgrid(theta, phi, indexing="ij")
    e_t = np.stack([np.cos(t) * np.cos(p), np.cos(t) * np.sin(p), -np.sin(t)], axis=-1)
    e_p = np.stack([-np.sin(p), np.cos(p), np.zeros_like(p)], axis=-1)
    return e_t, e_p


def _d_theta(X: np.ndarray, theta: np.ndarray) -> np.ndarray:
    if len(theta) < 3:
        return np.full_like(X, np.nan, dtype=float)  # too few polar angles to differentiate
    return np.gradient(X, theta, axis=0, edge_order=2)


def _d_phi(X: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Spectral derivative along the periodic phi axis (axis 1)."""
    n = X.shape[1]
    if n < 3:
        return np.zeros_like(X)
    freq = np.fft.fftfreq(n, d=(phi[1] - phi[0]) / (2 * np.pi))
    if n % 2 == 0:
        freq[n // 2] = 0.0  # the Nyquist mode has no well-defined derivative
    shape = (1, n) + (1,) * (X.ndim - 2)
    return np.fft.ifft(1j * freq.reshape(shape) * np.fft.fft(X, axis=1), axis=1).real


def field_from_free_energy(G: np.ndarray, theta: np.ndarray, phi: np.ndarray, magnitude: float) -> np.ndarray:
    """Tangential effective field H = -dG/dm (eq. 2.12) from G on the (theta, phi) grid,
    Cartesian (nt, np, 3): H = -(dG/dtheta e_theta + dG/dphi e_phi / sin theta) / |m|.
    Finite differences (2nd order) in theta, spectral in phi; zero phi-part at the poles."""
    e_t, e_p = tangent_basis(theta, phi)
    sin_t = np.sin(theta)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        h_p = np.where(sin_t > 1e-12, -_d_phi(G, phi) / (magnitude * sin_t), 0.0)
    h_t = -_d_theta(G, theta) / magnitude
    return h_t[..., None] * e_t + h_p[..., None] * e_p


def radial_curl(H: np.ndarray, theta: np.ndarray, phi: np.ndarray, magnitude: float) -> np.ndarray:
    """Radial component of curl_m H on the sphere (eqs. 2.20, 2.25) for a Cartesian tangent
    field H (nt, np, 3, ...): (1/(|m| sin t)) [d_t(sin t H_phi) - d_p H_theta]; NaN at the poles."""
    e_t, e_p = tangent_basis(theta, phi)
    extra = (slice(None), slice(None), slice(None)) + (None,) * (H.ndim - 3)
    h_t = (H * e_t[extra]).sum(axis=2)
    h_p = (H * e_p[extra]).sum(axis=2)
    sin_t = np.sin(theta).reshape((-1, 1) + (1,) * (h_t.ndim - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        curl = (_d_theta(sin_t * h_p, theta) - _d_phi(h_t, phi)) / (magnitude * sin_t)
    return np.where(sin_t > 1e-12, curl, np.nan)


def parity_parts(X: np.ndarray, theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Even and odd parts of X(m) under m -> -m on the grid: (X(m) +/- X(-m)) / 2.

    -m sits at (pi - theta, phi + pi): needs theta symmetric about pi/2 and an even n_phi;
    otherwise both parts are NaN.
    """
    n_phi = len(phi)
    if n_phi % 2 or not np.allclose(theta, np.pi - theta[::-1]):
        nan = np.full_like(X, np.nan, dtype=float)
        return nan, nan
    X_anti = np.roll(X[::-1], -n_phi // 2, axis=1)
    return 0.5 * (X + X_anti), 0.5 * (X - X_anti)


def sphere_map(
    model: Model,
    theta: np.ndarray,
    phi: np.ndarray,
    mesh: KMesh,
    electrons: Electrons,
    *,
    magnitude: float = 1.0,
    gamma_f: float = 2.0,
    min_gap: np.ndarray | None = None,
    gap_tolerance: float = 1e-6,
    gap_closed: np.ndarray | None = None,
    fermi_level: dict[str, np.ndarray] | None = None,
    client=None,
    points_per_chunk: int = 64,
    k_block: int = 4096,
    checkpoints: ChunkCheckpoints | None = None,
    sums: dict[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """Chapter-2 coefficient maps over the (theta, phi) grid as a labelled Dataset.

    Everything linear in the electric field is stored per unit field (dimension ``field``:
    the k directions), with e = 1, so any E can be applied later: X(E) = X . E.

    Numerical trouble is reported, never hidden: the affected values are NaN, the ``flag``
    variable says why (bits in :data:`FLAG_MEANINGS`, documented there) and a warning says how
    many points were affected.

    ``min_gap`` (theta, phi), from the bands stage, marks gap closings: where it is below
    ``gap_tolerance`` (or ``gap_closed``, the bands stage's map including closings between grid
    points, is True) the quantities with energy denominators (Berry curvatures, gamma, H^E
    intrinsic, torques) are NaN and ``flag`` has bit 1 set; k-points with near-degenerate pairs
    set bit 2 (:class:`GapClosingWarning`).  Non-finite k-sums or band energies set bit 4 and
    make every electronic quantity of the point NaN (:class:`NonFiniteWarning`).

    ``fermi_level`` (arrays over (theta, phi), :func:`magcore.bands.fermi_level_summary`: keys
    ``fermi_surface``, ``fermi_surface_resolved``, ``mu_outside_bands`` and optionally
    ``mesh_energies_finite``) says where mu is inside a band and whether the mesh resolves the
    Fermi window at max(T, smearing); computed here from the mesh when not given.  An
    unresolved Fermi surface sets bit 8 and makes the Fermi-surface quantities NaN; mu outside
    all bands sets bit 16 (:class:`FermiSurfaceWarning`).  Derived quantities whose stencil
    reaches a NaN point set bit 32, those not defined on the grid (the curl at the poles) bit 64.

    ``sums``: the k-sums of the grid's magnetizations (row-major over (theta, phi)) when they are
    already known (a Fermi scan, :func:`magcore.fermi_scan.scan_over_mesh`); not integrated again.
    """
    if magnitude <= 0:
        raise ValueError(f"magnetization magnitude must be > 0, got {magnitude}")
    mhat = unit_vectors(theta, phi)
    shape = mhat.shape[:-1]
    m = magnitude * mhat.reshape(-1, 3)
    if sums is None:
        sums = integrate_over_mesh(sphere_partial_sums, model, m, mesh, electrons, client=client,
                                   points_per_chunk=points_per_chunk, k_block=k_block, checkpoints=checkpoints)
    S = {key: val.reshape(shape + val.shape[1:]) for key, val in sums.items()}
    if fermi_level is None:
        fermi_level = fermi_level_map(model, m, mesh.points, electrons.chemical_potential,
                                      electrons.fermi_surface_temperature)
    level = {key: np.asarray(val).reshape(shape) for key, val in fermi_level.items()}
    trouble = _Trouble.find(S, level, shape, min_gap, gap_tolerance, gap_closed)
    trouble.warn(electrons, gap_tolerance, level)
    stencils = _Stencils(shape)
    values = _quantities(S, trouble, stencils, model, theta, phi, mhat, magnitude, gamma_f)
    flag = trouble.flag()
    flag[stencils.touched] |= FLAG_STENCIL_TOUCHES_FLAGGED
    flag[stencils.undefined] |= FLAG_UNDEFINED_ON_GRID
    ds = _dataset(values, flag, model, theta, phi, mesh, electrons, magnitude, gamma_f)
    if min_gap is not None:
        ds["min_gap"] = (("theta", "phi"), np.asarray(min_gap),
                         {"long_name": "minimum direct gap at the chemical potential over k",
                          "units": model.energy_unit, "equation": "-"})
    return ds


@dataclass(frozen=True)
class _Trouble:
    """Where the numbers of a sphere map cannot be trusted, point by point (theta, phi)."""

    closed: np.ndarray  # gap at mu closed at or next to the point (bit 1)
    near_degenerate: np.ndarray  # k-points with near-degenerate pairs (bit 2)
    non_finite: np.ndarray  # non-finite k-sums or band energies (bit 4)
    fs_unresolved: np.ndarray  # a Fermi surface the mesh does not resolve (bit 8)
    mu_outside: np.ndarray  # mu outside all bands (bit 16)

    @classmethod
    def find(cls, S, level, shape, min_gap, gap_tolerance, gap_closed) -> "_Trouble":
        def per_point(mask):
            return np.asarray(mask, dtype=bool).reshape(shape)

        closed = np.zeros(shape, bool)
        if min_gap is not None:
            closed |= per_point(np.asarray(min_gap) < gap_tolerance)
        if gap_closed is not None:
            closed |= per_point(gap_closed)
        with np.errstate(invalid="ignore"):
            finite = np.all([np.isfinite(v).reshape(shape + (-1,)).all(-1) for key, v in S.items()
                             if key != "n_degenerate"], axis=0)
        if "mesh_energies_finite" in level:
            finite &= per_point(level["mesh_energies_finite"])
        return cls(closed=closed, near_degenerate=S["n_degenerate"] > 0, non_finite=~finite,
                   fs_unresolved=per_point(level["fermi_surface"]) & ~per_point(level["fermi_surface_resolved"]) & finite,
                   mu_outside=per_point(level["mu_outside_bands"]) & finite)

    @property
    def denominators(self) -> np.ndarray:
        """Points where quantities with energy denominators are NaN."""
        return self.closed | self.near_degenerate | self.non_finite

    @property
    def fermi_surface(self) -> np.ndarray:
        """Points where Fermi-surface (-df0/de) quantities are NaN."""
        return self.fs_unresolved | self.non_finite

    def where(self, meanings: tuple[str, ...]) -> np.ndarray:
        """Points with any of the troubles named by their flag meanings (of bits 1-8)."""
        by_meaning = {"gap_closed": self.closed, "near_degenerate_k_points": self.near_degenerate,
                      "non_finite_k_sums": self.non_finite, "fermi_surface_unresolved": self.fs_unresolved}
        return np.logical_or.reduce([by_meaning[m] for m in meanings])

    def flag(self) -> np.ndarray:
        flag = np.zeros(self.closed.shape, dtype=np.uint8)
        flag[self.closed] |= FLAG_GAP_CLOSED
        flag[self.near_degenerate] |= FLAG_NEAR_DEGENERATE
        flag[self.non_finite] |= FLAG_NON_FINITE
        flag[self.fs_unresolved] |= FLAG_FERMI_SURFACE_UNRESOLVED
        flag[self.mu_outside] |= FLAG_MU_OUTSIDE_BANDS
        return flag

    def warn(self, electrons: "Electrons", gap_tolerance: float, level: dict[str, np.ndarray]) -> None:
        """One warning per kind of trouble, saying how many points and what to do."""
        unreliable = self.closed | self.near_degenerate
        if unreliable.any():
            warnings.warn(
                f"{int(unreliable.sum())} of {unreliable.size} sphere points have a closed or nearly "
                f"closed gap (gap < {gap_tolerance:g} or pairs closer than {electrons.degeneracy_tol:g}); "
                "their Berry curvatures, gyromagnetic ratio, field-induced fields and torques are NaN "
                "(see the 'flag' variable)",
                GapClosingWarning,
                stacklevel=3,
            )
        if self.non_finite.any():
            warnings.warn(
                f"{int(self.non_finite.sum())} of {self.non_finite.size} sphere points have non-finite k-sums or "
                "band energies (overflow: check the model parameters and the mesh); every electronic quantity "
                "there is NaN (flag bit 4, non_finite_k_sums)",
                NonFiniteWarning,
                stacklevel=3,
            )
        if self.fs_unresolved.any():
            warnings.warn(
                f"{int(self.fs_unresolved.sum())} of {self.fs_unresolved.size} sphere points have a Fermi surface "
                f"(mu inside a band) but {self._why_unresolved(electrons, level)}; their Fermi-surface quantities "
                "(density of states, damping, extrinsic H^E and pumping, Omega^E, eta^E, torques) are NaN (flag "
                "bit 8, fermi_surface_unresolved). Set electrons.smearing > 0 (Electrons(smearing=...)) and "
                "converge the results in it, or use a finer k mesh",
                FermiSurfaceWarning,
                stacklevel=3,
            )
        if self.mu_outside.any():
            warnings.warn(
                f"mu = {electrons.chemical_potential:g} lies outside all bands on the mesh at "
                f"{int(self.mu_outside.sum())} of {self.mu_outside.size} sphere points: every state there is "
                "filled or empty, so Berry curvatures, Fermi-surface terms and H^E vanish (flag bit 16, "
                "mu_outside_bands); check electrons.chemical_potential",
                FermiSurfaceWarning,
                stacklevel=3,
            )

    def _why_unresolved(self, electrons: "Electrons", level: dict[str, np.ndarray]) -> str:
        t_fs = electrons.fermi_surface_temperature
        if t_fs == 0:
            return "the Fermi-surface temperature max(temperature, smearing) is 0, so -df0/de vanishes on the mesh"
        worst = ""
        if "fermi_window_spacing" in level:
            spacing = np.asarray(level["fermi_window_spacing"])[self.fs_unresolved]
            empty = int((spacing >= 2 * FERMI_WINDOW_HALF_WIDTH * t_fs * (1 - 1e-9)).sum())
            worst = f" (largest spacing {spacing.max() / t_fs:.3g} T_fs; no mesh energy in the window at {empty})"
        return (f"the k mesh does not resolve the Fermi window at max(temperature, smearing) = {t_fs:g}: "
                f"mesh energies within mu +/- {FERMI_WINDOW_HALF_WIDTH:g} T_fs are more than "
                f"{FERMI_WINDOW_MAX_SPACING:g} T_fs apart{worst}")


class _Stencils:
    """Derived quantities with a stencil over other grid points: applies the operation, and
    records where the stencil reaches a NaN point (``touched``, bit 32) or where the operation
    is not defined on this grid (``undefined``, bit 64); both are found by applying the same
    operation to a probe that is NaN exactly where the input is."""

    def __init__(self, shape: tuple[int, int]):
        self.shape = shape
        self.touched = np.zeros(shape, bool)
        self.undefined = np.zeros(shape, bool)

    def apply(self, op, x: np.ndarray) -> np.ndarray:
        shape = self.shape
        own = np.isnan(x).reshape(shape + (-1,)).any(-1)
        probe = np.broadcast_to(np.where(own.reshape(shape + (1,) * (x.ndim - 2)), np.nan, 0.0), x.shape)
        with np.errstate(invalid="ignore"):
            grid_nan = np.isnan(op(np.zeros(x.shape))).reshape(shape + (-1,)).any(-1)
            reach = np.isnan(op(probe)).reshape(shape + (-1,)).any(-1)
        self.undefined |= grid_nan
        self.touched |= reach & ~grid_nan & ~own
        return op(x)


def _quantities(S: dict[str, np.ndarray], trouble: _Trouble, stencils: _Stencils, model: Model, theta: np.ndarray,
                phi: np.ndarray, mhat: np.ndarray, magnitude: float, gamma_f: float) -> dict[str, np.ndarray]:
    """Every quantity of the catalogue (:mod:`magcore.quantities`) from the k-sums ``S``, NaN
    where ``trouble`` says so (eqs. 2.10-2.33)."""
    shape = trouble.closed.shape

    def masked(x, where):
        return np.where(where.reshape(shape + (1,) * (x.ndim - 2)), np.nan, x)

    values = {"magnetization": magnitude * mhat}
    for q in SPHERE_QUANTITIES:  # the k-sums, NaN where their catalogue entry says
        if q.block is not None:
            x = q.block.take(S, model.dim, model)
            values[q.name] = masked(x, trouble.where(q.nan_where)) if q.nan_where else x
    omega_mm = values["berry_curvature_mm"]
    omega_vec = vector_form(omega_mm)
    t, _ = np.meshgrid(theta, phi, indexing="ij")
    # Omega_{theta phi} = Omega . (d_theta m x d_phi m) = |m|^2 sin(theta) Omega . m_hat
    omega_tp = magnitude**2 * np.sin(t) * np.einsum("...i,...i->...", omega_vec, mhat)
    gamma_s = gyromagnetic_ratio(omega_vec, magnitude * mhat)
    gamma = total_gyromagnetic_ratio(gamma_s, gamma_f)
    G, H = values["free_energy"], values["effective_field"]  # H: Hellmann-Feynman
    H_from_G = stencils.apply(lambda g: field_from_free_energy(g, theta, phi, magnitude), G)
    eta = values["damping"]
    hE_int = values["field_induced_field_intrinsic"]  # (.., component i, field j) = Omega_{k_j m_i}
    hE_ext = values["field_induced_field_extrinsic"]
    hE = hE_int + hE_ext
    omegaE, etaE = values["berry_curvature_mm_E"], values["damping_E"]  # (.., field j, i, l)
    omegaE_vec = vector_form(omegaE)  # (.., field, 3)
    # torques per unit field (eqs. 2.27-2.29), with the electronic H and the tensors above
    M = (magnitude * mhat)[..., :, None]  # (.., 3, 1) broadcast over field
    tau_H = np.cross(M, hE, axis=-2)
    # tau^gamma and tau^eta use the field-free precession m_dot_0 of eq. 2.15 solved exactly;
    # the printed 2.28 (2.29) is this with m_dot_0 to first (zeroth) order in eta.
    mdot0 = field_free_precession(magnitude * mhat, H, gamma, eta)
    inv_gamma_E = np.einsum("...i,...ji->...j", magnitude * mhat, omegaE_vec)  # (.., field)
    inner = H - np.einsum("...ij,...j->...i", eta, mdot0)
    tau_gamma = -(gamma[..., None, None] * inv_gamma_E[..., None, :]) * np.cross(magnitude * mhat, inner)[..., :, None]
    etaE_mdot0 = np.einsum("...jil,...l->...ij", etaE, mdot0)  # (.., i, field j)
    tau_eta = -np.cross(M, etaE_mdot0, axis=-2)

    def parity(x):
        even = stencils.apply(lambda y: parity_parts(y, theta, phi)[0], x)
        return even, parity_parts(x, theta, phi)[1]

    values.update({"berry_curvature_m": omega_vec, "berry_curvature_theta_phi": omega_tp,
                   "gyromagnetic_ratio_s": gamma_s, "gyromagnetic_ratio": gamma, "effective_field_from_G": H_from_G,
                   "field_induced_field": hE,
                   "curl_field_induced_field": stencils.apply(lambda h: radial_curl(h, theta, phi, magnitude), hE_int)})
    for name, value in (("torque_H", tau_H), ("torque_gamma", tau_gamma), ("torque_eta", tau_eta)):
        values[name] = value
        values[name + "_damping_like"], values[name + "_field_like"] = parity(value)
    for name, value in (("field_induced_field_intrinsic", hE_int), ("field_induced_field_extrinsic", hE_ext)):
        values[name + "_even"], values[name + "_odd"] = parity(value)
    return values


def _dataset(values: dict[str, np.ndarray], flag: np.ndarray, model: Model, theta: np.ndarray, phi: np.ndarray,
             mesh: KMesh, electrons: Electrons, magnitude: float, gamma_f: float) -> xr.Dataset:
    """The sphere maps as a labelled Dataset, variables and attributes from the catalogue."""
    comp = np.array(["x", "y", "z"], dtype=object)  # variable-length strings: zarr 3 has a spec for them
    field = np.array(["x", "y", "z", "w"][:model.dim], dtype=object)
    TP = ("theta", "phi")
    units = units_of(model)
    data_vars = {q.name: (TP + q.dims, values[q.name], q.attrs(units)) for q in SPHERE_QUANTITIES}
    data_vars["flag"] = (TP, flag, {"long_name": "reliability flags (a NaN anywhere sits at a point with a non-zero flag)",
                                    "units": "1", "equation": "-", "flag_masks": list(FLAG_MASKS),
                                    "flag_meanings": FLAG_MEANINGS})
    return xr.Dataset(
        data_vars=data_vars,
        coords={
            "theta": ("theta", theta, {"long_name": "polar angle of m", "units": "rad"}),
            "phi": ("phi", phi, {"long_name": "azimuthal angle of m", "units": "rad"}),
            "component": ("component", comp, {"long_name": "Cartesian component", "units": "1"}),
            "component2": ("component2", comp, {"long_name": "second Cartesian component", "units": "1"}),
            "field": ("field", field, {"long_name": "direction of the electric field (or of the current)", "units": "1"}),
            "field2": ("field2", field, {"long_name": "second field (or current) direction", "units": "1"}),
        },
        attrs={"model": model.name, "model_parameters": dict(model.params),
               "model_material": str(getattr(model, "material", "")),
               "energy_unit": model.energy_unit, "length_unit": model.length_unit,
               "chemical_potential": electrons.chemical_potential,
               "temperature": electrons.temperature, "relaxation_time": electrons.relaxation_time,
               "smearing": electrons.smearing, "gamma_f": gamma_f,
               "magnetization_magnitude": magnitude, "k_points": mesh.size},
    )
