"""The mesh-convergence report of a sweep over a mesh key, through the real Snakemake workflow:
rule sweep_convergence writes convergence.zarr (dims quantity x mesh_step), convergence.txt (the
verdict line first) and figures/convergence.png as part of the study's default target."""

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import run_snakemake

pytestmark = pytest.mark.workflow

TOLERANCE = 1e-5
STUDY = {
    "study": "mesh_sweep",
    "model": {"name": "ti_surface", "parameters": {"J": 0.5, "v": 1.0}},
    "mesh": {"k_cutoff": 30.0, "radial_panels": 6, "radial_order": 4, "n_angle": 4},
    "sphere": {"n_theta": 5, "n_phi": 4},
    "bands": {"path_points": 11},
    "electrons": {"chemical_potential": 0.3, "temperature": 0.02},
    "compute": {"points_per_chunk": 5, "k_block": 50},
    "llg": {"enabled": False},
    "sweep": {"axes": {"radial_panels": {"values": [4, 8, 16]}}, "convergence_tolerance": TOLERANCE},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    work = tmp_path_factory.mktemp("mesh_sweep")
    path = work / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    # the three points side by side (single-threaded each): most of a point's time is start-up
    proc = run_snakemake(work, "--cores", "3", "--set-threads", "sweep_point=1", "--configfile", str(path))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work / "results" / "mesh_sweep"


def test_the_report_store_figure_and_verdict(study):
    from magcore.convergence import verdict_line
    from magcore.quantities import SPHERE_QUANTITIES

    r = xr.open_zarr(study / "convergence.zarr").load()
    assert r.relative_change.dims == ("quantity", "mesh_step") and r.sizes["mesh_step"] == 2
    names = [q.name for q in SPHERE_QUANTITIES if q.name != "n_degenerate_k"]  # the integer count is left out
    assert r.quantity.values.tolist() == names
    np.testing.assert_array_equal(r.mesh_from.values, [4, 8])
    np.testing.assert_array_equal(r.mesh_to.values, [8, 16])
    assert r.mesh_dim.values.tolist() == ["radial_panels"] * 2
    assert r.attrs["tolerance"] == TOLERANCE and r.attrs["complete"] == 1
    for name in ("relative_change", "meets_tolerance", "mesh_to"):
        assert r[name].attrs["long_name"] and "units" in r[name].attrs
    # every quantity of this Dirac surface is finite everywhere at these meshes and converges:
    # the finer step changes it less than the coarser one
    assert (r.n_ignored.sel(quantity="free_energy") == 0).all()
    rel = r.relative_change.values
    assert np.isfinite(rel).all() and (rel[:, 1] <= rel[:, 0]).all()
    # the verdict: the finest mesh against the tolerance, the worst quantities named
    meets = rel[:, 1] < TOLERANCE
    np.testing.assert_array_equal(r.meets_tolerance.values, meets)
    assert r.attrs["meets_tolerance"] == bool(meets.all())
    line = (study / "convergence.txt").read_text().splitlines()[0]
    assert line == verdict_line(r)
    assert "radial_panels = 16" in line and f"tolerance {TOLERANCE:g}" in line
    # 1e-5 is below the last change of the Fermi-surface curvatures Omega^E, eta^E (6.6e-5 here)
    assert not meets.all() and meets.any()
    worst = names[int(np.argmax(rel[:, 1]))]
    assert f"does NOT meet the tolerance {TOLERANCE:g} for {int((~meets).sum())} of {len(names)}" in line
    assert f"worst (relative change of the last step): {worst} " in line
    png = (study / "figures" / "convergence.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
