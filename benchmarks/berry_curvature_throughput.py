"""Berry-curvature map throughput: (k, m)-points per second per core.

Compares, in one process run on the same inputs, magcore's kernel (closed-form eigensystems
for two-band models) against a straightforward numpy implementation (per-batch
numpy.linalg.eigh plus einsum matrix elements), and checks that both give the same numbers.

    python benchmarks/berry_curvature_throughput.py [--models ti_surface tmd] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per-core figures

import numpy as np  # noqa: E402

from magcore.bands import eigensystem  # noqa: E402
from magcore.geometry import matrix_elements, occupied_berry_curvature  # noqa: E402
from magcore.models import MODELS, get_model  # noqa: E402
from magcore.occupation import fermi_dirac  # noqa: E402


def magcore_omega_mm(model, k, m, mu):
    E, U = eigensystem(model, k, m)
    A = matrix_elements(U, model.dh_dm(k, m))
    return occupied_berry_curvature(E, fermi_dirac(E, mu, 0.0), A)[0]


def numpy_baseline(model, k, m, mu):
    """The textbook route: LAPACK eigh per matrix, einsum matrix elements, explicit sum."""
    H = model.hamiltonian(k, m)
    E, U = np.linalg.eigh(H)
    dH = model.dh_dm(k, m)
    A = np.einsum("...an,...pab,...bl->...pnl", U.conj(), dH, U)
    f = (E < mu).astype(float)
    dE = E[..., :, None] - E[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(dE != 0, 1.0 / dE**2, 0.0)
    band = -2 * np.einsum("...inl,...jln,...nl->...ijn", A, A, w).imag
    return np.einsum("...ijn,...n->...ij", band, f)


def inputs(model, n_k, n_m, rng):
    if model.domain == "lattice":
        k = rng.uniform(-np.pi, np.pi, (1, n_k, model.dim)) / 3.0
    else:
        k = rng.normal(size=(1, n_k, model.dim))
    mh = rng.normal(size=(n_m, 1, 3))
    return k, mh / np.linalg.norm(mh, axis=-1, keepdims=True)


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[n for n in ("ti_surface", "tmd") if n in MODELS])
    parser.add_argument("--n-k", type=int, default=4096)
    parser.add_argument("--n-m", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"{'model':<12} {'bands':>5} {'magcore pts/s':>15} {'numpy pts/s':>13} {'ratio':>7} {'max |diff|':>11}")
    for name in args.models:
        model = get_model(name)
        k, m = inputs(model, args.n_k, args.n_m, rng)
        mu = 0.0 if name != "tmd" else 1.0
        n = k.shape[1] * m.shape[0]
        t_fast, fast = best_time(lambda: magcore_omega_mm(model, k, m, mu), args.repeat)
        t_base, base = best_time(lambda: numpy_baseline(model, k, m, mu), args.repeat)
        diff = np.nanmax(np.abs(fast - base))
        print(f"{name:<12} {model.n_bands:>5} {n / t_fast:>15.3e} {n / t_base:>13.3e} {t_base / t_fast:>7.2f} {diff:>11.2e}")


if __name__ == "__main__":
    main()
