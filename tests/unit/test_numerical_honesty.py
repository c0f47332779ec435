"""Numerical trouble is reported, never hidden: NaN + a flag bit + a warning, never inf, 0 or a
plausible-looking number (docs/physics.md, "Flags")."""

import warnings

import numpy as np
import pytest
import xarray as xr

from magcore.bands import fermi_level_map, minimum_direct_gap
from magcore.kmesh import bz_mesh, disc_mesh, segment_mesh
from magcore.models import get_model
from magcore.sphere import (FLAG_FERMI_SURFACE_UNRESOLVED, FLAG_GAP_CLOSED, FLAG_MASKS, FLAG_MEANINGS,
                            FLAG_MU_OUTSIDE_BANDS, FLAG_NON_FINITE, FLAG_STENCIL_TOUCHES_FLAGGED,
                            FLAG_UNDEFINED_ON_GRID, Electrons, FermiSurfaceWarning, NonFiniteWarning,
                            sphere_grid, sphere_map, unit_vectors)

TI = get_model("ti_surface", J=1.0, v=1.0)
COARSE = disc_mesh(60.0, 16, 8, 0.4, 8)  # resolves a smearing of 0.05 at mu = 1.5, nothing much finer
FERMI_SURFACE = ("density_of_states", "damping", "field_induced_field_extrinsic", "field_induced_field",
                 "berry_curvature_mm_E", "damping_E", "charge_pumping_extrinsic", "torque_H", "torque_gamma",
                 "torque_eta")


