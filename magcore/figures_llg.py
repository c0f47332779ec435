"""Figures of the ``llg`` stage, regenerated from ``llg.zarr``.

One file per dissertation figure: recorded points named ``fig<chapter>_<number>_<colour>`` (e.g.
``fig2_9_red``) are drawn together in that figure's file, in the colour of their name, as in the
dissertation's captions (Figs. 2.6, 2.8, 2.9, 2.12; Fig. 2.13 is the polar angle theta(t) of the
trajectories of Fig. 2.12).  Every trajectory figure shows a 3-D view of the sphere beside a 2-D
map in the study's angles (theta, phi about ``llg.initial.polar_axis``) with the energy contours of
the conservative terms, so that phi is readable.  Recorded points with other names are drawn in
``llg_trajectories.png``.  The phase diagram shows the final-state classes of the sweep in
categorical colours with a legend that says what each class means.
"""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap, is_color_like  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from .figures_files import _FIGURE_NAME, THETA_FIGURES, figure_groups, llg_figure_files  # noqa: E402,F401

#: what each dissertation LLG figure shows (from its caption)
CAPTIONS = {
    "fig2_6": "relaxation towards the energy minima at $\\pm x$ (easy axis x)",
    "fig2_8": "relaxation towards the minima at $\\pm x$ with the TI edge anisotropy $K_{ti}$",
    "fig2_9": "the Faraday field drives the red trajectory to the other minimum",
    "fig2_12": "oscillator states (limit cycles about +y) under E and a static field H",
    "fig2_13": "polar angle $\\theta(t)$ of the trajectories of Fig. 2.12",
}
#: colours of Fig. 2.13 that differ from Fig. 2.12's names (its caption: "the purple line evolves
#: to the point of lowest energy", the black line of Fig. 2.12)
FIG2_13_COLOURS = {"black": "purple"}


def _colour(name: str, index: int) -> str:
    """The colour of a recorded point: the last word of its name if that is a colour."""
    match = _FIGURE_NAME.match(name)
    word = match.group(4) if match else name.rsplit("_", 1)[-1]
    return word if is_color_like(word) and not word.startswith("C") else f"C{index % 10}"


def _classes(llg: xr.Dataset) -> dict[int, str]:
    fc = llg.final_class.attrs
    return dict(zip((int(v) for v in fc["flag_values"]), fc["flag_meanings"].split()))


def _polar_axis(llg: xr.Dataset, default: str = "z") -> str:
    try:
        return json.loads(llg.attrs.get("initial", "{}")).get("polar_axis") or default
    except (TypeError, ValueError):
        return default


def _sweep_axes(llg: xr.Dataset) -> list[str]:
    return [d for d in llg.final_class.dims]


def _point(llg: xr.Dataset, i: int) -> dict[str, float]:
    """The swept parameters of recorded trajectory ``i``."""
    return {a: float(llg[f"trajectory_{a}"].values[i]) for a in _sweep_axes(llg) if f"trajectory_{a}" in llg}


def _angle_axes(llg: xr.Dataset) -> dict[str, str]:
    """Sweep axes that are initial angles in units of pi ("theta0" -> "theta" for an initial
    ``theta: "theta0*pi"``)."""
    try:
        initial = json.loads(llg.attrs.get("initial", "{}"))
    except (TypeError, ValueError):
        return {}
    out = {}
    for angle in ("theta", "phi"):
        expr = str(initial.get(angle) or "").replace(" ", "")
        match = re.fullmatch(r"(\w+)\*pi|pi\*(\w+)", expr)
        if match:
            out[match.group(1) or match.group(2)] = angle
    return out


def _greek(angle: str) -> str:
    return {"theta": "\\theta", "phi": "\\phi"}[angle]


def _fmt(v: float) -> str:
    return f"{v:.5g}"


