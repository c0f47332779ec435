"""Figures regenerated from stored data (never from in-memory results).

Each function takes Datasets opened from the stores and returns a matplotlib Figure;
:func:`save` writes it.  Angles are drawn in degrees with the north pole (theta = 0) on top.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from .bands import gap_at  # noqa: E402
from .figures_common import ROUNDOFF_RTOL, finite_max_abs, offset, roundoff  # noqa: E402


class NotDrawn(Exception):
    """A figure that does not apply to the study, or that its data cannot support: the message
    says why (the figure stage writes a page with it instead, :func:`not_drawn`)."""


def not_drawn(what: str, reason: str) -> plt.Figure:
    """A page saying that ``what`` is not drawn, and why."""
    import textwrap

    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.axis("off")
    ax.text(0.5, 0.5, f"{what}: not drawn\n\n" + textwrap.fill(reason, 90), ha="center", va="center",
            transform=ax.transAxes, fontsize=10)
    return fig


def units_label(text: str, units: str) -> str:
    """``text [units]`` with the units typeset by :func:`magcore.units.label` where that module
    is available, else as stored."""
    try:
        from .units import label
    except ImportError:
        return f"{text} [{units}]"
    try:
        return label(text, units)
    except Exception:  # a units string the typesetter does not read: as stored
        return f"{text} [{units}]"


def units_text(units: str) -> str:
    """A units string typeset (:func:`magcore.units.mathtext`) where available, else as stored."""
    try:
        from .units import mathtext
        return mathtext(units, dimensionless="")
    except Exception:
        return units


def natural_scale(*values, unit: float = 1.0) -> float:
    """The natural scale of a quantity for :func:`magcore.figures_common.roundoff`: one unit of
    it in the model's own units (eV and Angstrom, eps0 and a, ...: the size of the terms the
    k-sums add up), times ``unit`` (e.g. |E| for a response drawn at the field E), or the
    largest of ``values`` (the quantity and its companions anywhere in the store) if larger."""
    return max([float(unit)] + [finite_max_abs(v) for v in values])


def save(fig, path: str | Path, dpi: int = 120) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def _label(da: xr.DataArray) -> str:
    return units_label(str(da.attrs.get("long_name", da.name)), str(da.attrs.get("units", "")))


def _finite_min(x: np.ndarray) -> float:
    x = np.asarray(x, float)
    return float(x[np.isfinite(x)].min()) if np.isfinite(x).any() else 0.0


def _finite_mean(x: np.ndarray) -> float:
    x = np.asarray(x, float)
    return float(x[np.isfinite(x)].mean()) if np.isfinite(x).any() else 0.0


def _nan_note(ds: xr.Dataset, *values) -> str:
    """Title note on a (theta, phi) map, on a line of its own: how many points of ``values`` are
    not finite (each is flagged: the store's ``flag`` says why); empty when there are none."""
    shape = (ds.sizes["theta"], ds.sizes["phi"])
    bad = np.zeros(shape, bool)
    for v in values:
        bad |= ~np.isfinite(np.asarray(v, float)).reshape(shape + (-1,)).all(-1)
    if not bad.any():
        return ""
    return f"\n[{int(bad.sum())} of {bad.size} points NaN, see flag]"


def _contours(ax, x, y, z, levels, **kw):
    """Filled contours of the finite part of z with black lines; a note if too little is finite."""
    if np.isfinite(z).sum() < 4 or np.nanmax(z) == np.nanmin(z):
        ax.text(0.5, 0.5, "no finite values to contour", ha="center", transform=ax.transAxes)
        return None
    cs = ax.contourf(x, y, np.ma.masked_invalid(z), levels=levels, **kw)
    ax.contour(x, y, np.ma.masked_invalid(z), levels=levels, colors="k", linewidths=0.3)
    return cs


def precession_direction(G: np.ndarray, theta: np.ndarray, phi: np.ndarray, gamma: np.ndarray,
                         magnitude: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(sin theta dphi/dt, dtheta/dt) of m_dot = -gamma m x H, H = -dG/dm (eqs. 2.12, 2.15).

    theta_dot = gamma H_phi, sin(theta) phi_dot = -gamma H_theta with
    H_theta = -dG/dtheta / |m| and H_phi = -dG/dphi / (|m| sin theta); phi is periodic.
    """
    dG_dtheta = np.gradient(G, theta, axis=0)
    dphi = phi[1] - phi[0] if len(phi) > 1 else 2 * np.pi
    dG_dphi = (np.roll(G, -1, axis=1) - np.roll(G, 1, axis=1)) / (2 * dphi)
    sin_t = np.sin(theta)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        H_theta = -dG_dtheta / magnitude
        H_phi = np.where(sin_t > 1e-12, -dG_dphi / (magnitude * sin_t), 0.0)
    return -gamma * H_theta, gamma * H_phi


def gyromagnetic_and_free_energy(sphere: xr.Dataset) -> plt.Figure:
    """Fig. 2.3: (a) gamma over the magnetization sphere, (b) contours of the free energy G with
    arrows of the precession m_dot = -gamma m x H, (c) gamma(theta) on the phi = 0 meridian."""
    theta = sphere.theta.values
    phi = sphere.phi.values
    gamma = sphere.gyromagnetic_ratio.values
    G = sphere.free_energy.values
    G = G - _finite_min(G)
    fig = plt.figure(figsize=(16, 4.8), layout="constrained")

    ax = fig.add_subplot(1, 3, 1, projection="3d")
    phi_c = np.append(phi, 2 * np.pi)
    gamma_c = np.concatenate([gamma, gamma[:, :1]], axis=1)
    T, P = np.meshgrid(theta, phi_c, indexing="ij")
    shift = offset(gamma)  # gamma_f plus a correction of 1e-6 (WTe2): draw the correction
    gamma_c = gamma_c - shift.value
    finite = np.isfinite(gamma_c)
    lo, hi = (gamma_c[finite].min(), gamma_c[finite].max()) if finite.any() else (0.0, 1.0)
    norm = plt.Normalize(lo, hi if hi > lo else lo + 1)
    colors = plt.cm.viridis(norm(np.where(finite, gamma_c, lo)))
    colors[~finite] = (0.85, 0.1, 0.1, 1.0)
    ax.plot_surface(np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T), facecolors=colors,
                    rstride=1, cstride=1, linewidth=0, antialiased=False, shade=False)
    ax.set_box_aspect((1, 1, 1))
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):  # three ticks: the labels of more overlap
        axis.set_ticks([-1, 0, 1])
    ax.set_xlabel("$m_x$")
    ax.set_ylabel("$m_y$")
    ax.set_zlabel("$m_z$")
    sm = plt.cm.ScalarMappable(norm=norm, cmap="viridis")
    units = sphere.gyromagnetic_ratio.attrs.get("units", "")
    fig.colorbar(sm, ax=ax, shrink=0.6, pad=0.12, label=units_label(shift.label("$\\gamma$"), units))
    ax.set_title("(a) gyromagnetic ratio $\\gamma$ (red: NaN, flagged)" + _nan_note(sphere, gamma))

    ax = fig.add_subplot(1, 3, 2)
    td, pd = np.rad2deg(theta), np.rad2deg(phi)
    cs = _contours(ax, pd, td, G, 16, cmap="coolwarm")
    if cs is not None:
        fig.colorbar(cs, ax=ax, label=units_label("$G - \\min G$", sphere.free_energy.attrs.get("units", "")))
    u, v = precession_direction(sphere.free_energy.values, theta, phi,
                                np.where(np.isfinite(gamma), gamma, _finite_mean(gamma)),
                                float(sphere.attrs.get("magnetization_magnitude", 1.0)))
    step_t = max(1, len(theta) // 12)
    step_p = max(1, len(phi) // 16)
    speed = np.hypot(u, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        # no arrow where the motion is zero to round-off (its direction would be noise)
        moving = speed > ROUNDOFF_RTOL * finite_max_abs(speed)
        un, vn = np.where(moving, u / speed, np.nan), np.where(moving, v / speed, np.nan)
    sl = (slice(step_t // 2, None, step_t), slice(0, None, step_p))
    ax.quiver(pd[sl[1]], td[sl[0]], un[sl], vn[sl], angles="xy", scale=30, width=0.004)
    ax.invert_yaxis()
    ax.set_xlabel("$\\phi$ (deg)")
    ax.set_ylabel("$\\theta$ (deg)")
    ax.set_title("(b) free energy $G$ and precession $-\\gamma\\, m \\times H$" + _nan_note(sphere, G))

    ax = fig.add_subplot(1, 3, 3)
    ax.plot(td, gamma[:, 0] - shift.value, "o-", ms=3, label="numerical, $\\phi = 0$")
    if sphere.attrs.get("model") == "ti_surface":
        pars = sphere.attrs["model_parameters"]
        mag = float(sphere.attrs["magnetization_magnitude"])
        alpha = np.float64(pars["J"]) * mag / pars["v"]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            gamma_s = 4 * np.pi * mag / (alpha**2 * np.abs(np.cos(theta))) * np.sign(alpha)
            gf = float(sphere.attrs["gamma_f"])
            ax.plot(td, gf / (1 + gf / gamma_s) - shift.value, "k--", label="eqs. 2.32, 2.34")
    ax.set_xlabel("$\\theta$ (deg)")
    ax.set_ylabel(units_label(shift.label("$\\gamma$"), units))
    ax.legend()
    note = shift.note()
    ax.set_title("(c) $\\gamma(\\theta)$" + (f"\n{note}" if note else "") + _nan_note(sphere, gamma), fontsize=10)
    fig.suptitle(f"{sphere.attrs.get('model')}: Fig. 2.3 regenerated from sphere.zarr")
    return fig


def bands_along_path(bands: xr.Dataset) -> plt.Figure:
    """Band energies along the k path at each reference magnetization direction."""
    n = bands.sizes["direction"]
    fig, axes = plt.subplots(1, n, figsize=(4.4 * n, 3.9), sharey=True, squeeze=False, layout="constrained")
    for i, ax in enumerate(axes[0]):
        e = bands.energy_path.isel(direction=i)
        for b in range(bands.sizes["band"]):
            ax.plot(bands.path.values, e.isel(band=b).values, lw=1.2)
        ax.axhline(float(bands.chemical_potential), color="k", ls=":", lw=0.8, label="$\\mu$")
        t = np.rad2deg(float(bands.direction_theta[i]))
        p = np.rad2deg(float(bands.direction_phi[i]))
        ax.set_title(f"m at $\\theta$={t:.0f}°, $\\phi$={p:.0f}°")
        if "path_tick" in bands.coords:
            ticks = bands.path_tick.values
            ax.set_xticks(ticks, [_k_label(x) for x in bands.path_label.values])
            for x in ticks:
                ax.axvline(x, color="0.7", lw=0.6)
            ax.set_xlim(ticks[0], ticks[-1])
        ax.set_xlabel(_label(bands.path))
    axes[0, 0].set_ylabel(_label(bands.energy_path))
    axes[0, 0].legend()
    fig.suptitle(f"{bands.attrs.get('model')}: bands along the k path")
    return fig


def _k_label(name) -> str:
    """A high-symmetry point name typeset ("Gamma" -> the Greek letter)."""
    name = str(name)
    return {"Gamma": "$\\Gamma$", "G": "$\\Gamma$"}.get(name, name)


def gap_map(bands: xr.Dataset) -> plt.Figure:
    """Minimum direct gap at mu over the magnetization sphere, gap closings marked.  The colour
    scale spans the gaps of the open points: linear (from 0 when the gap closes somewhere), log
    only when the open gaps span more than three decades."""
    gap = bands.min_gap.values
    closed = bands.gap_closed.values.astype(bool)
    finite = np.isfinite(gap)
    open_ = finite & ~closed
    units = bands.min_gap.attrs.get("units", "")
    fig, ax = plt.subplots(figsize=(7.2, 4.4), layout="constrained")
    if open_.any():
        lo, hi = float(gap[open_].min()), float(gap[open_].max())
        if closed.any():
            lo = 0.0
        if lo > 0 and hi / lo > 1e3:
            norm, how = LogNorm(vmin=lo, vmax=hi), "log scale"
        else:
            norm, how = plt.Normalize(lo, hi if hi > lo else lo + max(abs(lo), 1.0) * 1e-3), "linear scale"
        pc = ax.pcolormesh(np.rad2deg(bands.phi.values), np.rad2deg(bands.theta.values),
                           np.ma.masked_invalid(np.where(finite, gap, np.nan)), norm=norm, shading="nearest")
        fig.colorbar(pc, ax=ax, label=units_label("min direct gap at $\\mu$", units))
        span = f"{lo:.4g} to {hi:.4g} {units_text(units)}, {how}"
    else:
        how, span = "", "no open point"
    if closed.any():
        t, p = np.nonzero(closed)
        ax.plot(np.rad2deg(bands.phi.values[p]), np.rad2deg(bands.theta.values[t]), "rx", ms=4,
                label=f"gap closed ({int(closed.sum())} points)")
        ax.legend(loc="upper right", bbox_to_anchor=(1.0, -0.12), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("$\\phi$ (deg)")
    ax.set_ylabel("$\\theta$ (deg)")
    note = f" [{int((~finite).sum())} of {gap.size} not finite]" if not finite.all() else ""
    ax.set_title(f"{bands.attrs.get('model')}: direct gap over the magnetization sphere{note}\n({span})",
                 fontsize=10)
    return fig


def berry_curvature_k(bands: xr.Dataset) -> plt.Figure:
    """Occupied Berry curvature Omega_{k_x k_y}(k) on the mesh at each reference direction (eq. 2.6),
    with its integral 2 pi int [dk] Omega (the Chern number for a lattice model).  Says why
    instead of drawing when the model is not 2D or the curvature is zero to round-off."""
    da = bands.berry_curvature_k
    dirs = bands.sizes["direction"]
    fig, axes = plt.subplots(1, dirs, figsize=(4.2 * dirs + 0.8, 4), squeeze=False)
    axes = axes[0]
    if bands.sizes["k_dim"] != 2:
        for ax in axes:
            ax.axis("off")
        axes[0].text(0.02, 0.5, f"$\\Omega_{{k_x k_y}}$ is drawn for 2D models; {bands.attrs.get('model')} is "
                     f"{bands.sizes['k_dim']}D\n(its $\\Omega_{{k_i k_j}}$ tensor is in bands.zarr)",
                     transform=axes[0].transAxes, va="center")
        fig.suptitle(f"{bands.attrs.get('model')}: Berry curvature in k not drawn")
        return fig
    omega = da.values[..., 0, 1]  # (direction, k_point)
    weights = bands.mesh_weight.values
    lattice = bands.attrs.get("domain") == "lattice"
    unit = da.attrs.get("units", "")
    for r, ax in enumerate(axes):
        k = bands.mesh_k.values + bands.k_center.values[r]
        w = omega[r]
        finite = np.isfinite(w)
        total = 2 * np.pi * np.sum(weights[finite] * w[finite])
        total = total if abs(total) >= 5e-5 else 0.0  # no "-0.0000"
        t, p = np.rad2deg(bands.direction_theta.values[r]), np.rad2deg(bands.direction_phi.values[r])
        scale = float(np.max(np.abs(w[finite]))) if finite.any() else 0.0
        if lattice and abs(total - round(total)) < 1e-3:
            integral = f"Chern number {total:.4f}"
        elif lattice:
            integral = f"2$\\pi\\int$[dk]$\\Omega$ = {total:.4f} (mesh too coarse)"
        else:
            integral = f"2$\\pi\\int$[dk]$\\Omega$ over the disc = {total:.4f}"
        title = f"m: theta = {t:.0f} deg, phi = {p:.0f} deg\n{integral}"
        if not finite.all():
            title += f" [{int((~finite).sum())} of {w.size} k NaN]"
        E = bands.energy_mesh.values[r]  # (k_point, band)
        mu = float(bands.chemical_potential)
        gap = float(np.min(gap_at(E, mu)))
        if gap < 1e-6 * float(np.ptp(E)):
            ax.text(0.5, 0.5, f"the gap at mu closes at this direction\n(min direct gap {gap:.2g} "
                    f"{bands.energy_mesh.attrs.get('units', '')}):\nOmega is singular there, not drawn",
                    ha="center", va="center", transform=ax.transAxes, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        elif (verdict := roundoff(w, natural_scale(omega))).zero:
            ax.text(0.5, 0.5, verdict.text("$\\Omega_{k_x k_y}$", units_text(unit)), ha="center",
                    va="center", transform=ax.transAxes, fontsize=8)
        else:
            tp = ax.tripcolor(k[finite, 0], k[finite, 1], w[finite], cmap="RdBu_r", vmin=-scale, vmax=scale,
                              shading="gouraud")
            fig.colorbar(tp, ax=ax, label=units_label("$\\Omega_{k_x k_y}$", unit))
            if not lattice:  # zoom on where the curvature is: 4x the radius holding half of int |Omega|
                radius = np.linalg.norm(bands.mesh_k.values[finite], axis=-1)
                order = np.argsort(radius)
                mass = np.cumsum((weights[finite] * np.abs(w[finite]))[order])
                reach = 4 * radius[order][min(np.searchsorted(mass, 0.5 * mass[-1]), len(order) - 1)]
                centre = bands.k_center.values[r]
                ax.set_xlim(centre[0] - reach, centre[0] + reach)
                ax.set_ylim(centre[1] - reach, centre[1] + reach)
        ax.set_aspect("equal")
        ax.set_xlabel(units_label("$k_x$", bands.mesh_k.attrs.get("units", "")))
        ax.set_ylabel(units_label("$k_y$", bands.mesh_k.attrs.get("units", "")))
        ax.set_title(title, fontsize=9)
    fig.suptitle(f"{bands.attrs.get('model')}: Berry curvature of the occupied states in k (eq. 2.6)")
    fig.tight_layout()
    return fig


def _tangent_components(vec: np.ndarray, theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from .sphere import tangent_basis

    e_t, e_p = tangent_basis(theta, phi)
    return (vec * e_t).sum(-1), (vec * e_p).sum(-1)


def hemisphere_potential(H: np.ndarray, theta: np.ndarray, phi: np.ndarray, magnitude: float = 1.0) -> np.ndarray:
    """Local potential G^E with H = -dG^E/dm on each hemisphere (eq. 2.37): integrated along
    meridians from the north pole for theta < pi/2 and from the south pole for theta > pi/2,
    then along the polar circle in phi.  Meaningful where curl H = 0 inside each hemisphere."""
    from scipy.integrate import cumulative_trapezoid

    h_t, h_p = _tangent_components(H, theta, phi)
    h_t, h_p = np.nan_to_num(h_t), np.nan_to_num(h_p)
    out = np.full(h_t.shape, np.nan)
    north = theta < np.pi / 2
    south = theta > np.pi / 2
    for sel, flip in ((north, False), (south, True)):
        idx = np.nonzero(sel)[0]
        if len(idx) == 0:
            continue
        order = idx[::-1] if flip else idx
        pole = 0 if not flip else len(theta) - 1
        t = np.concatenate([[theta[pole]], theta[order]])
        ht = np.concatenate([h_t[pole:pole + 1], h_t[order]], axis=0)
        # G(theta) - G(pole) = -int H_theta |m| dtheta along each meridian
        G = -magnitude * cumulative_trapezoid(ht, t, axis=0, initial=0.0)[1:]
        out[order] = G
    return out


#: Fig. 2.4 needs H^E curl-free inside each hemisphere: the stored curl off the equator rows must
#: be below this fraction of max |H^E . E| / |m| (per radian; finite differences of a
#: constant-magnitude field on the default grid give ~0.015)
CURL_RTOL = 0.1


def hemisphere_split_applies(sphere: xr.Dataset, electric_field) -> str | None:
    """Why the hemisphere free energies G_N / G_S of Fig. 2.4 (eq. 2.37) are not defined for this
    study, or None when they are (or when the data is not finite enough to tell): H^E . E is zero
    to round-off (then G_N = G_S = G, Fig. 2.3), or its curl is not zero off the equator (then no
    potential exists on either hemisphere: the split into hemispheres is that of the TI surface,
    whose H^E jumps only on the equator, eq. 2.36)."""
    E = _field_vector(sphere, electric_field)
    hE = np.einsum("...ij,j->...i", sphere.field_induced_field.values, E)
    mag = np.linalg.norm(hE, axis=-1)
    units = sphere.field_induced_field.attrs.get("units", "")
    verdict = roundoff(mag, natural_scale(mag, unit=float(np.linalg.norm(E))))
    if verdict.zero:
        return (f"H^E . E is {verdict.text('H^E . E', units_text(units))} for {sphere.attrs.get('model')}, so there is no "
                "field-induced potential G^E: G_N = G_S = G, drawn in Fig. 2.3 (b)").replace("\n", " ")
    if "curl_field_induced_field" not in sphere:
        return None
    curl = np.einsum("...j,j->...", sphere.curl_field_induced_field.values, E)
    theta = sphere.theta.values
    step = float(np.min(np.diff(theta))) if len(theta) > 1 else np.pi
    off = np.abs(theta - np.pi / 2) > 1.5 * step
    worst = finite_max_abs(curl[off])
    m = float(sphere.attrs.get("magnetization_magnitude", 1.0))
    top = verdict.max_abs / m
    if not np.isfinite(curl[off]).any() or top == 0 or worst <= CURL_RTOL * top:
        return None
    return (f"the hemisphere free energies G_N / G_S of Fig. 2.4 (eq. 2.37) exist only where H^E is curl-free "
            f"inside each hemisphere, as on the TI surface (eq. 2.36). For {sphere.attrs.get('model')} "
            f"max |curl H^E . E| off the equator is {worst:.3g} = {worst / top:.2g} max |H^E . E| / |m| "
            f"(limit {CURL_RTOL:g}): H^E . E has no potential on either hemisphere"
            + (" (on the 2D-TI edge H^E winds about the y axis, eqs. 2.41-2.42)" if sphere.attrs.get("model") == "ti_edge"
               else ""))


def field_driven_dynamics(sphere: xr.Dataset, electric_field) -> plt.Figure:
    """Fig. 2.4: contours of the hemisphere free energies G_N, G_S = G + G^E (eq. 2.37) under
    the field E, with arrows of m_dot = -gamma m x (H + H^E . E) (eqs. 2.15, 2.17)."""
    theta, phi = sphere.theta.values, sphere.phi.values
    mag = float(sphere.attrs.get("magnetization_magnitude", 1.0))
    E = np.zeros(sphere.sizes["field"])
    E[: len(electric_field)] = np.asarray(electric_field, dtype=float)[: len(E)]
    E = [float(x) for x in E]
    E = np.asarray(E)
    hE = np.einsum("...ij,j->...i", sphere.field_induced_field.values, E)
    H = sphere.effective_field.values
    GE = hemisphere_potential(hE, theta, phi, mag)
    G = sphere.free_energy.values
    total = G - _finite_min(G) + GE
    gamma = sphere.gyromagnetic_ratio.values
    gamma = np.where(np.isfinite(gamma), gamma, _finite_mean(gamma))
    mhat = sphere.magnetization.values / mag
    mdot = -gamma[..., None] * np.cross(mag * mhat, np.nan_to_num(H + hE))
    v, u = _tangent_components(mdot, theta, phi)  # (theta_dot |m|, sin(theta) phi_dot |m|)
    fig, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    td, pd = np.rad2deg(theta), np.rad2deg(phi)
    cs = _contours(ax, pd, td, total, 24, cmap="coolwarm")
    ax.axhline(90, color="k", lw=1.2)
    if cs is not None:
        fig.colorbar(cs, ax=ax, label=units_label("$G_{N/S}$ $-$ const", sphere.free_energy.attrs.get("units", "")))
    speed = np.hypot(u, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        # no arrow where the motion is zero to round-off (its direction would be noise)
        moving = speed > ROUNDOFF_RTOL * finite_max_abs(speed)
        un, vn = np.where(moving, u / speed, np.nan), np.where(moving, v / speed, np.nan)
    st, sp = max(1, len(theta) // 14), max(1, len(phi) // 18)
    sl = (slice(st // 2, None, st), slice(0, None, sp))
    ax.quiver(pd[sl[1]], td[sl[0]], un[sl], vn[sl], angles="xy", scale=32, width=0.004)
    ax.invert_yaxis()
    ax.set_xlabel("$\\phi$ (deg)")
    ax.set_ylabel("$\\theta$ (deg)")
    ax.set_title(f"{sphere.attrs.get('model')}: Fig. 2.4, $G_N$ / $G_S$ and the motion under {_field_text(sphere, E)}"
                 + _nan_note(sphere, total, hE))
    return fig


def _field_vector(sphere: xr.Dataset, electric_field) -> np.ndarray:
    E = np.zeros(sphere.sizes["field"])
    E[: len(electric_field)] = np.asarray(electric_field, dtype=float)[: len(E)]
    return E


MAP_PANELS = [("field_induced_field_intrinsic", "$H^E$ intrinsic (Fermi sea)", "H^E_{int} \\cdot E"),
              ("field_induced_field_extrinsic", "$H^E$ extrinsic ($\\tau$)", "H^E_{ext} \\cdot E"),
              ("torque_H_damping_like", "$\\tau^H$ damping-like (even)", "\\tau^H_{DL} \\cdot E"),
              ("torque_H_field_like", "$\\tau^H$ field-like (odd)", "\\tau^H_{FL} \\cdot E")]


def field_and_torque_maps(sphere: xr.Dataset, electric_field) -> plt.Figure:
    """Sphere maps of H^E . E and of the damping-like and field-like torques |tau^H| (eqs.
    2.17, 2.27) under the field E: magnitude as colour, tangential direction as arrows.  A
    panel that is zero to round-off (:func:`magcore.figures_common.roundoff`, natural scale:
    |E| in the model's units or the largest panel) says so instead; a panel that is a constant
    to 1% is drawn as its offset plus the variation, the offset in the label."""
    theta, phi = sphere.theta.values, sphere.phi.values
    E = _field_vector(sphere, electric_field)
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.4), layout="constrained")
    td, pd = np.rad2deg(theta), np.rad2deg(phi)
    st, sp = max(1, len(theta) // 12), max(1, len(phi) // 16)
    vecs = {name: np.einsum("...ij,j->...i", sphere[name].values, E) for name, _, _ in MAP_PANELS}
    scale = natural_scale(*vecs.values(), unit=float(np.linalg.norm(E)))
    for ax, (name, title, symbol) in zip(axes.ravel(), MAP_PANELS):
        vec = vecs[name]
        units = sphere[name].attrs.get("units", "")
        v, u = _tangent_components(vec, theta, phi)
        mag = np.linalg.norm(vec, axis=-1)
        verdict = roundoff(mag, scale)
        if verdict.zero:
            ax.text(0.5, 0.5, verdict.text(f"${symbol}$", units_text(units)), ha="center", va="center",
                    transform=ax.transAxes, fontsize=9)
            ax.set_title(title + _nan_note(sphere, mag), fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        shift = offset(mag)
        pc = ax.pcolormesh(pd, td, np.ma.masked_invalid(mag - shift.value), shading="nearest", cmap="magma")
        fig.colorbar(pc, ax=ax, label=units_label(shift.label(f"$|{symbol}|$"), units))
        arrows = mag > verdict.scale * 1e-9
        with np.errstate(invalid="ignore", divide="ignore"):
            un, vn = np.where(arrows, u / mag, 0), np.where(arrows, v / mag, 0)
        sl = (slice(st // 2, None, st), slice(0, None, sp))
        ax.quiver(pd[sl[1]], td[sl[0]], np.nan_to_num(un[sl]), np.nan_to_num(vn[sl]), color="c",
                  angles="xy", scale=30, width=0.004)
        ax.invert_yaxis()
        note = shift.note()
        ax.set_title(title + (f"\n{note}" if note else "") + _nan_note(sphere, mag), fontsize=10)
        ax.set_xlabel("$\\phi$ (deg)")
        ax.set_ylabel("$\\theta$ (deg)")
    fig.suptitle(f"{sphere.attrs.get('model')}: field-induced field and torque under "
                 + _field_text(sphere, E) + " (arrows: direction on the sphere)")
    return fig


def _field_text(ds: xr.Dataset, E) -> str:
    """'eE = (0.1, 0) [eV/A]' in the model's energy and length units."""
    eu, lu = ds.attrs.get("energy_unit"), ds.attrs.get("length_unit")
    text = f"eE = {_vector_text(E)}"
    return units_label(text, f"{eu} {lu}^-1") if eu and lu else text


def _vector_text(x) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in x) + ")"


WALL_FIGURES = {("second_chern", "bloch"): "3.5", ("second_chern", "neel"): "3.7",
                ("spin_dipole", "bloch"): "3.8", ("spin_dipole", "neel"): "3.9"}
COMPONENT_COLOURS = ("C0", "C1", "C2")


def _draw_components(ax, y, h, err=None, scale=None, units=""):
    """Lines of the components of h (y, 3) that are not zero to round-off (natural scale: one
    unit or the largest component), with a band h +/- err if given; the components left out are
    named in a note returned as text."""
    zero = []
    for c in range(3):
        verdict = roundoff(h[:, c], scale)
        if verdict.zero:
            zero.append(f"$h_{'xyz'[c]}$")
            continue
        ax.plot(y, h[:, c], "-", color=COMPONENT_COLOURS[c], marker="o", ms=3, label=f"$h_{'xyz'[c]}$")
        if err is not None:
            ax.fill_between(y, h[:, c] - err[:, c], h[:, c] + err[:, c], color=COMPONENT_COLOURS[c], alpha=0.2,
                            lw=0)
    if zero:
        top = max(finite_max_abs(h[:, "xyz".index(z[3])]) for z in zero)
        return f"{', '.join(zero)}: zero to round-off (max |h| = {top:.2g})"
    return ""


def wall_spin_density(texture: xr.Dataset, wall: str, part: str) -> plt.Figure:
    """Figs. 3.5/3.7 (``part`` = "second_chern") and 3.8/3.9 (``part`` = "spin_dipole"): the
    induced spin density across a domain wall per unit eE along x, each component against y, with
    m(y) for reference (eqs. 3.81, 3.87).

    second_chern: (a) the per-band (Abelian) second Chern form summed over the filled bands, as in
    the dissertation, (b) the second Chern form of the occupied subspace (non-Abelian), on its own
    scale, with the measured ratio of the two.  spin_dipole: the spin-dipole density with its
    stored error bound as a band, and the measured ratio spin-dipole / geometric part.
    Components zero to round-off are named, not drawn."""
    number = WALL_FIGURES[(part, wall)]
    if wall not in list(texture.wall.values):
        raise NotDrawn(f"no {wall} wall in this study (texture.walls = {list(texture.wall.values)})")
    ds = texture.sel(wall=wall, field="x")
    y = ds.y.values
    yl = units_label("distance y from the wall centre", texture.y.attrs.get("units", ""))
    first = ds["spin_density_first_chern"].values if "spin_density_first_chern" in ds else None
    geometric = ds["spin_density_geometric"].values
    units = ds["spin_density_geometric"].attrs.get("units", "")
    scale = natural_scale(geometric, ds["spin_density_spin_dipole"].values)
    panels = 3 if part == "second_chern" and "spin_density_second_chern_nonabelian" in ds else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels + 1, 4.8), layout="constrained",
                             gridspec_kw={"width_ratios": [1.2] * (panels - 1) + [1]})
    notes = []
    if part == "second_chern":
        per_band = ds["spin_density_second_chern"].values
        note = _draw_components(axes[0], y, per_band, scale=scale)
        axes[0].set_title("(a) per-band (Abelian) second Chern form,\n$\\sum_n f_n P^n$ over the filled bands "
                          "(as in the dissertation)", fontsize=9)
        axes[0].set_ylabel(units_label("$h$ per unit $eE_x$", units))
        if note:
            notes.append("(a) " + note)
        if panels == 3:
            occupied = ds["spin_density_second_chern_nonabelian"].values
            note = _draw_components(axes[1], y, occupied, scale=scale)
            ratio = finite_max_abs(per_band) / finite_max_abs(occupied) if finite_max_abs(occupied) else np.inf
            axes[1].set_title("(b) second Chern form of the occupied subspace,\n"
                              f"$(1/8)\\,\\epsilon\\,\\mathrm{{tr}}(FF)$: {ratio:.3g}x smaller than (a)", fontsize=9)
            axes[1].set_ylabel(units_label("$h$ per unit $eE_x$", units))
            if note:
                notes.append("(b) " + note)
        what = "second-Chern-form (geometric) part of the induced spin density, eq. 3.81"
    else:
        dipole = ds["spin_density_spin_dipole"].values
        err = ds["spin_density_spin_dipole_fd_error"].values if "spin_density_spin_dipole_fd_error" in ds else None
        note = _draw_components(axes[0], y, dipole, err=err, scale=scale)
        ratio = finite_max_abs(dipole) / finite_max_abs(geometric) if finite_max_abs(geometric) else np.inf
        axes[0].set_title(f"(a) spin-dipole part, eq. 3.87 (bands: stored error bound)\nmax |spin dipole| / "
                          f"max |geometric| = {ratio:.2g} (the dissertation: about 10)", fontsize=9)
        axes[0].set_ylabel(units_label("$h$ per unit $eE_x$", units))
        if note:
            notes.append(note)
        if err is not None:
            unresolved = [f"$h_{'xyz'[c]}$" for c in range(3)
                          if finite_max_abs(err[:, c]) >= finite_max_abs(dipole[:, c]) > 0]
            if unresolved:
                notes.append(f"{', '.join(unresolved)}: not resolved (error bound >= value; texture.fd_step)")
        what = "spin-dipole part of the induced spin density, eq. 3.87"
    if first is not None:
        verdict = roundoff(first, scale)
        notes.append("first-Chern-form part: " + (verdict.text("h", units_text(units)).replace("\n", " ") if verdict.zero
                                                  else f"max |h| = {verdict.max_abs:.3g}"))
    for ax in axes[:-1]:
        ax.axvline(0, color="0.7", lw=0.6)
        ax.axhline(0, color="0.7", lw=0.6)
        ax.set_xlabel(yl)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    m = ds.magnetization.values
    for c in range(3):
        axes[-1].plot(y, m[:, c], color=COMPONENT_COLOURS[c], label=f"$m_{'xyz'[c]}$")
    axes[-1].set_xlabel(yl)
    axes[-1].set_ylabel("m(y) / |m|")
    width = texture.attrs.get("wall_width")
    axes[-1].set_title("wall profile m(y)" + (f", width $w_0$ = {float(width):g} "
                                              f"{units_text(texture.attrs.get('length_unit', ''))}" if width else ""),
                       fontsize=9)
    axes[-1].legend(fontsize=8)
    if notes:
        fig.text(0.01, -0.01, "\n".join(notes), ha="left", va="top", fontsize=8)
    fig.suptitle(f"{texture.attrs.get('model')} {texture.attrs.get('model_material', '')}: Fig. {number}, "
                 f"{wall} wall: {what}, E along x", fontsize=10)
    return fig


