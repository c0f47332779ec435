"""Berry-curvature and chapter-2 throughput: (k, m)-points per second per core.

Everything is measured in one process run on the same inputs, as CPU time of this process
(``time.process_time``: "per core", and robust against other jobs sharing the machine), best of
``--repeat`` runs:

1. Berry curvature Omega_{k_i k_j} of the occupied bands (Fermi sea, T = 0) at a few fixed
   magnetizations, as the bands stage computes it for ``bands.zarr`` (``berry_curvature_k``), for
   two-band models and the six-band ``tmd``: magcore
   (``magcore.kernels.occupied_berry_curvature_map``: d-vector closed form for two bands,
   compiled eigensolver + sum over states otherwise) against a straightforward numpy
   implementation (LAPACK eigh + einsum), with the max difference of the two.
2. ``tmd``: the full set of chapter-2 sphere-map sums (everything ``sphere_partial_sums``
   returns) at T > 0: the compiled kernel against the numpy reference
   ``magcore.sphere._sphere_partial_sums_numpy``.
3. ``tmd`` and ``qwz`` k-space Berry curvature Omega_{k_x k_y} on an N x N mesh at one m: magcore
   against PythTB (the model is rebuilt from its real-space hoppings,
   ``magcore.models.tight_binding.hoppings_from_model``, and its band energies are checked
   against magcore's) and, if installed, WannierBerri through its PythTB interface.  PythTB 2
   (``pip install --no-deps --ignore-requires-python "pythtb==2.0.2"`` on Python 3.11, see
   benchmarks/README.md) computes the same Kubo curvature at the same points (compared to
   round-off); with PythTB 1.x its plaquette Berry flux is timed instead.

    python benchmarks/berry_curvature_throughput.py [--n-k 4096] [--n-m 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per-core figures

import numpy as np  # noqa: E402

from magcore.kernels import occupied_berry_curvature_map  # noqa: E402
from magcore.linalg import eigh  # noqa: E402
from magcore.models import get_model  # noqa: E402
from magcore.models.tight_binding import hoppings_from_model  # noqa: E402
from magcore.sphere import Electrons, _sphere_partial_sums_numpy, sphere_partial_sums  # noqa: E402


def numpy_baseline(model, k, m, mu):
    """The textbook route: LAPACK eigh per matrix, einsum matrix elements, explicit sum."""
    H = model.hamiltonian(k, m)
    E, U = np.linalg.eigh(H)
    dH = model.dh_dk(k, m)
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


def best_time(fn, repeat, min_total=0.5):
    """Best CPU time of ``fn`` over at least ``repeat`` runs and at least ``min_total`` seconds
    of runs (short calls are repeated more: their minimum is otherwise at the mercy of the
    machine's noise), after a warm-up call."""
    fn()  # warm-up (numba cache load / compile, allocator)
    times = []
    out = None
    while len(times) < repeat or sum(times) < min_total:
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return max(min(times), 1e-9), out


def row(label, bands, n, t_fast, t_base, base_name, diff=None):
    d = f"{diff:>11.2e}" if diff is not None else f"{'-':>11}"
    print(f"{label:<34} {bands:>5} {n / t_fast:>13.3e} {n / t_base:>13.3e} {base_name:<14} {t_base / t_fast:>8.1f} {d}")


# -- PythTB / WannierBerri ---------------------------------------------------------------------

def _pythtb_2():
    import pythtb

    return hasattr(pythtb, "TBModel")


def pythtb_model(model, m, n_R):
    """The lattice model at magnetization m as a PythTB model (orbitals at the origin): a
    ``TBModel`` on a ``Lattice`` for PythTB 2, a ``tb_model`` for PythTB 1.x."""
    import pythtb

    hr = hoppings_from_model(model, m, n_R)
    n = hr.H.shape[-1]
    dim = model.dim
    orbitals = [[0.0] * dim for _ in range(n)]
    if _pythtb_2():
        tb = pythtb.TBModel(pythtb.Lattice(model.lattice_vectors(), orbitals, periodic_dirs="all"))
    else:
        tb = pythtb.tb_model(dim, dim, model.lattice_vectors(), orbitals)
    for R, h, deg in zip(hr.R, hr.H, hr.ndegen):
        R = [int(x) for x in R]
        h = h / deg
        nz = [x for x in R if x != 0]
        if not nz:  # on-site block: diagonal + upper triangle (PythTB adds the conjugate)
            tb.set_onsite([float(h[i, i].real) for i in range(n)])
            for i in range(n):
                for j in range(i + 1, n):
                    if abs(h[i, j]) > 0:
                        tb.set_hop(complex(h[i, j]), i, j, R)
        elif nz[0] > 0:  # one of each pair (R, -R)
            for i in range(n):
                for j in range(n):
                    if abs(h[i, j]) > 0:
                        tb.set_hop(complex(h[i, j]), i, j, R, mode="add")
    return tb


def pythtb_bands(tb, k_frac):
    """Band energies (n_k, n_bands) at reduced k-points."""
    if _pythtb_2():
        return np.sort(np.asarray(tb.solve_ham(k_frac)), axis=-1)
    return np.sort(np.asarray(tb.solve_all(k_frac)).T, axis=-1)


def _cell_centres(n_mesh):
    return (np.stack(np.meshgrid(*(2 * [np.arange(n_mesh) + 0.5]), indexing="ij"), -1) / n_mesh)


def pythtb_curvature(tb, n_mesh, occ):
    """Omega_{kx ky} of the occupied bands, times the plaquette area, on the n x n mesh.

    PythTB 2: the Kubo (sum-over-states) curvature ``TBModel.berry_curvature`` at the cell
    centres, the same quantity magcore computes (so the two agree to round-off). PythTB 1.x:
    the plaquette Berry flux of ``wf_array.berry_flux`` (agrees to O(1/n^2))."""
    import pythtb

    if _pythtb_2():
        frac = _cell_centres(n_mesh).reshape(-1, 2)
        om = tb.berry_curvature(frac, occ_idxs=list(occ), plane=(0, 1), cartesian=True)
        area = abs(np.linalg.det(np.asarray(tb.recip_lat_vecs))) / n_mesh**2
        return np.asarray(om).reshape(n_mesh, n_mesh) * area
    w = pythtb.wf_array(tb, [n_mesh + 1, n_mesh + 1])
    w.solve_on_grid([0.0, 0.0])
    return w.berry_flux(occ, individual_phases=True)


def magcore_flux(model, m, n_mesh, mu):
    """Omega_{kx ky} on the same n x n (cell-centred) mesh, times the plaquette area."""
    k = _cell_centres(n_mesh) @ model.reciprocal_vectors()
    om, _ = occupied_berry_curvature_map(model, k, m, mu, params="kk")
    area = abs(np.linalg.det(model.reciprocal_vectors())) / n_mesh**2
    return om[..., 0, 1] * area


def wannierberri_time(tb, n_mesh, mu):
    """Anomalous Hall conductivity (Berry curvature of the Fermi sea) by WannierBerri on an
    n x n x 1 grid from the PythTB model; returns (seconds of CPU, k-points)."""
    import wannierberri as wberri

    system = wberri.system.System_PythTB(tb, berry=True)
    grid = wberri.Grid(system, NK=[n_mesh, n_mesh, 1], NKFFT=[min(n_mesh, 32), min(n_mesh, 32), 1])
    calc = {"ahc": wberri.calculators.static.AHC(Efermi=np.array([mu]), tetra=False)}
    t0 = time.process_time()
    wberri.run(system, grid=grid, calculators=calc, parallel=False, print_Kpoints=False,
               use_irred_kpt=False, symmetrize=False, fout_name=os.path.join(tempfile.mkdtemp(), "wberri"))
    return time.process_time() - t0, n_mesh * n_mesh


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--two-band", nargs="+", default=["ti_surface", "rashba_fm", "qwz"])
    parser.add_argument("--n-k", type=int, default=4096)
    parser.add_argument("--n-m", type=int, default=64)
    parser.add_argument("--n-mesh", type=int, default=60, help="k mesh (n x n) of the PythTB comparison")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'quantity / model':<34} {'bands':>5} {'magcore pts/s':>13} {'base pts/s':>13} {'baseline':<14} "
          f"{'ratio':>8} {'max |diff|':>11}")

    # 1. occupied Omega_kk at fixed magnetizations (the bands stage's berry_curvature_k)
    for name in [*args.two_band, "tmd"]:
        model = get_model(name, J=0.3) if name == "qwz" else get_model(name)
        k, m = inputs(model, args.n_k, args.n_m if name != "tmd" else 4, rng)
        mu = 1.0 if name == "tmd" else 0.0
        n = k.shape[1] * m.shape[0]
        t_fast, fast = best_time(lambda: occupied_berry_curvature_map(model, k, m, mu, params="kk")[0], args.repeat)
        t_base, base = best_time(lambda: numpy_baseline(model, k, m, mu), args.repeat)
        row(f"Omega_kk (T=0) {name}", model.n_bands, n, t_fast, t_base, "numpy", np.nanmax(np.abs(fast - base)))

    # 1b. the eigensystems alone (6 x 6, tmd Hamiltonians): SIMD-lane solver vs LAPACK per matrix
    model = get_model("tmd")
    k, m = inputs(model, args.n_k, 4, rng)
    H = np.ascontiguousarray(np.broadcast_to(model.hamiltonian(k, m), (4, args.n_k, 6, 6)))
    t_fast, (E, U) = best_time(lambda: eigh(H), args.repeat)
    t_base, (E0, U0) = best_time(lambda: np.linalg.eigh(H), args.repeat)
    P = np.einsum("...ai,...bi->...iab", U, U.conj())
    P0 = np.einsum("...ai,...bi->...iab", U0, U0.conj())
    row("eigh 6x6 (tmd H), matrices/s", 6, H.shape[0] * H.shape[1], t_fast, t_base, "numpy eigh",
        max(np.max(np.abs(E - E0)), np.max(np.abs(P - P0))))

    # 2. full chapter-2 sums, tmd, T > 0 (Fermi-sea and Fermi-surface terms)
    model = get_model("tmd")
    el = Electrons(chemical_potential=1.0, temperature=0.02)
    k, m = inputs(model, args.n_k, 8, rng)
    q, w = k[0], np.full(args.n_k, 1.0 / args.n_k)
    n = q.shape[0] * m.shape[0]
    t_fast, fast = best_time(lambda: sphere_partial_sums(model, m[:, 0], q, w, el), args.repeat)
    m_ref = m[:2, 0]  # the reference needs ~1 GB per 8 x 4096 points: time a quarter of the work
    t_base, base = best_time(lambda: _sphere_partial_sums_numpy(model, m_ref, q, w, el), 1)
    diff = max(np.max(np.abs(fast[key][:2] - base[key])) / max(np.max(np.abs(base[key])), 1e-300) for key in base)
    row("chapter-2 sums (T>0) tmd", 6, n, t_fast, t_base * n / (q.shape[0] * len(m_ref)), "numpy", diff)
    print(f"{'':<34} {'':>5} (chapter-2 max |diff| is relative to the scale of each quantity)")

    # 3. k-space Berry curvature vs PythTB (and WannierBerri)
    try:
        import pythtb  # noqa: F401
        have_pythtb = True
    except ImportError:
        have_pythtb = False
        print("PythTB: not installed (pip install pythtb)")
    if have_pythtb:
        from importlib.metadata import version as _dist_version

        version = _dist_version("pythtb")  # pythtb.__version__ of 2.0.2 still says 2.0.0
        for name, params, mu, occ, n_R in (("qwz", dict(J=0.3), 0.0, [0], 4), ("tmd", {}, 1.0, [0, 1], 6)):
            model = get_model(name, **params)
            m0 = np.array([0.2, 0.3, 0.9])
            tb = pythtb_model(model, m0, n_R)
            kf = np.array([[0.1, 0.2], [0.33, 0.71], [0.5, 0.0]])
            e_ptb = pythtb_bands(tb, kf)
            e_mc = np.linalg.eigvalsh(model.hamiltonian(kf @ model.reciprocal_vectors(), m0))
            assert np.max(np.abs(e_ptb - e_mc)) < 1e-8, "PythTB model does not reproduce the bands"
            nm = args.n_mesh
            t_fast, fast = best_time(lambda: magcore_flux(model, m0, nm, mu), args.repeat)
            t_base, base = best_time(lambda: pythtb_curvature(tb, nm, occ), args.repeat)
            total = (np.sum(fast) / (2 * np.pi), np.sum(base) / (2 * np.pi))
            # PythTB 2 computes the same cell-centre Kubo curvature (round-off agreement);
            # PythTB 1's plaquette flux agrees to O(1/n^2)
            diff = np.max(np.abs(fast - base)) / np.max(np.abs(base)) if _pythtb_2() else None
            row(f"Omega_kxky {name} m fixed", model.n_bands, nm * nm, t_fast, t_base, f"PythTB {version}", diff)
            print(f"{'':<34} {'':>5} Chern number magcore {total[0]:+.4f}, PythTB {total[1]:+.4f}")
            try:
                t_wb, nk = wannierberri_time(tb, nm, mu)
                row(f"Omega_kxky {name} m fixed", model.n_bands, nm * nm, t_fast, t_wb * nm * nm / nk, "WannierBerri")
            except Exception as exc:  # noqa: BLE001 - report and go on
                print(f"{'':<34} {'':>5} WannierBerri: failed ({type(exc).__name__}: {str(exc)[:80]})")


if __name__ == "__main__":
    main()
