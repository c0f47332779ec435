"""Dask strong scaling of a chapter-2 sphere map: 1 -> N single-threaded workers.

The same ``tmd`` sphere map (all chapter-2 quantities, T > 0) is computed with
``magcore.cluster.dask_client(1)`` and ``dask_client(N)`` (default N = 2); the wall time of
``magcore.sphere.sphere_map`` as the sphere stage calls it (with the bands stage's Fermi-level
summary; cluster start-up excluded, numba kernels loaded from the cache by a warm-up task) gives the parallel efficiency T_1 / (N T_N).  The results must be identical
(tile sums are reduced in a fixed order).  Choose the size so that one worker takes >= 30 s.

    python benchmarks/sphere_map_scaling.py [--n-k 340] [--n-theta 16] [--n-phi 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from magcore.cluster import dask_client
from magcore.kmesh import bz_mesh
from magcore.models import get_model
from magcore.bands import fermi_level_map
from magcore.sphere import Electrons, GapClosingWarning, sphere_grid, sphere_map, sphere_partial_sums, unit_vectors


def run(n_workers, model, theta, phi, mesh, electrons, points_per_chunk, k_block, fermi_level):
    with dask_client(n_workers) as client:
        # warm-up: every worker loads the compiled kernels from the numba cache
        warm = [client.submit(sphere_partial_sums, model, np.array([[0.0, 0.0, 1.0]]), mesh.points[:8],
                              mesh.weights[:8], electrons, pure=False, workers=[w])
                for w in client.scheduler_info()["workers"]]
        client.gather(warm)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GapClosingWarning)
            ds = sphere_map(model, theta, phi, mesh, electrons, client=client, fermi_level=fermi_level,
                            points_per_chunk=points_per_chunk, k_block=k_block)
        return time.perf_counter() - t0, ds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-k", type=int, default=340, help="BZ mesh n x n")
    parser.add_argument("--n-theta", type=int, default=16)
    parser.add_argument("--n-phi", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points-per-chunk", type=int, default=16)
    parser.add_argument("--k-block", type=int, default=4096)
    args = parser.parse_args(argv)
    model = get_model("tmd")
    mesh = bz_mesh(model.reciprocal_vectors(), args.n_k)
    theta, phi = sphere_grid(args.n_theta, args.n_phi)
    electrons = Electrons(chemical_potential=1.0, temperature=0.02)
    points = mesh.size * theta.size * phi.size
    print(f"tmd sphere map: {theta.size} x {phi.size} magnetizations x {mesh.size} k-points = {points:.3e} (k, m)-points, "
          f"chunks of {args.points_per_chunk} m x blocks of {args.k_block} k")
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    # the Fermi-level summary comes from the bands stage in the pipeline: computed once, not timed
    m = unit_vectors(theta, phi).reshape(-1, 3)
    fermi_level = fermi_level_map(model, m, mesh.points, electrons.chemical_potential,
                                  electrons.fermi_surface_temperature)
    t1, ds1 = run(1, model, theta, phi, mesh, electrons, args.points_per_chunk, args.k_block, fermi_level)
    tn, dsn = run(args.workers, model, theta, phi, mesh, electrons, args.points_per_chunk, args.k_block, fermi_level)
    same = all(np.array_equal(ds1[v].values, dsn[v].values, equal_nan=True) for v in ds1.data_vars)
    eff = t1 / (args.workers * tn)
    print(f"{'workers':>8} {'wall s':>9} {'(k,m) pts/s':>12} {'speed-up':>9} {'efficiency':>11}")
    print(f"{1:>8} {t1:>9.2f} {points / t1:>12.3e} {1.0:>9.2f} {1.0:>11.2f}")
    print(f"{args.workers:>8} {tn:>9.2f} {points / tn:>12.3e} {t1 / tn:>9.2f} {eff:>11.2f}")
    print(f"results identical: {same}; load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
