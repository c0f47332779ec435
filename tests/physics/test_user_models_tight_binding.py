"""Users' own models: PythTB-style hopping lists and Wannier90 _hr.dat (magcore.models.tight_binding)."""

import pickle

import numpy as np
import pytest
import yaml

from magcore.bands import eigensystem, energies
from magcore.geometry import berry_curvature, matrix_elements
from magcore.kmesh import bz_mesh
from magcore.models import MODELS, PAULI, get_model
from magcore.models.tight_binding import (
    TightBindingModel,
    WannierHR,
    from_config,
    hoppings_from_model,
    read_wannier90_hr,
    write_wannier90_hr,
)

SQRT3 = float(np.sqrt(3.0))
HEX = [[1.0, 0.0], [0.5, SQRT3 / 2]]
HONEYCOMB = [[1 / 3, 1 / 3], [2 / 3, 2 / 3]]
RNG = np.random.default_rng(20240611)


@pytest.fixture(autouse=True)
def _reseed_rng():
    """Every test starts RNG from the same fixed seed, so its draws do not depend on which tests
    ran before it (a subset, another order)."""
    global RNG
    RNG = np.random.default_rng(20240611)



def haldane_hops(t1, t2, phi):
    """Haldane model on the honeycomb lattice as a PythTB hopping list (set_hop(amp, i, j, R)):
    nearest neighbours t1 (A=0 -> B=1), second neighbours t2 e^{+i phi} circulating one way."""
    c = t2 * np.exp(1j * phi)
    return [
        (t1, 0, 1, [0, 0]), (t1, 1, 0, [1, 0]), (t1, 1, 0, [0, 1]),
        (c, 0, 0, [1, 0]), (c, 1, 1, [1, -1]), (c, 1, 1, [0, 1]),
        (np.conj(c), 1, 1, [1, 0]), (np.conj(c), 0, 0, [1, -1]), (np.conj(c), 0, 0, [0, 1]),
    ]


def haldane(M, t2, phi, t1=1.0, positions=HONEYCOMB, **kw):
    return TightBindingModel(lattice_vectors=HEX, positions=positions, onsite=[M, -M],
                             hoppings=haldane_hops(t1, t2, phi), **kw)


def chern_lower_band(model, n_k=48, m=(0.0, 0.0, 0.0)):
    """C = (1/2 pi) int_BZ d^2k Omega_xy = 2 pi sum_k w_k Omega_xy (w_k include 1/(2 pi)^2)."""
    mesh = bz_mesh(model.reciprocal_vectors(), n_k)
    E, U = eigensystem(model, mesh.points, np.asarray(m))
    A = matrix_elements(U, model.dh_dk(mesh.points, np.asarray(m)))
    omega, degenerate = berry_curvature(E, A)
    assert not degenerate.any()
    # the measure: sum(w) = 1 / V_cell = int_BZ d^2k / (2 pi)^2
    assert np.isclose(mesh.weights.sum() * abs(np.linalg.det(model.lattice_vectors())), 1.0)
    return 2 * np.pi * np.sum(mesh.weights * omega[:, 0, 1, 0])


# -- Haldane model: Chern numbers --------------------------------------------------------------------

T2 = 0.3
PHASES = [  # (M, phi); |M| < 3 sqrt3 t2 |sin phi| is topological
    (0.3, np.pi / 2),
    (0.3, -np.pi / 2),
    (-0.3, np.pi / 3),
    (-0.5, -2 * np.pi / 3),
    (3.0, np.pi / 2),
    (-2.0, -np.pi / 4),
]


@pytest.mark.parametrize("M, phi", PHASES)
def test_haldane_chern_numbers(M, phi):
    topological = abs(M) < 3 * SQRT3 * T2 * abs(np.sin(phi))
    # sign for this orientation of the t2 e^{i phi} bonds and Omega = -2 Im <d_x u|d_y u>
    expected = -np.sign(np.sin(phi)) if topological else 0.0
    C = chern_lower_band(haldane(M, T2, phi))
    assert abs(C - expected) < 1e-6, (M, phi, C)
    # independent check: FHS link method (gauge with all orbitals at the origin)
    from magcore.topology import first_chern_number

    C_fhs = first_chern_number(haldane(M, T2, phi, positions=None), np.zeros(3), n_k=24, bands=[0])
    assert abs(C_fhs - expected) < 1e-9


