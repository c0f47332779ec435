"""The catalogue of the sphere maps: every quantity of ``sphere.zarr`` declared once.

An entry gives the store name, the dimensions after (theta, phi), the long name, the units
(a template filled with the model's units), the dissertation equation, the formula, whether it
is a Fermi-sea or Fermi-surface sum (or derived from other entries), its parity under
m -> -m, the flag bits that make it NaN and, for a k-sum, where it sits in the sums the
kernels accumulate (:data:`KERNEL_SUMS`, :class:`Block`).  :func:`magcore.sphere.sphere_map`
builds the store's variables and attributes from it; the table in ``docs/physics.md`` is
generated from it (``python -m magcore.quantities``; a test keeps the two equal), and a test
checks on real maps that each quantity is NaN exactly where its entry says.

The kernels (:mod:`magcore.kernels`, and the numpy reference
:func:`magcore.sphere._sphere_partial_sums_numpy`) accumulate a few k-sums over the parameters
lambda = (k_1 .. k_d, m_x, m_y, m_z): the occupied Berry curvature Omega_{lambda lambda'} of
the Fermi sea and the Fermi-surface product -tau f0' dE/dlambda dE/dlambda' hold every
(k, k), (k, m) and (m, m) block at once.  A k-sum quantity names its sum and block; adding one
that is a block of these sums is one catalogue entry.

Units templates: ``{E}`` energy unit, ``{L}`` length unit, ``{d}`` dimension, ``{density}``
= ``{L}^-{d}``, ``{per_field}`` = energy density per unit eE, ``{per_field_tensor}`` =
hbar density per unit eE, ``{conductivity}`` = e^2/h in 2D (per layer), S/cm for a 3D model
with lengths in Angstrom, e^2/h {L}^(2-d) otherwise.  A filled template is stored in the spelling
of :func:`magcore.units.canonical` (pint/UDUNITS syntax, simplified: ``{per_field}`` of a 2D model
in eV and Angstrom is stored as ``angstrom**-1``); :data:`magcore.units.registry` reads the model
units (eps0, t, a).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

# flag meanings (magcore.sphere.FLAG_MEANINGS) that make a quantity NaN
DENOMINATORS = ("gap_closed", "near_degenerate_k_points", "non_finite_k_sums")
FERMI_SURFACE = ("non_finite_k_sums", "fermi_surface_unresolved")
BOTH = ("gap_closed", "near_degenerate_k_points", "non_finite_k_sums", "fermi_surface_unresolved")
STENCIL = ("stencil_touches_flagged", "undefined_on_grid")


@dataclass(frozen=True)
class KernelSum:
    """One k-sum the chapter-2 kernels accumulate per magnetization (summed over a mesh block
    with the quadrature weights).  ``shape``: axis lengths after the magnetization axis, "d"
    the model's k directions, "p" = d + 3 the parameters lambda = (k_1 .. k_d, m_x, m_y, m_z)."""

    name: str
    shape: tuple[str, ...]
    formula: str
    equation: str
    dtype: str = "float64"
    tau: bool = False
    """Whether the sum is proportional to the relaxation time tau (the extrinsic sums)."""

    def size(self, dim: int) -> tuple[int, ...]:
        """The shape for a model with ``dim`` k directions."""
        return tuple({"d": dim, "p": dim + 3, "3": 3}[a] for a in self.shape)


