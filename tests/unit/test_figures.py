"""Figures on small synthetic datasets: what they draw, what they say instead, and that their
text does not overlap (magcore.plots, magcore.figures_llg, magcore.figures_common,
magcore.figures_stage)."""

import json
import logging

import matplotlib
import numpy as np
import pytest
import xarray as xr

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection, QuadMesh  # noqa: E402
from matplotlib.colors import BoundaryNorm, LogNorm  # noqa: E402

from magcore import figures_llg, figures_stage, plots  # noqa: E402
from magcore.figures_common import ROUNDOFF_RTOL, offset, roundoff, text_overlaps  # noqa: E402
from magcore.figures_files import llg_figure_files  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


# ---------------------------------------------------------------------------- round-off, offsets

def test_roundoff_criterion_is_relative_to_the_natural_scale():
    rng = np.random.default_rng(0)
    noise = 1e-15 * rng.normal(size=(5, 4))
    v = roundoff(noise, scale=1.0)
    assert v.zero and v.any_finite and 0 < v.max_abs < 1e-14
    assert "zero to round-off (max |x| = " in v.text("x")
    # the same numbers are not round-off for a quantity whose natural scale is 1e-12
    assert not roundoff(noise, scale=1e-12).zero
    # the threshold itself
    assert roundoff([ROUNDOFF_RTOL], scale=1.0).zero
    assert not roundoff([3 * ROUNDOFF_RTOL], scale=1.0).zero
    # exact zero is zero at any scale; NaN is not zero (nothing to decide)
    assert roundoff(np.zeros(3)).zero and roundoff(np.zeros(3)).text("x") == "zero (max |x| = 0)"
    nan = roundoff(np.full(3, np.nan), scale=1.0)
    assert not nan.zero and not nan.any_finite
    # without a scale only an exact zero counts
    assert not roundoff(noise).zero


def test_offset_of_a_constant_map_and_none_for_structure():
    x = np.linspace(12.700, 12.728, 50)
    off = offset(x)
    assert off.value == pytest.approx(12.71, abs=0.01)
    assert "12.71" in off.label("|H|") and "0.22%" in off.note()
    assert offset(np.linspace(0.0, 1.0, 10)).value == 0
    assert offset(np.linspace(-1e-3, 1e-3, 10)).value == 0  # mean ~ 0: no offset


def test_text_overlap_detector_finds_overlapping_text_and_only_that():
    fig, ax = plt.subplots()
    ax.text(0.5, 0.5, "a long piece of text", transform=ax.transAxes)
    ax.text(0.52, 0.5, "another piece of text", transform=ax.transAxes)
    assert text_overlaps(fig)
    fig2, ax2 = plt.subplots()
    ax2.text(0.1, 0.1, "left", transform=ax2.transAxes)
    ax2.text(0.8, 0.8, "right", transform=ax2.transAxes)
    ax2.set_title("title")
    assert text_overlaps(fig2) == []


# ------------------------------------------------------------------------------ sphere datasets