def _parameter_text(llg: xr.Dataset, point: dict[str, float], names=None) -> str:
    """'alpha = 0.027, B_over_K = -0.1' with initial angles as 'theta_i = 0.4 pi'."""
    angles = _angle_axes(llg)
    parts = []
    for a, v in point.items():
        if names is not None and a not in names:
            continue
        if a in angles:
            parts.append(f"${_greek(angles[a])}_i$ = " + (f"{_fmt(v)}$\\pi$" if v else "0"))
        else:
            units = llg[a].attrs.get("units", "")
            parts.append(f"{a} = {_fmt(v)}" + (f" {units}" if units and units != "1" else ""))
    return ", ".join(parts)


def axis_label(llg: xr.Dataset, axis: str) -> str:
    """Label of a sweep axis with its units: initial angles in units of pi say so."""
    angles = _angle_axes(llg)
    if axis in angles:
        return (f"{axis}: initial ${_greek(angles[axis])}_i$ / $\\pi$ "
                f"(polar axis {_polar_axis(llg)}) [$\\pi$ rad]")
    units = llg[axis].attrs.get("units", "")
    return f"{axis} [{units if units and units != '1' else 'dimensionless'}]"


# ----------------------------------------------------------------------------------- trajectories

def _angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.einsum("...i,...i->...", a, b))


def settle_index(m: np.ndarray, t: np.ndarray, period: float | None, tol: float = 0.02) -> int:
    """First sample after which the trajectory stays within ``tol`` rad of its final state: the
    end point, or for a limit cycle (``period``) the closed curve of its last period."""
    m = np.asarray(m, float)
    if period is not None and np.isfinite(period) and period > 0 and t[-1] - t[0] > period:
        dt = (t[-1] - t[0]) / max(len(t) - 1, 1)
        last = m[t >= t[-1] - period - 2 * dt]  # a little more than one period: a closed curve
        # densify the final cycle so the distance to it is not limited by the sampling
        s = np.linspace(0, 1, 8, endpoint=False)
        fine = (last[:-1, None, :] + (last[1:] - last[:-1])[:, None, :] * s[None, :, None]).reshape(-1, 3)
        fine = np.concatenate([fine, last[-1:]])
        fine /= np.linalg.norm(fine, axis=-1, keepdims=True)
        dist = np.empty(len(m))
        for start in range(0, len(m), 512):
            cos = np.clip(m[start:start + 512] @ fine.T, -1, 1)
            dist[start:start + 512] = np.arccos(cos.max(axis=1))
    else:
        dist = _angle_between(m, m[-1][None])
    outside = np.flatnonzero(dist > tol)
    return 0 if outside.size == 0 else min(int(outside[-1]) + 1, len(m) - 1)


def _trajectory_period(llg: xr.Dataset, i: int) -> float | None:
    classes = _classes(llg)
    if classes.get(int(llg.trajectory_class.values[i])) != "limit_cycle" or "period" not in llg:
        return None
    point = _point(llg, i)
    period = float(llg.period.sel(point).values)
    return period if np.isfinite(period) else None


def _outcome(llg: xr.Dataset, i: int) -> str:
    """'fixed point at minimum 1 (-1, 0, 0)' / 'limit cycle, period 6.61' / class name."""
    classes = _classes(llg)
    name = classes.get(int(llg.trajectory_class.values[i]), "?")
    point = _point(llg, i)
    if name == "fixed_point":
        m = np.round(llg.trajectory_m.values[i, -1], 2) + 0.0  # no "-0.00"
        idx = int(llg.minimum_index.sel(point).values) if "minimum_index" in llg else -1
        where = f"minimum {idx}" if idx >= 0 else "fixed point"
        return f"{where} at m = ({m[0]:.2f}, {m[1]:.2f}, {m[2]:.2f})"
    if name == "limit_cycle":
        period = _trajectory_period(llg, i)
        units = llg.time.attrs.get("units", "")
        return "limit cycle" + (f", period {period:.3g}" + (f" {units}" if units and units != "1" else "")
                                if period else "")
    return name.replace("_", " ")


