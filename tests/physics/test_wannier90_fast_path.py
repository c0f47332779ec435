"""The fast path of user models at many bands: Bloch sums one lattice axis at a time (and by FFT
along whole uniform axes) equal the direct sum over R; the batched-LAPACK chapter-2 sums equal
the compiled SIMD-lane sums; the bands of a real Wannier90 file (_hr.dat + _wsvec.dat, TBmodels'
silicon sample, tests/data/wannier90/tbmodels_silicon) equal TBmodels' (WannierBerri's _hr.dat
reader does not apply a _wsvec.dat, so it is no peer for this file).
"""

import gzip
from pathlib import Path

import numpy as np
import pytest

import magcore.kernels as kernels
import magcore.models.bloch_grid as bloch_grid
from magcore.electrons import Electrons
from magcore.kmesh import bz_mesh
from magcore.models import get_model
from magcore.models.tight_binding import TightBindingModel

SILICON = Path(__file__).resolve().parents[1] / "data" / "wannier90" / "tbmodels_silicon"


@pytest.fixture(scope="module")
def silicon_files(tmp_path_factory):
    """The gzipped silicon files unpacked side by side (seed 'silicon')."""
    d = tmp_path_factory.mktemp("silicon")
    for name in ("silicon_hr.dat", "silicon_wsvec.dat", "silicon.win"):
        (d / name).write_bytes(gzip.decompress((SILICON / f"{name}.gz").read_bytes()))
    return d


def silicon(files, **kw):
    return TightBindingModel(source={"hr_dat": str(files / "silicon_hr.dat"), **kw})


def test_grid_sum_equals_direct_sum_on_meshes_blocks_and_scattered_points(silicon_files, monkeypatch):
    rng = np.random.default_rng(7)
    pos = rng.uniform(0, 1, (8, 3)).tolist()
    for model in (silicon(silicon_files), silicon(silicon_files, positions=pos)):
        assert model.provenance["wsvec"]["applied"]
        k = bz_mesh(model.reciprocal_vectors(), 10).points
        batches = {"mesh": k, "block": k[137:611], "shuffled": rng.permutation(k)[:300],
                   "shifted mesh": k + 0.37 * model.reciprocal_vectors()[0]}
        for fft in (False, True):  # FFT along the whole uniform axes, or the phase products
            monkeypatch.setattr(bloch_grid, "FFT_MIN_EXTENT", 1 if fft else 10**9)
            for what, kk in batches.items():
                frac = kk @ model.lattice_vectors().T / (2 * np.pi)
                on_grid = bloch_grid.grid_axes(frac) is not None
                assert on_grid == (what != "shuffled"), what
                G, dG = model._bloch(kk, derivative=True)
                Gd, dGd = model._bloch_direct(kk, True, True)
                if model._has_tau:  # the direct sum without the position phases
                    p = np.exp(1j * (kk @ model._tau.T))
                    phase = np.conj(p)[:, :, None] * p[:, None, :]
                    dGd = (dGd + 1j * np.moveaxis(model._tau[None] - model._tau[:, None], -1, 0) * Gd[:, None]) \
                        * phase[:, None]
                    Gd = Gd * phase
                assert np.abs(G - Gd).max() < 1e-12 * np.abs(Gd).max(), (what, fft)
                assert np.abs(dG - dGd).max() < 1e-12 * np.abs(dGd).max(), (what, fft)
                E = np.linalg.eigvalsh(model.hamiltonian(kk, np.zeros(3)))
                Ed = np.linalg.eigvalsh(Gd)
                assert np.abs(E - Ed).max() < 1e-12, (what, fft)


def test_fft_axis_transform_equals_the_phase_product(monkeypatch):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(2, 30, 5, 7)) + 1j * rng.normal(size=(2, 30, 5, 7))
    F = (np.arange(12) + 0.5) / 12  # a whole uniform axis; R extent 30 > N = 12 aliases
    monkeypatch.setattr(bloch_grid, "FFT_MIN_EXTENT", 1)
    fft = bloch_grid._axis_transform(A, 1, -13, F)
    monkeypatch.setattr(bloch_grid, "FFT_MIN_EXTENT", 10**9)
    direct = bloch_grid._axis_transform(A, 1, -13, F)
    R = -13 + np.arange(30)
    ref = np.einsum("fr,prqc->pfqc", np.exp(2j * np.pi * np.outer(F, R)), A)
    assert np.abs(fft - ref).max() < 1e-12 * np.abs(ref).max()
    assert np.abs(direct - ref).max() < 1e-12 * np.abs(ref).max()


