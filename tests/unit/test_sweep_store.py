"""Stacking point stores into one sweep store (magcore.sweep_store): values at every point equal
the point store's, bit for bit (NaN included); constant variables stored once; a variable a
point store keeps without an inner sweep dimension is broadcast; shape-changing variables are
dropped and listed; mismatched coordinates and missing points are refused."""

import json

import numpy as np
import pytest
import xarray as xr

from magcore.sweep_store import stack_stores

pytestmark = pytest.mark.filterwarnings("ignore:Consolidated metadata")

COORDS = {"J": (("J",), [0.1, 0.2], {"units": "eV", "long_name": "exchange J"}),
          "mu": (("mu",), [0.0, 0.5, 1.0], {"units": "eV", "long_name": "chemical potential"})}


def _point(path, i, j, *, theta=(0.0, 0.5, 1.0), n_k=4, inner=False):
    rng = np.random.default_rng(10 * i + j)
    a = rng.normal(size=(3, 4))
    a[0, 0] = np.nan
    b = np.full(3, float(i)) if not inner else np.stack([np.full(3, float(i + k)) for k in range(2)])
    ds = xr.Dataset(
        {"a": (("theta", "phi"), a, {"units": "eV", "long_name": "a"}),
         "b": ((("nu",) if inner else ()) + ("theta",), b, {"units": "1"}),
         "c": (("theta",), np.arange(3.0), {"units": "1"}),
         "f": (("theta", "phi"), np.full((3, 4), i + j, np.uint8), {"flag_masks": [1, 2], "flag_meanings": "x y"}),
         "mesh": (("k",), np.linspace(0, 1, n_k), {"units": "1"}),
         "s": ((), float(10 * i + j), {"units": "1"})},
        coords={"theta": ("theta", np.asarray(theta), {"units": "rad"}), "phi": np.arange(4.0),
                **({"nu": ("nu", [1.0, 2.0], {"units": "1"})} if inner else {})})
    ds.to_zarr(path, mode="w", zarr_format=3)
    return ds


def test_stacked_store_holds_every_point_bit_for_bit(tmp_path):
    points, datasets = [], {}
    for i in range(2):
        for j in range(3):
            p = tmp_path / f"p{i}{j}.zarr"
            datasets[i, j] = _point(p, i, j, n_k=4 + (i == 1))  # 'mesh' changes shape with J
            points.append(((i, j), p))
    out = stack_stores(points, ("J", "mu"), COORDS, tmp_path / "out.zarr", {"note": "x"})
    ds = xr.open_zarr(out)
    assert ds.a.dims == ("J", "mu", "theta", "phi") and ds.a.encoding["chunks"] == (1, 1, 3, 4)
    assert ds.c.dims == ("theta",)  # equal in every point: stored once
    assert ds.b.dims == ("J", "mu", "theta")
    assert "mesh" not in ds and json.loads(ds.attrs["stacked_dropped_variables"]) == ["mesh"]
    assert ds.J.attrs["long_name"] == "exchange J" and ds.attrs["note"] == "x"
    assert ds.f.attrs["flag_meanings"] == "x y" and ds.f.dtype == np.uint8
    for (i, j), ref in datasets.items():
        at = ds.isel(J=i, mu=j)
        for name in ("a", "b", "f", "s"):
            np.testing.assert_array_equal(at[name].values, ref[name].values, err_msg=name)
        np.testing.assert_array_equal(ds.c.values, ref.c.values)


def test_a_variable_without_an_inner_dimension_is_broadcast(tmp_path):
    # point 0 kept 'b' once (equal along its inner sweep 'nu'); point 1 has it along 'nu'
    p0, p1 = tmp_path / "p0.zarr", tmp_path / "p1.zarr"
    r0 = _point(p0, 0, 0)
    r1 = _point(p1, 1, 0, inner=True)
    coords = {"J": COORDS["J"]}
    ds = xr.open_zarr(stack_stores([((0,), p0), ((1,), p1)], ("J",), coords, tmp_path / "out.zarr", {}))
    assert ds.b.dims == ("J", "nu", "theta")
    np.testing.assert_array_equal(ds.b.isel(J=0).values, np.broadcast_to(r0.b.values, (2, 3)))
    np.testing.assert_array_equal(ds.b.isel(J=1).values, r1.b.values)


def test_differing_coordinates_become_variables_and_missing_points_are_refused(tmp_path):
    p0, p1 = tmp_path / "p0.zarr", tmp_path / "p1.zarr"
    _point(p0, 0, 0)
    _point(p1, 1, 0, theta=(0.0, 0.4, 1.0))  # e.g. the k-path distances of two lattice constants
    coords = {"J": COORDS["J"]}
    ds = xr.open_zarr(stack_stores([((0,), p0), ((1,), p1)], ("J",), coords, tmp_path / "out.zarr", {}))
    assert "theta" not in ds.coords and ds.theta_coordinate.dims == ("J", "theta")
    np.testing.assert_array_equal(ds.theta_coordinate.values, [[0.0, 0.5, 1.0], [0.0, 0.4, 1.0]])
    assert json.loads(ds.attrs["stacked_coordinates_as_variables"]) == ["theta"]
    with pytest.raises(ValueError, match="one store per point"):
        stack_stores([((0,), p0)], ("J",), coords, tmp_path / "out2.zarr", {})
    assert not (tmp_path / "out2.zarr").exists()