def sphere_dataset(n_theta=9, n_phi=8, *, hE=None, torque_fl=1e-15, model="ti_surface"):
    """A synthetic sphere store: H^E intrinsic ``hE(m)`` (default constant magnitude 0.0795 along
    x, sign of m_z: the TI surface, eq. 2.36), torques from it, a field-like torque of size
    ``torque_fl`` (round-off noise)."""
    theta = np.linspace(0, np.pi, n_theta)
    phi = np.linspace(0, 2 * np.pi, n_phi, endpoint=False)
    T, P = np.meshgrid(theta, phi, indexing="ij")
    m = np.stack([np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T)], -1)
    if hE is None:
        h = np.zeros(T.shape + (3,))
        h[..., 0] = 0.0795 * np.sign(np.round(m[..., 2], 12))
        h[..., 0] *= 1 + 2e-3 * np.cos(T) ** 2  # a small variation: a constant to 0.2%
        h[np.abs(np.cos(T)) < 1e-12] = np.nan  # the gap closes on the equator (NaN, flagged)
    else:
        h = hE(m)
    H = np.zeros(T.shape + (3, 2))
    H[..., 0] = h
    rng = np.random.default_rng(1)
    tau = np.cross(m, h)
    u = "eps0 a^-2 / (eps0 a^-1)"
    dims4 = ("theta", "phi", "component", "field")
    tau_fl = np.zeros_like(H)
    tau_fl[..., 0] = torque_fl * rng.normal(size=T.shape + (3,))
    torque = np.zeros_like(H)
    torque[..., 0] = tau
    curl = np.zeros(T.shape + (2,))
    G = -np.cos(T) ** 2
    ds = xr.Dataset(
        {
            "field_induced_field": (dims4, H, {"units": u}),
            "field_induced_field_intrinsic": (dims4, H, {"units": u}),
            "field_induced_field_extrinsic": (dims4, np.zeros_like(H), {"units": u}),
            "torque_H_damping_like": (dims4, torque, {"units": u}),
            "torque_H_field_like": (dims4, tau_fl, {"units": u}),
            "curl_field_induced_field": (("theta", "phi", "field"), curl, {"units": u}),
            "free_energy": (("theta", "phi"), G, {"units": "eps0 a^-2"}),
            "effective_field": (("theta", "phi", "component"), np.zeros(T.shape + (3,)), {"units": "eps0 a^-2"}),
            "gyromagnetic_ratio": (("theta", "phi"), np.full(T.shape, 2.0), {"units": "a^2 hbar^-1"}),
            "magnetization": (("theta", "phi", "component"), m, {"units": "1"}),
        },
        coords={"theta": theta, "phi": phi, "component": ["x", "y", "z"], "field": ["x", "y"]},
        attrs={"model": model, "magnetization_magnitude": 1.0, "energy_unit": "eps0", "length_unit": "a"},
    )
    return ds


def panel_of(fig, title_start):
    return next(ax for ax in fig.axes if ax.get_title().startswith(title_start))


def test_field_maps_report_a_roundoff_torque_instead_of_drawing_it():
    ds = sphere_dataset(torque_fl=1e-15)
    fig = plots.field_and_torque_maps(ds, [160.0, 0.0])
    fl = panel_of(fig, "$\\tau^H$ field-like")
    assert not [c for c in fl.collections if isinstance(c, QuadMesh)]  # nothing drawn
    note = " ".join(t.get_text() for t in fl.texts)
    assert "zero to round-off (max |" in note and "e-" in note
    # the damping-like torque is physics: drawn
    dl = panel_of(fig, "$\\tau^H$ damping-like")
    assert [c for c in dl.collections if isinstance(c, QuadMesh)]
    # the exactly-zero extrinsic part says zero
    assert "zero (max |" in " ".join(t.get_text() for t in panel_of(fig, "$H^E$ extrinsic").texts)
    assert text_overlaps(fig) == []


def test_a_real_small_torque_is_drawn_not_called_roundoff():
    """The criterion can fail: a field-like torque of 1e-3 (not round-off) is drawn."""
    ds = sphere_dataset(torque_fl=1e-3)
    fig = plots.field_and_torque_maps(ds, [160.0, 0.0])
    fl = panel_of(fig, "$\\tau^H$ field-like")
    assert [c for c in fl.collections if isinstance(c, QuadMesh)]
    assert "round-off" not in " ".join(t.get_text() for t in fl.texts)


def test_tmd_like_fields_of_1e_13_are_zero_to_roundoff():
    """All panels tiny (WTe2: 1e-13 .. 1e-20): the largest panel does not set the scale."""
    def tiny(m):
        return 4e-13 * np.stack([m[..., 1], -m[..., 0], 0 * m[..., 0]], -1)
    ds = sphere_dataset(hE=tiny, torque_fl=1e-20, model="tmd")
    fig = plots.field_and_torque_maps(ds, [0.1, 0.0])
    for title in ("$H^E$ intrinsic", "$\\tau^H$ damping-like", "$\\tau^H$ field-like"):
        ax = panel_of(fig, title)
        assert not [c for c in ax.collections if isinstance(c, QuadMesh)], title
        assert "round-off" in " ".join(t.get_text() for t in ax.texts), title


def test_a_constant_map_is_drawn_as_offset_plus_variation():
    ds = sphere_dataset()
    fig = plots.field_and_torque_maps(ds, [160.0, 0.0])
    ax = panel_of(fig, "$H^E$ intrinsic")
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    drawn = np.ma.compressed(mesh.get_array())
    assert np.abs(drawn).max() < 0.1  # the variation, not 12.7
    labels = texts(fig)
    assert "$-$ 12.7" in labels and "constant 12.7" in labels


