"""Parameter sweeps through the real Snakemake workflow: one job per expensive point, the cheap
(electron-state) axes inside it, one combined store per stage.

* every point of the combined stores equals the single-point study of that point, bit for bit
  (``sweep.fermi_scan: false``: each electron state integrated on its own);
* adding values to an expensive axis runs only the new points' jobs;
* the combined store has the sweep axes as labelled dimensions (units, long_name), chunked one
  point per chunk along the expensive ones.
"""

import warnings

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import TI_SURFACE_SWEEP, run_snakemake

pytestmark = pytest.mark.workflow

SWEEP = {
    **TI_SURFACE_SWEEP,
    "study": "sweep",
    "mesh": {"k_cutoff": 30.0, "radial_panels": 6, "radial_order": 4, "n_angle": 4},
    "sphere": {"n_theta": 5, "n_phi": 4},
    "compute": {"points_per_chunk": 5, "k_block": 50},
    # every state integrated on its own (bit for bit its single-point study); the one-pass
    # chemical-potential scan is checked against single-point studies in test_sweep_scan.py and
    # runs through kill -9 in test_sweep_resilience.py
    "sweep": {**TI_SURFACE_SWEEP["sweep"], "fermi_scan": False},
}


def _run(work, cfg):
    path = work / "sweep.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(work, "--cores", "2", "--configfile", str(path))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _jobs(proc, rule):
    """How many jobs of ``rule`` Snakemake's job-stats table lists."""
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == rule and parts[1].isdigit():
            return int(parts[1])
    return 0


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("sweep")
    proc = _run(work, SWEEP)
    return work, proc


def test_sweep_store_is_labelled_and_chunked_per_point(sweep_run):
    work, proc = sweep_run
    assert _jobs(proc, "sweep_point") == 2
    ds = xr.open_zarr(work / "results" / "sweep" / "sphere.zarr")
    assert ds.sizes["J"] == 2 and ds.sizes["chemical_potential"] == 3
    assert ds.gyromagnetic_ratio.dims[:2] == ("J", "chemical_potential")
    np.testing.assert_array_equal(ds.J.values, [0.5, 0.8])
    for name in ("J", "chemical_potential"):
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"]
    assert ds.gyromagnetic_ratio.encoding["chunks"][0] == 1
    assert ds.attrs["complete"] == 1  # stored as 0/1 (magcore.store.encode_attrs)
    png = (work / "results" / "sweep" / "figures" / "sweep_lines.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_every_point_equals_its_single_point_study(sweep_run):
    from magcore.config import validate
    from magcore.stages import run_bands, run_sphere
    from magcore.sweep import point_config, sweep_from_config

    work, _ = sweep_run
    combined = xr.open_zarr(work / "results" / "sweep" / "sphere.zarr").load()
    cfg = validate(dict(SWEEP, results_dir=str(work / "single")))
    sweep = sweep_from_config(cfg)
    for p in sweep.expensive_points(cfg):
        for c in sweep.cheap_points(cfg):
            single_cfg = point_config(cfg, {**p.overrides, **c.overrides})
            folder = work / "single" / f"{p.id}-{c.id}"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_bands(single_cfg, folder / "bands.zarr")
                single = run_sphere(single_cfg, folder / "bands.zarr", folder / "sphere.zarr")
            at = combined.isel(J=p.index[0], chemical_potential=c.index[0])
            for name, var in single.data_vars.items():
                np.testing.assert_array_equal(at[name].values, var.values, err_msg=name)


def test_adding_values_to_an_expensive_axis_runs_only_the_new_points(sweep_run):
    work, _ = sweep_run
    before = xr.open_zarr(work / "results" / "sweep" / "sphere.zarr").load()
    cfg = {**SWEEP, "sweep": {"axes": {"J": {"values": [0.5, 0.8, 1.1]},
                                       "chemical_potential": {"values": [0.0, 0.3, 0.45]}}, "fermi_scan": False}}
    proc = _run(work, cfg)
    assert _jobs(proc, "sweep_point") == 1, proc.stdout[-3000:]
    after = xr.open_zarr(work / "results" / "sweep" / "sphere.zarr").load()
    assert after.sizes["J"] == 3
    for name in before.data_vars:
        np.testing.assert_array_equal(after[name].isel(J=slice(0, 2)).values
                                      if "J" in after[name].dims else after[name].values,
                                      before[name].values, err_msg=name)