def test_haldane_gap_closes_at_the_phase_boundary():
    # at M = 3 sqrt3 t2 sin phi the gap closes at a K point: the transition is where the test above says
    phi = np.pi / 2
    Mc = 3 * SQRT3 * T2
    K = np.array([2 / 3, 1 / 3]) @ haldane(Mc, T2, phi).reciprocal_vectors()
    Kp = np.array([1 / 3, 2 / 3]) @ haldane(Mc, T2, phi).reciprocal_vectors()
    gaps = [np.diff(energies(haldane(Mc, T2, phi), k, np.zeros(3)))[0] for k in (K, Kp)]
    assert min(gaps) < 1e-12 and max(gaps) > 1.0


# -- conventions: Bloch phase with orbital positions, derivatives, broadcasting ---------------------

def test_bloch_convention_with_orbital_positions():
    model = haldane(0.2, 0.1, 0.7)
    lat = np.array(HEX)
    tau = np.array(HONEYCOMB) @ lat
    k = RNG.normal(size=2)
    H = np.diag([0.2, -0.2]).astype(complex)
    for amp, i, j, R in haldane_hops(1.0, 0.1, 0.7):
        d = np.array(R) @ lat + tau[j] - tau[i]
        H[i, j] += amp * np.exp(1j * k @ d)
        H[j, i] += np.conj(amp) * np.exp(-1j * k @ d)
    assert np.allclose(model.hamiltonian(k, np.zeros(3)), H, atol=1e-13)
    # positions only change the Bloch gauge: same bands, not the same matrix
    flat = haldane(0.2, 0.1, 0.7, positions=None)
    assert np.allclose(energies(flat, k, np.zeros(3)), energies(model, k, np.zeros(3)), atol=1e-12)
    assert not np.allclose(flat.hamiltonian(k, np.zeros(3)), H)
    # H(k + G) = D^dagger H(k) D with D = diag(e^{i G.tau})
    G = model.reciprocal_vectors()[0]
    D = np.diag(np.exp(1j * tau @ G))
    assert np.allclose(model.hamiltonian(k + G, np.zeros(3)), D.conj().T @ H @ D, atol=1e-12)


def kane_mele_soc(spin, positions=HONEYCOMB, J=0.0, M=0.1, lam=0.2, rashba=0.05):
    """Kane-Mele-like spinful model: t1, intrinsic SOC i lam nu s_z on second neighbours (as 4
    Pauli coefficients), a Rashba-like spin-flip hop (2x2 matrix), staggered mass M."""
    hops = [(1.0, 0, 1, [0, 0]), (1.0, 1, 0, [1, 0]), (1.0, 1, 0, [0, 1])]
    soc = [0, 0, 0, 1j * lam]  # (a0, ax, ay, az): i lam s_z on the bonds where Haldane has e^{+i phi}
    for i, j, R in [(0, 0, [1, 0]), (1, 1, [1, -1]), (1, 1, [0, 1])]:
        hops.append((soc, i, j, R))
    for i, j, R in [(1, 1, [1, 0]), (0, 0, [1, -1]), (0, 0, [0, 1])]:
        hops.append((np.conj(soc), i, j, R))
    hops.append((rashba * np.array([[0, 1], [-1, 0]]) * 1j, 0, 1, [1, 0]))  # i rashba (s_x s_y-ish)
    return TightBindingModel(lattice_vectors=HEX, positions=positions, onsite=[M, -M], hoppings=hops,
                             spin=spin, J=J)


def test_spinful_hopping_list_is_two_haldane_copies():
    # i lam nu s_z on second neighbours = Haldane with phi = +pi/2 (spin up) and -pi/2 (spin down)
    km = kane_mele_soc("outer", rashba=0.0)
    k = RNG.normal(size=(7, 2))
    H = km.hamiltonian(k, np.zeros(3))
    up, dn = haldane(0.1, 0.2, np.pi / 2), haldane(0.1, 0.2, -np.pi / 2)
    assert np.allclose(H[:, :2, :2], up.hamiltonian(k, np.zeros(3)), atol=1e-13)
    assert np.allclose(H[:, 2:, 2:], dn.hamiltonian(k, np.zeros(3)), atol=1e-13)
    assert np.allclose(H[:, :2, 2:], 0)
    # the inner ordering is a permutation of the basis; same bands, spin ops permuted alike
    inner = kane_mele_soc("inner", J=0.3)
    outer = kane_mele_soc("outer", J=0.3)
    perm = [0, 2, 1, 3]  # inner index 2a + s -> outer index s * 2 + a
    m = RNG.normal(size=(7, 3))
    Hi, Ho = inner.hamiltonian(k, m), outer.hamiltonian(k, m)
    assert np.allclose(Hi, Ho[:, perm][:, :, perm], atol=1e-13)
    assert np.allclose(inner.spin_operators(), outer.spin_operators()[:, perm][:, :, perm])
    assert np.allclose(outer.spin_operators(), np.stack([np.kron(s, np.eye(2)) for s in PAULI[1:]]))