KERNEL_SUMS: tuple[KernelSum, ...] = (
    KernelSum("sea_curvature", ("p", "p"),
              "int f0 Omega_{lambda lambda'} = -2 int sum_{a<b} (f_a - f_b) Im(V_x[a,b] V_y[b,a]) / (E_a - E_b)^2",
              "2.6, 2.10"),
    KernelSum("surface_velocities", ("p", "p"),
              "-tau int sum_n f0'(E_n) dE_n/dlambda dE_n/dlambda' (lambda' an m direction; the (k, k) block is zero)",
              "2.11, 2.17", tau=True),
    KernelSum("free_energy", (), "int sum_n g(E_n)", "2.12"),
    KernelSum("hellmann_feynman", ("3",), "int sum_n f0 (dE_n/dm + (dk0/dm).dE_n/dk) at fixed k - k0(m)", "2.12"),
    KernelSum("density_of_states", (), "-int sum_n f0'(E_n)", "-"),
    KernelSum("berry_curvature_mm_E", ("d", "3", "3"),
              "tau int f0' [v_j Omega_{m_i m_l} - (Omega_{k_j m_i} dE/dm_l)_A] (band-resolved curvatures)", "2.18",
              tau=True),
    KernelSum("damping_E", ("d", "3", "3"), "tau int f0' (Omega_{k_j m_i} dE/dm_l)_S", "2.19", tau=True),
    KernelSum("n_degenerate", (), "k-points where a pair that enters is closer than degeneracy_tol", "-", "int64"),
)
"""The sums of :func:`magcore.kernels.chapter2_sums` (and of the numpy reference)."""


@dataclass(frozen=True)
class Block:
    """Where a k-sum quantity sits in a :data:`KERNEL_SUMS` entry.

    ``rows``/``cols``: the parameter groups ("k" or "m") of the sum's two axes, or "" for the
    whole sum; ``transposed``: element (r, c) of the quantity is sum[cols_c, rows_r] instead of
    sum[rows_r, cols_c]; ``scale``: a factor (a number, or a function of the model for unit
    conversions) the quantity is multiplied by."""

    sum: str
    rows: str = ""
    cols: str = ""
    transposed: bool = False
    scale: float | Callable[[Any], float] = 1.0

    def take(self, sums: dict[str, Any], dim: int, model=None):
        """This block of ``sums`` (arrays with leading axes, e.g. (theta, phi)), scaled."""
        x = sums[self.sum]
        if self.rows:
            group = {"k": slice(0, dim), "m": slice(dim, dim + 3)}
            x = x[..., group[self.rows], group[self.cols]]
            if self.transposed:
                x = x.swapaxes(-1, -2)
        scale = self.scale(model) if callable(self.scale) else self.scale
        return x if scale == 1.0 else x * scale


@dataclass(frozen=True)
class Quantity:
    """One variable of the sphere maps (see the module docstring)."""

    name: str
    dims: tuple[str, ...]
    long_name: str
    units: str
    equation: str
    formula: str
    sum: str  # "Fermi sea", "Fermi surface", "sea and surface", "derived" or "-"
    parity: str = "-"  # "even" or "odd" under m -> -m, "-" if neither is implied
    nan_where: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    block: Block | None = None  # for a k-sum: where it sits in KERNEL_SUMS

    def attrs(self, units: dict[str, str]) -> dict[str, Any]:
        """The store attributes, with the units template filled from ``units`` and written as
        pint and UDUNITS read them (:func:`magcore.units.canonical`: compound units simplified)."""
        from .units import canonical

        return {"long_name": self.long_name, "units": canonical(self.units.format(**units)),
                "equation": self.equation, **self.extra}


def units_of(model) -> dict[str, str]:
    """The values of the units templates for ``model``."""
    L, E, d = model.length_unit, model.energy_unit, model.dim
    density = f"{L}^-{d}"
    return {"E": E, "L": L, "d": str(d), "density": density,
            "per_field": f"{E} {density} / ({E} {L}^-1)",
            "per_field_tensor": f"hbar {density} / ({E} {L}^-1)",
            "conductivity": _hall_conductivity_units(model)[1]}


E2_OVER_H_SIEMENS = 3.8740458649318244e-05
"""e^2/h in siemens (scipy.constants.e**2 / scipy.constants.h; a test checks it)."""


