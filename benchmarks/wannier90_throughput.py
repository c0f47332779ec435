"""Throughput of all chapter-2 sums of a Wannier90 model against WannierBerri's AHC, per (k, m).

Real files made by others (not shipped; looked for in ``--cache``, downloaded there when the
network allows):

* GaAs, 16 spinor Wannier functions, ``GaAs_tb.dat`` of WannierBerri's test data
  (github.com/wannier-berri/wannier-berri, tests/data/GaAs_Wannier90/GaAs_tb.dat.tar.gz; GPL-2.0);
  Fermi energy 7.9366 eV (its GaAs.win); a 3D mesh n x n x n.
* 1T'-MoS2, 48 spinor Wannier functions, ``wannier90_hr.dat`` of the WannierTools examples
  (github.com/quanshengwu/wannier_tools, examples/MoS2-1Tp/wannier90_hr.dat.tar.gz; GPL-3.0);
  E_FERMI = -3.60 eV (its wt.in); folded to 2D (a3 is the vacuum direction), an n x n mesh.

magcore: :func:`magcore.kernels.chapter2_sums` (every k-sum of the sphere stage) on the full
mesh for ``--n-m`` magnetizations at once (as one sphere chunk) and for one, exchange J = 0.5 eV
on every orbital, T = 0.01 eV.  WannierBerri: ``calculators.static.AHC`` (Fermi-sea Berry
curvature) at the same mu on the same mesh, with its fastest serial settings found here:
``parallel=False``, ``use_irred_kpt=False``, ``symmetrize=False``, ``external_terms=False``,
the FFT library ``fftw`` (pyfftw) when installed, and the FFT grid (NKFFT) that is fastest
among a few divisors of the mesh.  Runs alternate (magcore, WannierBerri, magcore, ...); times
are CPU seconds of this process (``time.process_time``) with one BLAS/numba thread.

``--crossover``: the batched-LAPACK path against the SIMD-lane path of the chapter-2 sums for
random spinful models of n bands (the table behind ``magcore.kernels.BATCHED_MIN_BANDS``), and
the per-axis phase product against FFT (``magcore.models.bloch_grid.FFT_MIN_EXTENT``).

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
        python benchmarks/wannier90_throughput.py --repeat 3 --crossover
"""

from __future__ import annotations

import argparse
import io
import os
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

SOURCES = {
    "GaAs_tb.dat": ("https://raw.githubusercontent.com/wannier-berri/wannier-berri/master/tests/data/"
                    "GaAs_Wannier90/GaAs_tb.dat.tar.gz", "GaAs_tb.dat"),
    "MoS2_1Tp_hr.dat": ("https://raw.githubusercontent.com/quanshengwu/wannier_tools/master/examples/"
                        "MoS2-1Tp/wannier90_hr.dat.tar.gz", "wannier90_hr.dat"),
}
MOS2_LATTICE = [[3.1770280, 0.0, 0.0], [0.0, 5.7281689, 0.0], [0.0, 0.0, 30.2151820]]
"""The cell of the MoS2 example's wannier90.win with the small tilts of a2 (0.016 A along z) and
a3 (0.38 A along y) dropped, so that the file folds to 2D (energies do not depend on it)."""

CASES = {  # name: file, Fermi energy (eV), dimension
    "GaAs (16 bands)": ("GaAs_tb.dat", 7.9366, 3),
    "1T'-MoS2 (48 bands)": ("MoS2_1Tp_hr.dat", -3.60, 2),
}


def fetch(cache: Path, name: str) -> Path:
    path = cache / name
    if path.is_file():
        return path
    url, member = SOURCES[name]
    cache.mkdir(parents=True, exist_ok=True)
    try:
        data = urllib.request.urlopen(url, timeout=30).read()
    except OSError as exc:
        raise SystemExit(f"{name} is not in {cache} and cannot be downloaded ({exc}); get {url}, "
                         f"unpack {member} and save it as {path}") from None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        path.write_bytes(tar.extractfile(member).read())
    return path


