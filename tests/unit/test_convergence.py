"""The mesh-convergence report (magcore.convergence) on synthetic sweep stores: relative changes
between successive meshes, the verdict against a tolerance, points NaN or infinite at either mesh
left out and counted, quantities zero to round-off counted as converged."""

import json

import numpy as np
import pytest
import xarray as xr

from magcore.convergence import (
    convergence_report,
    mesh_dimensions,
    quantity_names,
    relative_changes,
    report_text,
    verdict_line,
)

N_K = np.array([8, 16, 32, 64])
A, C = 0.1, 0.5  # X(n) = X_inf (1 + C exp(-A n))


def _exact(i):
    """Relative change of step i of X(n) = X_inf (1 + C exp(-A n)) with X_inf > 0."""
    e0, e1 = np.exp(-A * N_K[i]), np.exp(-A * N_K[i + 1])
    return C * (e0 - e1) / (1 + C * e1)


def _store(**extra):
    """A sweep store over n_k (and J) with free_energy converging exponentially in n_k."""
    theta, phi, J = np.linspace(0, np.pi, 5), np.linspace(0, 2 * np.pi, 4, endpoint=False), np.array([0.5, 1.0])
    x_inf = (1.0 + np.cos(theta)[:, None] ** 2 + np.sin(phi)[None, :] ** 2)[None, None] * J[None, :, None, None]
    factor = 1 + C * np.exp(-A * N_K)[:, None, None, None]
    ds = xr.Dataset(
        {"free_energy": (("n_k", "J", "theta", "phi"), x_inf * factor,
                         {"long_name": "free energy", "units": "t a^-2"}),
         "n_degenerate_k": (("theta", "phi"), np.zeros((5, 4), np.int64), {"units": "1"}),
         "flag": (("n_k", "J", "theta", "phi"), np.zeros((4, 2, 5, 4), np.uint8), {"units": "1"}),
         **extra},
        coords={"n_k": ("n_k", N_K, {"units": "1", "long_name": "Monkhorst-Pack points"}),
                "J": ("J", J, {"units": "t", "long_name": "exchange"}), "theta": theta, "phi": phi},
        attrs={"sweep_dims": json.dumps(["n_k", "J"])})
    return ds


def test_exponential_convergence_gives_the_relative_changes_and_the_verdict():
    ds = _store()
    assert quantity_names(ds) == ["free_energy"]  # catalogue variables only; integers left out
    r = convergence_report(ds, {"n_k": "n_k"}, tolerance=1e-3)
    assert r.relative_change.dims == ("quantity", "mesh_step") and r.sizes["mesh_step"] == 3
    np.testing.assert_allclose(r.relative_change.sel(quantity="free_energy").values, [_exact(i) for i in range(3)],
                               rtol=1e-12)
    np.testing.assert_array_equal(r.mesh_from.values, N_K[:-1])
    np.testing.assert_array_equal(r.mesh_to.values, N_K[1:])
    assert r.n_compared.sel(quantity="free_energy").values.tolist() == [40] * 3
    assert r.n_ignored.values.sum() == 0
    for name in ("relative_change", "meets_tolerance", "mesh_from"):
        assert r[name].attrs["long_name"] and r[name].attrs["units"]
    # units that change along quantity: named by the coordinate that holds them, not a units string
    assert r.max_abs_change.attrs["long_name"] and r.max_abs_change.attrs["units_from"] == "quantity_units"
    assert "units" not in r.max_abs_change.attrs
    assert r.quantity_units.sel(quantity="free_energy").item() == "t a^-2"
    # a tolerance between the changes of the last two steps is met; one below the last is not
    last, before = _exact(2), _exact(1)
    assert last < before
    tol_ok = convergence_report(ds, {"n_k": "n_k"}, tolerance=(last + before) / 2)
    assert bool(tol_ok.meets_tolerance.sel(quantity="free_energy")) and tol_ok.attrs["meets_tolerance"]
    assert "meets the tolerance" in verdict_line(tol_ok) and "NOT" not in verdict_line(tol_ok)
    assert "n_k = 64" in verdict_line(tol_ok)
    tol_bad = convergence_report(ds, {"n_k": "n_k"}, tolerance=last / 2)
    assert not tol_bad.meets_tolerance.sel(quantity="free_energy") and not tol_bad.attrs["meets_tolerance"]
    line = verdict_line(tol_bad)
    assert "does NOT meet" in line and f"free_energy {last:.2g}" in line
    assert report_text(tol_bad).splitlines()[0] == line


