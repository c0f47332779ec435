"""Compiled kernels (magcore.kernels) against the numpy reference implementations.

* the batched small-matrix eigensolver against numpy.linalg.eigh (eigenvalues 1e-12,
  projectors 1e-10, also for exactly degenerate spectra);
* the fused chapter-2 sums against ``_sphere_partial_sums_numpy`` (every key to 1e-10 relative
  to the scale of the quantity; ``n_degenerate`` identical), for two-, four- and six-band
  models, T = 0 and T > 0, with and without smearing, on blocks that contain exact degeneracies;
* the occupied Berry curvature map against magcore.geometry.
"""

import zlib

import numpy as np
import pytest

from magcore import kernels
from magcore.linalg import eigh
from magcore.bands import eigensystem
from magcore.geometry import matrix_elements, occupied_berry_curvature
from magcore.models import get_model
from magcore.occupation import fermi_dirac
from magcore.sphere import Electrons, _sphere_partial_sums_numpy, sphere_partial_sums

RTOL = 1e-10


def random_hermitian(rng, shape, n):
    A = rng.normal(size=shape + (n, n)) + 1j * rng.normal(size=shape + (n, n))
    return 0.5 * (A + np.conj(np.swapaxes(A, -1, -2)))


def projectors(U):
    return np.einsum("...ai,...bi->...iab", U, U.conj())


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8])
def test_eigh_matches_numpy(n):
    rng = np.random.default_rng(n)
    H = random_hermitian(rng, (300,), n) * 10.0 ** rng.uniform(-3, 3, (300, 1, 1))
    E, U = eigh(H)
    E0, U0 = np.linalg.eigh(H)
    scale = np.abs(E0).max(axis=-1, keepdims=True)
    assert np.max(np.abs(E - E0) / scale) < 1e-12
    assert np.max(np.abs(projectors(U) - projectors(U0))) < 1e-10
    # unitary and diagonalising
    assert np.max(np.abs(np.einsum("...ai,...aj->...ij", U.conj(), U) - np.eye(n))) < 1e-12
    HU = H @ U
    assert np.max(np.abs(HU - U * E[..., None, :]) / scale[..., None]) < 1e-12
    assert np.array_equal(eigh(H, vectors=False), E)


def test_eigh_degenerate_and_special_matrices():
    rng = np.random.default_rng(1)
    n = 6
    Q, _ = np.linalg.qr(rng.normal(size=(50, n, n)) + 1j * rng.normal(size=(50, n, n)))
    spectrum = np.array([-1.0, -1.0, 0.5, 2.0, 2.0, 2.0])
    H = np.einsum("sai,i,sbi->sab", Q, spectrum, Q.conj())
    H = np.concatenate([H, np.zeros((1, n, n)), np.diag(rng.normal(size=n))[None].astype(complex),
                        np.kron(np.eye(2), random_hermitian(rng, (), 3))[None]])
    E, U = eigh(H)
    E0, U0 = np.linalg.eigh(H)
    assert np.max(np.abs(E - E0)) < 1e-12
    # the projector on each degenerate cluster is unique
    P, P0 = projectors(U), projectors(U0)
    for cluster in ([0, 1], [2], [3, 4, 5]):
        diff = P[:50, cluster].sum(1) - P0[:50, cluster].sum(1)
        assert np.max(np.abs(diff)) < 1e-10
    HU = H @ U
    assert np.max(np.abs(HU - U * E[..., None, :])) < 1e-12


def test_bands_eigensystem_uses_fast_solver_consistently():
    model = get_model("tmd")
    rng = np.random.default_rng(2)
    k = rng.uniform(-2, 2, (200, 2))
    m = rng.normal(size=(200, 3))
    E, U = eigensystem(model, k, m)
    E0, U0 = np.linalg.eigh(model.hamiltonian(k, m))
    assert np.max(np.abs(E - E0)) < 1e-12
    assert np.max(np.abs(projectors(U) - projectors(U0))) < 1e-10


# -- fused chapter-2 sums ----------------------------------------------------------------------

def assert_same_sums(fast, ref, wsum, rtol=RTOL):
    """Every key to ``rtol`` relative to the largest |value| of that quantity, with a floor of
    1e-14 per unit of quadrature weight (for sums that cancel to ~0 by symmetry);
    n_degenerate identical."""
    assert list(fast) == list(ref)
    for key in ref:
        a, b = np.asarray(fast[key]), np.asarray(ref[key])
        assert a.shape == b.shape, key
        if key == "n_degenerate":
            assert a.dtype.kind == "i" and np.array_equal(a, b), (key, a, b)
            continue
        assert np.all(np.isfinite(a)) and np.all(np.isfinite(b)), key
        scale = np.max(np.abs(b))
        err = np.max(np.abs(a - b))
        assert err <= rtol * scale + 1e-14 * wsum, (key, err, scale)