def spin_orbit_model(n_orb=8, seed=5):
    """A spinful square-lattice model with spin-dependent (spin-orbit-like) complex hoppings,
    n = 2 n_orb bands and exchange J = 0.3 on every orbital.  (A spinless model doubled with
    J m.s conserves the spin along m, so its k-m curvatures vanish and their sums are
    round-off, no test of agreement.)"""
    rng = np.random.default_rng(seed)
    n = 2 * n_orb
    h0 = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    hr = {(0, 0): 0.5 * (h0 + h0.conj().T)}
    for R in [(1, 0), (0, 1), (1, 1), (1, -1)]:
        h = 0.3 * (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
        hr[R] = h
        hr[tuple(-r for r in R)] = h.conj().T
    return TightBindingModel(lattice_vectors=[[1, 0], [0, 1]], hr=hr, spin="outer", spinful=True, J=0.3,
                             hermitian_tol=1e-9, positions=rng.uniform(0, 1, (n, 2)).tolist())


@pytest.mark.parametrize("temperature", [0.0, 0.02])
def test_batched_lapack_sums_equal_the_compiled_lane_sums(monkeypatch, temperature):
    model = spin_orbit_model()  # 16 bands: below the crossover, so the batched path is forced
    monkeypatch.setattr(kernels, "BATCHED_MIN_BANDS", 16)
    mesh = bz_mesh(model.reciprocal_vectors(), 16)
    E = np.linalg.eigvalsh(model.hamiltonian(mesh.points, np.zeros(3)))
    el = Electrons(chemical_potential=float(np.median(E[:, 7])), temperature=temperature, smearing=0.05)
    m = np.array([[0.0, 0.0, 1.0], [0.6, 0.0, 0.8], [0.48, 0.64, 0.6]])
    calls = []
    batched = kernels._chapter2_batched
    monkeypatch.setattr(kernels, "_chapter2_batched", lambda *a: calls.append(1) or batched(*a))
    fast = kernels.chapter2_sums(model, m, mesh.points, mesh.weights, el)
    assert calls, "the 16-band model took the lane path"
    monkeypatch.setattr(kernels, "BATCHED_MIN_BANDS", 10**9)
    lanes = kernels.chapter2_sums(model, m, mesh.points, mesh.weights, el)
    assert len(calls) == 1
    for key, ref in lanes.items():
        if key == "n_degenerate":
            assert np.array_equal(fast[key], ref)
            continue
        scale = np.abs(ref).max()
        assert scale > 0, key
        # two eigensolvers: eigenvectors that differ by round-off, amplified by the energy
        # denominators of the curvatures
        assert np.abs(fast[key] - ref).max() <= 1e-12 * scale, (key, np.abs(fast[key] - ref).max() / scale)


def test_builtin_models_never_take_the_batched_path(monkeypatch):
    def refuse(*a):
        raise AssertionError("batched path")

    monkeypatch.setattr(kernels, "_chapter2_batched", refuse)
    monkeypatch.setattr(kernels, "BATCHED_MIN_BANDS", 1)
    model = get_model("tmd", material="MoS2")
    q = bz_mesh(model.reciprocal_vectors(), 12).points
    kernels.chapter2_sums(model, np.array([[0.0, 0.0, 1.0]]), q, np.full(len(q), 1e-3),
                          Electrons(chemical_potential=0.0))


def test_bands_of_the_real_file_equal_tbmodels(silicon_files):
    tbmodels = pytest.importorskip("tbmodels", reason="TBmodels (the peer that reads _wsvec.dat) is not installed")
    peer = tbmodels.Model.from_wannier_files(hr_file=str(silicon_files / "silicon_hr.dat"),
                                             wsvec_file=str(silicon_files / "silicon_wsvec.dat"),
                                             win_file=str(silicon_files / "silicon.win"))
    model = silicon(silicon_files)
    k = bz_mesh(model.reciprocal_vectors(), 8).points  # a whole mesh: the per-axis sums
    frac = k @ model.lattice_vectors().T / (2 * np.pi)
    E = np.linalg.eigvalsh(model.hamiltonian(k, np.zeros(3)))
    assert np.abs(E - np.array(peer.eigenval(frac))).max() < 1e-10


def test_bands_of_the_real_file_equal_tbmodels_stored_bands(silicon_files, tmp_path):
    """Against TBmodels' bands stored by tests/data/wannier90/tbmodels_silicon/make_reference.py
    (runs without TBmodels): the 8^3 grid (the per-axis sums) and 20 scattered points (the direct
    sum), to 1e-10 eV; without the _wsvec.dat the same file is off by far more."""
    ref = np.load(SILICON / "tbmodels_bands.npz")
    model = silicon(silicon_files)
    k = ref["k_frac"] @ model.reciprocal_vectors()
    grid, scattered = slice(0, 512), slice(512, None)
    for part in (grid, scattered):
        E = np.linalg.eigvalsh(model.hamiltonian(k[part], np.zeros(3)))
        assert np.abs(E - ref["bands_eV"][part]).max() < 1e-10
    for name in ("silicon_hr.dat", "silicon.win"):  # the same seed without its _wsvec.dat
        (tmp_path / name).write_bytes((silicon_files / name).read_bytes())
    bare = silicon(tmp_path)
    E_bare = np.linalg.eigvalsh(bare.hamiltonian(k, np.zeros(3)))
    assert np.abs(E_bare - ref["bands_eV"]).max() > 0.1