def test_points_nan_or_infinite_at_either_mesh_are_left_out_and_counted():
    ds = _store()
    fe = ds.free_energy.values.copy()
    # a point that would dominate the change if it were compared, NaN at the coarse mesh of step 2
    fe[2, 0, 1, 1] = np.nan
    fe[3, 0, 1, 1] = 1e6
    fe[1, 1, 0, 0] = np.inf  # infinite at the finer mesh of step 0 and the coarser of step 1
    ds["free_energy"] = (ds.free_energy.dims, fe, ds.free_energy.attrs)
    ds["damping"] = (ds.free_energy.dims, np.full(fe.shape, np.nan), {"units": "hbar a^-2"})
    r = convergence_report(ds, {"n_k": "n_k"}, tolerance=1e-1)
    fe_r = r.sel(quantity="free_energy")
    assert fe_r.n_ignored.values.tolist() == [1, 2, 1]  # step 1: the infinite and the NaN point
    assert fe_r.n_compared.values.tolist() == [39, 38, 39]
    clean = convergence_report(_store(), {"n_k": "n_k"}, tolerance=1e-1).sel(quantity="free_energy")
    # the maxima sit at theta = 0, away from the left-out points: the same changes
    np.testing.assert_allclose(fe_r.relative_change.values, clean.relative_change.values, rtol=1e-12)
    assert bool(fe_r.meets_tolerance)
    # no point finite at both meshes: no value, and the tolerance is not met
    d = r.sel(quantity="damping")
    assert np.isnan(d.relative_change.values).all() and d.n_compared.values.tolist() == [0, 0, 0]
    assert d.n_ignored.values.tolist() == [40, 40, 40] and not bool(d.meets_tolerance)
    line = verdict_line(r)
    assert "1 of 2 quantities" in line and "not compared" in line and "damping" in line


def test_a_quantity_zero_to_round_off_at_both_meshes_counts_as_converged():
    rng = np.random.default_rng(1)
    ds = _store()
    shape = ds.free_energy.shape
    noise = 1e-17 * rng.standard_normal(shape)
    big = noise.copy()
    big[0, 1] = 1.0 + np.arange(20).reshape(5, 4)  # its scale: 20, at the coarsest mesh of J = 1
    ds["berry_curvature_theta_phi"] = (ds.free_energy.dims, big, {"units": "hbar a^-2"})
    ds["anomalous_hall_conductivity"] = (ds.free_energy.dims, np.zeros(shape), {"units": "e^2/h"})
    r = convergence_report(ds, {"n_k": "n_k"}, tolerance=1e-3)
    b = r.sel(quantity="berry_curvature_theta_phi")
    assert b.scale.item() == 20.0
    # step 0 compares the big values with noise (relative to the noise: huge); steps 1, 2 are
    # noise at both meshes
    assert b.zero_to_round_off.values.tolist() == [False, True, True]
    assert b.relative_change.values[0] > 1e15
    assert b.relative_change.values[1:].tolist() == [0.0, 0.0]
    assert b.max_abs_change.values[2] > 0  # the noise itself is kept
    assert bool(b.meets_tolerance)
    z = r.sel(quantity="anomalous_hall_conductivity")  # zero everywhere: scale 0
    assert z.zero_to_round_off.values.all() and (z.relative_change.values == 0).all() and bool(z.meets_tolerance)
    assert "round-off" in report_text(r)
    # the same noise with no scale elsewhere is not round-off: its change is reported as it is
    noisy = _store(berry_curvature_theta_phi=(ds.free_energy.dims, noise, {"units": "hbar a^-2"}))
    n = convergence_report(noisy, {"n_k": "n_k"}, tolerance=1e-3).sel(quantity="berry_curvature_theta_phi")
    assert not n.zero_to_round_off.values.any() and not bool(n.meets_tolerance)