def block(model, rng, n_k, special=()):
    """A k-block relative to the cutoff centre, with ``special`` points (e.g. band touchings)."""
    if model.domain == "lattice":
        q = rng.uniform(-np.pi, np.pi, (n_k, model.dim))
    else:
        q = rng.normal(size=(n_k, model.dim))
    if special:
        q[: len(special)] = np.asarray(special, dtype=float)
    return q, rng.uniform(0.1, 1.0, n_k)


ELECTRONS = {
    "T0": dict(temperature=0.0),
    "T0_smeared": dict(temperature=0.0, smearing=0.05),
    "T": dict(temperature=0.05),
    "T_smeared": dict(temperature=0.02, smearing=0.1, relaxation_time=2.5),
}

# (model name, parameters, chemical potential, magnetizations (P, 3), special k-points)
# Exact band touchings in the blocks: ti_surface at q = 0 with in-plane m (d = 0), qwz at
# u = -2, k = 0 (d = 0), a near touching straddling mu (ti_surface_near), tmd at J = 0 at Gamma (Kramers pairs), dirac4d at J = 0 (every band
# doubly degenerate everywhere).
CASES = {
    "ti_surface": ("ti_surface", dict(J=1.0), 0.0, [[1.0, 0.0, 0.0], [0.3, -0.4, 0.5], [0.0, 0.6, -0.8]], [[0.0, 0.0]]),
    # near-degenerate pair (2 J m_z = 2e-13 < tol) straddling mu = 0: a Fermi-sea pair is dropped
    "ti_surface_near": ("ti_surface", dict(J=1.0), 0.0, [[1.0, 0.0, 1e-13], [0.0, 1.0, -1e-13]], [[0.0, 0.0]]),
    "ti_surface_metal": ("ti_surface", dict(J=0.7), 0.9, [[0.6, 0.0, 0.8], [0.3, -0.4, -0.5]], []),
    "rashba_fm": ("rashba_fm", {}, 0.2, [[0.0, 0.0, 1.0], [0.5, 0.5, 0.2], [1.0, 0.0, 0.0]], [[0.0, 0.0]]),
    "qwz": ("qwz", dict(u=1.0, J=0.3), 0.0, [[0.1, 0.2, 0.9], [0.0, 0.0, 0.0]], []),
    "qwz_touching": ("qwz", dict(u=-2.0, J=0.0), 0.0, [[0.0, 0.0, 1.0]], [[0.0, 0.0]]),
    "tmd": ("tmd", {}, 1.0, [[0.0, 0.0, 1.0], [0.6, 0.0, 0.8], [0.2, -0.3, 0.1]], []),
    "tmd_metal": ("tmd", dict(J=0.2), 0.6, [[0.0, 0.0, 1.0], [0.6, 0.0, 0.8]], []),
    "tmd_kramers": ("tmd", dict(J=0.0), 1.0, [[0.0, 0.0, 1.0]], [[0.0, 0.0]]),
    "dirac4d": ("dirac4d", dict(J=0.4, m0=-2.5), 0.0, [[0.0, 0.0, 1.0], [0.6, 0.0, 0.8]], []),
    # J < 0: the exchange is not recognised as J s_i on spin pairs (kernels._spin_pairs), so the
    # shared layout runs with the general sandwich
    "tmd_negative_J": ("tmd", dict(J=-0.2), 0.6, [[0.0, 0.0, 1.0], [0.6, 0.0, 0.8]], []),
    "dirac4d_degenerate": ("dirac4d", dict(J=0.0, m0=-3.0), 0.0, [[0.0, 0.0, 1.0]], []),
}


