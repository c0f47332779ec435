"""The LLG machinery around the equation: interpolation of tabulated sphere maps (G, H) with its
convergence order and NaN policy, the parameter sweep's dataset layout, chunking and checkpoints,
and the restricted expression language of study files.
"""

import numpy as np
import pytest
import xarray as xr

from magcore.llg import (
    FIXED_POINT,
    SphereFreeEnergy,
    SphereMaps,
    edge_spec,
    sweep,
)
from magcore.llg._util import evaluate
from magcore.sphere import sphere_grid, unit_vectors

from physics_helpers import Y_FRAME, fibonacci_sphere

# ---- interpolation -----------------------------------------------------------------------------------------


def analytic_G(m):
    n = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    h = np.array([0.2, 0.1, -0.3])
    return -1.3 * (m @ n) ** 2 + m @ h + 0.7 * m[..., 0] * m[..., 1] * m[..., 2]


def analytic_H(m):
    """-dG/dm (full Cartesian gradient, like the Hellmann-Feynman field of sphere.zarr)."""
    n = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    h = np.array([0.2, 0.1, -0.3])
    x, y, z = m[..., 0], m[..., 1], m[..., 2]
    return -(-2.6 * (m @ n)[..., None] * n + h + 0.7 * np.stack([y * z, x * z, x * y], -1))


def test_interpolation_error_decreases_with_grid_refinement():
    rng = np.random.default_rng(7)
    pts = rng.normal(size=(3000, 3))
    pts = np.concatenate([pts, [[0, 0, 1], [0, 0, -1], [1e-9, 0, 1], [0, 1e-6, -1]]])
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    exact_H = analytic_H(pts)
    exact_H -= (exact_H * pts).sum(1, keepdims=True) * pts  # only the tangential part acts

    def tangential(H):
        return H - (H * pts).sum(1, keepdims=True) * pts

    errs = []
    for nt, n_phi in ((13, 24), (25, 48), (49, 96)):
        theta, phi = sphere_grid(nt, n_phi)
        m = unit_vectors(theta, phi)
        ds = xr.Dataset({"free_energy": (("theta", "phi"), analytic_G(m)),
                         "effective_field": (("theta", "phi", "component"), analytic_H(m))},
                        coords={"theta": theta, "phi": phi})
        maps = SphereMaps(ds)
        errs.append([np.max(np.abs(maps.free_energy(pts) - analytic_G(pts))),
                     np.max(np.abs(tangential(SphereFreeEnergy(maps, "effective_field").field(pts)) - exact_H)),
                     np.max(np.abs(SphereFreeEnergy(maps, "free_energy").field(pts) - exact_H))])
    errs = np.array(errs)
    ratio = errs[:-1] / errs[1:]
    assert np.all(ratio[:, :2] > 12), ratio  # O(h^4): G and the interpolated Cartesian H
    assert np.all(ratio[:, 2] > 6), ratio  # O(h^3): H from the gradient of the interpolated G
    assert errs[-1, 0] < 2e-6 and errs[-1, 1] < 1e-6 and errs[-1, 2] < 1e-4, errs[-1]
    # the poles are ordinary points: no blow-up there
    assert np.all(np.isfinite(maps.field_from_free_energy(pts[-4:])))


def test_odd_phi_grid_and_nan_policy():
    theta, phi = sphere_grid(33, 47)  # odd n_phi: the pi shift is spectral
    m = unit_vectors(theta, phi)
    G = analytic_G(m)
    ds = xr.Dataset({"free_energy": (("theta", "phi"), G)}, coords={"theta": theta, "phi": phi})
    pts = fibonacci_sphere(500)
    assert np.max(np.abs(SphereMaps(ds).free_energy(pts) - analytic_G(pts))) < 5e-5
    G_nan = G.copy()
    G_nan[16] = np.nan  # e.g. a gap-closed equator
    bad = ds.assign(free_energy=(("theta", "phi"), G_nan))
    with pytest.raises(ValueError, match="NaN"):
        SphereMaps(bad).free_energy(pts)
    filled = SphereMaps(bad, nan_policy="fill")
    assert np.max(np.abs(filled.free_energy(pts) - analytic_G(pts))) < 2e-3
    assert filled.filled == {"free_energy": 47}


# ---- sweep and specs ---------------------------------------------------------------------------------------