def _energy_model(llg: xr.Dataset, point: dict[str, float]):
    """The LLG model of the store at ``point`` if it has an energy of its own (no sphere maps)."""
    try:
        from .llg import build_llg

        model = build_llg(json.loads(llg.attrs["model"]), point)
        return model if model.has_energy else None
    except Exception:  # a model driven by sphere maps, or not rebuildable: no contours
        return None


def _sphere_axes(ax, polar_axis: str):
    from .llg import from_angles

    u, v = np.mgrid[0:2 * np.pi:37j, 0:np.pi:19j]
    m = from_angles(v, u, polar_axis)
    ax.plot_wireframe(m[..., 0], m[..., 1], m[..., 2], color="0.85", lw=0.4)
    for k, name in enumerate("xyz"):
        e = np.zeros(3)
        e[k] = 1.25
        ax.plot(*zip(-e, e), color="0.5", lw=0.6)
        ax.text(*(e * 1.08), f"+{name}", color="0.3", fontsize=9)
    ax.set_box_aspect((1, 1, 1), zoom=1.35)
    ax.set_axis_off()
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.1)
    ax.set_zlim(-1.1, 1.1)


def _map_segments(theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """theta, phi (in units of pi) with NaN where phi wraps, for lines on the (phi, theta) map."""
    jumps = np.flatnonzero(np.abs(np.diff(phi)) > np.pi)
    theta = np.insert(theta, jumps + 1, np.nan)
    phi = np.insert(phi, jumps + 1, np.nan)
    return theta / np.pi, phi / np.pi


def trajectories_figure(llg: xr.Dataset, names, key: str = "trajectories") -> plt.Figure:
    """Recorded trajectories ``names`` on a 3-D sphere (left) and on the (phi, theta) map of the
    study's angles with the energy contours of the conservative terms (right); start o, end *;
    a limit cycle drawn as its transient (thin) and its final cycle (thick)."""
    from .llg import from_angles, to_angles

    polar = _polar_axis(llg)
    fig = plt.figure(figsize=(14, 6.4), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[1, 1.35])
    ax3 = fig.add_subplot(grid[0], projection="3d")
    ax = fig.add_subplot(grid[1])
    _sphere_axes(ax3, polar)
    names = [str(n) for n in names]
    if "trajectory" not in llg.dims or not names:
        ax.text(0.5, 0.5, "no recorded trajectories (llg.record)", ha="center", transform=ax.transAxes)
        return fig
    index = {str(n): i for i, n in enumerate(llg.trajectory.values)}
    rows = [index[n] for n in names]
    points = [_point(llg, i) for i in rows]
    shared = {a: v for a, v in points[0].items() if all(p.get(a) == v for p in points)}
    varying = [a for a in points[0] if a not in shared]
    t = llg.time.values

    # energy contours of the conservative terms at the shared parameters (same for every line)
    physical = [{a: v for a, v in p.items() if a not in _angle_axes(llg)} for p in points]
    model = _energy_model(llg, points[0]) if all(p == physical[0] for p in physical) else None
    if model is not None:
        tt, pp = np.meshgrid(np.linspace(0, np.pi, 91), np.linspace(0, 2 * np.pi, 181), indexing="ij")
        e = model.energy(from_angles(tt, pp, polar).reshape(-1, 3)).reshape(tt.shape)
        if np.isfinite(e).all() and np.ptp(e) > 0:
            cs = ax.contourf(pp / np.pi, tt / np.pi, e, levels=16, cmap="Greys", alpha=0.45)
            ax.contour(pp / np.pi, tt / np.pi, e, levels=16, colors="0.55", linewidths=0.4)
            units = llg.final_energy.attrs.get("units", "") if "final_energy" in llg else ""
            fig.colorbar(cs, ax=ax, label="energy of the conservative terms"
                         + (f" [{units}]" if units and units != "1" else " [dimensionless]"), shrink=0.8)
    handles = []
    n_cycles = sum(_trajectory_period(llg, i) is not None for i in rows)
    for n, i in zip(names, rows):
        colour = _colour(n, i)
        m = llg.trajectory_m.values[i]
        period = _trajectory_period(llg, i)
        settle = settle_index(m, t, period) if period else len(m) - 1
        label = (_parameter_text(llg, points[rows.index(i)], varying) or n) + f": {_outcome(llg, i)}"
        if period:  # transient thin, then one final period thick (wider below later ones)
            n_cycles -= 1
            wide = 2.4 + 2.4 * n_cycles
            last = t >= t[-1] - period
            ax3.plot(*m[: settle + 1].T, color=colour, lw=0.5, alpha=0.7)
            ax3.plot(*m[last].T, color=colour, lw=wide)
        else:
            ax3.plot(*m.T, color=colour, lw=1.2)
        ax3.scatter(*m[0], color=colour, marker="o", s=25, depthshade=False)
        ax3.scatter(*m[-1], color=colour, marker="*", s=90, depthshade=False, edgecolor="k", linewidth=0.4)
        theta, phi = to_angles(m, polar)
        if period:
            th, ph = _map_segments(theta[: settle + 1], phi[: settle + 1])
            ax.plot(ph, th, color=colour, lw=0.5, alpha=0.7)
            th, ph = _map_segments(theta[last], phi[last])
            line, = ax.plot(ph, th, color=colour, lw=wide, label=label)
        else:
            th, ph = _map_segments(theta, phi)
            line, = ax.plot(ph, th, color=colour, lw=1.2, label=label)
        ax.plot(phi[0] / np.pi, theta[0] / np.pi, "o", color=colour, ms=5)
        ax.plot(phi[-1] / np.pi, theta[-1] / np.pi, "*", color=colour, ms=11, mec="k", mew=0.4)
        handles.append(line)
    ax.set_xlim(0, 2)
    ax.set_ylim(1, 0)
    frame = {"y": "from z towards x", "z": "from x towards y", "x": "from y towards z"}.get(polar, "")
    ax.set_xlabel(f"$\\phi/\\pi$ (azimuth about {polar}, {frame}) [$\\pi$ rad]")
    ax.set_ylabel(f"$\\theta/\\pi$ (polar angle from +{polar}) [$\\pi$ rad]")
    ax.set_title("the same on the map of the angles (o start, * end"
                 + ("; thick: the final limit cycle)" if any(_trajectory_period(llg, i) for i in rows) else ")")
                 + ("" if model is not None else "\nno energy contours here: " + (
                     "the model is built from the sphere maps (G: Figs. 2.3, 2.4)" if "sphere" in llg.attrs.get("model", "")
                     else "the model has no energy of its own")), fontsize=10)
    ax3.set_title("on the unit sphere", fontsize=10)
    fig.legend(handles=handles, loc="outside lower center", ncol=1, fontsize=9, frameon=False)
    number = re.match(r"fig(\d+)_(\d+)", key)
    head = (f"Fig. {number.group(1)}.{number.group(2)}: {CAPTIONS.get(key, '')}" if number
            else "LLG trajectories of the recorded points (llg.record)")
    sub = _parameter_text(llg, shared)
    fig.suptitle(head + (f"\n{sub}" if sub else ""), fontsize=11)
    return fig


def polar_angle_figure(llg: xr.Dataset, names, key: str = "fig2_13") -> plt.Figure:
    """theta(t) of the recorded trajectories ``names`` (Fig. 2.13): (a) from the start until the
    slowest one has settled plus three periods, so the oscillations are resolved, (b) the last
    three periods of the limit cycles (their amplitude and period)."""
    from .llg import to_angles

    polar = _polar_axis(llg)
    names = [str(n) for n in names]
    index = {str(n): i for i, n in enumerate(llg.trajectory.values)}
    rows = [index[n] for n in names]
    t = llg.time.values
    periods = [_trajectory_period(llg, i) for i in rows]
    cycles = [p for p in periods if p]
    settles = [t[settle_index(llg.trajectory_m.values[i], t, p)] for i, p in zip(rows, periods)]
    # until the limit cycles have settled (or, without cycles, everything has), then 3 periods
    ends = [s for s, p in zip(settles, periods) if p] or settles
    t_show = min(t[-1], max(ends) + 3 * (max(cycles) if cycles else 0.1 * (t[-1] - t[0])))
    t_show = max(t_show, t[min(len(t) - 1, 10)])
    fig, axes = plt.subplots(1, 2 if cycles else 1, figsize=(13 if cycles else 8, 5.2), squeeze=False,
                             layout="constrained", gridspec_kw={"width_ratios": [2, 1]} if cycles else None)
    axes = axes[0]
    points = [_point(llg, i) for i in rows]
    shared = {a: v for a, v in points[0].items() if all(p.get(a) == v for p in points)}
    varying = [a for a in points[0] if a not in shared]
    tu = llg.time.attrs.get("units", "")
    tlabel = f"t [{tu if tu and tu != '1' else 'dimensionless'}]"
    for n, i, period in zip(names, rows, periods):
        word = _FIGURE_NAME.match(n).group(4) if _FIGURE_NAME.match(n) else ""
        colour = FIG2_13_COLOURS.get(word, _colour(n, i)) if key == "fig2_13" else _colour(n, i)
        theta, _ = to_angles(llg.trajectory_m.values[i], polar)
        shown = t <= t_show
        label = (_parameter_text(llg, points[rows.index(i)], varying) or n) + f": {_outcome(llg, i)}"
        if colour != _colour(n, i):
            label += f" ({_colour(n, i)} in Fig. 2.12)"
        axes[0].plot(t[shown], theta[shown] / np.pi, color=colour, lw=1.2, label=label)
        if period and len(axes) > 1:
            tail = t >= t[-1] - 3 * period
            axes[1].plot(t[tail], theta[tail] / np.pi, color=colour, lw=1.4)
    axes[0].set_xlabel(tlabel)
    axes[0].set_ylabel(f"$\\theta/\\pi$ (polar angle from +{polar}) [$\\pi$ rad]")
    axes[0].set_title(f"(a) from the start to t = {t_show:.4g}" + (" (then periodic)" if cycles else ""),
                      fontsize=10)
    axes[0].legend(fontsize=8, loc="best")
    if len(axes) > 1:
        axes[1].set_xlabel(tlabel)
        axes[1].set_title(f"(b) limit cycles: the last 3 periods of t = {t[-1]:.4g}", fontsize=10)
    number = re.match(r"fig(\d+)_(\d+)", key)
    head = f"Fig. {number.group(1)}.{number.group(2)}: {CAPTIONS.get(key, 'polar angle')}" if number else "theta(t)"
    sub = _parameter_text(llg, shared)
    fig.suptitle(head + (f"\n{sub}" if sub else ""), fontsize=11)
    return fig


# ---------------------------------------------------------------------------------- phase diagram

#: what each final-state class means, for the legend (the store's ``criteria`` gives the numbers)
CLASS_TEXT = {
    "fixed_point": "fixed point: m stops moving",
    "limit_cycle": "limit cycle: periodic orbit (work in = dissipation per period)",
    "unresolved": "unresolved: neither a fixed point nor a limit cycle by the end time",
    "singular_point": "singular point: stopped within {radius} rad of a point where a field is undefined{where}",
    "integration_failed": "integration failed: the integrator stopped early (see status)",
}
CLASS_COLOURS = {"limit_cycle": "#d62728", "unresolved": "#9e9e9e", "singular_point": "#222222",
                 "integration_failed": "#e377c2"}
MINIMUM_COLOURS = ["#1f77b4", "#2ca02c", "#17becf", "#bcbd22", "#9467bd", "#8c564b"]


def _singular_where(llg: xr.Dataset) -> str:
    try:
        terms = json.loads(llg.attrs["model"]).get("terms", [])
    except (KeyError, TypeError, ValueError):
        return ""
    for term in terms:
        if term.get("kind") == "faraday" and not term.get("core"):
            axis = np.asarray(term.get("axis", [0, 1, 0]), float)
            name = {0: "x", 1: "y", 2: "z"}.get(int(np.argmax(np.abs(axis))), "n")
            return f" (m = $\\pm${name}, the axis of the Faraday field, eq. {term.get('form', '2.41')})"
    return ""


def phase_outcomes(llg: xr.Dataset, final_class: np.ndarray, minimum_index: np.ndarray):
    """Categorical codes of the final states: one per (fixed point, minimum reached), then one
    per other class present.  Returns (codes, labels, colours)."""
    classes = _classes(llg)
    minima = json.loads(llg.attrs.get("minima") or "null") or []
    outcomes = sorted({(int(c), int(i) if classes.get(int(c)) == "fixed_point" else -1)
                       for c, i in zip(np.ravel(final_class), np.ravel(minimum_index))})
    codes = np.zeros(np.shape(final_class), int)
    labels, colours = [], []
    radius = llg.attrs.get("singular_radius", "")
    for n, (c, i) in enumerate(outcomes):
        name = classes.get(c, f"class {c}")
        if name == "fixed_point":
            if i >= 0:
                where = minima[i] if i < len(minima) else None
                text = f"fixed point at minimum {i}" + (f" (m = {', '.join(map(str, where))})" if where else "")
                colours.append(MINIMUM_COLOURS[i % len(MINIMUM_COLOURS)])
            else:
                text = "fixed point, not at a given minimum" if minima else "fixed point: m stops moving"
                colours.append("#aec7e8")
            mask = (final_class == c) & (minimum_index == i)
        else:
            text = CLASS_TEXT.get(name, name).format(radius=radius, where=_singular_where(llg))
            colours.append(CLASS_COLOURS.get(name, "#7f7f7f"))
            mask = final_class == c
        codes[mask] = n
        labels.append(text)
    return codes, labels, colours


def phase_diagram(llg: xr.Dataset, max_panels: int = 12) -> plt.Figure:
    """Final state of the LLG sweep: x and y are the two swept axes with the most values, one
    panel per combination of the others (at most ``max_panels``; axes beyond are held at their
    first value, as the title says); categorical colours per outcome, a legend with each
    outcome's meaning and its count over the whole sweep."""
    fc, idx = llg.final_class, llg.minimum_index
    swept = [d for d in fc.dims if llg.sizes[d] > 1]
    order = sorted(swept, key=lambda d: -llg.sizes[d])
    xy = order[:2]
    thetas = [a for a, angle in _angle_axes(llg).items() if angle == "theta"]
    if len(xy) == 2 and xy[0] in thetas:  # the polar angle vertical, as on the sphere maps
        xy = xy[::-1]
    rest = [d for d in fc.dims if d not in xy and llg.sizes[d] > 1]
    held = {}
    panels = [{}]
    for d in rest:
        more = [{**p, d: v} for p in panels for v in llg[d].values]
        if len(more) > max_panels:
            held[d] = llg[d].values[0]
            continue
        panels = more
    fixed = {d: llg[d].values[0] for d in fc.dims if llg.sizes[d] == 1}
    codes_all, labels, colours = phase_outcomes(llg, fc.values, idx.values)
    counts = [int((codes_all == n).sum()) for n in range(len(labels))]
    cmap = ListedColormap(colours if colours else ["#ffffff"])
    norm = BoundaryNorm(np.arange(len(colours) + 1) - 0.5, max(len(colours), 1))
    n = len(panels)
    ncol = min(n, 4 if n > 6 else 3 if n > 4 else n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.9 * ncol + 1.0, 3.3 * nrow + 2.2), squeeze=False,
                             layout="constrained", sharex=True, sharey=True)
    codes = xr.DataArray(codes_all, dims=fc.dims, coords={d: llg[d].values for d in fc.dims}).sortby(list(xy))
    for ax, sel in zip(axes.ravel(), panels):
        c = codes.sel({**sel, **held, **fixed})
        if len(xy) == 2:
            c = c.transpose(xy[1], xy[0])
            ax.pcolormesh(_edges(c[xy[0]].values), _edges(c[xy[1]].values), c.values, cmap=cmap, norm=norm)
            ax.set_xticks(c[xy[0]].values)
            ax.set_yticks(c[xy[1]].values)
        elif len(xy) == 1:
            ax.pcolormesh(_edges(c[xy[0]].values), [0, 1], np.atleast_2d(c.values), cmap=cmap, norm=norm)
            ax.set_xticks(c[xy[0]].values)
            ax.set_yticks([])
        else:
            ax.pcolormesh([0, 1], [0, 1], np.atleast_2d(c.values), cmap=cmap, norm=norm)
            ax.set_xticks([])
            ax.set_yticks([])
        ax.tick_params(labelsize=7)
        ax.tick_params(axis="x", labelrotation=60)
        if sel:
            ax.set_title(_parameter_text(llg, {k: float(v) for k, v in sel.items()}), fontsize=8)
    annotate = (n == 1 and len(xy) == 2 and codes_all.size <= 48 and "final_m" in llg
                and any(lab.startswith("fixed point") for lab in labels))
    if annotate:  # one small panel: write where each fixed point ends, (theta, phi) / pi
        from .llg import to_angles

        ax = axes[0, 0]
        final = llg.final_m.sel({**held, **fixed}).transpose(xy[1], xy[0], "component").sortby(list(xy))
        cls = llg.final_class.sel({**held, **fixed}).transpose(xy[1], xy[0]).sortby(list(xy)).values
        th, ph = to_angles(final.values.reshape(-1, 3), _polar_axis(llg))
        th, ph = th.reshape(cls.shape) / np.pi, ph.reshape(cls.shape) / np.pi
        fixed_code = [v for v, name in _classes(llg).items() if name == "fixed_point"]
        for r, yv in enumerate(final[xy[1]].values):
            for c, xv in enumerate(final[xy[0]].values):
                if cls[r, c] in fixed_code:
                    ax.text(xv, yv, f"{th[r, c]:.2f}, {ph[r, c]:.2f}", ha="center", va="center", fontsize=7,
                            color="k")
        ax.set_title(f"cell labels: where a fixed point ends, $\\theta/\\pi$, $\\phi/\\pi$ "
                     f"(polar axis {_polar_axis(llg)})", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax in axes[-1]:
        if xy:
            ax.set_xlabel(axis_label(llg, xy[0]), fontsize=8)
    for ax in axes[:, 0]:
        if len(xy) > 1:
            ax.set_ylabel(axis_label(llg, xy[1]), fontsize=8)
    handles = [Patch(facecolor=col, edgecolor="k", lw=0.4, label=f"{lab} ({k} of {codes_all.size})")
               for col, lab, k in zip(colours, labels, counts)]
    fig.legend(handles=handles, loc="outside lower center", ncol=1, fontsize=8, frameon=False,
               title="final state (count over the whole sweep)", title_fontsize=8)
    note = {**{d: float(v) for d, v in held.items()}, **{d: float(v) for d, v in fixed.items()}}
    title = "final state of the LLG trajectories"
    if note:
        title += "\nat " + _parameter_text(llg, note)
        if held:
            title += " (" + "; ".join(f"{d} has {llg.sizes[d]} values, the first drawn" for d in held) + ")"
    fig.suptitle(title, fontsize=10)
    return fig


def _edges(x: np.ndarray) -> np.ndarray:
    """Cell edges around increasing centres (pcolormesh of an irregular sweep axis)."""
    x = np.asarray(x, float)
    if len(x) == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])