def test_hemisphere_split_applies_only_where_H_E_is_curl_free_and_not_zero():
    ti = sphere_dataset()
    assert plots.hemisphere_split_applies(ti, [160.0, 0.0]) is None
    winding = sphere_dataset(model="ti_edge")
    winding["curl_field_induced_field"][:] = 0.5  # a Faraday-like field: curl everywhere
    reason = plots.hemisphere_split_applies(winding, [160.0, 0.0])
    assert reason and "curl" in reason and "ti_edge" in reason
    zero = sphere_dataset(hE=lambda m: 1e-14 * m, model="tmd")
    reason = plots.hemisphere_split_applies(zero, [0.1, 0.0])
    assert reason and "zero to round-off" in reason


def test_gap_map_colour_scale_spans_the_open_gaps():
    theta = np.linspace(0, np.pi, 7)
    phi = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    gap = 0.629 + 0.08 * np.sin(theta)[:, None] ** 2 * np.ones((1, 6))
    bands = xr.Dataset({"min_gap": (("theta", "phi"), gap, {"units": "eV", "long_name": "gap"}),
                        "gap_closed": (("theta", "phi"), np.zeros((7, 6), bool))},
                       coords={"theta": theta, "phi": phi}, attrs={"model": "tmd"})
    fig = plots.gap_map(bands)
    mesh = next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))
    assert not isinstance(mesh.norm, LogNorm)
    assert mesh.norm.vmin == pytest.approx(0.629) and mesh.norm.vmax == pytest.approx(0.709)
    assert "linear scale" in fig.axes[0].get_title()
    closed = bands.copy(deep=True)
    closed["gap_closed"][3] = True
    closed["min_gap"][3] = 1e-16
    mesh = next(c for c in plots.gap_map(closed).axes[0].collections if isinstance(c, QuadMesh))
    assert mesh.norm.vmin == 0.0


# -------------------------------------------------------------------------- small grids, pages

def test_grid_too_small_for_a_figure_is_skipped_with_a_log_line(tmp_path, monkeypatch, caplog):
    sphere = sphere_dataset(2, 1)
    bands = xr.Dataset({"min_gap": (("theta", "phi"), np.ones((2, 1)), {"units": "eps0"}),
                        "gap_closed": (("theta", "phi"), np.zeros((2, 1), bool))},
                       coords={"theta": sphere.theta.values, "phi": sphere.phi.values}, attrs={"model": "ti_surface"})
    stores = {"bands": bands, "sphere": sphere}
    monkeypatch.setattr(figures_stage, "open_store", lambda path: stores[str(path)])
    monkeypatch.setattr(plots, "bands_along_path", lambda b: plt.figure())
    monkeypatch.setattr(plots, "berry_curvature_k", lambda b: plt.figure())
    from magcore.config import validate
    cfg = validate({"study": "small", "model": {"name": "ti_surface"}, "sphere": {"n_theta": 2, "n_phi": 1}})
    outputs = {k: tmp_path / f"{k}.png" for k in ("fig2_3", "bands", "gap", "berry_k", "fig2_4", "field_torque")}
    with caplog.at_level(logging.WARNING, logger="magcore.figures_stage"):
        figures_stage.run_figures(cfg, "bands", "sphere", outputs)
    assert all(p.exists() and p.stat().st_size > 1000 for p in outputs.values())
    skipped = [r.getMessage() for r in caplog.records if "not drawn" in r.getMessage()]
    assert len(skipped) == 4 and all("2 x 1" in s and "too small" in s for s in skipped)
    assert figures_stage.sphere_grid_too_small(3, 3) is None


def test_fig2_4_not_drawn_for_a_model_it_does_not_apply_to_says_why(tmp_path, monkeypatch, caplog):
    sphere = sphere_dataset(hE=lambda m: 1e-14 * m, model="tmd")
    stores = {"sphere": sphere, "bands": None}
    monkeypatch.setattr(figures_stage, "open_store", lambda path: stores[str(path)])
    for name in ("bands_along_path", "berry_curvature_k", "gap_map"):
        monkeypatch.setattr(plots, name, lambda b: plt.figure())
    from magcore.config import validate
    cfg = validate({"study": "t", "model": {"name": "ti_surface"}})
    outputs = {k: tmp_path / f"{k}.png" for k in ("fig2_3", "bands", "gap", "berry_k", "fig2_4", "field_torque")}
    with caplog.at_level(logging.WARNING, logger="magcore.figures_stage"):
        figures_stage.run_figures(cfg, "bands", "sphere", outputs)
    why = [r.getMessage() for r in caplog.records if "Fig. 2.4" in r.getMessage()]
    assert why and "zero to round-off" in why[0]