def magcore_model(path: Path, J: float = 0.5):
    from magcore.models.tight_binding import TightBindingModel

    if path.name.endswith("_tb.dat"):  # the GaAs file breaks time reversal too much for spin: auto
        return TightBindingModel(source={"tb_dat": str(path), "spin": "inner", "spinful": True, "J": J})
    return TightBindingModel(source={"hr_dat": str(path), "spin": "auto", "spinful": True, "J": J,
                                     "lattice_vectors": MOS2_LATTICE, "dimension": 2})


def magcore_time(model, n_k: int, n_m: int, mu: float) -> float:
    """CPU seconds of every chapter-2 k-sum over the n_k^dim mesh at n_m magnetizations."""
    from magcore.electrons import Electrons
    from magcore.kernels import chapter2_sums
    from magcore.kmesh import bz_mesh

    mesh = bz_mesh(model.reciprocal_vectors(), n_k)
    m = np.random.default_rng(7).normal(size=(n_m, 3))
    m /= np.linalg.norm(m, axis=1)[:, None]
    el = Electrons(chemical_potential=mu, temperature=0.01)
    t0 = time.process_time()
    chapter2_sums(model, m, mesh.points, mesh.weights, el)
    return time.process_time() - t0


def wannierberri_system(path: Path):
    import wannierberri as wberri  # noqa: F401

    if path.name.endswith("_tb.dat"):
        from wannierberri.system.system_tb import get_system_tb

        return get_system_tb(str(path), berry=False)
    from wannierberri.system.system_hr import get_system_hr

    seed = str(path)[: -len("_hr.dat")]
    return get_system_hr(seed, wannier_centers_cart=np.zeros((48, 3)), real_lattice=np.array(MOS2_LATTICE))


def wannierberri_time(system, NK, NKFFT, mu: float, fftlib: str) -> float:
    import wannierberri as wberri

    grid = wberri.Grid(system, NK=list(NK), NKFFT=list(NKFFT))
    calc = {"ahc": wberri.calculators.static.AHC(Efermi=np.array([mu]), tetra=False,
                                                  kwargs_formula={"external_terms": False})}
    t0 = time.process_time()
    wberri.run(system, grid=grid, calculators=calc, parallel=False, print_Kpoints=False, use_irred_kpt=False,
               symmetrize=False, fout_name=os.path.join(tempfile.mkdtemp(), "wberri"),
               parameters_K={"fftlib": fftlib})
    return time.process_time() - t0


def throughput(args) -> None:
    import logging

    logging.getLogger("wannierberri").setLevel(logging.WARNING)
    try:
        import pyfftw  # noqa: F401
        fftlib = "fftw"
    except ImportError:
        fftlib = "numpy"
    print("| material | mesh | magcore m per call | magcore (k, m)/s | WannierBerri AHC k/s | WB NKFFT | ratio |")
    print("|---|---|---|---|---|---|---|")
    for label, (name, mu, dim) in CASES.items():
        path = fetch(args.cache, name)
        model = magcore_model(path)
        n_k = args.n_k_2d if dim == 2 else args.n_k_3d
        NK = (n_k, n_k, 1) if dim == 2 else (n_k,) * 3
        K = int(np.prod(NK))
        system = wannierberri_system(path)
        # WannierBerri's fastest FFT grid among a few divisors of the mesh
        choices = sorted({tuple(min(x, d) if x > 1 else 1 for x in NK) for d in (4, 8, 12, 16, 24, n_k)
                          if n_k % d == 0 or d == n_k})
        wb_best = {c: wannierberri_time(system, NK, c, mu, fftlib) for c in choices}
        nkfft = min(wb_best, key=wb_best.get)
        magcore_time(model, 8, 1, mu)  # compile / load the kernels
        for n_m in (args.n_m, 1):
            t_mc, t_wb = [], []
            for _ in range(args.repeat):  # paired, alternating
                t_mc.append(magcore_time(model, n_k, n_m, mu) / n_m)
                t_wb.append(wannierberri_time(system, NK, nkfft, mu, fftlib))
            r_mc, r_wb = K / min(t_mc), K / min(t_wb)
            ratios = [b / a for a, b in zip(t_mc, t_wb)]
            print(f"| {label} | {'x'.join(map(str, NK))} | {n_m} | {r_mc:.3g} | {r_wb:.3g} | "
                  f"{'x'.join(map(str, nkfft))} ({fftlib}) | {min(ratios):.2f}-{max(ratios):.2f} |", flush=True)