def test_sweep_dataset_layout_and_chunking(tmp_path):
    spec = {"parameters": {"A": 1.0}, "gamma": "1/A", "damping": "2*alpha",
            "terms": [{"kind": "uniaxial", "K": 1.0, "axis": [1, 0, 0]}, {"kind": "ti_edge", "K_ti": -1.0},
                      {"kind": "zeeman", "field": [0, "H_over_K", 0]},
                      {"kind": "faraday", "B": "B_over_K", "axis": [0, 1, 0], "form": "2.45"}]}
    axes = {"B_over_K": [-0.1, 0.0], "H_over_K": {"start": 0.0, "stop": 1.0, "num": 2}, "alpha": [0.1],
            "theta0": [0.3, 0.7]}
    kw = dict(initial=Y_FRAME | {"phi": 0.0}, t_end=80.0, n_tail=128, record={"a": {"theta0": 0.7, "H_over_K": 1.0}},
              n_record=51, minima=[["sqrt(1-(H_over_K/4)**2)", "H_over_K/4", 0],
                                   ["-sqrt(1-(H_over_K/4)**2)", "H_over_K/4", 0]])
    ds = sweep(spec, axes, chunk_size=3, **kw)
    ds1 = sweep(spec, axes, chunk_size=100, **kw)
    assert dict(ds.sizes) == {"B_over_K": 2, "H_over_K": 2, "alpha": 1, "theta0": 2, "component": 3,
                              "trajectory": 1, "time": 51}
    for name, v in ds.data_vars.items():
        for key in ("long_name", "units", "equation"):
            assert key in v.attrs, (name, key)
    assert ds.final_class.attrs["flag_meanings"].split()[:3] == ["fixed_point", "limit_cycle", "unresolved"]
    for name in ds.data_vars:
        np.testing.assert_array_equal(ds[name].values, ds1[name].values, err_msg=name)
    np.testing.assert_allclose(ds.trajectory_m.values[0, -1], ds.final_m.sel(B_over_K=-0.1, H_over_K=1.0, alpha=0.1,
                                                                             theta0=0.7).values, atol=1e-12)
    assert float(ds.trajectory_theta0[0]) == 0.7
    # the expression minima follow the Zeeman field: at H = 1, minima at m_y = 1/4
    fixed = ds.final_class.values == FIXED_POINT
    assert np.all(ds.minimum_index.values[fixed] >= 0)
    # the dataset can be written to zarr and read back as is
    ds.to_zarr(tmp_path / "llg.zarr", mode="w", consolidated=False)
    back = xr.open_zarr(tmp_path / "llg.zarr", consolidated=False)
    np.testing.assert_array_equal(back.final_class.values, ds.final_class.values)
    assert back.final_class.attrs["flag_meanings"] == ds.final_class.attrs["flag_meanings"]


def test_expressions_are_restricted():
    assert evaluate("2*alpha + sin(pi/2)", {"alpha": 1.5}) == 4.0
    for bad in ("__import__('os')", "alpha.real", "[1, 2]", "lambda: 1", "open('x')"):
        with pytest.raises(ValueError):
            evaluate(bad, {"alpha": 1.0})


def test_sweep_resumes_from_checkpoints_bit_for_bit(tmp_path, monkeypatch):
    # an interrupted sweep (chunk files missing) recomputes only the missing chunks
    import sys

    from magcore.engine import ChunkCheckpoints

    sweep_module = sys.modules["magcore.llg.sweep"]  # the package re-exports the function of the same name

    spec = edge_spec(alpha=0.1, K_ti=-1.0)
    kw = dict(initial={"theta": "theta0*pi", "phi": "phi0*pi", "polar_axis": "y"}, t_end=20.0, chunk_size=3,
              record={"a": {"theta0": 0.3, "phi0": 0.0}})
    axes = {"theta0": [0.2, 0.3, 0.7], "phi0": [0.0, 0.5, 1.0, 1.5]}
    ck = ChunkCheckpoints(tmp_path / "ck")
    first = sweep(spec, axes, checkpoints=ck, **kw)
    assert ck.finished() == [0, 1, 2, 3]
    for c in (1, 3):
        ck.path(c).unlink()
    calls = []
    original = sweep_module._run_chunk
    monkeypatch.setattr(sweep_module, "_run_chunk", lambda *a, **k: calls.append(1) or original(*a, **k))
    again = sweep(spec, axes, checkpoints=ck, **kw)
    assert len(calls) == 2
    for name in first.data_vars:
        np.testing.assert_array_equal(first[name].values, again[name].values, err_msg=name)