# ------------------------------------------------------------------------------------- texture

def texture_dataset():
    y = np.linspace(-500, 500, 11)
    theta = np.arctan(y / 100) + np.pi / 2
    m = np.stack([np.sin(theta), 0 * y, np.cos(theta)], -1)
    per_band = np.zeros((2, 11, 2, 3))
    per_band[:, :, 0, 1] = 2e-5 * np.tanh(-y / 100)
    occupied = per_band / 518
    dipole = np.zeros_like(per_band)
    dipole[:, :, 0, 1] = 3.1e-5 * np.tanh(y / 100)
    dipole[:, :, 0, 2] = 4e-6 * np.exp(-((np.abs(y) - 400) / 100) ** 2)
    err = np.zeros_like(per_band)
    err[:, :, 0, 1] = 2e-7
    err[:, :, 0, 2] = 2.8e-5
    first = 4e-12 * np.ones_like(per_band)
    dims = ("wall", "y", "field", "component")
    u = "eV Angstrom^-2 / (eV Angstrom^-1)"
    return xr.Dataset(
        {"spin_density_second_chern": (dims, per_band, {"units": u}),
         "spin_density_second_chern_nonabelian": (dims, occupied, {"units": u}),
         "spin_density_first_chern": (dims, first, {"units": u}),
         "spin_density_geometric": (dims, per_band + first, {"units": u}),
         "spin_density_spin_dipole": (dims, dipole, {"units": u}),
         "spin_density_spin_dipole_fd_error": (dims, err, {"units": u}),
         "magnetization": (("wall", "y", "component"), np.stack([m, m]), {"units": "1"})},
        coords={"wall": ["bloch", "neel"], "y": ("y", y, {"units": "Angstrom"}), "field": ["x", "y"],
                "component": ["x", "y", "z"]},
        attrs={"model": "tmd", "model_material": "WTe2", "wall_width": 100.0, "length_unit": "Angstrom"})


def test_second_chern_figure_names_both_forms_and_draws_the_occupied_one_on_its_own_scale():
    fig = plots.wall_spin_density(texture_dataset(), "bloch", "second_chern")
    a, b, _ = fig.axes
    assert "per-band (Abelian)" in a.get_title() and "occupied subspace" in b.get_title()
    assert "518x smaller" in b.get_title()
    top = max(np.abs(line.get_ydata()).max() for line in b.get_lines() if len(line.get_ydata()) > 2)
    assert b.get_ylim()[1] < 3 * top  # its own scale: the curve fills the panel
    assert top == pytest.approx(2e-5 / 518, rel=0.05)
    assert "Fig. 3.5" in fig._suptitle.get_text()
    note = texts(fig)
    assert "first-Chern-form part: zero to round-off" in note and "$h_x$, $h_z$: zero to round-off" in note
    assert text_overlaps(fig) == []


def test_spin_dipole_figure_draws_error_bounds_and_states_the_measured_ratio():
    fig = plots.wall_spin_density(texture_dataset(), "neel", "spin_dipole")
    ax = fig.axes[0]
    assert [c for c in ax.collections if isinstance(c, PolyCollection)]  # the error bands
    assert "max |spin dipole| / max |geometric| = 1.5" in ax.get_title()
    assert "$h_z$: not resolved" in texts(fig)
    assert "Fig. 3.9" in fig._suptitle.get_text()
    assert text_overlaps(fig) == []


# ------------------------------------------------------------------------------------------ LLG

