"""Fermi scan: the chapter-2 sums at 1000 chemical potentials against one chemical potential.

One process, the same inputs, CPU time of this process (``time.process_time``), best of
``--repeat``: the six-band ``tmd`` model, every chapter-2 k-sum (Fermi sea and Fermi surface) of
a few magnetizations over an n x n mesh,

* one mu: :func:`magcore.kernels.chapter2_sums` (what a single-point study runs);
* N mu across the gap and into the bands: :class:`magcore.fermi_scan.FermiScan` (one
  eigensystem per (k, m), every mu evaluated from the deposits),

at T = 0 (exact: each mu is compared with a single-mu run, max relative difference per sum, to
the scale of the sum over the scan) and at T > 0 (Taylor moments: the difference and the stated
error bound are printed).  Targets (the parameter-sweep issue): ratio <= 3 at T = 0 and <= 5
at T > 0, relative accuracy 1e-12 at T = 0 and 1e-8 at T > 0.

    python benchmarks/fermi_scan.py [--n-k 96] [--n-m 4] [--n-mu 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per-core figures

import numpy as np  # noqa: E402

from magcore.electrons import Electrons  # noqa: E402
from magcore.fermi_scan import FermiScan  # noqa: E402
from magcore.kernels import chapter2_sums  # noqa: E402
from magcore.kmesh import bz_mesh  # noqa: E402
from magcore.models import get_model  # noqa: E402


def best_time(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def single(model, m, mesh, el, k_block):
    parts = [chapter2_sums(model, m, q, w, el) for q, w in mesh.blocks(k_block)]
    return {key: sum(p[key] for p in parts) for key in parts[0]}


def scan(model, m, mesh, el, mus, k_block):
    fs = FermiScan(model, m, el, mus)
    for q, w in mesh.blocks(k_block):
        fs.add(q, w)
    return fs.result(), fs.nbytes()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-k", type=int, default=96)
    parser.add_argument("--n-m", type=int, default=4)
    parser.add_argument("--n-mu", type=int, default=1000)
    parser.add_argument("--temperature", type=float, default=0.025, help="T of the T > 0 rows (eV)")
    parser.add_argument("--k-block", type=int, default=4096)
    parser.add_argument("--check", type=int, default=5, help="scan points compared with single-mu runs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    model = get_model("tmd")
    mesh = bz_mesh(model.reciprocal_vectors(), args.n_k)
    rng = np.random.default_rng(0)
    m = rng.normal(size=(args.n_m, 3))
    m /= np.linalg.norm(m, axis=1)[:, None]
    E = np.linalg.eigvalsh(model.hamiltonian(mesh.points[::97], np.array([0.0, 0.0, 1.0])))
    mus = np.linspace(E[:, 1].max() - 0.3, E[:, 2].min() + 0.3, args.n_mu)  # across the gap, into the bands
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"tmd, {args.n_m} magnetizations x {args.n_k}^2 k-points, {args.n_mu} mu in "
          f"[{mus[0]:.3f}, {mus[-1]:.3f}] eV")
    print(f"{'case':<34} {'1 mu s':>8} {'scan s':>8} {'ratio':>6} {'target':>6} {'max rel diff':>12} "
          f"{'max rel bound':>13} {'deposits MB':>11}")
    for label, T, target, tol in (("T = 0, smearing 0", 0.0, 3.0, 1e-12),
                                  (f"T = {args.temperature} eV", args.temperature, 5.0, 1e-8)):
        el = Electrons(chemical_potential=float(mus[0]), temperature=T)
        t1, _ = best_time(lambda: single(model, m, mesh, el, args.k_block), args.repeat)
        ts, (res, nbytes) = best_time(lambda: scan(model, m, mesh, el, mus, args.k_block), args.repeat)
        worst, wbound = 0.0, 0.0
        for j in np.linspace(0, args.n_mu - 1, args.check).astype(int):
            ref = single(model, m, mesh, Electrons(chemical_potential=float(mus[j]), temperature=T), args.k_block)
            for key, r in ref.items():
                if key == "n_degenerate":
                    assert np.array_equal(res[key][:, j], r), key
                    continue
                scale = max(np.max(np.abs(res[key])), 1e-300)
                worst = max(worst, np.max(np.abs(res[key][:, j] - r)) / scale)
                wbound = max(wbound, np.max(res[f"{key}_error_bound"]) / scale)
        ok = "ok" if ts / t1 <= target and worst <= tol else "MISSED"
        print(f"{label:<34} {t1:8.2f} {ts:8.2f} {ts / t1:6.2f} {target:6.1f} {worst:12.1e} {wbound:13.1e} "
              f"{nbytes / 2**20:11.1f}  {ok}")


if __name__ == "__main__":
    main()
