"""The llg stage over a sweep: each point's own sphere maps drive its LLG runs, the combined
llg store carries the sweep dimensions, and what a sweep point keeps or recomputes follows what
determines each store.  Stages called in-process, the Dask client None (computed in this
process)."""

import warnings

import numpy as np
import pytest

from conftest import run_single_point
from magcore import stages
from magcore.config import ConfigError, validate
from magcore.store import open_store
from magcore.sweep import point_config, point_id, sweep_from_config

LLG = {"enabled": True, "use_sphere": True,
       "model": {"nan_policy": "fill", "gamma": {"sphere": "gyromagnetic_ratio"}, "damping": 0.0,
                 "terms": [{"kind": "sphere_free_energy", "source": "effective_field"},
                           {"kind": "sphere_field_induced"}]},
       "axes": {"theta0": [0.45, 0.55], "phi0": [1.3, 1.5]},
       "initial": {"theta": "theta0*pi", "phi": "phi0*pi", "polar_axis": "z"}, "t_end": 1.0}
STUDY = {"study": "llgsweep", "model": {"name": "ti_surface", "parameters": {"J": 0.5, "v": 1.0}},
         "mesh": {"k_cutoff": 20.0, "radial_panels": 4, "radial_order": 4, "n_angle": 8},
         "sphere": {"n_theta": 9, "n_phi": 8}, "bands": {"path_points": 11}, "electric_field": [0.1, 0.0],
         # each state integrated on its own, so its maps are bitwise those of its single-point study
         "sweep": {"axes": {"chemical_potential": {"values": [0.0, 0.3]}}, "fermi_scan": False}, "llg": LLG}


def run_point(cfg, out):
    (point,) = sweep_from_config(cfg).expensive_points(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return stages.run_sweep_point(cfg, point.id, out)


def test_each_state_runs_llg_on_its_own_maps(tmp_path, no_dask):
    """The point's llg store equals, state by state, the llg stage of the single-point study
    run on that study's sphere store (bitwise), and stacks the states along the sweep axis."""
    cfg = validate({**STUDY, "results_dir": str(tmp_path / "results")})
    paths = run_point(cfg, tmp_path / "point")
    assert "llg" in paths
    stacked = open_store(paths["llg"]).load()
    for j, c in enumerate(sweep_from_config(cfg).cheap_points(cfg)):
        single = point_config(cfg, c.overrides)
        ref = run_single_point(single, tmp_path / "single" / point_id(single), ("bands", "sphere", "llg"))["llg"]
        for name, var in ref.data_vars.items():
            got = stacked[name]
            if "chemical_potential" in got.dims:
                got = got.isel(chemical_potential=j)
            assert np.array_equal(got.values, var.values, equal_nan=var.dtype.kind == "f"), name
    # the two states have different maps, so some trajectory quantity differs between them
    assert any("chemical_potential" in v.dims for v in stacked.data_vars.values())


def test_a_point_keeps_what_did_not_change(tmp_path, no_dask):
    """Figure and compute settings change no store; an llg setting changes llg.zarr only."""
    cfg = validate({**STUDY, "results_dir": str(tmp_path / "results")})
    run_point(cfg, tmp_path / "point")
    (c, *_) = sweep_from_config(cfg).cheap_points(cfg)
    folder = tmp_path / "point" / "cheap" / point_id(point_config(cfg, c.overrides))
    cosmetic = validate({**STUDY, "results_dir": str(tmp_path / "results"), "figures": {"dpi": 77},
                         "compute": {"points_per_chunk": 7}})
    cfg_c = point_config(cosmetic, c.overrides)
    assert all(stages._reusable(folder / f"{s}.zarr", cfg_c, ("llg",) if s == "llg" else ())
               for s in ("bands", "sphere", "llg"))
    longer = validate({**STUDY, "results_dir": str(tmp_path / "results"), "llg": {**LLG, "t_end": 2.0}})
    cfg_l = point_config(longer, c.overrides)
    assert stages._reusable(folder / "sphere.zarr", cfg_l)
    assert not stages._reusable(folder / "llg.zarr", cfg_l, ("llg",))
    other = validate({**STUDY, "results_dir": str(tmp_path / "results"), "electrons": {"temperature": 0.01}})
    assert not stages._reusable(folder / "sphere.zarr", point_config(other, c.overrides))


def test_a_named_sphere_store_is_refused_in_a_sweep(tmp_path, no_dask):
    """A sphere store of the right model, valid for a single-point study, is refused in a sweep."""
    single = validate({**{k: v for k, v in STUDY.items() if k not in ("sweep", "llg")},
                       "results_dir": str(tmp_path / "results")})
    run_single_point(single, tmp_path)
    llg = {**LLG, "sphere_store": str(tmp_path / "sphere.zarr")}
    validate({**{k: v for k, v in STUDY.items() if k != "sweep"}, "llg": llg})  # fine without a sweep
    with pytest.raises(ConfigError, match="each point's own sphere maps"):
        validate({**STUDY, "llg": llg})
