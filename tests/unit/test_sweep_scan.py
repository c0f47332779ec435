"""A sweep point whose electron states differ in the chemical potential computes the sphere
k-sums of all of them in one Fermi scan (magcore.sweep_scan) and gives the sphere maps of
single-point studies: to 1e-10 of each map's scale at T = 0 (the sums differ only in the order
of the additions) and to 1e-8 with smearing (Taylor moments, bound stored in the attrs); maps
that vanish to round-off everywhere (|x| ~ 1e-17) are compared to 1e-15 absolute.  The
stages are called in-process; the Dask client is None (computed in this process)."""

import json
import shutil
import warnings

import numpy as np
import pytest

from conftest import run_single_point
from magcore import stages
from magcore.config import validate
from magcore.store import open_store
from magcore.sweep import point_config, point_id, sweep_from_config

TMD = {"study": "scan", "model": {"name": "tmd", "material": "MoS2", "parameters": {"J": 0.2}},
       "mesh": {"n_k": 10}, "sphere": {"n_theta": 3, "n_phi": 2}, "bands": {"path_points": 11},
       "sweep": {"axes": {"chemical_potential": {"values": [0.6, 1.1, 1.9]}}}}


EVERY_STATE_AXIS = {"axes": {"chemical_potential": {"values": [0.6, 1.9]}, "relaxation_time": {"values": [0.5, 3.0]},
                             "temperature": {"values": [0.0, 0.05]}}}


@pytest.mark.parametrize("electrons, tol, sweep", [({"temperature": 0.0}, 1e-10, TMD["sweep"]),
                                                   ({"smearing": 0.08}, 1e-8, EVERY_STATE_AXIS)],
                         ids=["mu-exact", "mu-tau-T-smearing"])
def test_scanned_sweep_point_equals_single_point_studies(tmp_path, no_dask, electrons, tol, sweep):
    cfg = validate({**TMD, "sweep": sweep, "electrons": electrons, "results_dir": str(tmp_path / "results")})
    sweep = sweep_from_config(cfg)
    (point,) = sweep.expensive_points(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stages.run_sweep_point(cfg, point.id, tmp_path / "point")
    pairs = []
    for c in sweep.cheap_points(cfg):
        single_cfg = point_config(cfg, c.overrides)
        folder = tmp_path / "single" / point_id(single_cfg)
        run_single_point(single_cfg, folder)
        pairs.append((open_store(tmp_path / "point" / "cheap" / point_id(single_cfg) / "sphere.zarr").load(),
                      open_store(folder / "sphere.zarr").load()))
    # each map's scale over the whole scan (a quantity that vanishes in the gap is compared
    # with its size in the bands)
    scale = {name: max(float(np.nanmax(np.abs(ref[name].values), initial=0.0)) for _, ref in pairs)
             for name, var in pairs[0][1].data_vars.items() if var.dtype.kind == "f"}
    scanned_any = False
    for got, ref in pairs:
        scanned_any |= "k_sums" in got.attrs
        assert np.array_equal(got.flag.values, ref.flag.values)
        for name, var in ref.data_vars.items():
            if var.dtype.kind != "f":
                assert np.array_equal(got[name].values, var.values), name
                continue
            assert np.array_equal(np.isnan(got[name].values), np.isnan(var.values)), name
            diff = float(np.nanmax(np.abs(got[name].values - var.values), initial=0.0))
            assert diff <= tol * scale[name] + 1e-15, (name, diff, scale[name])
    assert scanned_any
    bounds = json.loads(got.attrs["k_sums_error_bound"])
    assert set(bounds) >= {"sea_curvature", "damping_E"}
    if electrons.get("smearing"):
        assert bounds["damping_E"] > 0  # stated, not zero, where the evaluation is approximate


def test_a_resumed_sweep_point_gives_the_same_maps_bit_for_bit(tmp_path, no_dask):
    """States of a sweep point already computed are kept; the rest come from a scan over the
    whole group of chemical potentials, so the maps equal those of an uninterrupted run."""
    cfg = validate({**TMD, "electrons": {"smearing": 0.08}, "results_dir": str(tmp_path / "results")})
    sweep = sweep_from_config(cfg)
    (point,) = sweep.expensive_points(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stages.run_sweep_point(cfg, point.id, tmp_path / "a")
        stages.run_sweep_point(cfg, point.id, tmp_path / "b")
        # an interruption after the first state: the others' stores are gone
        for c in sweep.cheap_points(cfg)[1:]:
            folder = tmp_path / "b" / "cheap" / point_id(point_config(cfg, c.overrides))
            for store in folder.glob("*.zarr"):
                shutil.rmtree(store)
        stages.run_sweep_point(cfg, point.id, tmp_path / "b")
    a, b = open_store(tmp_path / "a" / "sphere.zarr").load(), open_store(tmp_path / "b" / "sphere.zarr").load()
    for name, var in a.data_vars.items():
        assert np.array_equal(var.values, b[name].values, equal_nan=var.dtype.kind == "f"), name
