"""Work done by the field-induced field around closed magnetization paths (eqs. 2.25, 2.42).

W = oint H^E_i . dm = oint j_i . E dt: the work density pumped into the electrons when m goes
once around a closed path, equal to the flux of curl H^E_i through it (Stokes).  For a gapped
path it is quantized: for the 2D-TI edge W = e E C with C the winding of the path around the
gap-closing axis (eq. 2.42).
"""

from __future__ import annotations

import numpy as np

from .kmesh import KMesh
from .models.base import Model
from .engine import integrate_over_mesh
from .quantities import from_kernel_sums
from .sphere import Electrons, sphere_partial_sums


def intrinsic_field_induced_field(model: Model, m: np.ndarray, mesh: KMesh, electrons: Electrons,
                                  **integrate) -> np.ndarray:
    """Intrinsic H^E per unit eE at arbitrary magnetizations ``m`` (N, 3): (N, 3, dim),
    H^E_i = int [dk] f0 Omega_{k_j m_i} (eq. 2.17, first term)."""
    sums = integrate_over_mesh(sphere_partial_sums, model, np.asarray(m, dtype=float), mesh, electrons, **integrate)
    if np.any(sums["n_degenerate"]):
        raise ValueError("the path passes through a gap closing: the work integral is undefined there")
    return from_kernel_sums(sums, model)["field_induced_field_intrinsic"]


def loop_derivative(m: np.ndarray) -> np.ndarray:
    """dm/dt of a closed path sampled at N equally spaced t in [0, 1), by spectral
    differentiation (exact for band-limited paths, which the trapezoid rule then integrates
    to spectral accuracy)."""
    n = len(m)
    freq = np.fft.fftfreq(n, d=1.0 / n)
    if n % 2 == 0:
        freq[n // 2] = 0.0
    return np.fft.ifft(2j * np.pi * freq[:, None] * np.fft.fft(m, axis=0), axis=0).real


def work_integral(model: Model, m: np.ndarray, electric_field, mesh: KMesh, electrons: Electrons,
                  **integrate) -> float:
    """W = oint H^E . dm along the closed path ``m`` (N, 3) sampled uniformly in its parameter
    (eqs. 2.25, 2.42), for the electric field ``electric_field`` (dim,), e = 1.

    Units: the model's energy density (energy unit / length unit^dim) times |m|."""
    E = np.asarray(electric_field, dtype=float)
    hE = intrinsic_field_induced_field(model, m, mesh, electrons, **integrate) @ E  # (N, 3)
    dm = loop_derivative(np.asarray(m, dtype=float))
    return float(np.mean(np.einsum("ni,ni->n", hE, dm)))