def test_spinless_matrices_doubled_with_exchange():
    base = haldane(0.2, 0.15, 1.1)
    hr = base.hoppings()
    k = RNG.normal(size=(9, 2))
    E0 = energies(base, k, np.zeros(3))
    for spin in ("outer", "inner"):
        model = TightBindingModel(lattice_vectors=HEX, positions=HONEYCOMB, hr=hr, spin=spin,
                                  spinful=False, J=0.25)
        assert model.n_bands == 4 and model.n_orbitals == 2
        m = np.array([0.3, -0.4, 1.2])  # J m.s splits each band by -/+ J |m|
        E = energies(model, k, m)
        expect = np.sort(np.concatenate([E0 - 0.25 * np.linalg.norm(m), E0 + 0.25 * np.linalg.norm(m)],
                                        axis=-1), axis=-1)
        assert np.allclose(E, expect, atol=1e-12)


MODELS_FOR_DERIVATIVES = {
    "haldane": lambda: haldane(0.2, 0.3, 0.9),
    "kane_mele_soc": lambda: kane_mele_soc("inner", J=0.4),
    "explicit_spin": lambda: TightBindingModel(
        lattice_vectors=[[2.0, 0.3], [0.1, 1.5]], positions=[[0.1, 0.2], [0.6, 0.7]], onsite=[0.3, -0.1],
        hoppings=[(0.5 + 0.2j, 0, 1, [0, 0]), (0.3, 0, 0, [1, 0]), (-0.2j, 1, 0, [1, 1])],
        spin=[PAULI[1], PAULI[2], PAULI[3]], J=0.7),
    "3d": lambda: TightBindingModel(
        lattice_vectors=[[1.0, 0, 0], [0, 1.2, 0], [0.2, 0, 0.9]], positions=[[0, 0, 0], [0.5, 0.5, 0.3]],
        onsite=[0.1, -0.1], hoppings=[(0.4, 0, 1, [0, 0, 0]), (0.2 + 0.1j, 0, 1, [0, -1, 1]),
                                      (0.3j, 1, 1, [0, 0, 1])], spin="outer", J=0.2),
}


@pytest.mark.parametrize("name", list(MODELS_FOR_DERIVATIVES))
def test_derivatives_match_finite_differences_and_hermiticity(name):
    model = MODELS_FOR_DERIVATIVES[name]()
    dim, n = model.dim, model.n_bands
    k = RNG.normal(size=(5, dim))
    m = RNG.normal(size=(5, 3))
    H = model.hamiltonian(k, m)
    assert H.shape == (5, n, n)
    assert np.allclose(H, np.conj(np.swapaxes(H, -1, -2)), atol=1e-13)
    dk = model.dh_dk(k, m)
    dm = model.dh_dm(k, m)
    assert dk.shape == (5, dim, n, n) and dm.shape == (5, 3, n, n)
    h = 1e-5
    for a in range(dim):
        e = np.zeros(dim)
        e[a] = h
        fd = (model.hamiltonian(k + e, m) - model.hamiltonian(k - e, m)) / (2 * h)
        assert np.allclose(dk[:, a], fd, atol=1e-8), (name, a)
        assert np.allclose(dk[:, a], np.conj(np.swapaxes(dk[:, a], -1, -2)), atol=1e-13)
    for a in range(3):
        e = np.zeros(3)
        e[a] = h
        fd = (model.hamiltonian(k, m + e) - model.hamiltonian(k, m - e)) / (2 * h)
        assert np.allclose(dm[:, a], fd, atol=1e-8), (name, a)
    if name != "haldane":
        assert np.allclose(dm, model.J * model.spin_operators()[None])
        assert np.abs(dm).max() > 0