@pytest.mark.parametrize("electrons", sorted(ELECTRONS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_chapter2_sums_match_numpy_reference(case, electrons):
    name, params, mu, m, special = CASES[case]
    model = get_model(name, **params)
    rng = np.random.default_rng(zlib.crc32(case.encode()))  # fixed per case, not per process
    q, w = block(model, rng, 257, special)
    el = Electrons(chemical_potential=mu, **ELECTRONS[electrons])
    m = np.asarray(m, dtype=float)
    fast = sphere_partial_sums(model, m, q, w, el)
    ref = _sphere_partial_sums_numpy(model, m, q, w, el)
    assert_same_sums(fast, ref, w.sum())


class _UndeclaredTMD(type(get_model("tmd"))):
    """The tmd model without its exchange-coupling declaration: drives the general layout
    (model evaluated per (k, m)) of the compiled kernel."""

    def exchange_coupling(self):
        return None


@pytest.mark.parametrize("electrons", sorted(ELECTRONS))
def test_general_layout_matches_numpy_reference_and_shared_layout(electrons):
    declared = get_model("tmd", J=0.2)
    general = _UndeclaredTMD(J=0.2)
    assert declared.exchange_coupling() is not None and general.exchange_coupling() is None
    rng = np.random.default_rng(5)
    q, w = block(general, rng, 200)
    el = Electrons(chemical_potential=0.6, **ELECTRONS[electrons])
    m = np.array([[0.0, 0.0, 1.0], [0.6, 0.0, 0.8], [0.2, -0.3, 0.1]])
    fast = sphere_partial_sums(general, m, q, w, el)
    assert_same_sums(fast, _sphere_partial_sums_numpy(general, m, q, w, el), w.sum())
    assert_same_sums(fast, sphere_partial_sums(declared, m, q, w, el), w.sum())


def test_kernel_outputs_are_the_catalogue_sums():
    from magcore.quantities import KERNEL_SUMS

    assert kernels._OUTPUTS == tuple(k.name for k in KERNEL_SUMS)
    out = kernels.chapter2_sums(get_model("qwz"), np.zeros((1, 3)), np.zeros((1, 2)), np.ones(1), Electrons())
    assert tuple(out) == kernels._OUTPUTS


def test_spin_pair_recognition():
    assert kernels._spin_pairs(get_model("tmd", J=0.3).exchange_coupling())[0] == 0.3
    assert kernels._spin_pairs(get_model("dirac4d", J=0.4).exchange_coupling())[0] == 0.4
    assert kernels._spin_pairs(get_model("tmd", J=-0.2).exchange_coupling())[0] == 0.0
    M = get_model("tmd", J=0.3).exchange_coupling().copy()
    M[0, 0, 4] += 1e-3  # not a pure spin-pair exchange any more
    assert kernels._spin_pairs(M)[0] == 0.0


def test_exact_degeneracies_are_counted():
    # the touching points are really there and flagged where they enter (Fermi surface terms)
    model = get_model("qwz", u=-2.0, J=0.0)
    q = np.array([[0.0, 0.0], [0.3, 0.1], [0.0, 0.0]])
    w = np.ones(3)
    el = Electrons(chemical_potential=0.0, smearing=0.1)
    fast = sphere_partial_sums(model, np.array([[0.0, 0.0, 1.0]]), q, w, el)
    assert fast["n_degenerate"].tolist() == [2]
    model = get_model("dirac4d", J=0.0)
    q = np.random.default_rng(0).uniform(-3, 3, (20, 4))
    fast = sphere_partial_sums(model, np.array([[0.0, 0.0, 1.0]]), q, np.ones(20), Electrons(temperature=0.5))
    assert fast["n_degenerate"].tolist() == [20]


def test_comparison_detects_a_difference():
    # the comparison above can fail: a relative change of 1e-8 in one entry is caught
    model = get_model("tmd")
    rng = np.random.default_rng(3)
    q, w = block(model, rng, 64)
    el = Electrons(chemical_potential=1.0, temperature=0.05)
    m = np.array([[0.2, 0.1, 0.9]])
    ref = _sphere_partial_sums_numpy(model, m, q, w, el)
    fast = sphere_partial_sums(model, m, q, w, el)
    for key in ("sea_curvature", "berry_curvature_mm_E", "hellmann_feynman"):
        bad = {k: np.array(v, copy=True) for k, v in fast.items()}
        flat = bad[key].reshape(-1)
        i = np.argmax(np.abs(flat))
        flat[i] *= 1 + 1e-8
        with pytest.raises(AssertionError):
            assert_same_sums(bad, ref, w.sum())
    bad = {k: np.array(v, copy=True) for k, v in fast.items()}
    bad["n_degenerate"] = bad["n_degenerate"] + 1
    with pytest.raises(AssertionError):
        assert_same_sums(bad, ref, w.sum())


def test_chapter2_sums_sub_batching_is_consistent(monkeypatch):
    # results do not depend on how the magnetizations are split into model evaluations
    model = get_model("tmd")
    rng = np.random.default_rng(4)
    q, w = block(model, rng, 100)
    m = rng.normal(size=(5, 3))
    el = Electrons(chemical_potential=1.0, temperature=0.03)
    whole = kernels.chapter2_sums(model, m, q, w, el)
    monkeypatch.setattr(kernels, "_BATCH_BYTES", 1)
    rows = kernels.chapter2_sums(model, m, q, w, el)
    for key in whole:
        assert np.array_equal(whole[key], rows[key]), key


# -- occupied Berry curvature maps -------------------------------------------------------------

@pytest.mark.parametrize("name, params, mu", [("ti_surface", {}, 0.0), ("rashba_fm", {}, 0.1), ("qwz", dict(J=0.3), 0.0),
                                              ("tmd", {}, 1.0), ("dirac4d", dict(J=0.4, m0=-2.5), 0.0)])
@pytest.mark.parametrize("params_", ["mm", "km", "mk", "kk"])
@pytest.mark.parametrize("T", [0.0, 0.05])
def test_occupied_berry_curvature_map(name, params, mu, params_, T):
    model = get_model(name, **params)
    rng = np.random.default_rng(5)
    q, _ = block(model, rng, 128)
    m = rng.normal(size=(3, 1, 3))
    k = model.k_center(m) + q[None]
    fast, bad = kernels.occupied_berry_curvature_map(model, k, m, mu, temperature=T, params=params_)
    E, U = np.linalg.eigh(model.hamiltonian(k, m))
    ops = {"k": model.dh_dk(k, m), "m": model.dh_dm(k, m)}
    A, B = (matrix_elements(U, ops[c]) for c in params_)
    ref, ref_bad = occupied_berry_curvature(E, fermi_dirac(E, mu, T), A, B)
    assert fast.shape == ref.shape
    assert np.max(np.abs(fast - ref)) <= RTOL * np.max(np.abs(ref))
    assert np.array_equal(bad, ref_bad)


@pytest.mark.parametrize("spin", ["outer", "inner"])
def test_user_tight_binding_model_matches_numpy_reference(spin):
    """A Wannier-type user model (WSe2 hoppings) with the exchange on spin pairs in either basis
    ordering: the shared-k layout with the spin-pair matrix elements against the reference."""
    from magcore.models.tight_binding import TightBindingModel, hoppings_from_model

    source = get_model("tmd", material="WSe2", J=0.0)
    hr = hoppings_from_model(source, np.zeros(3), 3)
    if spin == "inner":  # basis s * 3 + a -> 2 a + s
        perm = np.array([0, 3, 1, 4, 2, 5])
        hr = hr._replace(H=hr.H[:, perm][:, :, perm])
    model = TightBindingModel(hr=hr, lattice_vectors=source.lattice_vectors(), spin=spin, spinful=True, J=0.25)
    J, up, dn = kernels._spin_pairs(model.exchange_coupling())
    assert J == 0.25 and len(up) == 3  # the spin-pair path is the one under test
    rng = np.random.default_rng(8)
    q, w = block(model, rng, 150)
    m = np.array([[0.0, 0.0, 1.0], [0.6, -0.3, 0.2]])
    el = Electrons(chemical_potential=-0.2, temperature=0.04, relaxation_time=1.5)  # in the valence bands
    ref = _sphere_partial_sums_numpy(model, m, q, w, el)
    assert np.all(ref["density_of_states"] > 0)  # a Fermi surface: the Fermi-surface terms are exercised
    assert_same_sums(sphere_partial_sums(model, m, q, w, el), ref, w.sum())


def test_occupied_berry_curvature_map_flags_near_degeneracies_in_lanes():
    # a Kramers pair at Gamma split by 2e-14 (< degeneracy_tol) straddles mu at T = 0: the
    # pair's terms are dropped and the point flagged, at whatever lane it sits
    model = get_model("tmd", J=1e-14)
    rng = np.random.default_rng(9)
    q, _ = block(model, rng, 3 * kernels.LANES + 7)
    q[[0, 70, 150]] = 0.0
    m = np.array([0.0, 0.0, 1.0])
    E_gamma = np.linalg.eigvalsh(model.hamiltonian(np.zeros(2), m))
    mu = 0.5 * (E_gamma[2] + E_gamma[3])
    assert E_gamma[3] - E_gamma[2] < 1e-12
    fast, bad = kernels.occupied_berry_curvature_map(model, q, m, mu, params="mm")
    E, U = np.linalg.eigh(model.hamiltonian(q, m))
    A = matrix_elements(U, model.dh_dm(q, m))
    ref, ref_bad = occupied_berry_curvature(E, fermi_dirac(E, mu, 0.0), A, A)
    assert np.flatnonzero(bad).tolist() == [0, 70, 150]
    assert np.array_equal(bad, ref_bad)
    assert np.all(np.isfinite(fast))
    assert np.max(np.abs(fast - ref)) <= RTOL * np.max(np.abs(ref))