def llg_trajectories(llg: xr.Dataset, polar_axis: str = "z") -> plt.Figure:
    """All recorded LLG trajectories in one figure (:func:`magcore.figures_llg.trajectories_figure`;
    the llg stage draws one file per dissertation figure instead).  ``polar_axis``: unused, the
    store's own initial polar axis is used."""
    from .figures_llg import trajectories_figure

    names = [str(n) for n in llg.trajectory.values] if "trajectory" in llg.dims else []
    return trajectories_figure(llg, names)


def llg_phase_diagram(llg: xr.Dataset) -> plt.Figure:
    """The phase diagram of final states (:func:`magcore.figures_llg.phase_diagram`)."""
    from .figures_llg import phase_diagram

    return phase_diagram(llg)


def sweep_lines(sphere: xr.Dataset, panels, x: str, direction: tuple[float, float]) -> plt.Figure:
    """Quantities of a sweep's sphere store (its ``sweep_dims`` attribute names the sweep
    dimensions) against one sweep axis ``x``, at the magnetization direction nearest
    ``direction`` = (theta, phi) in radians: one panel per entry of ``panels`` ((variable,
    selection) with ``selection`` picking components, e.g. {"component": "x", "field": "x"}),
    one line per combination of the other sweep dimensions (colour: the first, line style: the
    second; at most 12 lines).  A panel whose values are zero to round-off
    (:func:`magcore.figures_common.roundoff`; natural scale: one unit per unit field, or the
    largest value of the variable anywhere in the store) says so instead of drawing the noise."""
    dims = json.loads(sphere.attrs.get("sweep_dims", "[]"))
    at = sphere.sel(theta=direction[0], phi=direction[1], method="nearest")
    others = [d for d in dims if d != x]
    combos = [{}]
    for d in others:
        combos = [{**c, d: v} for c in combos for v in sphere[d].values]
    combos = combos[:12]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ("-", "--", ":", "-.")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 2.2, 3.8), squeeze=False)
    handles = []
    for ax, (name, selection) in zip(axes[0], panels):
        da = at[name].sel(selection) if selection else at[name]
        values = np.asarray(da.values, float)
        verdict = roundoff(values, natural_scale(sphere[name].values))
        sel = ", ".join(f"{k} {v}" for k, v in selection.items())
        ax.set_title(f"{name}" + (f"\n({sel})" if sel else ""), fontsize=9)
        ax.set_xlabel(_label(sphere[x]))
        ax.set_ylabel(units_label(name, da.attrs.get("units", "")), fontsize=8)
        if verdict.zero:
            ax.text(0.5, 0.5, verdict.text("value", units_text(da.attrs.get("units", ""))), ha="center",
                    va="center", transform=ax.transAxes, fontsize=8)
            continue
        for c in combos:
            y = da.sel({d: v for d, v in c.items() if d in da.dims})
            codes = [list(sphere[d].values).index(v) for d, v in c.items()]
            colour = colours[codes[0] % len(colours)] if codes else colours[0]
            style = styles[codes[1] % len(styles)] if len(codes) > 1 else "-"
            label = ", ".join(_value(v, sphere[d]) for d, v in c.items())
            line, = ax.plot(da[x].values, np.asarray(y.values, float), style, color=colour, marker="o", ms=3,
                            label=label or None)
            if len(handles) < len(combos):
                handles.append(line)
        ax.axhline(0.0, color="0.7", lw=0.6)
    if len(combos) > 1 and handles:
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
                   title=", ".join(others), title_fontsize=8)
    fig.suptitle(f"sweep over {', '.join(dims)} at the magnetization direction theta = "
                 f"{np.rad2deg(float(at.theta)):.4g} deg, phi = {np.rad2deg(float(at.phi)):.4g} deg", fontsize=10)
    fig.tight_layout()
    return fig


