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


def save(fig, path: str | Path, dpi: int = 120) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def _label(da: xr.DataArray) -> str:
    return f"{da.attrs.get('long_name', da.name)} [{da.attrs.get('units', '')}]"


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
    finite = np.isfinite(gamma_c)
    lo, hi = (gamma_c[finite].min(), gamma_c[finite].max()) if finite.any() else (0.0, 1.0)
    norm = plt.Normalize(lo, hi if hi > lo else lo + 1)
    colors = plt.cm.viridis(norm(np.where(finite, gamma_c, lo)))
    colors[~finite] = (0.85, 0.1, 0.1, 1.0)
    ax.plot_surface(np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T), facecolors=colors,
                    rstride=1, cstride=1, linewidth=0, antialiased=False, shade=False)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xlabel("$m_x$")
    ax.set_ylabel("$m_y$")
    ax.set_zlabel("$m_z$")
    sm = plt.cm.ScalarMappable(norm=norm, cmap="viridis")
    units = sphere.gyromagnetic_ratio.attrs.get("units", "")
    fig.colorbar(sm, ax=ax, shrink=0.6, pad=0.12, label=f"$\\gamma$ [{units}]")
    ax.set_title("(a) gyromagnetic ratio $\\gamma$ (red: NaN, flagged)" + _nan_note(sphere, gamma))

    ax = fig.add_subplot(1, 3, 2)
    td, pd = np.rad2deg(theta), np.rad2deg(phi)
    cs = _contours(ax, pd, td, G, 16, cmap="coolwarm")
    if cs is not None:
        fig.colorbar(cs, ax=ax, label="$G - \\min G$ [" + sphere.free_energy.attrs.get("units", "") + "]")
    u, v = precession_direction(sphere.free_energy.values, theta, phi,
                                np.where(np.isfinite(gamma), gamma, _finite_mean(gamma)),
                                float(sphere.attrs.get("magnetization_magnitude", 1.0)))
    step_t = max(1, len(theta) // 12)
    step_p = max(1, len(phi) // 16)
    speed = np.hypot(u, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        un, vn = np.where(speed > 0, u / speed, 0), np.where(speed > 0, v / speed, 0)
    sl = (slice(step_t // 2, None, step_t), slice(0, None, step_p))
    ax.quiver(pd[sl[1]], td[sl[0]], un[sl], vn[sl], angles="xy", scale=30, width=0.004)
    ax.invert_yaxis()
    ax.set_xlabel("$\\phi$ (deg)")
    ax.set_ylabel("$\\theta$ (deg)")
    ax.set_title("(b) free energy $G$ and precession $-\\gamma\\, m \\times H$" + _nan_note(sphere, G))

    ax = fig.add_subplot(1, 3, 3)
    ax.plot(td, gamma[:, 0], "o-", ms=3, label="numerical, $\\phi = 0$")
    if sphere.attrs.get("model") == "ti_surface":
        pars = sphere.attrs["model_parameters"]
        mag = float(sphere.attrs["magnetization_magnitude"])
        alpha = np.float64(pars["J"]) * mag / pars["v"]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            gamma_s = 4 * np.pi * mag / (alpha**2 * np.abs(np.cos(theta))) * np.sign(alpha)
            gf = float(sphere.attrs["gamma_f"])
            ax.plot(td, gf / (1 + gf / gamma_s), "k--", label="eqs. 2.32, 2.34")
    ax.set_xlabel("$\\theta$ (deg)")
    ax.set_ylabel(f"$\\gamma$ [{units}]")
    ax.legend()
    ax.set_title("(c) $\\gamma(\\theta)$" + _nan_note(sphere, gamma))
    fig.suptitle(f"{sphere.attrs.get('model')}: Fig. 2.3 regenerated from sphere.zarr")
    return fig


def bands_along_path(bands: xr.Dataset) -> plt.Figure:
    """Band energies along the k path at each reference magnetization direction."""
    n = bands.sizes["direction"]
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 3.6), sharey=True, squeeze=False)
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
            ax.set_xticks(ticks, [str(x) for x in bands.path_label.values])
            for x in ticks:
                ax.axvline(x, color="0.7", lw=0.6)
            ax.set_xlim(ticks[0], ticks[-1])
        ax.set_xlabel(_label(bands.path))
    axes[0, 0].set_ylabel(_label(bands.energy_path))
    axes[0, 0].legend()
    fig.suptitle(f"{bands.attrs.get('model')}: bands along the k path")
    return fig


def gap_map(bands: xr.Dataset) -> plt.Figure:
    """Minimum direct gap at mu over the magnetization sphere (log scale; gap closings marked)."""
    gap = bands.min_gap.values
    finite = np.isfinite(gap)
    top = float(gap[finite].max()) if finite.any() else 1.0
    floor = max(top * 1e-6, 1e-12)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    pc = ax.pcolormesh(np.rad2deg(bands.phi.values), np.rad2deg(bands.theta.values),
                       np.ma.masked_invalid(np.maximum(gap, floor)),
                       norm=LogNorm(vmin=floor, vmax=max(top, floor * 10)), shading="nearest")
    fig.colorbar(pc, ax=ax, label=_label(bands.min_gap))
    closed = bands.gap_closed.values
    if closed.any():
        t, p = np.nonzero(closed)
        ax.plot(np.rad2deg(bands.phi.values[p]), np.rad2deg(bands.theta.values[t]), "rx", ms=4,
                label="gap closed")
        ax.legend(loc="lower right")
    ax.invert_yaxis()
    ax.set_xlabel("$\\phi$ (deg)")
    ax.set_ylabel("$\\theta$ (deg)")
    note = f" [{int((~finite).sum())} of {gap.size} not finite]" if not finite.all() else ""
    ax.set_title(f"{bands.attrs.get('model')}: direct gap over the magnetization sphere{note}")
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
        elif scale == 0 or scale < 1e-12 * max(1.0, float(np.nanmax(np.abs(omega)))):
            ax.text(0.5, 0.5, f"zero to round-off\n(max |Omega| = {scale:.2g} {unit})", ha="center",
                    va="center", transform=ax.transAxes)
        else:
            tp = ax.tripcolor(k[finite, 0], k[finite, 1], w[finite], cmap="RdBu_r", vmin=-scale, vmax=scale,
                              shading="gouraud")
            fig.colorbar(tp, ax=ax, label=f"$\\Omega_{{k_x k_y}}$ ({unit})")
            if not lattice:  # zoom on where the curvature is: 4x the radius holding half of int |Omega|
                radius = np.linalg.norm(bands.mesh_k.values[finite], axis=-1)
                order = np.argsort(radius)
                mass = np.cumsum((weights[finite] * np.abs(w[finite]))[order])
                reach = 4 * radius[order][min(np.searchsorted(mass, 0.5 * mass[-1]), len(order) - 1)]
                centre = bands.k_center.values[r]
                ax.set_xlim(centre[0] - reach, centre[0] + reach)
                ax.set_ylim(centre[1] - reach, centre[1] + reach)
        ax.set_aspect("equal")
        ax.set_xlabel(f"$k_x$ ({bands.mesh_k.attrs.get('units', '')})")
        ax.set_ylabel(f"$k_y$ ({bands.mesh_k.attrs.get('units', '')})")
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
        fig.colorbar(cs, ax=ax, label="$G_{N/S}$ - const [" + sphere.free_energy.attrs.get("units", "") + "]")
    speed = np.hypot(u, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        un, vn = np.where(speed > 0, u / speed, 0), np.where(speed > 0, v / speed, 0)
    st, sp = max(1, len(theta) // 14), max(1, len(phi) // 18)
    sl = (slice(st // 2, None, st), slice(0, None, sp))
    ax.quiver(pd[sl[1]], td[sl[0]], un[sl], vn[sl], angles="xy", scale=32, width=0.004)
    ax.invert_yaxis()
    ax.set_xlabel("$\\phi$ (deg)")
    ax.set_ylabel("$\\theta$ (deg)")
    ax.set_title(f"{sphere.attrs.get('model')}: Fig. 2.4, $G_N$ / $G_S$ and the motion under eE = {E.tolist()}"
                 + _nan_note(sphere, total, hE))
    return fig


def field_and_torque_maps(sphere: xr.Dataset, electric_field) -> plt.Figure:
    """Sphere maps of H^E . E and of the damping-like and field-like torques |tau^H| (eqs.
    2.17, 2.27) under the field E: magnitude as colour, tangential direction as arrows."""
    theta, phi = sphere.theta.values, sphere.phi.values
    E = np.zeros(sphere.sizes["field"])
    E[: len(electric_field)] = np.asarray(electric_field, dtype=float)[: len(E)]
    E = [float(x) for x in E]
    E = np.asarray(E)
    panels = [("field_induced_field_intrinsic", "$H^E$ intrinsic (Fermi sea)"),
              ("field_induced_field_extrinsic", "$H^E$ extrinsic ($\\tau$)"),
              ("torque_H_damping_like", "$\\tau^H$ damping-like (even)"),
              ("torque_H_field_like", "$\\tau^H$ field-like (odd)")]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")
    td, pd = np.rad2deg(theta), np.rad2deg(phi)
    st, sp = max(1, len(theta) // 12), max(1, len(phi) // 16)
    vecs = {name: np.einsum("...ij,j->...i", sphere[name].values, E) for name, _ in panels}
    # H^E and tau^H share a scale: a panel below 1e-9 of it is round-off, not structure
    scale = max((float(np.nanmax(np.abs(v))) for v in vecs.values() if np.isfinite(v).any()), default=0.0)
    for ax, (name, title) in zip(axes.ravel(), panels):
        vec = vecs[name]
        v, u = _tangent_components(vec, theta, phi)
        mag = np.linalg.norm(vec, axis=-1)
        top = float(np.nanmax(mag)) if np.isfinite(mag).any() else 0.0
        if np.isfinite(mag).any() and top <= 1e-9 * scale:
            ax.text(0.5, 0.5, f"zero to round-off\n(max |{name}| = {top:.2g}\n{sphere[name].attrs.get('units', '')},"
                    f" {top / scale if scale else 0:.1g} of the largest panel)", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_title(title + _nan_note(sphere, mag))
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        pc = ax.pcolormesh(pd, td, np.ma.masked_invalid(mag), shading="nearest", cmap="magma")
        fig.colorbar(pc, ax=ax, label=f"|{name}| [{sphere[name].attrs.get('units', '')}]")
        with np.errstate(invalid="ignore", divide="ignore"):
            un, vn = np.where(mag > 0, u / mag, 0), np.where(mag > 0, v / mag, 0)
        sl = (slice(st // 2, None, st), slice(0, None, sp))
        ax.quiver(pd[sl[1]], td[sl[0]], np.nan_to_num(un[sl]), np.nan_to_num(vn[sl]), color="c",
                  angles="xy", scale=30, width=0.004)
        ax.invert_yaxis()
        ax.set_title(title + _nan_note(sphere, mag))
        ax.set_xlabel("$\\phi$ (deg)")
        ax.set_ylabel("$\\theta$ (deg)")
    fig.suptitle(f"{sphere.attrs.get('model')}: field-induced field and torque, eE = {E.tolist()}")
    return fig


def wall_spin_density(texture: xr.Dataset, wall: str, part: str) -> plt.Figure:
    """Figs. 3.5/3.7 (``part`` = "second_chern") and 3.8/3.9 (``part`` = "spin_dipole"): the
    induced spin density across a domain wall per unit eE along x, each component against y, with
    m(y) for reference (eqs. 3.81, 3.87)."""
    if wall not in list(texture.wall.values):
        fig, ax = plt.subplots()
        ax.text(0.5, 0.5, f"no {wall} wall in this study (texture.walls)", ha="center")
        return fig
    ds = texture.sel(wall=wall)
    names = {"second_chern": ["spin_density_second_chern", "spin_density_second_chern_nonabelian"],
             "spin_dipole": ["spin_density_spin_dipole"]}[part]
    y = ds.y.values
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
    for name, style in zip(names, ("-", "--")):
        if name not in ds:
            continue
        h = ds[name].sel(field="x").values
        for c, color in zip(range(3), ("C0", "C1", "C2")):
            label = f"{'xyz'[c]}" + (" (filled bands together)" if "nonabelian" in name else "")
            axes[0].plot(y, h[:, c], style, color=color, label=label)
    axes[0].axvline(0, color="0.7", lw=0.6)
    axes[0].set_xlabel(f"y [{texture.y.attrs.get('units', '')}]")
    axes[0].set_ylabel(f"h [{ds[names[0]].attrs.get('units', '')}]")
    axes[0].legend(fontsize=8)
    what = "second-Chern-form (geometric) part, eq. 3.81" if part == "second_chern" else "spin-dipole part, eq. 3.87"
    axes[0].set_title(f"{wall} wall: {what}, E along x")
    m = ds.magnetization.values
    for c in range(3):
        axes[1].plot(y, m[:, c], label=f"m_{'xyz'[c]}")
    axes[1].set_xlabel(f"y [{texture.y.attrs.get('units', '')}]")
    axes[1].set_title("wall profile m(y)")
    axes[1].legend()
    fig.suptitle(f"{texture.attrs.get('model')} {texture.attrs.get('model_material', '')}: "
                 f"Fig. {dict(second_chern={'bloch': '3.5', 'neel': '3.7'}, spin_dipole={'bloch': '3.8', 'neel': '3.9'})[part][wall]}"
                 " regenerated from texture.zarr")
    return fig


def llg_trajectories(llg: xr.Dataset, polar_axis: str = "z") -> plt.Figure:
    """Recorded LLG trajectories on the unit sphere (Figs. 2.6, 2.8, 2.9, 2.12) and their polar
    angle theta(t) about ``polar_axis`` (Fig. 2.13), coloured by trajectory, end points marked."""
    from .llg import to_angles

    fig = plt.figure(figsize=(13, 5), layout="constrained")
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax = fig.add_subplot(1, 2, 2)
    u, v = np.mgrid[0:2 * np.pi:40j, 0:np.pi:20j]
    ax3.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", lw=0.4)
    if "trajectory" not in llg.dims:
        ax.text(0.5, 0.5, "no recorded trajectories (llg.record)", ha="center", transform=ax.transAxes)
        return fig
    classes = dict(zip(llg.final_class.attrs["flag_values"], llg.final_class.attrs["flag_meanings"].split()))
    t = llg.time.values
    for i, name in enumerate(llg.trajectory.values):
        m = llg.trajectory_m.isel(trajectory=i).values
        color = f"C{i % 10}"
        label = f"{name}: {classes.get(int(llg.trajectory_class.values[i]), '?')}"
        ax3.plot(m[:, 0], m[:, 1], m[:, 2], color=color, lw=1.0, label=label)
        ax3.scatter(*m[0], color=color, marker="o", s=15)
        ax3.scatter(*m[-1], color=color, marker="*", s=60)
        theta, _ = to_angles(m, polar_axis)
        ax.plot(t, theta / np.pi, color=color, label=label)
    ax3.set_box_aspect((1, 1, 1))
    ax3.set_xlabel("$m_x$")
    ax3.set_ylabel("$m_y$")
    ax3.set_zlabel("$m_z$")
    ax3.legend(fontsize=7, loc="upper left")
    ax3.set_title("trajectories (o start, * end)")
    ax.set_xlabel(f"t [{llg.time.attrs.get('units', '')}]")
    ax.set_ylabel(f"$\\theta/\\pi$ (polar axis {polar_axis})")
    ax.set_title("polar angle (cf. Fig. 2.13)")
    return fig


def llg_phase_diagram(llg: xr.Dataset) -> plt.Figure:
    """Final state over the first two swept axes with more than one value (others at their
    first value): fixed points coloured by the minimum they reach, limit cycles, unresolved."""
    axes = [d for d in llg.final_class.dims if llg.sizes[d] > 1]
    fc = llg.final_class
    idx = llg.minimum_index
    sel = {d: 0 for d in fc.dims if d not in axes[:2]}
    fc, idx = fc.isel(sel), idx.isel(sel)
    values = llg.final_class.attrs["flag_values"]
    meanings = llg.final_class.attrs["flag_meanings"].split()
    # a code per outcome: one per (fixed point, minimum index), then the other classes
    labels, code = [], np.zeros(fc.shape, int)
    outcomes = sorted({(int(c), int(i) if meanings[list(values).index(int(c))] == "fixed_point" else -1)
                       for c, i in zip(np.ravel(fc.values), np.ravel(idx.values))})
    for n, (c, i) in enumerate(outcomes):
        name = meanings[list(values).index(c)]
        labels.append(f"{name} {i}" if name == "fixed_point" and i >= 0 else name)
        code[(fc.values == c) & ((idx.values == i) if name == "fixed_point" else True)] = n
    cmap = plt.get_cmap("tab10", max(len(labels), 1))
    fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
    if len(axes) >= 2:
        x, y = llg[axes[1]].values, llg[axes[0]].values
        im = ax.pcolormesh(x, y, code, cmap=cmap, vmin=-0.5, vmax=len(labels) - 0.5, shading="nearest")
        ax.set_xlabel(axes[1])
        ax.set_ylabel(axes[0])
    elif len(axes) == 1:
        x = llg[axes[0]].values
        im = ax.pcolormesh(x, [0, 1], np.vstack([code, code]), cmap=cmap, vmin=-0.5, vmax=len(labels) - 0.5,
                           shading="nearest")
        ax.set_xlabel(axes[0])
        ax.set_yticks([])
    else:
        ax.text(0.5, 0.5, labels[0] if labels else "", ha="center", transform=ax.transAxes)
        return fig
    cbar = fig.colorbar(im, ax=ax, ticks=range(len(labels)))
    cbar.ax.set_yticklabels(labels)
    ax.set_title("final state of the LLG trajectories" + (f" ({sel})" if sel else ""))
    return fig


def sweep_lines(sphere: xr.Dataset, panels, x: str, direction: tuple[float, float]) -> plt.Figure:
    """Quantities of a sweep's sphere store (its ``sweep_dims`` attribute names the sweep
    dimensions) against one sweep axis ``x``, at the magnetization direction nearest
    ``direction`` = (theta, phi) in radians: one panel per entry of ``panels`` ((variable,
    selection) with ``selection`` picking components, e.g. {"component": "x", "field": "x"}),
    one line per combination of the other sweep dimensions (colour: the first, line style: the
    second; at most 12 lines).  A panel whose values are zero to round-off (below 1e-9 of the
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
        scale = float(np.nanmax(np.abs(np.asarray(sphere[name].values, float)))) if values.size else 0.0
        biggest = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
        sel = ", ".join(f"{k} {v}" for k, v in selection.items())
        ax.set_title(f"{name}" + (f"\n({sel})" if sel else ""), fontsize=9)
        ax.set_xlabel(_label(sphere[x]))
        ax.set_ylabel(f"[{da.attrs.get('units', '')}]")
        if biggest <= 1e-9 * scale:
            ax.text(0.5, 0.5, f"zero to round-off here\n(max |value| = {biggest:.2g},\n"
                              f"{scale:.2g} elsewhere in the store)", ha="center", va="center",
                    transform=ax.transAxes, fontsize=9)
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