def random_model(n_orb: int, rng):
    """A spinful random tight-binding model with n = 2 n_orb bands on a square lattice (nearest
    and next-nearest hoppings, spin-orbit-like complex terms), exchange J = 0.3."""
    from magcore.models.tight_binding import TightBindingModel

    n = 2 * n_orb
    h0 = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    hr = {(0, 0): 0.5 * (h0 + h0.conj().T)}
    for R in [(1, 0), (0, 1), (1, 1), (1, -1), (2, 0), (0, 2)]:
        h = 0.3 * (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
        hr[R] = h
        hr[tuple(-r for r in R)] = h.conj().T
    return TightBindingModel(lattice_vectors=[[1, 0], [0, 1]], hr=hr, spin="outer", spinful=True, J=0.3,
                             hermitian_tol=1e-9)


def crossover(args) -> None:
    import magcore.kernels as kn
    import magcore.models.bloch_grid as bg
    from magcore.electrons import Electrons
    from magcore.kmesh import bz_mesh

    rng = np.random.default_rng(3)
    print("\n| bands | SIMD lanes us/(k, m) | batched LAPACK us/(k, m) | lanes / batched |")
    print("|---|---|---|---|")
    default = kn.BATCHED_MIN_BANDS
    for n_orb in (4, 6, 8, 12, 16, 24):
        model = random_model(n_orb, rng)
        mesh = bz_mesh(model.reciprocal_vectors(), 32)
        m = np.array([[0.0, 0.6, 0.8], [0.6, 0.0, 0.8], [0.0, 0.0, 1.0], [0.8, 0.6, 0.0]])
        E = np.linalg.eigvalsh(model.hamiltonian(mesh.points[:64], m[0]))
        el = Electrons(chemical_potential=float(np.median(E)), temperature=0.01)
        times = {"lanes": [], "batched": []}
        for path in ("lanes", "batched") * (args.repeat + 1):
            kn.BATCHED_MIN_BANDS = 1 if path == "batched" else 10**9
            t0 = time.process_time()
            kn.chapter2_sums(model, m, mesh.points, mesh.weights, el)
            times[path].append((time.process_time() - t0) / (len(m) * mesh.size) * 1e6)
        a, b = min(times["lanes"][1:]), min(times["batched"][1:])  # the first run compiles
        print(f"| {model.n_bands} | {a:.1f} | {b:.1f} | {a / b:.2f} |", flush=True)
    kn.BATCHED_MIN_BANDS = default
    print("\n| R extent r | axis points N | phase product ms | FFT ms |")
    print("|---|---|---|---|")
    for N in (48, 96):
        F = (np.arange(N) + 0.5) / N
        for r in (8, 16, 24, 32, 48, 64):
            A = rng.normal(size=(1, r, N, 256)) + 0j
            res = {}
            for ext in (10**9, 1):
                bg.FFT_MIN_EXTENT = ext
                best = np.inf
                for _ in range(3):
                    t0 = time.process_time()
                    bg._axis_transform(A, 1, -(r // 2), F)
                    best = min(best, time.process_time() - t0)
                res[ext] = best * 1e3
            print(f"| {r} | {N} | {res[10**9]:.1f} | {res[1]:.1f} |")
    bg.FFT_MIN_EXTENT = 48


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "magcore-benchmarks" / "wannier90")
    parser.add_argument("--n-k-2d", type=int, default=48)
    parser.add_argument("--n-k-3d", type=int, default=16)
    parser.add_argument("--n-m", type=int, default=8, help="magnetizations per call (one sphere chunk)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--crossover", action="store_true")
    parser.add_argument("--no-throughput", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_throughput:
        throughput(args)
    if args.crossover:
        crossover(args)


if __name__ == "__main__":
    main()