def _hall_conductivity_units(model) -> tuple[float, str]:
    """(factor, units) of the anomalous Hall conductivity sigma = (e^2/hbar) int [dk] f0 Omega_kk:
    2 pi int [dk] f0 Omega_kk in units of e^2/h (per layer in 2D, times L^(2-d) otherwise), in
    S/cm for a 3D model with lengths in Angstrom."""
    d, L = model.dim, model.length_unit
    if d == 2:
        return 2 * math.pi, "e^2/h"
    if d == 3 and L == "Angstrom":
        return 2 * math.pi * E2_OVER_H_SIEMENS * 1e8, "S/cm"
    return 2 * math.pi, f"e^2/h {L}^{2 - d}"


def _hall_conductivity_factor(model) -> float:
    return _hall_conductivity_units(model)[0]


C, C2, F, F2 = ("component",), ("component2",), ("field",), ("field2",)
_TORQUES = (("torque_H", "2.27", "tau^H = m x H^E", "m x H^E"),
            ("torque_gamma", "2.28", "tau^gamma = -(gamma/gamma_E) m x (H - eta.m_dot_0)",
             "-(gamma/gamma_E) m x (H - eta.m_dot_0), 1/gamma_E = m.Omega^E, m_dot_0 the exact field-free rate of 2.15"),
            ("torque_eta", "2.29", "tau^eta = -m x (eta^E.m_dot_0)", "-m x (eta^E.m_dot_0)"))


def _torques() -> tuple[Quantity, ...]:
    out = []
    for name, eq, long, formula in _TORQUES:
        out.append(Quantity(name, C + F, f"spin-orbit torque {long}, per unit eE", "{per_field}", eq, formula,
                            "derived", "-", BOTH))
        out.append(Quantity(name + "_damping_like", C + F, f"part of {name} even under m -> -m (damping-like)",
                            "{per_field}", eq + ", 2.23-2.24", f"({name}(m) + {name}(-m)) / 2", "derived", "even",
                            BOTH + STENCIL))
        out.append(Quantity(name + "_field_like", C + F, f"part of {name} odd under m -> -m (field-like)",
                            "{per_field}", eq + ", 2.23-2.24", f"({name}(m) - {name}(-m)) / 2", "derived", "odd",
                            BOTH + STENCIL))
    return tuple(out)