def test_batch_shapes_broadcast():
    model = kane_mele_soc("outer", J=0.3)
    k = RNG.normal(size=(4, 1, 2))
    m = RNG.normal(size=(1, 3, 3))
    H, dk, dm = model.hamiltonian(k, m), model.dh_dk(k, m), model.dh_dm(k, m)
    assert H.shape == (4, 3, 4, 4) and dk.shape == (4, 3, 2, 4, 4) and dm.shape == (4, 3, 3, 4, 4)
    for i in range(4):
        for j in range(3):
            assert np.allclose(H[i, j], model.hamiltonian(k[i, 0], m[0, j]))
            assert np.allclose(dk[i, j], model.dh_dk(k[i, 0], m[0, j]))
    # a single point and a single m
    assert model.hamiltonian(k[0, 0], m[0, 0]).shape == (4, 4)
    # one m for many k
    assert model.hamiltonian(RNG.normal(size=(6, 2)), m[0, 0]).shape == (6, 4, 4)


# -- Wannier90 round trips -------------------------------------------------------------------------

def _assert_same_bands(a, b, dim=2, n=40, J_on=True):
    k = RNG.uniform(-4, 4, size=(n, dim))
    m = RNG.normal(size=(n, 3)) if J_on else np.zeros((n, 3))
    assert np.allclose(energies(a, k, m), energies(b, k, m), atol=1e-10, rtol=0)


def test_wannier90_roundtrip_qwz_with_degeneracy_weights(tmp_path):
    qwz = get_model("qwz", u=-1.0)
    # even grid, boundary images kept: R_i = -/+2 carry Wigner-Seitz weights 2 (4 at corners)
    hr = hoppings_from_model(qwz, np.zeros(3), 4, drop_tol=-1.0)
    assert set(hr.ndegen.tolist()) == {1, 2, 4}
    assert np.isclose(np.sum(1.0 / hr.ndegen), 16)  # the weights tile the 4 x 4 supercell once
    path = write_wannier90_hr(tmp_path / "qwz_hr.dat", hr)
    back = read_wannier90_hr(path)
    assert np.array_equal(back.R[:, :2], hr.R) and np.all(back.R[:, 2] == 0)
    assert np.array_equal(back.ndegen, hr.ndegen)
    assert np.allclose(back.H, hr.H, atol=1e-15)
    tb = TightBindingModel.from_wannier90(path, qwz.lattice_vectors(), spin="outer", spinful=True)
    _assert_same_bands(tb, qwz, J_on=False)

    # rescale: store d * H(R) with nontrivial degeneracies d(R) = d(-R); the reader must divide
    hr2 = hoppings_from_model(qwz, np.zeros(3), 5, drop_tol=-1.0)
    deg = (1 + np.abs(hr2.R).sum(axis=1) % 3).astype(int)
    assert len(set(deg.tolist())) > 1
    path2 = write_wannier90_hr(tmp_path / "qwz2_hr.dat", hr2.R, hr2.H * deg[:, None, None], deg)
    text = path2.read_text().splitlines()
    assert int(text[2]) == len(deg) > 15  # the degeneracy list spans lines of 15
    assert len(text[3].split()) == 15
    tb2 = TightBindingModel.from_wannier90(path2, np.eye(2), spin="outer", spinful=True, J=0.0)
    _assert_same_bands(tb2, qwz, J_on=False)
    # ... and a file whose degeneracies were ignored would not agree
    wrong = TightBindingModel(lattice_vectors=np.eye(2), hr=dict(zip(map(tuple, hr2.R), hr2.H * deg[:, None, None])),
                              spin="outer", spinful=True)
    k = RNG.uniform(-4, 4, size=(20, 2))
    assert not np.allclose(energies(wrong, k, np.zeros(3)), energies(qwz, k, np.zeros(3)), atol=1e-3)


