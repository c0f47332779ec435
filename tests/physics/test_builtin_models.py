"""The built-in models as models (no dissertation equation): Hermitian operators of the right shapes,
analytic dH/dk and dH/dm against finite differences, batching and broadcasting, pickling and
documentation (docs/models.md in sync with the registry), the declared exchange coupling, closed-form
rashba_fm bands, and the validation models qwz / dirac4d (Clifford algebra of the Gamma matrices).
"""

import pickle

import numpy as np
import pytest

from magcore.bands import eigensystem, energies
from magcore.models import get_model
from magcore.models.rashba import HBAR2_OVER_2ME
from magcore.models.validation import GAMMA, SPIN_4D

from physics_helpers import M0, RASHBA, dagger

# (name, parameters, typical |k|): generic, non-default parameters so that a swapped or
# dropped parameter cannot go unnoticed
CASES = [
    ("ti_surface", {"v": 0.7, "J": 1.3}, 1.0),
    ("ti_edge", {"v": 0.7, "J": 1.3}, 1.0),
    ("rashba_fm", {"m_star": 0.4, "alpha_R": 0.8, "J": 0.3}, 0.5),
    ("tmd", {"material": "WTe2", "J": 0.3}, 1.0),
    ("tmd", {"material": "MoS2", "J": -0.2, "lambda": 0.15, "t12": 0.3}, 1.0),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def random_km(model, shape, kscale, rng):
    k = kscale * rng.uniform(-1.5, 1.5, size=shape + (model.dim,))
    m = rng.normal(size=shape + (3,))
    return k, m


def hermitian_part_error(X):
    return np.max(np.abs(X - np.swapaxes(X, -1, -2).conj()))


@pytest.mark.parametrize("name, params, kscale", CASES, ids=IDS)
def test_operators_hermitian_with_right_shapes(name, params, kscale):
    model = get_model(name, **params)
    rng = np.random.default_rng(1)
    k, m = random_km(model, (4, 3), kscale, rng)
    n, d = model.n_bands, model.dim
    H, dk, dm = model.hamiltonian(k, m), model.dh_dk(k, m), model.dh_dm(k, m)
    assert H.shape == (4, 3, n, n) and dk.shape == (4, 3, d, n, n) and dm.shape == (4, 3, 3, n, n)
    for X in (H, dk, dm):
        assert hermitian_part_error(X) < 1e-14 * max(1.0, np.max(np.abs(X)))
    S = model.spin_operators()
    assert S.shape == (3, n, n)
    # spin algebra [s_x, s_y] = 2i s_z (Pauli units), s_i^2 = 1
    np.testing.assert_allclose(S[0] @ S[1] - S[1] @ S[0], 2j * S[2], atol=1e-14)
    np.testing.assert_allclose(S[0] @ S[0], np.eye(n), atol=1e-14)
    # every model here couples m as J m . s: dH/dm = J s
    np.testing.assert_allclose(dm, np.broadcast_to(model.params["J"] * S, dm.shape), atol=1e-14)


@pytest.mark.parametrize("name, params, kscale", CASES, ids=IDS)
def test_analytic_derivatives_match_central_differences(name, params, kscale):
    model = get_model(name, **params)
    rng = np.random.default_rng(2)
    k, m = random_km(model, (4, 3), kscale, rng)
    for var, op, h in (("k", model.dh_dk, 1e-5 * kscale), ("m", model.dh_dm, 1e-5)):
        x = k if var == "k" else m
        num = []
        for i in range(x.shape[-1]):
            e = np.zeros(x.shape[-1])
            e[i] = h
            plus = model.hamiltonian(x + e, m) if var == "k" else model.hamiltonian(k, x + e)
            minus = model.hamiltonian(x - e, m) if var == "k" else model.hamiltonian(k, x - e)
            num.append((plus - minus) / (2 * h))
        num = np.stack(num, axis=-3)
        ana = op(k, m)
        scale = np.max(np.abs(ana))
        assert scale > 0
        err = np.max(np.abs(num - ana)) / scale
        assert err < 1e-7, (var, err)


@pytest.mark.parametrize("name, params, kscale", CASES, ids=IDS)
def test_batch_shapes_and_broadcasting(name, params, kscale):
    model = get_model(name, **params)
    rng = np.random.default_rng(3)
    d, n = model.dim, model.n_bands
    k = kscale * rng.uniform(-1.5, 1.5, size=(5, 1, d))
    m = rng.normal(size=(1, 4, 3))
    for op, extra in ((model.hamiltonian, ()), (model.dh_dk, (d,)), (model.dh_dm, (3,))):
        out = op(k, m)
        assert out.shape == (5, 4) + extra + (n, n)
        for i in range(5):
            for j in range(4):
                np.testing.assert_allclose(out[i, j], op(k[i, 0], m[0, j]), rtol=0, atol=1e-14)
        # a single point, one m for a batch of k, and a 3-axis batch
        assert op(k[0, 0], m[0, 0]).shape == extra + (n, n)
        assert op(k[:, 0], m[0, 0]).shape == (5,) + extra + (n, n)
        big_k = kscale * rng.uniform(-1, 1, size=(2, 3, 2, d))
        assert op(big_k, rng.normal(size=(3, 1, 3))).shape == (2, 3, 2) + extra + (n, n)
    E, U = eigensystem(model, k, m)
    assert E.shape == (5, 4, n) and U.shape == (5, 4, n, n)
    with pytest.raises(ValueError, match="trailing axis"):
        model.hamiltonian(np.zeros((3, d + 1)), m[0, 0])
    with pytest.raises(ValueError, match="trailing axis"):
        model.hamiltonian(k, np.zeros((3, 2)))


@pytest.mark.parametrize("name, params, kscale", CASES, ids=IDS)
def test_models_are_picklable_and_documented(name, params, kscale):
    model = get_model(name, **params)
    clone = pickle.loads(pickle.dumps(model))
    assert clone == model and hash(clone) == hash(model) and repr(clone) == repr(model)
    rng = np.random.default_rng(4)
    k, m = random_km(model, (3,), kscale, rng)
    np.testing.assert_array_equal(clone.hamiltonian(k, m), model.hamiltonian(k, m))
    cls = type(model)
    assert cls.equation and cls.energy_unit and cls.length_unit and cls.__doc__
    assert cls.equation.split("-")[0].split()[0] in cls.__doc__ or "section" in cls.equation
    for p in cls.parameters:
        assert p.units and p.description, p


def test_docs_models_md_is_in_sync_with_the_registry(repo):
    from magcore.models import describe_models

    assert (repo / "docs" / "models.md").read_text().strip() == describe_models().strip(), (
        "docs/models.md is stale: regenerate it with the command at its top")


# ---- exchange coupling J m . s -----------------------------------------------------------------------------


def _affine_cases():
    yield get_model("tmd", material="WTe2", J=0.3), 1.0
    yield get_model("tmd", material="MoS2", J=-0.2, **{"lambda": 0.15}), 1.0
    yield get_model("dirac4d", m0=-2.0, J=0.4), 1.0


@pytest.mark.parametrize("index", range(3))
def test_declared_exchange_coupling_is_the_m_dependence(index):
    """H(k; m) = H(k; 0) + m_i M_i, dH/dm_i = M_i and m-independent dH/dk wherever a model
    declares M (the compiled kernels rely on it)."""
    model, kscale = list(_affine_cases())[index]
    M = model.exchange_coupling()
    assert M is not None and M.shape == (3, model.n_bands, model.n_bands)
    rng = np.random.default_rng(11)
    k, m = random_km(model, (7,), kscale, rng)
    zero = np.zeros_like(m)
    np.testing.assert_allclose(model.hamiltonian(k, m), model.hamiltonian(k, zero) + np.einsum("pi,iab->pab", m, M),
                               rtol=0, atol=1e-13)
    np.testing.assert_allclose(model.dh_dm(k, m), np.broadcast_to(M, (7, 3) + M.shape[1:]), rtol=0, atol=1e-14)
    np.testing.assert_allclose(model.dh_dk(k, m), model.dh_dk(k, zero), rtol=0, atol=1e-14)


def test_tight_binding_exchange_coupling_matches_its_operators():
    from magcore.models.tight_binding import TightBindingModel, hoppings_from_model

    source = get_model("tmd", material="WSe2", J=0.0)
    model = TightBindingModel(hr=hoppings_from_model(source, np.zeros(3), 3), lattice_vectors=source.lattice_vectors(),
                              spin="outer", spinful=True, J=0.25)
    M = model.exchange_coupling()
    rng = np.random.default_rng(12)
    k, m = random_km(model, (5,), 1.0, rng)
    np.testing.assert_allclose(model.hamiltonian(k, m), model.hamiltonian(k, 0 * m) + np.einsum("pi,iab->pab", m, M),
                               rtol=0, atol=1e-13)
    np.testing.assert_allclose(model.dh_dm(k, m)[0], M, rtol=0, atol=1e-14)


# ---- rashba_fm ---------------------------------------------------------------------------------------------


def test_rashba_band_energies_closed_form():
    model = get_model("rashba_fm", **RASHBA)
    rng = np.random.default_rng(9)
    k, m = rng.uniform(-0.5, 0.5, size=(6, 5, 2)), rng.normal(size=(6, 5, 3))
    aR, J = RASHBA["alpha_R"], RASHBA["J"]
    kin = HBAR2_OVER_2ME * (k[..., 0] ** 2 + k[..., 1] ** 2) / RASHBA["m_star"]
    h = np.sqrt((aR * k[..., 1] + J * m[..., 0]) ** 2 + (aR * k[..., 0] - J * m[..., 1]) ** 2 + (J * m[..., 2]) ** 2)
    expected = np.stack([kin - h, kin + h], axis=-1)
    np.testing.assert_allclose(np.linalg.eigvalsh(model.hamiltonian(k, m)), expected, atol=1e-13)
    np.testing.assert_allclose(energies(model, k, m), expected, atol=1e-13)
    # the Rashba point moves to k_R = (J m_y, -J m_x) / alpha_R, where the splitting is 2 |J m_z|
    kR = np.stack([J * m[..., 1], -J * m[..., 0]], axis=-1) / aR
    E = energies(model, kR, m)
    np.testing.assert_allclose(E[..., 1] - E[..., 0], 2 * np.abs(J * m[..., 2]), atol=1e-13)
    # free-electron units: a 1/Angstrom wave vector at m* = m_e costs 3.81 eV
    free = get_model("rashba_fm", m_star=1.0, alpha_R=0.0, J=0.0)
    np.testing.assert_allclose(energies(free, [1.0, 0.0], [0, 0, 1.0]), [3.8099821, 3.8099821], rtol=1e-7)
    with pytest.raises(ValueError, match="m_star"):
        get_model("rashba_fm", m_star=0.0)


# ---- validation models qwz, dirac4d ------------------------------------------------------------------------


def test_gamma_matrices_are_a_clifford_algebra():
    for a in range(5):
        assert np.allclose(GAMMA[a], dagger(GAMMA[a]))
        for b in range(5):
            anti = GAMMA[a] @ GAMMA[b] + GAMMA[b] @ GAMMA[a]
            assert np.allclose(anti, 2 * (a == b) * np.eye(4))
    prod = GAMMA[0] @ GAMMA[1] @ GAMMA[2] @ GAMMA[3] @ GAMMA[4]
    assert np.allclose(prod, -np.eye(4))  # the chirality that fixes the sign of C2
    # spin structure s (x) I2: Pauli algebra [s_x, s_y] = 2i s_z
    assert np.allclose(SPIN_4D[0] @ SPIN_4D[1] - SPIN_4D[1] @ SPIN_4D[0], 2j * SPIN_4D[2])


@pytest.mark.parametrize("name, params", [("qwz", {"u": 0.7, "J": 0.4}), ("dirac4d", {"m0": -1.3, "J": 0.3})])
def test_analytic_derivatives_and_broadcasting(name, params):
    model = get_model(name, **params)
    rng = np.random.default_rng(1)
    dim, n = model.dim, model.n_bands
    k = rng.uniform(-np.pi, np.pi, size=(5, 1, dim))
    m = rng.normal(size=(1, 3, 3))
    H = model.hamiltonian(k, m)
    assert H.shape == (5, 3, n, n)
    assert np.allclose(H, dagger(H))
    assert model.dh_dk(k, m).shape == (5, 3, dim, n, n)
    assert model.dh_dm(k, m).shape == (5, 3, 3, n, n)
    h = 1e-6
    for i in range(dim):
        e = np.zeros(dim)
        e[i] = h
        fd = (model.hamiltonian(k + e, m) - model.hamiltonian(k - e, m)) / (2 * h)
        assert np.allclose(model.dh_dk(k, m)[..., i, :, :], fd, atol=1e-8)
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd = (model.hamiltonian(k, m + e) - model.hamiltonian(k, m - e)) / (2 * h)
        assert np.allclose(model.dh_dm(k, m)[..., i, :, :], fd, atol=1e-8)
        # the exchange term is J m . s on the declared spin structure
        assert np.allclose(model.dh_dm(k, m)[..., i, :, :], params["J"] * model.spin_operators()[i])
    # k-periodicity with the reciprocal vectors (needed by the link methods)
    G = model.reciprocal_vectors()
    assert np.allclose(G, 2 * np.pi * np.eye(dim))
    assert np.allclose(model.hamiltonian(k + G[0], m), H)


def test_default_models_do_not_couple_to_m():
    for name in ("qwz", "dirac4d"):
        model = get_model(name)
        assert model.params["J"] == 0.0
        k = np.zeros(model.dim)
        assert np.allclose(model.hamiltonian(k, [1.0, 0, 0]), model.hamiltonian(k, [0, 0, 1.0]))
        assert not np.any(model.dh_dm(k, M0))