SPHERE_QUANTITIES: tuple[Quantity, ...] = (
    Quantity("magnetization", C, "magnetization vector m", "1", "m = |m| (sin t cos p, sin t sin p, cos t)",
             "|m| m_hat(theta, phi)", "-", "odd"),
    Quantity("berry_curvature_mm", C + C2, "gyrotropic Berry curvature Omega_{m_i m_j}, Fermi-sea sum",
             "hbar {density}", "2.10", "int f0 Omega_{m_i m_j}", "Fermi sea", "-", DENOMINATORS,
             block=Block("sea_curvature", "m", "m")),
    Quantity("berry_curvature_m", C, "vector form Omega_i = eps_ijk Omega_jk / 2", "hbar {density}", "2.16",
             "eps_ijk Omega_jk / 2", "derived", "-", DENOMINATORS),
    Quantity("berry_curvature_theta_phi", (), "Berry curvature Omega_{theta phi}", "hbar {density}", "2.10, 2.31",
             "|m|^2 sin(theta) Omega . m_hat", "derived", "-", DENOMINATORS),
    Quantity("gyromagnetic_ratio_s", (), "electronic gyromagnetic ratio gamma_s", "{L}^{d} hbar^-1", "2.16, 2.32",
             "1 / (|m| Omega . m_hat) (+inf where Omega . m_hat = 0)", "derived", "-", DENOMINATORS),
    Quantity("gyromagnetic_ratio", (), "total gyromagnetic ratio, 1/gamma = 1/gamma_f + 1/gamma_s",
             "{L}^{d} hbar^-1", "2.33", "1/gamma = 1/gamma_f + 1/gamma_s", "derived", "-", DENOMINATORS),
    Quantity("free_energy", (), "electron free energy (grand potential) density G", "{E} {density}", "2.12, 2.35",
             "int sum_n g(E_n)", "Fermi sea", "-", ("non_finite_k_sums",),
             {"note": "band-energy sum with no energy denominators: finite across gap closings"},
             block=Block("free_energy")),
    Quantity("effective_field", C, "effective field H = -dG/dm, Hellmann-Feynman band sum of <dH/dm>",
             "{E} {density}", "2.12",
             "-int sum_n f0 dE_n/dm (plus (dk0/dm).dE/dk for the co-moving continuum disc: the total -dG/dm)",
             "Fermi sea", "-", ("non_finite_k_sums",), block=Block("hellmann_feynman", scale=-1.0)),
    Quantity("effective_field_from_G", C, "tangential effective field -dG/dm from the stored G", "{E} {density}",
             "2.12", "-dG/dm of the stored G (2nd-order differences in theta, spectral in phi)", "derived", "-",
             ("non_finite_k_sums",) + STENCIL),
    Quantity("damping", C + C2, "damping tensor eta_mm", "hbar {density}", "2.11",
             "-tau int f0' dE/dm_i dE/dm_j", "Fermi surface", "-", FERMI_SURFACE,
             block=Block("surface_velocities", "m", "m")),
    Quantity("field_induced_field_intrinsic", C + F, "H^E, Fermi-sea (intrinsic) part, per unit eE",
             "{per_field}", "2.17", "int f0 Omega_{k_j m_i} (component i, field j)", "Fermi sea", "-", DENOMINATORS,
             block=Block("sea_curvature", "k", "m", transposed=True)),
    Quantity("field_induced_field_extrinsic", C + F, "H^E, Fermi-surface (extrinsic, tau) part, per unit eE",
             "{per_field}", "2.17", "-tau int f0' v_j dE/dm_i (component i, field j)", "Fermi surface", "-",
             FERMI_SURFACE, block=Block("surface_velocities", "k", "m", transposed=True)),
    Quantity("field_induced_field", C + F, "field-induced effective field H^E per unit eE", "{per_field}", "2.17",
             "intrinsic + extrinsic", "sea and surface", "-", BOTH),
    Quantity("field_induced_field_intrinsic_odd", C + F, "part of intrinsic H^E odd under m -> -m",
             "{per_field}", "2.23", "(H^E_int(m) - H^E_int(-m)) / 2", "derived", "odd", DENOMINATORS + STENCIL),
    Quantity("field_induced_field_intrinsic_even", C + F, "part of intrinsic H^E even under m -> -m",
             "{per_field}", "2.23", "(H^E_int(m) + H^E_int(-m)) / 2", "derived", "even", DENOMINATORS + STENCIL),
    Quantity("field_induced_field_extrinsic_odd", C + F, "part of extrinsic H^E odd under m -> -m",
             "{per_field}", "2.24", "(H^E_ext(m) - H^E_ext(-m)) / 2", "derived", "odd", FERMI_SURFACE + STENCIL),
    Quantity("field_induced_field_extrinsic_even", C + F, "part of extrinsic H^E even under m -> -m",
             "{per_field}", "2.24", "(H^E_ext(m) + H^E_ext(-m)) / 2", "derived", "even", FERMI_SURFACE + STENCIL),
    Quantity("curl_field_induced_field", F, "radial curl of the intrinsic H^E on the sphere, per unit eE",
             "{per_field}", "2.20, 2.25", "(1/(|m| sin t)) [d_t(sin t H_phi) - d_p H_theta] of H^E_int",
             "derived", "-", DENOMINATORS + STENCIL),
    Quantity("berry_curvature_mm_E", F + C + C2, "field-induced Berry curvature Omega^E_{m_i m_l} per unit eE",
             "{per_field_tensor}", "2.18", "tau int f0' [v_j Omega_{m_i m_l} - (Omega_{k_j m_i} dE/dm_l)_A]",
             "Fermi surface", "-", BOTH, block=Block("berry_curvature_mm_E")),
    Quantity("damping_E", F + C + C2, "field-induced damping eta^E_{m_i m_l} per unit eE", "{per_field_tensor}",
             "2.19", "tau int f0' (Omega_{k_j m_i} dE/dm_l)_S", "Fermi surface", "-", BOTH,
             block=Block("damping_E")),
    *_torques(),
    Quantity("charge_pumping_intrinsic", F + C,
             "intrinsic pumped current j_i per unit m_dot_l (Onsager partner of H^E)", "e {density}", "2.21",
             "int f0 Omega_{k_i m_l}", "Fermi sea", "-", DENOMINATORS, block=Block("sea_curvature", "k", "m")),
    Quantity("charge_pumping_extrinsic", F + C, "extrinsic (tau) pumped current j_i per unit m_dot_l",
             "e {density}", "2.21", "+tau int f0' v_i dE/dm_l", "Fermi surface", "-", FERMI_SURFACE,
             block=Block("surface_velocities", "k", "m", scale=-1.0)),
    Quantity("anomalous_hall_conductivity", F + F2,
             "anomalous Hall conductivity sigma_ij = (e^2/hbar) int f0 Omega_{k_i k_j}", "{conductivity}",
             "2.6, 3.13", "(e^2/hbar) int f0 Omega_{k_i k_j} (j_i = sigma_ij E_j)", "Fermi sea", "-", DENOMINATORS,
             block=Block("sea_curvature", "k", "k", scale=_hall_conductivity_factor)),
    Quantity("density_of_states", (), "density of states at mu (Fermi-surface weight -df0/de)",
             "{E}^-1 {density}", "-", "-int sum_n f0'(E_n)", "Fermi surface", "-", FERMI_SURFACE,
             block=Block("density_of_states")),
    Quantity("n_degenerate_k", (), "k-points with pairs closer than degeneracy_tol", "1", "-",
             "count of k-points with an occupied/empty pair closer than degeneracy_tol", "-",
             block=Block("n_degenerate")),
)