def test_wannier90_roundtrip_qwz_exchange(tmp_path):
    qwz = get_model("qwz", u=-1.0, J=0.3)
    hr = hoppings_from_model(qwz, np.zeros(3), 3)  # m = 0: the file holds no exchange
    path = write_wannier90_hr(tmp_path / "qwzJ_hr.dat", hr)
    tb = TightBindingModel.from_wannier90(path, qwz.lattice_vectors(), spin="outer", spinful=True, J=0.3)
    _assert_same_bands(tb, qwz)
    k, m = RNG.normal(size=(10, 2)), RNG.normal(size=(10, 3))
    assert np.allclose(tb.dh_dk(k, m), qwz.dh_dk(k, m), atol=1e-12)
    assert np.allclose(tb.dh_dm(k, m), qwz.dh_dm(k, m), atol=1e-14)


def test_wannier90_roundtrip_tmd(tmp_path):
    tmd = get_model("tmd", material="WTe2", J=0.1)
    hr = hoppings_from_model(tmd, np.zeros(3), 3)
    path = write_wannier90_hr(tmp_path / "wte2_hr.dat", hr)
    tb = TightBindingModel.from_wannier90(path, tmd.lattice_vectors(), spin="outer", spinful=True, J=0.1)
    assert tb.n_bands == 6 and tb.length_unit == "Angstrom" and tb.energy_unit == "eV"
    _assert_same_bands(tb, tmd)
    k, m = RNG.normal(size=(10, 2)), RNG.normal(size=(10, 3))
    assert np.allclose(tb.hamiltonian(k, m), tmd.hamiltonian(k, m), atol=1e-12)
    assert np.allclose(tb.dh_dk(k, m), tmd.dh_dk(k, m), atol=1e-11)
    assert np.allclose(tb.spin_operators(), tmd.spin_operators())
    labels = [lab for lab, _ in tb.high_symmetry_path()]
    assert labels == ["Gamma", "M", "K", "Gamma"]
    K = dict(tb.high_symmetry_path())["K"] @ tb.reciprocal_vectors()
    assert np.allclose(K, [4 * np.pi / (3 * 3.560), 0.0])


def test_hoppings_from_model_with_positions_and_too_small_grid():
    model = haldane(0.2, 0.3, 0.9)
    hr = hoppings_from_model(model, np.zeros(3), 3)
    back = TightBindingModel(lattice_vectors=HEX, positions=HONEYCOMB, hr=hr)
    k = RNG.normal(size=(6, 2))
    assert np.allclose(back.hamiltonian(k, np.zeros(3)), model.hamiltonian(k, np.zeros(3)), atol=1e-12)
    # n_R = 2 <= 2 * range aliases R = +1 and -1: no longer exact
    bad = TightBindingModel(lattice_vectors=HEX, hr=hoppings_from_model(model, np.zeros(3), 2))
    assert not np.allclose(energies(bad, k, np.zeros(3)), energies(model, k, np.zeros(3)), atol=1e-3)
    with pytest.raises(ValueError, match="not a lattice model"):
        hoppings_from_model(get_model("ti_surface"), np.zeros(3), 3)


# -- configuration, registry, pickling ------------------------------------------------------------

def test_registry_config_and_pickling(tmp_path, monkeypatch):
    assert MODELS["tight_binding"] is TightBindingModel
    tmd = get_model("tmd", material="WTe2", J=0.1)
    write_wannier90_hr(tmp_path / "wte2_hr.dat", hoppings_from_model(tmd, np.zeros(3), 3))
    monkeypatch.chdir(tmp_path)
    spec = {"hr_dat": "wte2_hr.dat", "lattice_vectors": tmd.lattice_vectors().tolist(), "spin": "outer",
            "spinful": True}
    a = get_model("tight_binding", source=spec, J=0.1)
    b = from_config({**spec, "J": 0.1})
    assert a == b and hash(a) == hash(b) and a.params == {"J": 0.1}
    _assert_same_bands(a, tmd)
    c = pickle.loads(pickle.dumps(a))
    assert c == a
    _assert_same_bands(c, tmd)
    with pytest.raises(ValueError, match="J is given both"):
        get_model("tight_binding", source={**spec, "J": 0.2}, J=0.1)

    # a YAML hopping list
    doc = {
        "lattice_vectors": HEX, "positions": HONEYCOMB, "onsite": [0.3, -0.3],
        "hoppings": [[1.0, 0, 1, [0, 0]], {"amp": 1.0, "i": 1, "j": 0, "R": [1, 0]}, [1.0, 1, 0, [0, 1]],
                     ["0.3j", 0, 0, [1, 0]], ["0.3j", 1, 1, [1, -1]], ["0.3j", 1, 1, [0, 1]],
                     ["-0.3j", 1, 1, [1, 0]], [{"re": 0, "im": -0.3}, 0, 0, [1, -1]], ["-0.3j", 0, 0, [0, 1]]],
        "high_symmetry_path": [["G", [0, 0]], ["K", [2 / 3, 1 / 3]]],
    }
    (tmp_path / "haldane.yaml").write_text(yaml.safe_dump(doc))
    y = from_config({"hoppings_file": "haldane.yaml"})
    ref = haldane(0.3, 0.3, np.pi / 2)
    k = RNG.normal(size=(5, 2))
    assert np.allclose(y.hamiltonian(k, np.zeros(3)), ref.hamiltonian(k, np.zeros(3)), atol=1e-14)
    assert [lab for lab, _ in y.high_symmetry_path()] == ["G", "K"]
    assert abs(chern_lower_band(y, n_k=24) + 1) < 1e-6

    # the study configuration builds it through the schema's model.source
    from magcore.config import validate

    cfg = validate({"model": {"name": "tight_binding", "source": spec, "parameters": {"J": 0.1}},
                    "electrons": {"chemical_potential": 0.0}})
    from magcore.study import model_from_config

    assert model_from_config(cfg) == a