def _value(v, coord: xr.DataArray) -> str:
    units = coord.attrs.get("units", "")
    text = str(v) if isinstance(v, str) or np.asarray(v).dtype.kind in "OUS" else f"{float(v):.4g}"
    return text + (f" {units}" if units and units != "1" else "")


def mesh_convergence(report: xr.Dataset) -> plt.Figure:
    """The mesh-convergence report of a sweep (:func:`magcore.convergence.convergence_report`):
    the relative change of each quantity from the previous mesh against the finer mesh value of
    each step, log y axis, one line per quantity (legend: its relative change at the last step),
    the tolerance as a dashed line; one panel per mesh dimension.  A step with no change or zero
    to round-off cannot be drawn on the log axis and a step with no point finite at both meshes
    has no value: the quantities left out that way are named under the panels.  Changes below
    1e-16 (double-precision round-off) are drawn at 1e-16."""
    floor_value = 1e-16
    tol = float(report.attrs["tolerance"])
    dims = list(dict.fromkeys(str(d) for d in report.mesh_dim.values))
    names = [str(q) for q in report.quantity.values]
    colours = plt.get_cmap("tab20").colors
    styles = ("-", "--", ":", "-.")
    fig, axes = plt.subplots(1, len(dims), figsize=(6.4 * len(dims) + 4.0, 5.6), squeeze=False)
    not_drawn: dict[str, list[str]] = {"no change or zero to round-off": [], "no point finite at both meshes": []}
    handles, labels = [], []
    for ax, dim in zip(axes[0], dims):
        steps = np.flatnonzero(report.mesh_dim.values == dim)
        sub = report.isel(mesh_step=steps)
        x = sub.mesh_to.values
        axis, units, long_name = (str(sub[c].values[0]) for c in ("mesh_axis", "mesh_units", "mesh_long_name"))
        floor = []
        for i, name in enumerate(names):
            y = np.asarray(sub.relative_change.values[i], float)
            shown = np.isfinite(y) & (y > 0)
            if not shown.any():
                key = "no point finite at both meshes" if not np.isfinite(y).any() else "no change or zero to round-off"
                if name not in not_drawn[key]:
                    not_drawn[key].append(name)
                continue
            floor.append(max(y[shown].min(), floor_value))
            y = np.where(shown, np.maximum(y, floor_value), np.nan)
            line, = ax.plot(x, y, styles[(i // len(colours)) % len(styles)], color=colours[i % len(colours)],
                            marker="o", ms=3, lw=1.2)
            if len(dims) == 1 or name not in labels:
                last = float(report.last_relative_change.values[i])
                labels.append(f"{name} [{report.quantity_units.values[i]}]: {last:.3g}"
                              + ("" if report.meets_tolerance.values[i] else "  (above tolerance)"))
                handles.append(line)
        ax.axhline(tol, color="k", ls="--", lw=1.0)
        ax.text(x[0], tol, f" tolerance {tol:g}", va="bottom", ha="left", fontsize=8)
        ax.set_yscale("log")
        if floor:
            ax.set_ylim(min(min(floor), tol) / 3, None)
            if min(floor) == floor_value:
                ax.axhline(floor_value, color="0.6", lw=0.8, ls=":")
                ax.text(x[-1], floor_value, "changes below 1e-16 (round-off) drawn here ", va="bottom", ha="right",
                        fontsize=7, color="0.4")
        ax.set_xticks(x)
        ax.set_xticklabels([f"{sub.mesh_from.values[j]:g}->{v:g}" for j, v in enumerate(x)], fontsize=8)
        ax.set_xlabel(f"{axis}: {long_name}" + (f" [{units}]" if units and units != "1" else "")
                      + "\n(step from the coarser to the finer mesh value)", fontsize=9)
        ax.set_ylabel("relative change from the previous mesh\nmax|X(mesh_i+1) - X(mesh_i)| / max|X(mesh_i+1)| [1]",
                      fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    finest = ", ".join(f"{k} = {v}" for k, v in json.loads(report.attrs["finest_mesh"]).items())
    n_bad = int((~report.meets_tolerance.values).sum())
    fig.suptitle(f"mesh convergence: finest mesh {finest} "
                 + ("meets" if n_bad == 0 else f"does not meet ({n_bad} of {len(names)} quantities)")
                 + f" the tolerance {tol:g}", fontsize=10)
    notes = [f"not drawn ({why}): {', '.join(q)}" for why, q in not_drawn.items() if q]
    if notes:
        import textwrap

        text = "\n".join(textwrap.fill(n, 120) for n in notes)
        fig.text(0.01, -0.01, text, ha="left", va="top", fontsize=8)
    if handles:
        fig.legend(handles=handles, labels=labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7,
                   title="quantity [units]: relative change of the last step", title_fontsize=8)
    fig.tight_layout()
    return fig
