"""Peak memory of a 2000 x 2000 k-mesh integral at one magnetization (streamed k-blocks).

Runs ``magcore.engine.integrate_over_mesh`` for ``tmd`` (six bands, all chapter-2 sums, T > 0)
on a 2000 x 2000 Monkhorst-Pack mesh at one m in a fresh subprocess and reports its peak
resident set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the Python
interpreter, numpy/numba/xarray and the mesh itself) and the tracemalloc peak of the
integration alone (numpy allocations are traced).

    python benchmarks/memory_2000x2000.py [--n-k 2000] [--k-block 4096]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
from magcore.kmesh import bz_mesh
from magcore.models import get_model
from magcore.engine import integrate_over_mesh
from magcore.sphere import Electrons, sphere_partial_sums
n_k, k_block = int(sys.argv[1]), int(sys.argv[2])
model = get_model("tmd")
el = Electrons(chemical_potential=1.0, temperature=0.02)
m = np.array([[0.3, 0.2, 0.9]])
integrate_over_mesh(sphere_partial_sums, model, m, bz_mesh(model.reciprocal_vectors(), 4), el, k_block=k_block)  # kernels loaded
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
mesh = bz_mesh(model.reciprocal_vectors(), n_k)
rss_mesh = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
t0 = time.perf_counter()
out = integrate_over_mesh(sphere_partial_sums, model, m, mesh, el, k_block=k_block, progress_every=1e9)
dt = time.perf_counter() - t0
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"k_points": mesh.size, "seconds": dt, "rss_before_mesh_MiB": rss_before / 1024,
                  "rss_after_mesh_MiB": rss_mesh / 1024,
                  "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tracemalloc_peak_integration_MiB": peak / 2**20,
                  "mesh_MiB": (mesh.points.nbytes + mesh.weights.nbytes) / 2**20,
                  "omega_mm_xy": float(out["sea_curvature"][0, model.dim, model.dim + 1]), "n_degenerate": int(out["n_degenerate"][0])}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-k", type=int, default=2000)
    parser.add_argument("--k-block", type=int, default=4096)
    args = parser.parse_args(argv)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(args.n_k), str(args.k_block)],
                          capture_output=True, text=True, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode:
        sys.exit(proc.stderr)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{args.n_k} x {args.n_k} mesh ({r['k_points']:.3e} k-points), tmd, one m, k-blocks of {args.k_block}")
    print(f"{'wall s':>8} {'k pts/s':>10} {'mesh MiB':>9} {'RSS before mesh':>16} {'peak RSS MiB':>13} "
          f"{'tracemalloc peak MiB':>21} {'< 1 GiB':>8}")
    print(f"{r['seconds']:>8.1f} {r['k_points'] / r['seconds']:>10.3e} {r['mesh_MiB']:>9.1f} {r['rss_before_mesh_MiB']:>16.1f} "
          f"{r['peak_rss_MiB']:>13.1f} {r['tracemalloc_peak_integration_MiB']:>21.1f} {str(r['peak_rss_MiB'] < 1024):>8}")


if __name__ == "__main__":
    main()
