"""Writes the Wannier90-format fixtures of this folder (run from anywhere: python make_fixtures.py).

The files are made here, not taken from a DFT run, in the exact formats Wannier90 3.x writes:
``km_hr.dat`` (``(5I5,2F12.6)`` lines, degeneracies ``(15I5)``), ``km_wsvec.dat`` (its MDRS shift
vectors), ``km_tb.dat`` (lattice, H(R), <0m|r|Rn>), ``km_centres.xyz``, ``km.win`` and a Quantum
ESPRESSO ``km.scf.out`` excerpt with the Fermi energy.  The material is a Kane-Mele-like
honeycomb monolayer (two sites "B" and "N" with a staggered potential, intrinsic and Rashba
spin-orbit coupling, second and third neighbours; 2 spinor Wannier functions per site, 4 in
all, in the interleaved order of Wannier90's spinor projections) in a 3D cell with 15 Angstrom
of vacuum, Wannierised as Wannier90 does on a 2 x 2 x 1 k-grid:

* H(R) = (1/N) sum_k e^{-i k.R} H(k) on the Wigner-Seitz supercell of the grid, with its
  degeneracies (Wannier90's hamiltonian_wigner_seitz: R with |R| minimal among its supercell
  images, ndegen = the number of images at that distance);
* the MDRS shifts (Wannier90's ws_translate_dist, use_ws_distance = .true.): for every R, m, n
  the supercell vectors T that make |R + T + tau_n - tau_m| minimal (all of them, when several
  tie).

On a 2 x 2 grid the first-, second- and third-neighbour hoppings alias, so the bands of the bare
_hr.dat and of _hr.dat + _wsvec.dat differ by a lot (the point of the _wsvec.dat).  Energies are
absolute (a constant 4.3 eV is added, as a DFT file's are), so the chemical potential must come
from the Fermi energy.

``km_vasp_hr.dat`` / ``km_vasp_wsvec.dat``: the same model in the spin-major order (all spin up,
then all spin down) of VASP's Wannier90 interface.  ``stack_hr.dat``: a 2D spinful model (the
same Kane-Mele monolayer, exact hoppings, no MDRS) stacked along z with an interlayer hopping
0.05 eV on R3 = +-1 (17 significant digits), with ``stack.win`` for the cell: the input of the
2D-from-3D folding test.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from magcore.models.tight_binding import TightBindingModel, hoppings_from_model, write_wannier90_hr

HERE = Path(__file__).resolve().parent
A = 2.50  # Angstrom
C = 15.0
LAT = np.array([[A, 0.0, 0.0], [A / 2, A * np.sqrt(3) / 2, 0.0], [0.0, 0.0, C]])
SITES = np.array([[1 / 3, 1 / 3, 0.5], [2 / 3, 2 / 3, 0.5]])
OFFSET = 4.3  # eV: absolute energies
GRID = (2, 2, 1)
STAMP = "30Nov2026 at 05:40:00"


def kane_mele(dim=3, offset=OFFSET):
    """Spinful (inner order) Kane-Mele-like model as a magcore hopping list."""
    t1, t2, lam, rashba, t3, M = -2.6, 0.12, 0.045, 0.03, 0.25, 0.35
    pad = (lambda R: list(R) + [0]) if dim == 3 else (lambda R: list(R))
    sx, sy = np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]])
    hops = []
    for i, j, R in [(0, 1, [0, 0]), (1, 0, [1, 0]), (1, 0, [0, 1])]:
        d = (np.array(R + [0]) + SITES[j] - SITES[i]) @ LAT  # bond vector i -> j (Cartesian)
        d = d / np.linalg.norm(d)
        hops.append((t1 * np.eye(2) + 1j * rashba * (sx * d[1] - sy * d[0]), i, j, pad(R)))  # Rashba i(s x d)_z
    soc = [t2, 0, 0, 1j * lam]
    for i, j, R in [(0, 0, [1, 0]), (1, 1, [1, -1]), (1, 1, [0, 1])]:
        hops.append((soc, i, j, pad(R)))
    for i, j, R in [(1, 1, [1, 0]), (0, 0, [1, -1]), (0, 0, [0, 1])]:
        hops.append((np.conj(soc).tolist(), i, j, pad(R)))
    for R in ([1, 1], [-1, 1], [1, -1]):  # third neighbours A -> B
        hops.append((t3, 0, 1, pad(R)))
    lat = LAT if dim == 3 else LAT[:2, :2]
    pos = SITES if dim == 3 else SITES[:, :2]
    return TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[offset + M, offset - M], hoppings=hops,
                             spin="inner")


def periodic_h(model, kfrac):
    """H in the Wannier90 gauge (no position phases): sum_R H(R) e^{i k.R}."""
    k = kfrac @ model.reciprocal_vectors()
    H = model.hamiltonian(k, np.zeros(3))
    p = np.exp(1j * (k @ model._tau.T))
    return p[..., :, None] * H * np.conj(p)[..., None, :]


def wigner_seitz(grid, lat, search=2, tol=1e-5):
    """Wannier90's Wigner-Seitz supercell points and degeneracies."""
    sup = np.array(grid)[:, None] * lat
    images = np.array(list(itertools.product(range(-search - 1, search + 2), repeat=3))) @ sup
    R, deg = [], []
    rng = [range(-search * g, search * g + 1) for g in grid]
    for n in itertools.product(*rng):
        d = np.sum((np.array(n) @ lat - images) ** 2, axis=1)
        dmin = d.min()
        i0 = len(images) // 2
        if abs(d[i0] - dmin) < tol ** 2:
            R.append(n)
            deg.append(int(np.sum(np.abs(d - dmin) < tol ** 2)))
    R, deg = np.array(R), np.array(deg)
    assert abs(np.sum(1.0 / deg) - np.prod(grid)) < 1e-8
    return R, deg