def quiet_map(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sphere_map(*args, **kwargs)


def point_nan(da: xr.DataArray) -> np.ndarray:
    """(theta, phi) mask: any entry of the variable at that point is NaN."""
    return np.isnan(da.values).reshape(da.shape[:2] + (-1,)).any(-1)


def unexplained_nan(ds: xr.Dataset) -> dict[str, int]:
    """Variables with NaN at points whose flag is 0 (must be empty), and any inf anywhere."""
    out = {}
    for name, da in ds.data_vars.items():
        if da.dims[:2] != ("theta", "phi") or da.dtype.kind != "f" or name == "min_gap":
            continue
        bad = point_nan(da) & (ds.flag.values == 0)
        n_inf = int(np.isinf(da.values).sum()) if name != "gyromagnetic_ratio_s" else 0
        if bad.any() or n_inf:
            out[name] = int(bad.sum()) + n_inf
    return out


def test_flag_attributes_are_consistent():
    ds = quiet_map(TI, *sphere_grid(3, 2), disc_mesh(10.0, 2, 2, 0.4, 2), Electrons())
    masks, meanings = ds.flag.attrs["flag_masks"], ds.flag.attrs["flag_meanings"].split()
    assert list(masks) == list(FLAG_MASKS) and len(meanings) == len(masks) == len(set(masks))
    assert meanings == FLAG_MEANINGS.split()
    assert all(m & (m - 1) == 0 for m in masks)  # one bit each


def test_overflowing_model_is_nan_flagged_and_warned():
    # J = 1e200: |d| overflows, every k-sum and band energy is inf/NaN
    model = get_model("ti_surface", J=1e200, v=1.0)
    theta, phi = sphere_grid(5, 4)
    mesh = disc_mesh(50.0, 8, 4, 0.4, 4)
    m = unit_vectors(theta, phi).reshape(-1, 3)
    gap, _ = minimum_direct_gap(model, m, mesh.points, 0.0)
    assert np.all(np.isnan(gap))  # not +inf ("no pair"), not a number
    assert not fermi_level_map(model, m, mesh.points, 0.0, 0.0)["mesh_energies_finite"].any()
    with pytest.warns(NonFiniteWarning, match="non-finite"):
        ds = sphere_map(model, theta, phi, mesh, Electrons(), min_gap=gap.reshape(5, 4))
    assert np.all(ds.flag.values & FLAG_NON_FINITE)
    for name in ("berry_curvature_theta_phi", "gyromagnetic_ratio", "free_energy", "effective_field",
                 "effective_field_from_G", "field_induced_field_intrinsic", *FERMI_SURFACE):
        assert np.all(point_nan(ds[name])), name  # G, DOS and damping included: never a plausible 0
    assert unexplained_nan(ds) == {}


@pytest.mark.parametrize("electrons, why", [
    (Electrons(chemical_potential=1.5), "is 0"),
    (Electrons(chemical_potential=1.5, temperature=1e-6), "does not resolve"),
], ids=["T=0", "T=1e-6"])
def test_unresolved_fermi_surface_is_nan_flagged_and_warned(electrons, why):
    theta, phi = sphere_grid(5, 4)
    with pytest.warns(FermiSurfaceWarning, match=f"(?s){why}.*smearing"):
        ds = sphere_map(TI, theta, phi, COARSE, electrons)
    assert np.all(ds.flag.values & FLAG_FERMI_SURFACE_UNRESOLVED)
    for name in FERMI_SURFACE:
        assert np.all(point_nan(ds[name])), name  # NaN, not an exact 0
    # Fermi-sea quantities stay (mu is in the upper band: no gap closing at mu anywhere)
    for name in ("free_energy", "effective_field", "gyromagnetic_ratio", "field_induced_field_intrinsic"):
        assert np.all(np.isfinite(ds[name].values)), name
    assert unexplained_nan(ds) == {}


def test_adequate_smearing_is_not_flagged():
    theta, phi = sphere_grid(5, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FermiSurfaceWarning)
        ds = sphere_map(TI, theta, phi, COARSE, Electrons(chemical_potential=1.5, smearing=0.05))
    assert not np.any(ds.flag.values & FLAG_FERMI_SURFACE_UNRESOLVED)
    for name in FERMI_SURFACE:
        assert np.all(np.isfinite(ds[name].values)), name
    assert np.min(ds.density_of_states.values) > 0.1  # 1.5 / (2 pi) per unit area: a real Fermi surface


def test_chemical_potential_outside_all_bands_warns():
    theta, phi = sphere_grid(3, 2)
    with pytest.warns(FermiSurfaceWarning, match="outside all bands"):
        ds = sphere_map(TI, theta, phi, disc_mesh(10.0, 4, 2, 0.4, 2), Electrons(chemical_potential=1e3))
    assert np.all(ds.flag.values & FLAG_MU_OUTSIDE_BANDS)


def bands_and_sphere(tmp_path, n_theta, n_phi=4):
    """The bands stage, then sphere_map with the bands data the sphere stage passes on."""
    from magcore.config import validate
    from magcore.stages import FERMI_LEVEL_KEYS, run_bands
    from magcore.study import electrons_from_config, grid_from_config, mesh_from_config, model_from_config

    cfg = validate({"study": f"rows{n_theta}", "results_dir": str(tmp_path),
                    "model": {"name": "ti_surface", "parameters": {"J": 1.0, "v": 1.0}},
                    "mesh": {"k_cutoff": 100.0, "radial_panels": 16, "radial_order": 4, "n_angle": 4},
                    "sphere": {"n_theta": n_theta, "n_phi": n_phi}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bands = run_bands(cfg, tmp_path / "bands.zarr")
    model = model_from_config(cfg)
    ds = quiet_map(model, *grid_from_config(cfg), mesh_from_config(cfg, model),
                   electrons_from_config(cfg, float(bands.chemical_potential)),
                   min_gap=bands.min_gap.values, gap_closed=bands.gap_closed.values,
                   fermi_level={key: bands[key].values for key in FERMI_LEVEL_KEYS})
    return bands, ds


def test_even_n_theta_gap_closing_between_rows_is_flagged(tmp_path):
    # theta = pi/2 (the TI-surface gap closing) falls between rows 5 and 6 of 12
    bands, ds = bands_and_sphere(tmp_path, 12)
    eq = [5, 6]
    assert np.all(bands.gap_closed.values[eq]) and not np.any(np.delete(bands.gap_closed.values, eq, axis=0))
    assert np.all(bands.min_gap.values[eq] > 0.2)  # the grid values alone do not show it
    assert np.all(bands.min_gap_nearby.values[eq] < 1e-6)
    flag = ds.flag.values
    assert np.all(flag[eq] & FLAG_GAP_CLOSED)
    curl = ds.curl_field_induced_field.values  # (theta, phi, field)
    assert np.all(np.isnan(curl[eq]))
    assert np.all(np.isnan(curl[[4, 7]])) and np.all(flag[[4, 7]] & FLAG_STENCIL_TOUCHES_FLAGGED)
    # elsewhere H^E = -(|alpha| / 4 pi) sgn(m_z) x_hat is curl-free: only the O(dtheta^2) error of
    # the finite differences (a stencil across the jump would give ~ 2 |H^E| / dtheta instead)
    rest = [1, 2, 3, 8, 9, 10]  # off the equator and the poles
    scale = np.max(np.abs(ds.field_induced_field_intrinsic.values[rest]))
    assert np.all(np.isfinite(curl[rest])) and np.max(np.abs(curl[rest])) < 0.1 * scale
    assert np.all(np.isnan(curl[[0, -1]])) and np.all(flag[[0, -1]] & FLAG_UNDEFINED_ON_GRID)
    assert unexplained_nan(ds) == {}


def test_odd_n_theta_rows_next_to_the_equator_are_explained(tmp_path):
    bands, ds = bands_and_sphere(tmp_path, 9)
    flag = ds.flag.values
    assert np.all(flag[4] & FLAG_GAP_CLOSED)
    # the theta stencils of the curl and of -dG/dm reach the NaN equator from rows 3 and 5
    assert np.all(np.isnan(ds.curl_field_induced_field.values[[3, 5]]))
    assert np.all(flag[[3, 5]] & FLAG_STENCIL_TOUCHES_FLAGGED)
    assert not np.any(flag[[1, 2, 6, 7]])
    assert unexplained_nan(ds) == {}


def ti_edge_study():
    model = get_model("ti_edge", v=0.8, J=1.2)
    theta, phi = sphere_grid(7, 6)  # contains m = +/-y, where the edge gap closes
    mesh = segment_mesh(30.0, 8, 4, 0.5)
    gap, _ = minimum_direct_gap(model, unit_vectors(theta, phi).reshape(-1, 3), mesh.points, 0.0)
    return quiet_map(model, theta, phi, mesh, Electrons(), min_gap=gap.reshape(7, 6))


STUDIES = {
    "ti_surface insulator, odd n_phi": lambda: quiet_map(TI, *sphere_grid(7, 5), COARSE, Electrons()),
    "ti_surface metal T=0": lambda: quiet_map(TI, *sphere_grid(5, 4), COARSE, Electrons(chemical_potential=1.5)),
    "ti_edge gap closing points": ti_edge_study,
    "tmd metal": lambda: quiet_map(get_model("tmd", material="WTe2", J=0.2), *sphere_grid(5, 4),
                                   bz_mesh(get_model("tmd").reciprocal_vectors(), 8),
                                   Electrons(chemical_potential=2.3, temperature=0.01)),
    "overflow": lambda: quiet_map(get_model("ti_surface", J=1e200), *sphere_grid(3, 2), COARSE, Electrons()),
}


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_every_nan_sits_at_a_flagged_point(study):
    ds = STUDIES[study]()
    assert unexplained_nan(ds) == {}
    assert any(point_nan(da).any() for da in ds.data_vars.values() if da.dtype.kind == "f")  # not vacuous


def test_figures_draw_nan_maps_and_count_them():
    from magcore import plots

    theta, phi = sphere_grid(5, 4)
    nan_all = quiet_map(get_model("ti_surface", J=1e200), theta, phi, COARSE, Electrons())
    nan_part = quiet_map(TI, theta, phi, COARSE, Electrons(chemical_potential=1.5))
    # nan_all: every quantity NaN; nan_part: a metal at T = 0, its Fermi-surface quantities NaN
    # (H^E extrinsic, so H^E and Fig. 2.4, torques) while gamma and G stay finite: only the
    # figures of NaN values say so
    for ds, figures in ((nan_all, {"20 of 20 points NaN": ("fig2_3", "fig2_4", "maps")}),
                        (nan_part, {"points NaN": ("fig2_4", "maps")})):
        for name, fig in (("fig2_3", plots.gyromagnetic_and_free_energy(ds)),
                          ("fig2_4", plots.field_driven_dynamics(ds, [1.0, 0.0])),
                          ("maps", plots.field_and_torque_maps(ds, [1.0, 0.0]))):
            titles = " ".join(ax.get_title() for ax in fig.axes)
            for expect, where in figures.items():
                assert (expect in titles) == (name in where), (name, titles)
            fig.canvas.draw()
            plots.plt.close(fig)
    bands = xr.Dataset({"min_gap": (("theta", "phi"), np.full((5, 4), np.nan)),
                        "gap_closed": (("theta", "phi"), np.zeros((5, 4), bool))},
                       coords={"theta": theta, "phi": phi}, attrs={"model": "ti_surface"})
    fig = plots.gap_map(bands)
    fig.canvas.draw()
    assert "20 of 20 not finite" in fig.axes[0].get_title()
    plots.plt.close(fig)


def test_fermi_level_pass_is_chunked_to_bounded_memory():
    """sphere_map without bands data computes the Fermi-level summary itself: on a large mesh it
    must diagonalise few directions at a time (a 16 x 16 tmd map on a 280^2 mesh once held all
    256 directions at once, ~24 GB, and was killed)."""
    from magcore.bands import CHUNK_BYTES, directions_per_chunk

    for n_k, n in ((280 * 280, 6), (2000 * 2000, 6), (64, 2), (10, 48)):
        c = directions_per_chunk(n_k, n)
        assert 1 <= c <= 256
        assert c == 1 or c * n_k * 64 * n * n <= CHUNK_BYTES
    assert directions_per_chunk(280 * 280, 6) <= 2
