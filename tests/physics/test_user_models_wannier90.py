"""A user's material from Wannier90 files: _wsvec.dat (MDRS), _tb.dat, the sparse format, the
spin ordering, time-reversal symmetrisation, per-orbital exchange and 2D folding.

The fixtures (tests/data/wannier90, written by its make_fixtures.py in Wannier90's formats) are
a Kane-Mele-like honeycomb monolayer Wannierised on a 2 x 2 x 1 grid: there the MDRS shifts of
the _wsvec.dat change the bands by eV, so reading it or not is plainly visible.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from magcore.bands import eigensystem
from magcore.geometry import berry_curvature, matrix_elements
from magcore.kmesh import bz_mesh
from magcore.models import PAULI
from magcore.models.tight_binding import TightBindingModel, read_wannier90_hr
from magcore.models.wannier90 import read_sparse_hr, write_sparse_hr

DATA = Path(__file__).resolve().parents[1] / "data" / "wannier90"
KM = {"hr_dat": str(DATA / "km_hr.dat"), "spin": "auto", "spinful": True}
RNG = np.random.default_rng(18)


def fixtures_module():
    spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_fixtures", mod)
    spec.loader.exec_module(mod)
    return mod


def random_k(model, n=40):
    kf = RNG.uniform(-0.5, 0.5, (n, model.dim))
    return kf, kf @ model.reciprocal_vectors()


def bands(model, k, m=(0.0, 0.0, 0.0)):
    return np.linalg.eigvalsh(model.hamiltonian(k, np.asarray(m, float)))


def reference_mdrs_hamiltonian(hr_path, wsvec_path, kfrac):
    """H(k) straight from the two files, line by line (an implementation independent of
    magcore's readers): H_mn(k) = sum_R H_mn(R) / (ndegen(R) N_mnR) sum_T exp(2 pi i k.(R + T))."""
    lines = Path(hr_path).read_text().splitlines()
    nw, nrpts = int(lines[1]), int(lines[2])
    deg, i = [], 3
    while len(deg) < nrpts:
        deg += [int(x) for x in lines[i].split()]
        i += 1
    r_of = {}
    H = np.zeros((len(kfrac), nw, nw), complex)
    elems = {}
    for line in lines[i:]:
        r1, r2, r3, m, n, re, im = line.split()
        R = (int(r1), int(r2), int(r3))
        r_of.setdefault(R, len(r_of))
        elems[(R, int(m) - 1, int(n) - 1)] = complex(float(re), float(im)) / deg[r_of[R]]
    ws = Path(wsvec_path).read_text().splitlines()[1:]
    j = 0
    while j < len(ws):
        r1, r2, r3, m, n = (int(x) for x in ws[j].split())
        nT = int(ws[j + 1])
        Ts = [np.array([int(x) for x in ws[j + 2 + q].split()]) for q in range(nT)]
        R = np.array([r1, r2, r3])
        phase = sum(np.exp(2j * np.pi * kfrac @ (R + T)) for T in Ts) / nT
        H[:, m - 1, n - 1] += elems[((r1, r2, r3), m - 1, n - 1)] * phase
        j += 2 + nT
    return H


# -- _wsvec.dat ----------------------------------------------------------------------------------------

def test_wsvec_is_read_and_gives_the_bands_of_an_independent_mdrs_sum():
    model = TightBindingModel(source=KM)
    assert model.provenance["wsvec"]["applied"] and model.provenance["wsvec"]["elements_shifted"] > 0
    kf, k = random_k(model)
    Href = reference_mdrs_hamiltonian(DATA / "km_hr.dat", DATA / "km_wsvec.dat", kf)
    assert np.allclose(model.hamiltonian(k, np.zeros(3)), Href, atol=1e-12, rtol=0)
    # without the _wsvec.dat the same _hr.dat gives other bands (by eV on this 2 x 2 grid) ...
    bare = TightBindingModel(lattice_vectors=model.lattice_vectors(), hr=read_wannier90_hr(DATA / "km_hr.dat"),
                             spin="inner", spinful=True)
    assert np.abs(bands(model, k) - bands(bare, k)).max() > 0.5
    # ... and the same on the Wannierisation grid, where every shift T (a supercell vector) is a phase 1
    grid = np.array([[a, b, 0.0] for a in (0, 0.5) for b in (0, 0.5)])
    kg = grid @ model.reciprocal_vectors()
    assert np.allclose(model.hamiltonian(kg, np.zeros(3)), bare.hamiltonian(kg, np.zeros(3)), atol=1e-12)


def test_wsvec_bands_equal_tbmodels_to_1e_10_ev():
    tbmodels = pytest.importorskip("tbmodels", reason="TBmodels (pip install tbmodels) is the peer reader")
    model = TightBindingModel(source=KM)
    peer = tbmodels.Model.from_wannier_files(hr_file=str(DATA / "km_hr.dat"), wsvec_file=str(DATA / "km_wsvec.dat"),
                                             uc=model.lattice_vectors())
    kf, k = random_k(model, n=60)
    ours = bands(model, k)
    theirs = np.array(peer.eigenval(kf))
    assert np.abs(ours - theirs).max() < 1e-10
    # TBmodels without the _wsvec.dat agrees with the bare file, not with ours
    peer_bare = tbmodels.Model.from_wannier_files(hr_file=str(DATA / "km_hr.dat"), uc=model.lattice_vectors())
    assert np.abs(np.array(peer_bare.eigenval(kf)) - ours).max() > 0.5


def test_tb_dat_sparse_and_hr_dat_are_the_same_model(tmp_path):
    hr = TightBindingModel(source={**KM, "positions": "centres"})
    tb = TightBindingModel(source={"tb_dat": str(DATA / "km_tb.dat"), "spin": "auto", "spinful": True,
                                   "positions": "centres"})
    # lattice from km.win resp. km_tb.dat, centres from km_centres.xyz resp. the <0n|r|0n> of km_tb.dat
    assert np.allclose(hr.lattice_vectors(), tb.lattice_vectors(), atol=1e-8)
    assert np.allclose(hr.positions(), [[1 / 3, 1 / 3, 0.5]] * 2 + [[2 / 3, 2 / 3, 0.5]] * 2, atol=1e-7)
    assert np.allclose(tb.positions(), hr.positions(), atol=1e-7)
    kf, k = random_k(hr)
    # _tb.dat has 8 significant digits, _hr.dat 6 decimals
    assert np.allclose(tb.hamiltonian(k, np.zeros(3)), hr.hamiltonian(k, np.zeros(3)), atol=2e-5)
    # the sparse format: the same elements, zeros left out
    raw = read_wannier90_hr(DATA / "km_hr.dat")
    write_sparse_hr(tmp_path / "sp_hr.dat", raw.R, raw.H, raw.ndegen, drop_tol=1e-12)
    R, H, deg = read_sparse_hr(tmp_path / "sp_hr.dat")
    assert len((tmp_path / "sp_hr.dat").read_text().splitlines()) < 4 + 1 + raw.H.size  # sparse indeed
    dense = {tuple(r): h / d for r, h, d in zip(raw.R, raw.H, raw.ndegen)}
    assert all(np.allclose(h / d, dense[tuple(r)], atol=0) for r, h, d in zip(R, H, deg))
    (tmp_path / "sp_wsvec.dat").write_text((DATA / "km_wsvec.dat").read_text())
    (tmp_path / "sp.win").write_text((DATA / "km.win").read_text())
    sp = TightBindingModel(source={"sparse_hr_dat": str(tmp_path / "sp_hr.dat"), "spin": "inner", "spinful": True})
    plain = TightBindingModel(source={**KM})
    assert np.allclose(sp.hamiltonian(k, np.zeros(3)), plain.hamiltonian(k, np.zeros(3)), atol=1e-14)


# -- spin ordering -------------------------------------------------------------------------------------

def test_spin_ordering_is_detected_by_time_reversal():
    inner = TightBindingModel(source={**KM, "J": 0.2})
    vasp = TightBindingModel(source={"hr_dat": str(DATA / "km_vasp_hr.dat"), "spin": "auto", "spinful": True,
                                     "lattice_vectors": inner.lattice_vectors().tolist(), "J": 0.2})
    assert (inner.spin, vasp.spin) == ("inner", "outer")
    # the right ordering: the input is time-reversal symmetric to round-off, the wrong one by eV
    p = inner.provenance
    assert p["time_reversal_asymmetry_inner"] < 1e-9 < 1.0 < p["time_reversal_asymmetry_outer"]
    # the two files are one material: with the exchange on, the same bands at every k and m
    kf, k = random_k(inner)
    m = RNG.normal(size=(len(k), 3))
    assert np.allclose(bands(inner, k, m), bands(vasp, k, m), atol=1e-12)
    # the exchange is J s on every orbital in the detected ordering (spin-major: s (x) 1)
    assert np.allclose(vasp.dh_dm(k[:1], m[:1])[0], 0.2 * np.stack([np.kron(s, np.eye(2)) for s in PAULI[1:]]))


def test_a_declared_spin_ordering_that_fails_the_check_is_refused_with_both_asymmetries():
    with pytest.raises(ValueError) as err:
        TightBindingModel(source={"hr_dat": str(DATA / "km_vasp_hr.dat"), "spin": "inner", "spinful": True,
                                  "lattice_vectors": np.eye(3).tolist()})
    msg = str(err.value)
    assert "\n" not in msg and "spin = 'inner' fails the time-reversal check" in msg
    assert "= 0 for outer" in msg and "5.2 for inner" in msg and "use spin: outer" in msg
    # a declared ordering that passes is kept
    assert TightBindingModel(source={**KM, "spin": "inner"}).spin == "inner"


def test_spin_auto_refuses_to_guess_when_time_reversal_cannot_tell():
    # a spinful model that breaks time reversal in both readings equally (random hoppings)
    n = 4
    h = RNG.normal(size=(n, n)) + 1j * RNG.normal(size=(n, n))
    hr = {(0,): h + h.conj().T, (1,): RNG.normal(size=(n, n)) + 1j * RNG.normal(size=(n, n))}
    hr[(-1,)] = hr[(1,)].conj().T
    with pytest.raises(ValueError, match="cannot tell the spin ordering.*declare spin: outer or inner"):
        TightBindingModel(lattice_vectors=[[1.0]], hr=hr, spin="auto", spinful=True)


# -- time reversal ------------------------------------------------------------------------------------------

def test_time_reversal_symmetrisation_restores_it_and_leaves_a_symmetric_input_alone():
    base = TightBindingModel(source=KM)
    hr = base.hoppings().as_dict()
    # a TR-odd perturbation: a Zeeman field b . s on every orbital (inner ordering) and an
    # imaginary spin-independent hopping i c (a flux)
    b = np.array([0.03, -0.02, 0.05])
    zeeman = np.kron(np.eye(2), np.einsum("a,aij->ij", b, PAULI[1:]))
    odd = {R: h.copy() for R, h in hr.items()}
    odd[(0, 0, 0)] = odd[(0, 0, 0)] + zeeman
    flux = 0.04j * np.kron(np.array([[0, 1], [0, 0]]), np.eye(2))
    odd[(1, 0, 0)] = odd[(1, 0, 0)] + flux
    odd[(-1, 0, 0)] = odd[(-1, 0, 0)] + flux.conj().T
    lat = base.lattice_vectors()
    broken = TightBindingModel(lattice_vectors=lat, hr=odd, spin="inner", spinful=True)
    fixed = TightBindingModel(lattice_vectors=lat, hr=odd, spin="inner", spinful=True, time_reversal="symmetrize")
    same = TightBindingModel(source={**KM, "time_reversal": "symmetrize"})
    # the measured asymmetry is the analytic one: |H - Theta H Theta^-1| = 2 |b . s| elements, 2 |c|
    expected = max(2 * np.abs(np.einsum("a,aij->ij", b, PAULI[1:])).max(), 2 * 0.04)
    assert abs(broken.provenance["input_time_reversal_asymmetry"] - expected) < 1e-12
    # symmetrising removes exactly the odd part, and changes a symmetric input by nothing
    kf, k = random_k(base)
    assert np.allclose(fixed.hamiltonian(k, np.zeros(3)), base.hamiltonian(k, np.zeros(3)), atol=1e-14)
    assert np.array_equal(same.hamiltonian(k, np.zeros(3)), base.hamiltonian(k, np.zeros(3)))
    assert same.provenance["time_reversal"] == "symmetrize"
    # time reversal restored: E(k) = E(-k) and Kramers pairs at the time-reversal-invariant k
    for model, ok in ((broken, False), (fixed, True)):
        symmetric = np.allclose(bands(model, k), bands(model, -k), atol=1e-10)
        trim = np.array([[0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0.5, 0.5, 0]]) @ model.reciprocal_vectors()
        E = bands(model, trim)
        kramers = np.allclose(E[:, 0::2], E[:, 1::2], atol=1e-10)
        assert symmetric == ok and kramers == ok


# -- exchange on selected orbitals ----------------------------------------------------------------------------

def test_exchange_on_selected_orbitals_by_index_atom_and_place():
    by_atom = TightBindingModel(source={**KM, "exchange": [{"atom": "B", "J": 0.3}, {"atom": "N", "J": -0.1}]})
    by_index = TightBindingModel(source={**KM, "exchange": [{"orbitals": [0], "J": 0.3}, {"orbitals": [1], "J": -0.1}]})
    by_place = TightBindingModel(source={**KM, "exchange": [{"near": [1 / 3, 1 / 3, 0.5], "radius": 0.2, "J": 0.3},
                                                            {"atom": 1, "J": -0.1}]})
    # the same operator three ways: sum_a J_a s (x) |a><a| (inner ordering: orbital (x) spin)
    X = np.stack([np.kron(np.diag([0.3, -0.1]), s) for s in PAULI[1:]])
    for model in (by_atom, by_index, by_place):
        assert np.allclose(model.exchange_coupling(), X, atol=0)
        assert model.provenance["exchange_J_per_orbital"] == [0.3, -0.1]
    # an independent construction: the same hoppings with the spin operators given explicitly
    base = TightBindingModel(source=KM)
    explicit = TightBindingModel(lattice_vectors=base.lattice_vectors(), hr=base.hoppings().as_dict(),
                                 spin=X, J=1.0)
    kf, k = random_k(base)
    m = RNG.normal(size=(len(k), 3))
    assert np.allclose(by_atom.hamiltonian(k, m), explicit.hamiltonian(k, m), atol=1e-13)
    assert np.allclose(by_atom.dh_dm(k, m), explicit.dh_dm(k, m), atol=0)


def test_per_orbital_exchange_splits_isolated_orbitals_by_2_J_m():
    # two orbitals with no hopping between them: each spin doublet e_a +- J_a |m| exactly
    eps = [0.7, -0.4]
    hr = {(0,): np.kron(np.diag(eps), np.eye(2)),
          (1,): np.kron(np.diag([0.1, 0.05]), np.eye(2))}
    hr[(-1,)] = hr[(1,)].T
    model = TightBindingModel(lattice_vectors=[[2.0]], hr=hr, spin="inner", spinful=True,
                              exchange=[{"orbitals": [0], "J": 0.25}, {"orbitals": [1], "J": 0.05}])
    k = np.linspace(-np.pi, np.pi, 9)[:, None] / 2.0
    m = 1.7 * np.array([0.6, 0.0, 0.8])
    E = bands(model, k, m)
    disp = np.stack([e + 2 * t * np.cos(2.0 * k[:, 0]) for e, t in zip(eps, (0.1, 0.05))], axis=-1)
    expected = np.sort(np.concatenate([disp[:, :1] + s * 0.25 * 1.7 for s in (-1, 1)]
                                      + [disp[:, 1:] + s * 0.05 * 1.7 for s in (-1, 1)], axis=1), axis=1)
    assert np.allclose(E, expected, atol=1e-12)


def test_exchange_selection_errors():
    with pytest.raises(ValueError, match="no atom 'Fe'; the atoms are B, N"):
        TightBindingModel(source={**KM, "exchange": [{"atom": "Fe", "J": 0.1}]})
    with pytest.raises(ValueError, match="orbital 0 is already selected by exchange\\[0\\]"):
        TightBindingModel(source={**KM, "exchange": [{"orbitals": [0], "J": 0.1}, {"atom": "B", "J": 0.2}]})
    with pytest.raises(ValueError, match="J = 0.1 and exchange are both given"):
        TightBindingModel(source={**KM, "J": 0.1, "exchange": [{"orbitals": [0], "J": 0.1}]})


# -- 2D from 3D -----------------------------------------------------------------------------------------------

def chern_and_hall(model, m, n_k=36, n_occ=2):
    """Chern number of the lower n_occ bands and the Hall-type integral sum_k w_k Omega_xy
    (per area for a 2D model: w_k carry 1/(2 pi)^2 and sum to 1/area)."""
    mesh = bz_mesh(model.reciprocal_vectors(), n_k)
    E, U = eigensystem(model, mesh.points, np.asarray(m))
    A = matrix_elements(U, model.dh_dk(mesh.points, np.asarray(m)))
    omega, degenerate = berry_curvature(E, A)
    assert not degenerate.any()
    occ = omega[:, :n_occ, 0, 1].sum(axis=1)
    return 2 * np.pi * float(np.sum(mesh.weights * occ)), float(np.sum(mesh.weights * occ)), mesh


def test_a_2d_model_stacked_in_a_3d_cell_folds_back_to_the_2d_model():
    fx = fixtures_module()
    spec = {"hr_dat": str(DATA / "stack_hr.dat"), "spin": "auto", "spinful": True, "dimension": 2,
            "exchange": [{"orbitals": [0, 1], "J": 0.4}]}
    folded = TightBindingModel(source=spec)
    assert folded.dim == 2 and folded.lattice_vectors().shape == (2, 2)
    assert abs(folded.provenance["folded_to_2d"]["max_interlayer_hopping"] - 0.05) < 1e-12
    # the 2D model itself (exact hoppings) with the k_z = 0 sum of the interlayer hopping, 2 x 0.05
    km2 = fx.kane_mele(dim=2, offset=0.1)
    ref = TightBindingModel(lattice_vectors=km2.lattice_vectors(), hr=km2.hoppings().as_dict(), spin="inner",
                            spinful=True, exchange=[{"orbitals": [0, 1], "J": 0.4}])
    kf, k = random_k(folded)
    m = RNG.normal(size=(len(k), 3))
    assert np.allclose(folded.hamiltonian(k, m), ref.hamiltonian(k, m), atol=1e-13)
    # the results of the 2D model, per area (Berry curvature of the lower bands over the zone)
    cs = []
    for mz in (1.0, -1.0):
        c_f, hall_f, mesh = chern_and_hall(folded, (0, 0, mz))
        c_r, hall_r, _ = chern_and_hall(ref, (0, 0, mz))
        assert abs(c_f - c_r) < 1e-10 and abs(hall_f - hall_r) < 1e-10 * abs(hall_r)
        cs.append(c_f)
    assert abs(cs[0]) > 0.1 and abs(cs[0] + cs[1]) < 1e-8  # time reversal of the input: odd in m
    area = abs(np.linalg.det(folded.lattice_vectors()))
    assert abs(mesh.weights.sum() - 1 / area) < 1e-12  # per-area measure (Angstrom^-2)
    assert abs(area - 2.5 ** 2 * np.sqrt(3) / 2) < 1e-7  # the .win has 8 decimals


def test_folding_needs_the_layer_normal_along_a3_and_matrix_input(tmp_path):
    (tmp_path / "s_hr.dat").write_text((DATA / "stack_hr.dat").read_text())
    spec = {"hr_dat": str(tmp_path / "s_hr.dat"), "spin": "auto", "spinful": True, "dimension": 2}
    with pytest.raises(ValueError, match="a3 along z"):
        TightBindingModel(source={**spec, "lattice_vectors": [[2.5, 0, 0], [1.25, 2.165, 0], [0.3, 0, 15]]})
    with pytest.raises(ValueError, match="folds matrix input"):
        TightBindingModel(lattice_vectors=np.eye(3), onsite=[0.0], hoppings=[(1.0, 0, 0, [1, 0, 0])], dimension=2)


def test_exchange_by_atom_from_the_win_projections_without_centres(tmp_path):
    # no _centres.xyz: the .win projections (B: pz, N: pz, spinors) say which atom each function is on,
    # and spinors = .true. says the file is spinful
    for f in ("km_hr.dat", "km_wsvec.dat", "km.win"):
        (tmp_path / f).write_text((DATA / f).read_text())
    model = TightBindingModel(source={"hr_dat": str(tmp_path / "km_hr.dat"), "spin": "auto",
                                      "exchange": [{"atom": "N", "J": 0.3}], "positions": "atoms"})
    assert model.provenance["spinful_source"].endswith("km.win: spinors")
    assert np.allclose(model.exchange_coupling(), np.stack([np.kron(np.diag([0.0, 0.3]), s) for s in PAULI[1:]]))
    assert np.allclose(model.positions(), [[1 / 3, 1 / 3, 0.5]] * 2 + [[2 / 3, 2 / 3, 0.5]] * 2, atol=1e-8)


def test_spin_auto_refuses_to_guess_when_both_orderings_are_symmetric():
    # spin- and orbital-independent on-site energy and hopping (multiples of the identity): time-reversal
    # symmetric read either way, so the file does not tell its ordering
    hr = {(0,): 0.3 * np.eye(4), (1,): 0.1 * np.eye(4), (-1,): 0.1 * np.eye(4)}
    from magcore.models.tight_binding import time_reversal_asymmetry

    assert time_reversal_asymmetry(np.array(list(hr.values())), "outer") < 1e-15
    assert time_reversal_asymmetry(np.array(list(hr.values())), "inner") < 1e-15
    with pytest.raises(ValueError, match="cannot tell the spin ordering"):
        TightBindingModel(lattice_vectors=[[1.0]], hr=hr, spin="auto", spinful=True)
    assert TightBindingModel(lattice_vectors=[[1.0]], hr=hr, spin="outer", spinful=True).spin == "outer"


def test_from_wannier90_reads_the_seed_like_the_study_configuration():
    api = TightBindingModel.from_wannier90(DATA / "km_hr.dat", spin="auto", spinful=True)
    assert api.provenance["wsvec"]["applied"]
    assert api == TightBindingModel(source=KM)