def test_llg_figure_files_one_per_dissertation_figure():
    files = llg_figure_files(["fig2_6_red", "fig2_6_blue", "fig2_12_black", "start"], "f")
    assert list(files) == ["fig2_6", "fig2_12", "fig2_13", "trajectories", "phase_diagram"]
    assert files["fig2_13"].name == "fig2_13_llg_polar_angle.png"
    assert list(llg_figure_files({"fig2_9_red": {}}, "f")) == ["fig2_9", "phase_diagram"]
    assert list(llg_figure_files(None, "f")) == ["trajectories", "phase_diagram"]
    assert list(llg_figure_files(np.array(["fig2_9_red"]), "f")) == ["fig2_9", "phase_diagram"]


def llg_dataset():
    """A ti_edge-like llg store: axes B_over_K (3) x theta0 (4) x phi0 (2); two recorded points
    of 'Fig. 2.12': a limit cycle about +y (settling from theta 0.8 pi) and a spiral into -x."""
    B = np.array([-0.1, 0.0, 0.1])
    theta0 = np.array([0.001, 0.3, 0.4, 0.8])
    phi0 = np.array([0.0, 1.0])
    shape = (3, 4, 2)
    fc = np.zeros(shape, np.int8)
    fc[0, 2:, :] = 1
    fc[1, 0, :] = 3
    fc[2, 1, 1] = 2
    mi = np.where(fc == 0, np.arange(24).reshape(shape) % 2, -1)
    t = np.linspace(0, 200, 2001)
    period = 6.0
    # limit cycle about +y: polar angle from y relaxing from 0.8 pi to 0.5 pi, azimuth turning
    th = 0.5 * np.pi + 0.3 * np.pi * np.exp(-t / 20)
    ph = 2 * np.pi * t / period
    cyc = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], -1)
    # spiral into -x
    r = 0.8 * np.exp(-t / 10)
    spi = np.stack([-np.cos(r), np.sin(r) * np.cos(3 * t), np.sin(r) * np.sin(3 * t)], -1)
    m = np.stack([spi, cyc])
    meanings = "fixed_point limit_cycle unresolved singular_point integration_failed"
    one = {"units": "1"}
    pcycle = np.where(fc == 1, period, np.nan)
    ds = xr.Dataset(
        {"final_class": (("B_over_K", "theta0", "phi0"), fc,
                         {"flag_values": [0, 1, 2, 3, 4], "flag_meanings": meanings, "units": "1"}),
         "minimum_index": (("B_over_K", "theta0", "phi0"), mi, one),
         "period": (("B_over_K", "theta0", "phi0"), pcycle, one),
         "trajectory_m": (("trajectory", "time", "component"), m, one),
         "trajectory_class": (("trajectory",), np.array([0, 1], np.int8),
                              {"flag_values": [0, 1, 2, 3, 4], "flag_meanings": meanings})},
        coords={"B_over_K": ("B_over_K", B, {"units": "1"}), "theta0": ("theta0", theta0, one),
                "phi0": ("phi0", phi0, one), "time": ("time", t, one), "component": ["x", "y", "z"],
                "trajectory": ["fig2_12_black", "fig2_12_blue"],
                "trajectory_B_over_K": ("trajectory", [0.1, -0.1]), "trajectory_theta0": ("trajectory", [0.001, 0.8]),
                "trajectory_phi0": ("trajectory", [0.0, 0.0])},
        attrs={"initial": json.dumps({"theta": "theta0*pi", "phi": "phi0*pi", "polar_axis": "y"}),
               "minima": json.dumps([[1, 0, 0], [-1, 0, 0]]), "singular_radius": 0.001,
               "model": json.dumps({"terms": [{"kind": "uniaxial", "K": 1.0, "axis": [1, 0, 0]},
                                              {"kind": "faraday", "B": "B_over_K", "axis": [0, 1, 0],
                                               "form": "2.45"}]})})
    return ds