def test_default_paths():
    sq = TightBindingModel(lattice_vectors=np.eye(2) * 2.0, onsite=[0.0], hoppings=[(1.0, 0, 0, [1, 0])])
    assert [lab for lab, _ in sq.high_symmetry_path()] == ["Gamma", "X", "M", "Gamma"]
    # 120-degree hexagonal axes: K is a zone corner, equidistant from Gamma and two G vectors
    hx = TightBindingModel(lattice_vectors=[[1.0, 0.0], [-0.5, SQRT3 / 2]], onsite=[0.0],
                           hoppings=[(1.0, 0, 0, [1, 0])])
    path = dict(hx.high_symmetry_path())
    b = hx.reciprocal_vectors()
    K = path["K"] @ b
    G = [b[0], b[1], b[0] + b[1], -b[0], -b[1], -b[0] - b[1], b[0] - b[1], b[1] - b[0]]
    d = np.array([np.linalg.norm(K - g) for g in G])
    assert np.sum(np.isclose(d, np.linalg.norm(K))) == 2
    assert np.isclose(np.linalg.norm(K), 4 * np.pi / 3)


# -- bad input: clear errors --------------------------------------------------------------------------

def test_non_hermitian_hoppings_named():
    h1 = np.array([[0.1, 0.5], [0.0, 0.2]])
    hr = {(0, 0): np.diag([1.0, -1.0]), (1, 0): h1, (-1, 0): h1.conj().T.copy()}
    hr[(-1, 0)][0, 1] = 0.4  # should be conj(h1[1, 0]) = 0
    with pytest.raises(ValueError, match="non-Hermitian hoppings") as info:
        TightBindingModel(lattice_vectors=np.eye(2), hr=hr)
    assert "R = [1, 0]" in str(info.value) and "orbital pair (1, 0)" in str(info.value)
    # a missing partner -R
    with pytest.raises(ValueError, match=r"non-Hermitian hoppings.*R = \[0, 1\].*missing"):
        TightBindingModel(lattice_vectors=np.eye(2), hr={(0, 0): np.eye(2), (0, 1): 0.1 * np.eye(2)})
    # a non-Hermitian on-site block
    with pytest.raises(ValueError, match=r"non-Hermitian hoppings.*R = \[0, 0\]"):
        TightBindingModel(lattice_vectors=np.eye(2), hr={(0, 0): np.array([[0, 1.0], [0, 0]])})
    # within tolerance is accepted (and symmetrised)
    ok = {(0, 0): np.eye(2), (1, 0): h1, (-1, 0): h1.conj().T + 1e-9}
    TightBindingModel(lattice_vectors=np.eye(2), hr=ok)


