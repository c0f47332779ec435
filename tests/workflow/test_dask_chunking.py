"""Results bitwise independent of the number of Dask workers and of the chunking."""

import warnings

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import run_snakemake
from magcore.cluster import dask_client
from magcore.kmesh import bz_mesh
from magcore.models import get_model
from magcore.engine import ChunkCheckpoints
from magcore.sphere import Electrons, GapClosingWarning, sphere_grid, sphere_map

MODEL = get_model("tmd", material="WTe2", J=0.2)
MESH = bz_mesh(MODEL.reciprocal_vectors(), 10)
THETA, PHI = sphere_grid(5, 4)
ELECTRONS = Electrons(chemical_potential=2.3, temperature=0.05, relaxation_time=2.0)  # a metal: every term


def run(client=None, points_per_chunk=20, k_block=100, checkpoints=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapClosingWarning)
        return sphere_map(MODEL, THETA, PHI, MESH, ELECTRONS, client=client,
                          points_per_chunk=points_per_chunk, k_block=k_block, checkpoints=checkpoints)


@pytest.fixture(scope="module")
def reference():
    return run()


def assert_same(a, b, rtol=1e-12):
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        if x.dtype.kind == "f":
            scale = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 1.0
            if name == "effective_field_from_G":  # a derivative of G: carries G's round-off
                scale = np.max(np.abs(a.free_energy.values))
            for suffix in ("_even", "_odd", "_damping_like", "_field_like"):  # cancellations
                if name.endswith(suffix):
                    scale = np.nanmax(np.abs(a[name[: -len(suffix)]].values))
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=name)
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_count_does_not_change_results(reference, workers):
    with dask_client(workers) as client:
        ds = run(client=client)
    assert_same(reference, ds, rtol=0)  # same chunks, same reduction order: bit for bit


@pytest.mark.parametrize("points_per_chunk, k_block", [(1, 7), (3, 1000), (20, 33)])
def test_chunking_does_not_change_results(reference, points_per_chunk, k_block):
    assert_same(reference, run(points_per_chunk=points_per_chunk, k_block=k_block), rtol=0)


def test_k_block_does_not_change_results_on_a_mesh_of_many_tiles():
    """A 128 x 128 mesh is eight tiles of K_TILE points: grouping them into tasks of 1, 3 or 7
    tiles (k_block 1000, 5000, 13000, rounded up to tiles) gives the same bits."""
    from magcore.engine import K_TILE

    mesh = bz_mesh(MODEL.reciprocal_vectors(), 128)
    assert mesh.size == 8 * K_TILE
    theta, phi = sphere_grid(3, 2)
    runs = []
    for k_block, points_per_chunk in ((1000, 6), (5000, 1), (13000, 4)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GapClosingWarning)
            runs.append(sphere_map(MODEL, theta, phi, mesh, ELECTRONS, k_block=k_block,
                                   points_per_chunk=points_per_chunk))
    for other in runs[1:]:
        assert_same(runs[0], other, rtol=0)


def test_checkpoints_resume_bit_for_bit(reference, tmp_path):
    ck = ChunkCheckpoints(tmp_path / "ck")
    first = run(points_per_chunk=3, checkpoints=ck)
    assert len(ck.finished()) == 7
    # drop some chunks as if the run had been killed, then rerun: only those are recomputed
    for c in (1, 4):
        ck.path(c).unlink()
    calls = []
    import magcore.sphere as sphere_module

    original = sphere_module.sphere_partial_sums
    sphere_module.sphere_partial_sums = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        again = run(points_per_chunk=3, checkpoints=ck)
    finally:
        sphere_module.sphere_partial_sums = original
    assert len(calls) == 2  # 2 missing chunks x 1 k-block
    assert_same(first, again, rtol=0)


@pytest.mark.workflow
def test_wte2_study_runs_with_snakemake(tmp_path, repo):
    cfg = yaml.safe_load((repo / "config" / "wte2.yaml").read_text())
    cfg.update(sphere={"n_theta": 5, "n_phi": 4}, mesh={"n_k": 12})
    (tmp_path / "wte2.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(tmp_path, "--cores", "2", "--configfile", str(tmp_path / "wte2.yaml"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    sphere = xr.open_zarr(tmp_path / "results" / "wte2" / "sphere.zarr")
    assert sphere.attrs["model_material"] == "WTe2"
    assert (tmp_path / "results" / "wte2" / "figures" / "field_induced_field_and_torque_maps.png").exists()


@pytest.mark.parametrize("points_per_chunk", [1, 3, 7, 20])
def test_concurrent_chunk_writers_never_overlap(tmp_path, points_per_chunk):
    # every chunk file records the sphere points it covers: they tile the grid exactly once
    ck = ChunkCheckpoints(tmp_path / "ck")
    with dask_client(2) as client:  # chunks finish in any order, written by the driver as they do
        run(client=client, points_per_chunk=points_per_chunk, checkpoints=ck)
    ranges = sorted(ck.point_ranges().values())
    n = len(THETA) * len(PHI)
    covered = np.zeros(n, int)
    for a, b in ranges:
        covered[a:b] += 1
    assert np.all(covered == 1), ranges
    # and the checker catches an overlap if one is written
    ck.save(999, {"x": np.zeros(1)}, points=slice(0, 2))
    with pytest.raises(RuntimeError, match="overlap"):
        ck.check_disjoint(n)