def test_phase_diagram_is_categorical_with_values_units_and_a_legend_of_meanings():
    ds = llg_dataset()
    fig = figures_llg.phase_diagram(ds)
    meshes = [c for ax in fig.axes for c in ax.collections if isinstance(c, QuadMesh)]
    assert meshes and all(isinstance(m.norm, BoundaryNorm) for m in meshes)  # classes, not a colour scale
    assert len(fig.axes) == 2  # one panel per phi0 value, no colour bar axes
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    for meaning in ("limit cycle", "unresolved", "singular point: stopped within 0.001 rad",
                    "m = $\\pm$y", "fixed point at minimum 0", "fixed point at minimum 1"):
        assert meaning in legend, meaning
    assert "of 24)" in legend
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "$\\phi_i$ = 0" in titles and "$\\phi_i$ = 1$\\pi$" in titles and "{" not in titles
    ylabel = fig.axes[0].get_ylabel()
    assert "theta0" in ylabel and "[$\\pi$ rad]" in ylabel and "polar axis y" in ylabel
    assert "B_over_K [dimensionless]" in fig.axes[0].get_xlabel()
    # colours: one per outcome, from the store's flag_meanings
    codes, labels, colours = figures_llg.phase_outcomes(ds, ds.final_class.values, ds.minimum_index.values)
    assert len(set(colours)) == len(labels) == 5
    assert text_overlaps(fig) == []


def test_small_phase_diagram_says_where_fixed_points_end():
    ds = llg_dataset().isel(B_over_K=[0])  # theta0 x phi0: one panel of 8 cells
    ds["final_m"] = (("B_over_K", "theta0", "phi0", "component"), np.tile([1.0, 0.0, 0.0], (1, 4, 2, 1)))
    fig = figures_llg.phase_diagram(ds)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "0.50, 0.50" in labels  # m = +x: theta = phi = pi/2 about y (phi from z towards x)
    assert text_overlaps(fig) == []


def test_phase_diagram_holds_extra_axes_and_says_so():
    ds = llg_dataset()
    fig = figures_llg.phase_diagram(ds, max_panels=1)
    assert "phi0 has 2 values, the first drawn" in fig._suptitle.get_text()


def test_trajectory_figure_has_a_map_beside_the_sphere_and_the_legend_outside():
    ds = llg_dataset()
    fig = figures_llg.trajectories_figure(ds, ["fig2_12_black", "fig2_12_blue"], "fig2_12")
    ax3 = next(ax for ax in fig.axes if ax.name == "3d")
    ax = next(ax for ax in fig.axes if ax.name != "3d" and ax.get_xlabel().startswith("$\\phi/\\pi$"))
    assert "[$\\pi$ rad]" in ax.get_ylabel()
    colours = {line.get_color() for line in ax.get_lines()}
    assert {"black", "blue"} <= colours  # the colours of the caption
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert not legend.overlaps(ax3.get_window_extent())
    assert "Fig. 2.12" in fig._suptitle.get_text() and "B_over_K" not in fig._suptitle.get_text()
    # the limit cycle: a thin transient and one thick final period, not 30 turns at full width
    blue = [line for line in ax.get_lines() if line.get_color() == "blue" and len(line.get_xdata()) > 2]
    widths = sorted(line.get_linewidth() for line in blue)
    assert widths[0] < 1 and widths[-1] > 2
    thick = max(blue, key=lambda line: line.get_linewidth())
    assert len(thick.get_xdata()) < 100  # one period of 6 in samples of 0.1 (+ wraps)
    assert text_overlaps(fig) == []


def test_polar_angle_figure_resolves_the_oscillations():
    ds = llg_dataset()
    fig = figures_llg.polar_angle_figure(ds, ["fig2_12_black", "fig2_12_blue"], "fig2_13")
    a = fig.axes[0]
    t_end = float(ds.time[-1])
    shown = max(line.get_xdata().max() for line in a.get_lines())
    assert shown < 0.75 * t_end  # not the whole run: until settled, plus three periods
    purple = [line for line in a.get_lines() if line.get_color() == "purple"]
    assert purple  # Fig. 2.13's colour for the trajectory that is black in Fig. 2.12
    b = fig.axes[1]
    span = max(line.get_xdata().max() - line.get_xdata().min() for line in b.get_lines())
    assert span == pytest.approx(18, abs=0.5)  # three periods of 6
    assert text_overlaps(fig) == []


def test_settle_index_of_a_limit_cycle_and_of_a_fixed_point():
    ds = llg_dataset()
    t = ds.time.values
    m = ds.trajectory_m.values
    t_cycle = t[figures_llg.settle_index(m[1], t, 6.0)]
    assert 40 < t_cycle < 120  # 0.3 pi exp(-t/20) < 0.02 at t ~ 78
    t_fixed = t[figures_llg.settle_index(m[0], t, None)]
    assert 20 < t_fixed < 60  # 0.8 exp(-t/10) < 0.02 at t ~ 37