def test_wrong_matrix_sizes():
    with pytest.raises(ValueError, match="3 on-site energies for 2 orbitals"):
        TightBindingModel(lattice_vectors=HEX, positions=HONEYCOMB, onsite=[0, 0, 0], hoppings=[])
    with pytest.raises(ValueError, match=r"shape mismatch: R = \[1, 0\] has shape \(3, 3\)"):
        TightBindingModel(lattice_vectors=np.eye(2), hr={(0, 0): np.eye(2), (1, 0): np.eye(3), (-1, 0): np.eye(3)})
    with pytest.raises(ValueError, match="lattice_vectors must be a square"):
        TightBindingModel(lattice_vectors=[[1, 0, 0], [0, 1, 0]], onsite=[0.0], hoppings=[])
    with pytest.raises(ValueError, match=r"positions must have shape \(n_orb, 2\)"):
        TightBindingModel(lattice_vectors=HEX, positions=[[0, 0, 0]], onsite=[0.0], hoppings=[])
    with pytest.raises(ValueError, match=r"spin operators must have shape \(3, 2, 2\)"):
        TightBindingModel(lattice_vectors=np.eye(2), onsite=[0.0, 0.0], hoppings=[], spin=np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="R = \\[1, 0, 2\\] has 3 components but the lattice is 2-dimensional"):
        TightBindingModel(lattice_vectors=np.eye(2), hr={(0, 0, 0): np.eye(1), (1, 0, 2): np.eye(1),
                                                         (-1, 0, -2): np.eye(1)})
    with pytest.raises(ValueError, match="2x2 matrix or four Pauli"):
        TightBindingModel(lattice_vectors=np.eye(2), onsite=[0.0], hoppings=[([1, 2, 3], 0, 0, [1, 0])],
                          spin="outer")
    with pytest.raises(ValueError, match="needs a spinful model"):
        TightBindingModel(lattice_vectors=np.eye(2), onsite=[0.0], hoppings=[([0, 0, 0, 1], 0, 0, [1, 0])])
    with pytest.raises(ValueError, match="1 orbital positions for a 8-band model"):
        TightBindingModel(lattice_vectors=np.eye(2), positions=[[0, 0]], hr={(0, 0): np.eye(4)}, spin="outer",
                          spinful=False)


def test_bad_hopping_lists():
    lat, pos = HEX, HONEYCOMB
    with pytest.raises(ValueError, match=r"hop given twice: it is the Hermitian conjugate of hopping #0"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0],
                          hoppings=[(1.0, 0, 1, [1, 0]), (1.0, 1, 0, [-1, 0])])
    with pytest.raises(ValueError, match=r"hop given twice.*hopping #0"):  # (i, i, R) and (i, i, -R)
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0],
                          hoppings=[(0.1j, 0, 0, [1, 0]), (-0.1j, 0, 0, [-1, 0])])
    with pytest.raises(ValueError, match=r"hopping #1.*given twice"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0],
                          hoppings=[(1.0, 0, 1, [0, 0]), (2.0, 0, 1, [0, 0])])
    with pytest.raises(ValueError, match=r"hopping #1 .*orbital index 2 out of range 0\.\.1"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0],
                          hoppings=[(1.0, 0, 1, [0, 0]), (1.0, 0, 2, [1, 0])])
    with pytest.raises(ValueError, match="orbital index -1 out of range"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0], hoppings=[(1.0, -1, 0, [1, 0])])
    with pytest.raises(ValueError, match="on-site term .* is not a hopping"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0], hoppings=[(1.0, 1, 1, [0, 0])])
    with pytest.raises(ValueError, match="must have 2 components"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0], hoppings=[(1.0, 0, 1, [1])])
    with pytest.raises(ValueError, match="not Hermitian"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[1j, 0], hoppings=[])
    with pytest.raises(ValueError, match="spin = 'none'"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0], hoppings=[], J=0.1)
    with pytest.raises(ValueError, match="spin = 'sideways'"):
        TightBindingModel(lattice_vectors=lat, positions=pos, onsite=[0, 0], hoppings=[], spin="sideways")
    with pytest.raises(ValueError, match="say whether the H_R are already spinful"):
        TightBindingModel(lattice_vectors=np.eye(2), hr={(0, 0): np.eye(2)}, spin="outer")
    with pytest.raises(ValueError, match="unknown argument"):
        TightBindingModel(lattice_vectors=np.eye(2), onsite=[0.0], hoppings=[], hop=[])
    with pytest.raises(ValueError, match="unknown key"):
        from_config({"hr_data": "x_hr.dat"})