BY_NAME = {q.name: q for q in SPHERE_QUANTITIES}


def from_kernel_sums(sums: dict[str, Any], model) -> dict[str, Any]:
    """Every k-sum quantity of the catalogue (store name -> array) from the kernels' sums
    (:data:`KERNEL_SUMS`, arrays with any leading axes), not masked."""
    return {q.name: q.block.take(sums, model.dim, model) for q in SPHERE_QUANTITIES if q.block is not None}


def _block_cell(b: Block | None) -> str:
    if b is None:
        return "-"
    cell = b.sum + (f"[{b.rows}, {b.cols}]" if b.rows else "") + (" transposed" if b.transposed else "")
    if callable(b.scale):
        cell += " x units factor"
    elif b.scale != 1.0:
        cell = f"{b.scale:g} x " + cell
    return cell


def docs_table() -> str:
    """The Markdown tables of the catalogue (quantities, then the kernels' k-sums), as in
    ``docs/physics.md``."""
    rows = ["| variable | formula | units | eq. | sum | parity | NaN where (flag) | from k-sum |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for q in SPHERE_QUANTITIES:
        dims = ", ".join(("theta", "phi") + q.dims)
        cells = (q.formula, q.units, q.equation, q.sum, q.parity, ", ".join(q.nan_where) or "-", _block_cell(q.block))
        rows.append(f"| `{q.name}` ({dims}) | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    rows += ["", "The k-sums the kernels accumulate (p = d + 3 parameters lambda = (k_1 .. k_d, m_x, m_y, m_z)):", "",
             "| k-sum | shape | formula | eq. |", "| --- | --- | --- | --- |"]
    for k in KERNEL_SUMS:
        cells = (", ".join(k.shape) or "scalar", k.formula, k.equation)
        rows.append(f"| `{k.name}` | " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(docs_table())