def wannierise(model, grid):
    R, deg = wigner_seitz(grid, LAT)
    ks = np.array(list(itertools.product(*[np.arange(g) / g for g in grid])))
    Hk = periodic_h(model, ks)
    ph = np.exp(-2j * np.pi * ks @ R.T)  # (nk, nR)
    HR = np.einsum("kr,kij->rij", ph, Hk) / len(ks)
    return R, HR, deg


def mdrs(R, centres_cart, grid, lat, tol=1e-5):
    """Shifts T (supercell vectors) for every (R, m, n): |R + T + tau_n - tau_m| minimal."""
    sup = np.array(grid)[:, None] * lat
    ns = np.array(list(itertools.product(range(-3, 4), repeat=3)))
    out = {}
    for r in R:
        for m in range(len(centres_cart)):
            for n in range(len(centres_cart)):
                v = r @ lat + centres_cart[n] - centres_cart[m]
                d = np.linalg.norm(v + ns @ sup, axis=1)
                best = ns[np.abs(d - d.min()) < tol] * np.array(grid)
                out[(tuple(r), m, n)] = best
    return out


def write_hr(path, R, HR, deg, order=None):
    nw = HR.shape[1]
    perm = np.arange(nw) if order is None else np.asarray(order)
    H = HR[:, perm][:, :, perm]
    lines = [f" written on {STAMP} ", f"{nw:12d}", f"{len(R):12d}"]
    lines += ["".join(f"{d:5d}" for d in deg[s:s + 15]) for s in range(0, len(deg), 15)]
    for r, h in zip(R, H):
        for i in range(nw):
            for j in range(nw):
                v = h[j, i]
                lines.append(f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{j + 1:5d}{i + 1:5d}{v.real:12.6f}{v.imag:12.6f}")
    Path(path).write_text("\n".join(lines) + "\n")


def write_wsvec(path, R, shifts, nw, order=None):
    perm = np.arange(nw) if order is None else np.asarray(order)
    lines = [f"## written on {STAMP} with use_ws_distance=.true."]
    for r in R:
        for iw in range(nw):
            for jw in range(nw):
                T = shifts[(tuple(r), int(perm[iw]), int(perm[jw]))]
                lines.append(f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{iw + 1:5d}{jw + 1:5d}")
                lines.append(f"{len(T):5d}")
                lines += [f"{t[0]:5d}{t[1]:5d}{t[2]:5d}" for t in T]
    Path(path).write_text("\n".join(lines) + "\n")


def e15(x):
    """Fortran E15.8: 0.XXXXXXXXE+YY."""
    if x == 0:
        return "  0.00000000E+00"[-15:]
    e = int(np.floor(np.log10(abs(x)))) + 1
    mant = x / 10.0 ** e
    if abs(round(abs(mant), 8)) >= 1.0:
        mant /= 10
        e += 1
    return f"{'-' if x < 0 else ' '}0.{abs(round(mant * 1e8)) :08d}E{'+' if e >= 0 else '-'}{abs(e):02d}".rjust(15)


def write_tb(path, R, HR, deg, centres_cart):
    nw = HR.shape[1]
    lines = [f" written on {STAMP}"]
    lines += ["".join(f"{x:26.16f}" for x in row) for row in LAT]
    lines += [f"{nw:12d}", f"{len(R):12d}"]
    lines += ["".join(f"{d:5d}" for d in deg[s:s + 15]) for s in range(0, len(deg), 15)]
    for r, h in zip(R, HR):
        lines += ["", f"{r[0]:5d}{r[1]:5d}{r[2]:5d}"]
        for i in range(nw):
            for j in range(nw):
                lines.append(f"{j + 1:5d}{i + 1:5d}   {e15(h[j, i].real)} {e15(h[j, i].imag)} ")
    for r in R:
        lines += ["", f"{r[0]:5d}{r[1]:5d}{r[2]:5d}"]
        for i in range(nw):
            for j in range(nw):
                pos = centres_cart[j] if (i == j and not r.any()) else np.zeros(3)
                lines.append(f"{j + 1:5d}{i + 1:5d}   " + " ".join(f"{e15(x)} {e15(0.0)}" for x in pos) + " ")
    Path(path).write_text("\n".join(lines) + "\n")


def write_centres(path, centres_cart, atoms):
    lines = [f"{len(centres_cart) + len(atoms):6d}", f" Wannier centres, written by Wannier90 on{STAMP}"]
    lines += ["X     " + "".join(f"{x:17.8f}" for x in c) for c in centres_cart]
    lines += [f"{sym:<6s}" + "".join(f"{x:17.8f}" for x in xyz) for sym, xyz in atoms]
    Path(path).write_text("\n".join(lines) + "\n")


def write_win(path, num_wann, mp_grid, *, spinors=True, fermi=None):
    lines = [f"num_wann  = {num_wann}", "num_iter  = 0", f"spinors   = {'.true.' if spinors else '.false.'}",
             "use_ws_distance = .true.", "write_hr  = .true.", "write_tb  = .true.", "write_xyz = .true.", ""]
    if fermi is not None:
        lines += [f"fermi_energy = {fermi:.6f}", ""]
    lines += ["begin unit_cell_cart", "ang"] + ["".join(f"{x:14.8f}" for x in row) for row in LAT]
    lines += ["end unit_cell_cart", "", "begin atoms_frac"]
    lines += [f"{s}  " + "".join(f"{x:14.8f}" for x in p) for s, p in zip(("B", "N"), SITES)]
    lines += ["end atoms_frac", "", "begin projections", "B: pz", "N: pz", "end projections", "",
              f"mp_grid = {mp_grid[0]} {mp_grid[1]} {mp_grid[2]}"]
    Path(path).write_text("\n".join(lines) + "\n")


def write_scf_out(path, fermi):
    Path(path).write_text(
        "\n     Program PWSCF v.7.2 starts on 30Nov2026 at  5:30:12 \n\n"
        "     End of self-consistent calculation\n\n"
        "     highest occupied, lowest unoccupied level (ev):    -9.0000   -8.0000\n\n"  # an earlier, other run
        "     convergence has been achieved in  11 iterations\n\n"
        f"     the Fermi energy is     {fermi:.4f} ev\n\n"
        "!    total energy              =     -22.84221093 Ry\n"
        "     JOB DONE.\n")


def main():
    km = kane_mele()
    R, HR, deg = wannierise(km, GRID)
    centres = np.repeat(SITES @ LAT, 2, axis=0)  # interleaved spinors: A up, A down, B up, B down
    shifts = mdrs(R, centres, GRID, LAT)
    write_hr(HERE / "km_hr.dat", R, HR, deg)
    write_wsvec(HERE / "km_wsvec.dat", R, shifts, 4)
    write_tb(HERE / "km_tb.dat", R, HR, deg, centres)
    write_centres(HERE / "km_centres.xyz", centres, [("B", SITES[0] @ LAT), ("N", SITES[1] @ LAT)])
    write_win(HERE / "km.win", 4, GRID)
    # Fermi energy: mid-gap of the model the files define (hr + wsvec), rounded as QE prints it
    from magcore.models.tight_binding import TightBindingModel as TB  # noqa: F401
    from magcore.models.wannier90 import apply_wsvec

    Rw, Hw, _ = apply_wsvec(R, np.round(HR.real, 6) + 1j * np.round(HR.imag, 6), deg, HERE / "km_wsvec.dat")
    model = TightBindingModel(lattice_vectors=LAT, hr={tuple(r): h for r, h in zip(Rw, Hw)}, spin="inner",
                              spinful=True)
    g = np.linspace(0, 1, 60, endpoint=False)
    kf = np.array([[a, b, 0.0] for a in g for b in g])
    E = np.linalg.eigvalsh(model.hamiltonian(kf @ model.reciprocal_vectors(), np.zeros(3)))
    fermi = 0.5 * (E[:, 1].max() + E[:, 2].min())
    write_scf_out(HERE / "km.scf.out", fermi)
    # the same material as VASP's interface writes it: spin-major
    outer = [0, 2, 1, 3]  # outer index s * 2 + a <- inner index 2 a + s
    write_hr(HERE / "km_vasp_hr.dat", R, HR, deg, order=outer)
    write_wsvec(HERE / "km_vasp_wsvec.dat", R, shifts, 4, order=outer)
    # a 2D model stacked in a 3D cell
    km2 = kane_mele(dim=2, offset=0.0)
    hr2 = hoppings_from_model(km2, np.zeros(3), 6)
    blocks = {tuple(r) + (0,): h / d for r, h, d in zip(hr2.R, hr2.H, hr2.ndegen)}
    blocks[(0, 0, 1)] = 0.05 * np.eye(4)
    blocks[(0, 0, -1)] = 0.05 * np.eye(4)
    # full precision (the _hr.dat layout with 17 digits), so that the folding test is exact
    write_wannier90_hr(HERE / "stack_hr.dat", blocks, header=f" written on {STAMP} ")
    write_win(HERE / "stack.win", 4, (6, 6, 1))


if __name__ == "__main__":
    main()