def test_missing_and_garbled_hr_dat(tmp_path):
    missing = tmp_path / "nothere_hr.dat"
    with pytest.raises(FileNotFoundError, match="nothere_hr.dat"):
        read_wannier90_hr(missing)
    with pytest.raises(FileNotFoundError, match="nothere_hr.dat"):
        from_config({"hr_dat": str(missing), "lattice_vectors": np.eye(2).tolist()})

    good = write_wannier90_hr(tmp_path / "good_hr.dat", hoppings_from_model(get_model("qwz"), np.zeros(3), 3))
    lines = good.read_text().splitlines()
    assert read_wannier90_hr(good).H.shape == (5, 2, 2)

    def variant(name, new_lines):
        p = tmp_path / name
        p.write_text("\n".join(new_lines) + "\n")
        return p

    cases = [
        ("trunc_hr.dat", lines[:-3], "truncated"),
        ("text_hr.dat", lines[:6] + [lines[6].replace("1", "x", 1)] + lines[7:], ["line 7)", "non-numeric"]),
        ("cols_hr.dat", lines[:8] + [" ".join(lines[8].split()[:6])] + lines[9:], ["line 9)", "expected 7 columns"]),
        ("nw_hr.dat", [lines[0], "two"] + lines[2:], ["line 2)", "num_wann"]),
        ("nrpts_hr.dat", lines[:2] + ["9"] + lines[3:], ["line 5)", "9 degeneracies expected"]),
        ("idx_hr.dat", lines[:5] + [" ".join(lines[5].split()[:3] + ["3"] + lines[5].split()[4:])] + lines[6:],
         ["line 6)", "Wannier function index out of range"]),
        ("dup_hr.dat", lines[:5] + [lines[4]] + lines[6:], ["line 6)", "given twice"]),
        ("empty_hr.dat", [], "empty"),
    ]
    for name, new, words in cases:
        p = variant(name, new)
        with pytest.raises(ValueError, match="garbled Wannier90 _hr.dat") as info:
            read_wannier90_hr(p)
        message = str(info.value)
        words = [words] if isinstance(words, str) else words
        assert name in message and all(w in message for w in words), (name, message)
        assert "\n" not in message


def test_degenerate_pairs_counted_not_hidden():
    # a spinless (doubled) model at m = 0 has exactly degenerate spin pairs: reported, never inf
    model = TightBindingModel(lattice_vectors=HEX, positions=HONEYCOMB, hr=haldane(0.2, 0.3, 1.0).hoppings(),
                              spin="outer", spinful=False, J=0.1)
    k = RNG.normal(size=(4, 2))
    E, U = eigensystem(model, k, np.zeros(3))
    omega, degenerate = berry_curvature(E, matrix_elements(U, model.dh_dk(k, np.zeros(3))))
    assert degenerate.all() and np.isnan(omega).all()
    E, U = eigensystem(model, k, np.array([0, 0, 1.0]))
    omega, degenerate = berry_curvature(E, matrix_elements(U, model.dh_dk(k, np.array([0, 0, 1.0]))))
    assert not degenerate.any() and np.isfinite(omega).all()


def test_wannier_hr_as_dict():
    hr = WannierHR(R=np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0]]), H=np.array([np.eye(1), 2 * np.eye(1), 2 * np.eye(1)]),
                   ndegen=np.array([1, 2, 2]))
    d = hr.as_dict()
    assert np.allclose(d[(1, 0, 0)], 1.0) and np.allclose(d[(0, 0, 0)], 1.0)


def test_fingerprint_tells_models_with_other_hoppings_and_the_same_J_apart():
    """Two tight-binding models with the same J but other hoppings are different models (their
    stores must never be taken for each other); the same data gives the same fingerprint."""
    from magcore.models.tight_binding import TightBindingModel, hoppings_from_model

    def tb(u):
        return TightBindingModel(lattice_vectors=np.eye(2), hr=hoppings_from_model(get_model("qwz", u=u), np.zeros(3), 4),
                                 spin="none")

    a, a2, b = tb(-1.0), tb(-1.0), tb(-1.5)
    assert a.params == b.params
    assert a.fingerprint() == a2.fingerprint() and a == a2
    assert a.fingerprint() != b.fingerprint() and a != b
    assert get_model("tmd", material="MoS2").fingerprint() != get_model("tmd", material="WTe2").fingerprint()
    assert get_model("qwz", u=-1.0).fingerprint() != get_model("qwz", u=-1.5).fingerprint()