def test_a_variable_stored_once_changes_by_nothing_and_hold_fixes_other_dimensions():
    ds = _store(magnetization=(("theta", "phi"), np.ones((5, 4)), {"units": "1"}))
    r = relative_changes(ds, "n_k")
    m = r.sel(quantity="magnetization")
    assert (m.relative_change.values == 0).all() and not m.zero_to_round_off.values.any()
    held = relative_changes(ds, "n_k", hold={"J": 0}).sel(quantity="free_energy")
    full = r.sel(quantity="free_energy")
    assert held.n_compared.values.tolist() == [20] * 3  # one J value
    np.testing.assert_allclose(held.relative_change.values, full.relative_change.values, rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        relative_changes(ds.isel(n_k=[0]), "n_k")


def test_two_mesh_dimensions_each_at_the_finest_value_of_the_other():
    base = _store()
    cut = np.array([10.0, 20.0, 40.0])
    # k_cutoff convergence is slow at the coarsest n_k and fast at the finest: held at the finest
    rate = xr.DataArray([1e-1, 1e-1, 1e-1, 1e-4], dims="n_k")
    ds = base.expand_dims(k_cutoff=cut).assign_coords(k_cutoff=("k_cutoff", cut, {"units": "1/a"}))
    ds["free_energy"] = ds.free_energy * (1 + rate * xr.DataArray(10.0 / cut, dims="k_cutoff"))
    ds["free_energy"].attrs = base.free_energy.attrs
    r = convergence_report(ds, {"n_k": "n_k", "k_cutoff": "k_cutoff"}, tolerance=1e-3)
    assert r.mesh_dim.values.tolist() == ["n_k"] * 3 + ["k_cutoff"] * 2
    k = r.sel(quantity="free_energy").relative_change.values[3:]
    f = lambda c: 1 + 1e-4 * 10.0 / c
    np.testing.assert_allclose(k, [(f(10) - f(20)) / f(20), (f(20) - f(40)) / f(40)], rtol=1e-9)
    assert r.mesh_units.values.tolist()[3:] == ["1/a", "1/a"]
    assert json.loads(r.attrs["finest_mesh"]) == {"n_k": 64, "k_cutoff": 40.0}
    # the n_k steps at k_cutoff = 40 include the k_cutoff factor: still exponential in n_k, >= 1e-3 at the end
    assert not bool(r.meets_tolerance.sel(quantity="free_energy"))


def test_mesh_dimensions_of_a_sweep():
    from magcore.config import validate
    from magcore.sweep import sweep_from_config

    cfg = validate({"model": {"name": "ti_surface", "parameters": {"v": 1.0, "J": 1.0}},
                    "sweep": {"axes": {"J": {"values": [0.5, 1.0]}, "k_cutoff": {"values": [20.0, 40.0]},
                                       "radial_panels": {"values": [4, 8]}},
                              "zip": [["k_cutoff", "radial_panels"]]}})
    assert cfg["sweep"]["convergence_tolerance"] == 1e-3
    assert mesh_dimensions(sweep_from_config(cfg)) == {"k_cutoff": "k_cutoff"}
    cfg2 = validate({"model": {"name": "ti_surface"}, "sweep": {"axes": {"J": {"values": [0.5, 1.0]},
                                                                        "n_angle": {"values": [8]}}}})
    assert mesh_dimensions(sweep_from_config(cfg2)) == {}  # one mesh value: nothing to compare


def test_the_report_is_a_store_and_a_figure(tmp_path):
    from magcore import plots

    ds = _store(damping=(("n_k", "J", "theta", "phi"), np.full((4, 2, 5, 4), np.nan), {"units": "hbar a^-2"}))
    r = convergence_report(ds, {"n_k": "n_k"}, tolerance=1e-3)
    r.to_zarr(tmp_path / "convergence.zarr", zarr_format=3, consolidated=False)
    back = xr.open_zarr(tmp_path / "convergence.zarr", consolidated=False).load()
    assert back.quantity.values.tolist() == ["free_energy", "damping"]
    np.testing.assert_array_equal(back.relative_change.values, r.relative_change.values)
    png = plots.save(plots.mesh_convergence(r), tmp_path / "convergence.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_part_zero_by_symmetry_takes_the_scale_of_the_quantity_it_is_a_part_of():
    rng = np.random.default_rng(2)
    ds = _store()
    dims, shape = ds.free_energy.dims, ds.free_energy.shape
    units = {"units": "t a^-2 / (t a^-1)"}
    ds["field_induced_field_intrinsic"] = (dims, 0.04 + np.zeros(shape), units)
    ds["field_induced_field_intrinsic_even"] = (dims, 5e-18 * rng.standard_normal(shape), units)
    ds["curl_field_induced_field"] = (dims, 5e-18 * rng.standard_normal(shape), units)  # same units, not a part
    gamma = {"units": "a^2 hbar^-1"}
    ds["gyromagnetic_ratio"] = (dims, 1.0 + 1e-2 * ds.free_energy.values, gamma)
    ds["gyromagnetic_ratio_s"] = (dims, 1e18 + np.zeros(shape), gamma)  # a huge part: not the whole's scale
    r = convergence_report(ds, {"n_k": "n_k"}, tolerance=1e-3)
    even = r.sel(quantity="field_induced_field_intrinsic_even")
    assert even.reference_scale.item() == 0.04 and even.scale.item() < 1e-16
    assert even.zero_to_round_off.values.all() and bool(even.meets_tolerance)
    curl = r.sel(quantity="curl_field_induced_field")  # its noise is its own scale: reported as it is
    assert curl.reference_scale.item() == curl.scale.item()
    assert not curl.zero_to_round_off.values.any() and not bool(curl.meets_tolerance)
    g = r.sel(quantity="gyromagnetic_ratio")
    assert g.reference_scale.item() == g.scale.item() and not g.zero_to_round_off.values.any()
    assert g.relative_change.values[0] > 1e-5
