"""Coefficient maps over the magnetization sphere (dissertation chapter 2).

For each magnetization direction m = |m| (sin t cos p, sin t sin p, cos t) on a (theta, phi)
grid, k-integrals over the occupied states:

* gyrotropic Berry curvature  Omega_mm = int [dk] f0 Omega_mm                 (eq. 2.10)
* its vector form and the gyromagnetic ratio  Omega = m / (gamma_s m^2)       (eq. 2.16)
* the total gyromagnetic ratio  1/gamma = 1/gamma_f + 1/gamma_s               (eq. 2.33)
* the electron free energy (grand potential)  G = int [dk] sum_n g(E_n)       (eq. 2.12)

The work is split into (sphere-point chunks) x (k-mesh blocks); each task returns partial
sums, which are reduced over k-blocks in a fixed order, so the result does not depend on the
number of workers and depends on the chunking only through round-off.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .bands import eigensystem
from .geometry import matrix_elements, occupied_berry_curvature, vector_form
from .kmesh import KMesh
from .models.base import Model
from .occupation import fermi_dirac, grand_potential_per_state

log = logging.getLogger(__name__)

FLAG_GAP_CLOSED = 1
FLAG_NEAR_DEGENERATE = 2
FLAG_MEANINGS = "gap_closed near_degenerate_k_points"


class GapClosingWarning(RuntimeWarning):
    """Emitted when sphere points are set to NaN because the gap closes or nearly closes."""


@dataclass(frozen=True)
class Electrons:
    """Electronic state: chemical potential and temperature (model energy units, k_B = 1)."""

    chemical_potential: float = 0.0
    temperature: float = 0.0
    degeneracy_tol: float = 1e-9

    def __post_init__(self):
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.degeneracy_tol <= 0:
            raise ValueError(f"degeneracy_tol must be > 0, got {self.degeneracy_tol}")


def sphere_grid(n_theta: int, n_phi: int) -> tuple[np.ndarray, np.ndarray]:
    """theta in [0, pi] including both poles, phi in [0, 2 pi) evenly spaced."""
    if n_theta < 2 or n_phi < 1:
        raise ValueError(f"need n_theta >= 2 and n_phi >= 1, got {n_theta}, {n_phi}")
    return np.linspace(0.0, np.pi, n_theta), 2 * np.pi * np.arange(n_phi) / n_phi


def unit_vectors(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """m_hat(theta, phi), shape ``theta.shape x phi.shape x (3,)`` on the outer grid."""
    t, p = np.meshgrid(theta, phi, indexing="ij")
    return np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1)


def sphere_partial_sums(
    model: Model,
    m: np.ndarray,
    q: np.ndarray,
    w: np.ndarray,
    electrons: Electrons,
) -> dict[str, np.ndarray]:
    """Partial k-sums over one mesh block for a batch of magnetizations.

    ``m`` (P, 3) full magnetization vectors; ``q`` (K, dim), ``w`` (K,) a block of the mesh
    relative to ``model.k_center(m)``.  Returns per-point sums (eqs. 2.10, 2.12) and the count
    of k-points whose occupied/empty pairs are closer than ``electrons.degeneracy_tol``.
    """
    k = model.k_center(m)[:, None, :] + q[None, :, :]
    mm = m[:, None, :]
    E, U = eigensystem(model, k, mm)
    A = matrix_elements(U, model.dh_dm(k, mm))
    f = fermi_dirac(E, electrons.chemical_potential, electrons.temperature)
    omega, bad = occupied_berry_curvature(E, f, A, degeneracy_tol=electrons.degeneracy_tol)
    g = grand_potential_per_state(E, electrons.chemical_potential, electrons.temperature).sum(-1)
    return {
        "omega_mm": np.einsum("pk,pkij->pij", np.broadcast_to(w, bad.shape), omega),
        "grand_potential": g @ w,
        "n_degenerate": bad.sum(axis=1),
    }


def _sum_blocks(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    out = {key: np.array(parts[0][key], copy=True) for key in parts[0]}
    for part in parts[1:]:
        for key in out:
            out[key] = out[key] + part[key]
    return out


def integrate_over_mesh(
    model: Model,
    m: np.ndarray,
    mesh: KMesh,
    electrons: Electrons,
    *,
    client=None,
    points_per_chunk: int = 64,
    k_block: int = 4096,
    progress_every: float = 5.0,
) -> dict[str, np.ndarray]:
    """k-integrals of :func:`sphere_partial_sums` for all magnetizations ``m`` (P, 3).

    With a ``distributed.Client`` the (chunk x block) tasks run on its workers; otherwise they
    run here, in the same order.  Progress (blocks done / total, rate, time left) is logged.
    """
    if points_per_chunk <= 0 or k_block <= 0:
        raise ValueError("points_per_chunk and k_block must be positive")
    m = np.asarray(m, dtype=float)
    chunks = [slice(s, s + points_per_chunk) for s in range(0, len(m), points_per_chunk)]
    blocks = list(mesh.blocks(k_block))
    total = len(chunks) * len(blocks)
    start = time.monotonic()
    last = [start]

    def report(done: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= progress_every:
            last[0] = now
            rate = done / max(now - start, 1e-9)
            left = (total - done) / rate if rate > 0 else float("inf")
            log.info("k-integrals: %d/%d tasks (%.0f%%), %.2f tasks/s, ~%.0f s left",
                     done, total, 100 * done / total, rate, left)

    results: list[list[dict] | None] = [None] * len(chunks)
    if client is None:
        done = 0
        for c, sl in enumerate(chunks):
            parts = []
            for q, w in blocks:
                parts.append(sphere_partial_sums(model, m[sl], q, w, electrons))
                done += 1
                report(done)
            results[c] = parts
    else:
        from distributed import as_completed

        model_f = client.scatter(model, broadcast=True)
        futures = {}
        for c, sl in enumerate(chunks):
            for b, (q, w) in enumerate(blocks):
                fut = client.submit(sphere_partial_sums, model_f, m[sl], q, w, electrons, pure=False)
                futures[fut] = (c, b)
        collected: dict[tuple[int, int], dict] = {}
        done = 0
        for fut in as_completed(futures):
            collected[futures[fut]] = fut.result()
            fut.release()
            done += 1
            report(done)
        for c in range(len(chunks)):
            results[c] = [collected[(c, b)] for b in range(len(blocks))]
    sums = [_sum_blocks(parts) for parts in results]  # fixed block order: deterministic
    return {key: np.concatenate([s[key] for s in sums]) for key in sums[0]}


def gyromagnetic_ratio(omega_vec: np.ndarray, m: np.ndarray) -> np.ndarray:
    """gamma_s = 1 / (|m| Omega . m_hat), from Omega = m / (gamma_s m^2) (eq. 2.16)."""
    norm = np.linalg.norm(m, axis=-1)
    radial = np.einsum("...i,...i->...", omega_vec, m) / norm
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(radial == 0, np.inf, 1.0 / (norm * radial))


def total_gyromagnetic_ratio(gamma_s: np.ndarray, gamma_f: float) -> np.ndarray:
    """1/gamma = 1/gamma_f + 1/gamma_s (eq. 2.33)."""
    return 1.0 / (1.0 / gamma_f + 1.0 / gamma_s)


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
    client=None,
    points_per_chunk: int = 64,
    k_block: int = 4096,
) -> xr.Dataset:
    """Chapter-2 coefficient maps over the (theta, phi) grid as a labelled Dataset.

    ``min_gap`` (theta, phi), from the bands stage, marks gap closings: where it is below
    ``gap_tolerance`` the quantities with energy denominators (Berry curvature, gamma) are NaN
    and ``flag`` has bit 1 set; k-points with near-degenerate occupied/empty pairs set bit 2.
    A :class:`GapClosingWarning` says how many points were affected.
    """
    if magnitude <= 0:
        raise ValueError(f"magnetization magnitude must be > 0, got {magnitude}")
    mhat = unit_vectors(theta, phi)
    shape = mhat.shape[:-1]
    m = magnitude * mhat.reshape(-1, 3)
    sums = integrate_over_mesh(model, m, mesh, electrons, client=client,
                               points_per_chunk=points_per_chunk, k_block=k_block)

    omega_mm = sums["omega_mm"].reshape(shape + (3, 3))
    flag = np.zeros(shape, dtype=np.uint8)
    n_deg = sums["n_degenerate"].reshape(shape)
    flag[n_deg > 0] |= FLAG_NEAR_DEGENERATE
    if min_gap is not None:
        flag[np.asarray(min_gap) < gap_tolerance] |= FLAG_GAP_CLOSED
    unreliable = flag != 0
    if unreliable.any():
        warnings.warn(
            f"{int(unreliable.sum())} of {unreliable.size} sphere points have a closed or nearly "
            f"closed gap (gap < {gap_tolerance:g} or occupied/empty pairs closer than "
            f"{electrons.degeneracy_tol:g}); their Berry curvature and gyromagnetic ratio are NaN "
            "(see the 'flag' variable)",
            GapClosingWarning,
            stacklevel=2,
        )
    omega_mm = np.where(unreliable[..., None, None], np.nan, omega_mm)
    omega_vec = vector_form(omega_mm)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    # Omega_{theta phi} = Omega . (d_theta m x d_phi m) = |m|^2 sin(theta) Omega . m_hat
    omega_tp = magnitude**2 * np.sin(t) * np.einsum("...i,...i->...", omega_vec, mhat)
    gamma_s = gyromagnetic_ratio(omega_vec, magnitude * mhat)
    gamma = total_gyromagnetic_ratio(gamma_s, gamma_f)

    L, Eu, d = model.length_unit, model.energy_unit, model.dim
    density = f"{L}^-{d}"
    comp = np.array(["x", "y", "z"], dtype=object)  # variable-length strings: zarr 3 has a spec for them
    ds = xr.Dataset(
        data_vars={
            "magnetization": (("theta", "phi", "component"), magnitude * mhat,
                              {"long_name": "magnetization vector m", "units": "1",
                               "equation": "2.30 (m = |m| (sin t cos p, sin t sin p, cos t))"}),
            "berry_curvature_mm": (("theta", "phi", "component", "component2"), omega_mm,
                                   {"long_name": "gyrotropic Berry curvature Omega_{m_i m_j}, Fermi-sea sum",
                                    "units": f"hbar {density}", "equation": "2.10"}),
            "berry_curvature_m": (("theta", "phi", "component"), omega_vec,
                                  {"long_name": "vector form Omega_i = eps_ijk Omega_jk / 2",
                                   "units": f"hbar {density}", "equation": "2.16"}),
            "berry_curvature_theta_phi": (("theta", "phi"), omega_tp,
                                          {"long_name": "Berry curvature Omega_{theta phi}",
                                           "units": f"hbar {density}", "equation": "2.10, 2.31"}),
            "gyromagnetic_ratio_s": (("theta", "phi"), gamma_s,
                                     {"long_name": "electronic gyromagnetic ratio gamma_s",
                                      "units": f"{L}^{d} hbar^-1", "equation": "2.16, 2.32"}),
            "gyromagnetic_ratio": (("theta", "phi"), gamma,
                                   {"long_name": "total gyromagnetic ratio, 1/gamma = 1/gamma_f + 1/gamma_s",
                                    "units": f"{L}^{d} hbar^-1", "equation": "2.33"}),
            "free_energy": (("theta", "phi"), sums["grand_potential"].reshape(shape),
                            {"long_name": "electron free energy (grand potential) density G",
                             "units": f"{Eu} {density}", "equation": "2.12, 2.35",
                             "note": "band-energy sum with no energy denominators: finite across gap closings"}),
            "n_degenerate_k": (("theta", "phi"), n_deg.astype(np.int64),
                               {"long_name": "k-points with occupied/empty pairs closer than degeneracy_tol",
                                "units": "1", "equation": "-"}),
            "flag": (("theta", "phi"), flag,
                     {"long_name": "reliability flags", "units": "1", "equation": "-",
                      "flag_masks": [FLAG_GAP_CLOSED, FLAG_NEAR_DEGENERATE],
                      "flag_meanings": FLAG_MEANINGS}),
        },
        coords={
            "theta": ("theta", theta, {"long_name": "polar angle of m", "units": "rad"}),
            "phi": ("phi", phi, {"long_name": "azimuthal angle of m", "units": "rad"}),
            "component": ("component", comp, {"long_name": "Cartesian component", "units": "1"}),
            "component2": ("component2", comp, {"long_name": "second Cartesian component", "units": "1"}),
        },
        attrs={"model": model.name, "model_parameters": dict(model.params),
               "energy_unit": Eu, "length_unit": L,
               "chemical_potential": electrons.chemical_potential,
               "temperature": electrons.temperature, "gamma_f": gamma_f,
               "magnetization_magnitude": magnitude, "k_points": mesh.size},
    )
    if min_gap is not None:
        ds["min_gap"] = (("theta", "phi"), np.asarray(min_gap),
                         {"long_name": "minimum direct gap at the chemical potential over k",
                          "units": Eu, "equation": "-"})
    return ds
