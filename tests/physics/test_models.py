"""Built-in physical models: operators, analytic limits and symmetry checks.

ti_surface (2.30), ti_edge (2.38-2.40), tmd (3.78-3.80, Liu et al. 2013), rashba_fm, and the
spin monopole of eq. 1.10 as the ground truth of the sign convention.
"""

import pickle
import warnings

import numpy as np
import pytest

from magcore.bands import eigensystem, energies, minimum_direct_gap
from magcore.geometry import berry_curvature, matrix_elements, occupied_berry_curvature
from magcore.kmesh import disc_mesh, segment_mesh
from magcore.models import PAULI, Model, TwoBandModel, get_model
from magcore.models.base import broadcast_km
from magcore.models.rashba import HBAR2_OVER_2ME
from magcore.models.tmd import MATERIALS
from magcore.occupation import fermi_dirac
from magcore.engine import integrate_over_mesh
from magcore.sphere import Electrons, GapClosingWarning, sphere_map, sphere_partial_sums, unit_vectors

SQRT3 = np.sqrt(3.0)

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


# --------------------------------------------------------------------------------------
# operators of every model: Hermitian, analytic derivatives = finite differences, batching
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# the spin monopole (eq. 1.10): sign convention of the sum-over-states Berry curvature
# --------------------------------------------------------------------------------------
class _SpinTwoBand(TwoBandModel):
    """H = m . s (test-local), closed-form eigensystem path."""

    name = "test_spin_two_band"
    dim = 1

    def d_vector(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        d = np.zeros(batch + (4,))
        d[..., 1:] = m
        return d

    def d_jacobian_m(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        jac = np.zeros(batch + (3, 4))
        jac[..., [0, 1, 2], [1, 2, 3]] = 1.0
        return jac


class _SpinDense(Model):
    """H = m . s (test-local) as a generic model: eigenvectors from LAPACK."""

    name = "test_spin_dense"
    n_bands = 2
    dim = 1

    def hamiltonian(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        return np.einsum("...i,iab->...ab", np.broadcast_to(m, batch + (3,)), PAULI[1:])

    def dh_dm(self, k, m):
        k, m, batch = broadcast_km(k, m, self.dim)
        return np.broadcast_to(PAULI[1:], batch + (3, 2, 2)).copy()


@pytest.mark.parametrize("model", [_SpinTwoBand(), _SpinDense()], ids=["two_band", "eigh"])
def test_spin_monopole_berry_curvature(model):
    rng = np.random.default_rng(5)
    m = rng.normal(size=(200, 3)) * np.exp(rng.uniform(-3, 3, size=(200, 1)))
    k = np.zeros((200, 1))
    E, U = eigensystem(model, k, m)
    omega, deg = berry_curvature(E, matrix_elements(U, model.dh_dm(k, m)))
    assert not deg.any()
    r = np.linalg.norm(m, axis=-1)
    eps = np.zeros((3, 3, 3))
    eps[0, 1, 2] = eps[1, 2, 0] = eps[2, 0, 1] = 1
    eps[0, 2, 1] = eps[2, 1, 0] = eps[1, 0, 2] = -1
    # lower state: Omega_ij = eps_ijk m_k / (2 |m|^3), i.e. Omega_{mx my} = m_z / (2 |m|^3)
    expected = np.einsum("ijk,pk->pij", eps, m) / (2 * r[:, None, None] ** 3)
    scale = 1 / (2 * r[:, None, None] ** 2)
    np.testing.assert_allclose(omega[..., 0] / scale, expected / scale, rtol=0, atol=1e-12)
    np.testing.assert_allclose(omega[..., 1] / scale, -expected / scale, rtol=0, atol=1e-12)
    assert np.all(np.abs(omega[:, 0, 1, 0] - m[:, 2] / (2 * r**3)) < 1e-12 / r**2)


# --------------------------------------------------------------------------------------
# tmd: K-point spectrum, lattice, time reversal, gauge invariance, material handling
# --------------------------------------------------------------------------------------
def k_point(model, sign=1):
    return np.array([sign * 4 * np.pi / (3 * model.params["a"]), 0.0])


def k_valley_states(p):
    base = p["e2"] - 1.5 * (p["t11"] + p["t22"])
    return p["e1"] - 3 * p["t0"], base - 3 * SQRT3 * p["t12"], base + 3 * SQRT3 * p["t12"]


@pytest.mark.parametrize("material", list(MATERIALS))
def test_tmd_spectrum_at_k_and_k_prime(material):
    model = get_model("tmd", material=material, J=0.0)
    p = model.params
    ec, ev, eu = k_valley_states(p)
    lam = p["lambda"]
    expected = np.sort([ec, ec, ev + lam, ev - lam, eu + lam, eu - lam])
    up = lambda orb: np.concatenate([orb, np.zeros(3)])  # noqa: E731
    down = lambda orb: np.concatenate([np.zeros(3), orb])  # noqa: E731
    dz2 = np.array([1, 0, 0], complex)
    v_plus = np.array([0, 1j, 1]) / np.sqrt(2)  # (d_x2-y2 + i d_xy)/sqrt2, L_z = +2
    v_minus = v_plus.conj()  # L_z = -2
    for sign in (+1, -1):
        k = k_point(model, sign)
        H = model.hamiltonian(k, np.zeros(3))
        # h1 = h2 = 0 at K: d_z2 decouples
        np.testing.assert_allclose(H[0, 1:3], 0, atol=1e-14)
        E, U = np.linalg.eigh(H)
        np.testing.assert_allclose(E, expected, rtol=0, atol=1e-12)
        # valence: the upper spin-split valence state at ev + lambda is spin up at K, spin down at K'
        v = v_plus if sign > 0 else v_minus
        top = up(v) if sign > 0 else down(v)
        bottom = down(v) if sign > 0 else up(v)
        i_top = np.argmin(np.abs(E - (ev + lam)))
        i_bot = np.argmin(np.abs(E - (ev - lam)))
        assert abs(abs(np.vdot(top, U[:, i_top])) - 1) < 1e-12
        assert abs(abs(np.vdot(bottom, U[:, i_bot])) - 1) < 1e-12
        np.testing.assert_allclose(E[i_top] - E[i_bot], 2 * lam, atol=1e-12)
        # conduction: the spin-degenerate d_z2 pair at e1 - 3 t0
        idx = np.flatnonzero(np.abs(E - ec) < 1e-9)
        assert idx.size == 2
        P = U[:, idx] @ U[:, idx].conj().T
        P_expected = np.outer(up(dz2), up(dz2)) + np.outer(down(dz2), down(dz2))
        np.testing.assert_allclose(P, P_expected, atol=1e-12)


def test_tmd_compiled_operators_match_the_three_band_formulas():
    # hamiltonian/dh_dk run the compiled lane functions of the lane source (blocks of 64 points:
    # 135 points are two full blocks and a partial one); h_nn/dh_nn_dk are the numpy formulas
    # of eq. 3.80
    model = get_model("tmd", material="WS2", J=0.17)
    rng = np.random.default_rng(8)
    k = rng.normal(size=(9, 15, 2))
    m = rng.normal(size=(15, 3))
    lam, J = model.params["lambda"], model.params["J"]
    s = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]
    L_z = np.array([[0, 0, 0], [0, 0, 2j], [0, -2j, 0]])
    H = (np.kron(np.eye(2), model.h_nn(k)) + 0.5 * lam * np.kron(s[2], L_z)
         + J * sum(m[:, i, None, None] * np.kron(s[i], np.eye(3)) for i in range(3)))
    np.testing.assert_allclose(model.hamiltonian(k, m), H, rtol=0, atol=1e-14)
    dH = np.kron(np.eye(2), model.dh_nn_dk(k))
    np.testing.assert_allclose(model.dh_dk(k, m), dH, rtol=0, atol=1e-14)


def test_tmd_exchange_splits_the_conduction_pair_by_2J():
    J = 0.05
    model = get_model("tmd", material="MoS2", J=J)
    ec = k_valley_states(model.params)[0]
    for mhat in ([0, 0, 1], [1, 0, 0], [0.6, 0, 0.8]):
        E = energies(model, k_point(model), np.array(mhat, float))
        # d_z2 is decoupled at K and carries no L_z: J m.s splits it by exactly 2 J |m|
        assert np.min(np.abs(E - (ec + J))) < 1e-12 and np.min(np.abs(E - (ec - J))) < 1e-12


def test_tmd_lattice_is_consistent_with_the_k_point():
    model = get_model("tmd", material="WSe2", J=0.2)
    a = model.params["a"]
    A, B = model.lattice_vectors(), model.reciprocal_vectors()
    np.testing.assert_allclose(A @ B.T, 2 * np.pi * np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(A, axis=1), a)  # triangular: |a1| = |a2| = a
    np.testing.assert_allclose(A[0] @ A[1], 0.5 * a * a)
    path = dict(model.high_symmetry_path())
    labels = [lab for lab, _ in model.high_symmetry_path()]
    assert labels == ["Gamma", "M", "K", "Gamma"]
    K = path["K"] @ B
    np.testing.assert_allclose(K, k_point(model), atol=1e-12)
    # K is a zone corner: equidistant from the three reciprocal points G = 0, b1, b1 + b2
    dists = [np.linalg.norm(K - G) for G in (0 * B[0], B[0], B[0] + B[1])]
    np.testing.assert_allclose(dists, 4 * np.pi / (3 * a))
    M = path["M"] @ B
    np.testing.assert_allclose(np.linalg.norm(M - B[0]), np.linalg.norm(M))
    # the Hamiltonian is periodic under reciprocal lattice translations
    rng = np.random.default_rng(6)
    k, m = rng.uniform(-2, 2, size=(7, 2)), rng.normal(size=(7, 3))
    for G in (B[0], B[1], B[0] - 2 * B[1]):
        np.testing.assert_allclose(model.hamiltonian(k + G, m), model.hamiltonian(k, m), atol=1e-12)
        np.testing.assert_allclose(model.dh_dk(k + G, m), model.dh_dk(k, m), atol=1e-11)


def k_berry(model, k, m):
    E, U = eigensystem(model, k, m)
    omega, deg = berry_curvature(E, matrix_elements(U, model.dh_dk(k, m)))
    return E, omega[..., 0, 1, :], deg


def test_tmd_time_reversal_odd_k_space_berry_curvature():
    rng = np.random.default_rng(7)
    model = get_model("tmd", material="WTe2", J=0.0)
    k = rng.uniform(-1.2, 1.2, size=(400, 2))
    m = np.zeros(3)
    E_p, om_p, _ = k_berry(model, k, m)
    E_m, om_m, _ = k_berry(model, -k, m)
    # generic points only: every band separated from its neighbours (no Kramers pairs,
    # no spin crossings on the Gamma-M mirror lines)
    ok = np.min(np.diff(E_p, axis=-1), axis=-1) > 1e-2
    assert ok.sum() > 200
    np.testing.assert_allclose(E_m[ok], E_p[ok], atol=1e-12)
    scale = np.max(np.abs(om_p[ok]), axis=-1, keepdims=True)
    np.testing.assert_allclose(om_m[ok] / scale, -om_p[ok] / scale, atol=1e-9)
    assert np.max(np.abs(om_p[ok])) > 1.0  # the curvature is not trivially zero
    np.testing.assert_allclose(om_p[ok].sum(-1) / scale[:, 0], 0, atol=1e-9)  # sum over bands
    # the exchange field breaks time reversal: the relation fails with J m . s
    broken = get_model("tmd", material="WTe2", J=0.3)
    mz = np.array([0.0, 0.0, 1.0])
    _, b_p, _ = k_berry(broken, k[ok], mz)
    _, b_m, _ = k_berry(broken, -k[ok], mz)
    assert np.max(np.abs(b_p + b_m)) > 0.1 * np.max(np.abs(b_p))


def test_tmd_berry_curvature_is_gauge_invariant():
    rng = np.random.default_rng(8)
    model = get_model("tmd", material="MoSe2", J=0.15)
    k, m = rng.uniform(-1, 1, size=(50, 2)), rng.normal(size=(50, 3))
    E, U = eigensystem(model, k, m)
    U2 = U * np.exp(2j * np.pi * rng.uniform(size=U.shape[:-2] + (1, 6)))
    for dH in (model.dh_dk(k, m), model.dh_dm(k, m)):
        a, _ = berry_curvature(E, matrix_elements(U, dH))
        b, _ = berry_curvature(E, matrix_elements(U2, dH))
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10 * np.max(np.abs(a)))
    kk = np.concatenate([model.dh_dk(k, m), model.dh_dm(k, m)], axis=-3)
    f = fermi_dirac(E, 0.5 * (E[:, 1].max() + E[:, 2].min()), 0.0)
    a, _ = occupied_berry_curvature(E, f, matrix_elements(U, kk))
    b, _ = occupied_berry_curvature(E, f, matrix_elements(U2, kk))
    np.testing.assert_allclose(b, a, atol=1e-10 * np.max(np.abs(a)))


def test_tmd_material_selection_and_overrides():
    wte2 = get_model("tmd")
    assert wte2.material == "WTe2" and wte2.params["a"] == MATERIALS["WTe2"]["a"]
    ws2 = get_model("tmd", material="ws2")
    assert ws2.material == "WS2"
    assert {k: ws2.params[k] for k in MATERIALS["WS2"]} == MATERIALS["WS2"]
    assert "material='WS2'" in repr(ws2)
    assert ws2 == get_model("tmd", material="WS2") and ws2 != wte2
    # the same numbers under another label are a different (labelled) model
    assert get_model("tmd", material="MoS2", **MATERIALS["WTe2"]) != wte2
    custom = get_model("tmd", material="MoS2", J=0.25, **{"lambda": 0.5, "a": 3.0})
    assert custom.params["lambda"] == 0.5 and custom.params["a"] == 3.0 and custom.params["J"] == 0.25
    assert custom.params["t0"] == MATERIALS["MoS2"]["t0"]
    with pytest.raises(ValueError, match="MoS2.*WTe2"):
        get_model("tmd", material="graphene")
    with pytest.raises(ValueError, match="unknown parameter"):
        get_model("tmd", lam=0.1)
    with pytest.raises(TypeError):
        get_model("tmd", J="big")


# --------------------------------------------------------------------------------------
# ti_edge: sphere maps against eqs. 2.39, 2.40
# --------------------------------------------------------------------------------------
V_EDGE, J_EDGE = 0.8, 1.2  # alpha = J |m| a / (hbar v) = 1.5 at |m| = 1
ALPHA_EDGE = J_EDGE / V_EDGE
THETA_E = np.linspace(0, np.pi, 13)
PHI_E = 2 * np.pi * np.arange(8) / 8  # contains phi = pi/2, 3pi/2: m = +/-y at theta = pi/2


def edge_map(kc, magnitude=1.0, panels=24, order=10):
    model = get_model("ti_edge", v=V_EDGE, J=J_EDGE)
    mesh = segment_mesh(kc, panels, order, 0.5)
    m = magnitude * unit_vectors(THETA_E, PHI_E).reshape(-1, 3)
    gap, kmin = minimum_direct_gap(model, m, mesh.points, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GapClosingWarning)
        ds = sphere_map(model, THETA_E, PHI_E, mesh, Electrons(), magnitude=magnitude, gamma_f=2.0 * magnitude,
                        min_gap=gap.reshape(len(THETA_E), len(PHI_E)))
    return model, ds, gap, kmin, m


def y_polar_sin(mhat):
    return np.hypot(mhat[..., 0], mhat[..., 2])  # sin of the polar angle from the y axis


def test_ti_edge_gap_closes_only_along_y_and_the_segment_is_centred():
    model, ds, gap, kmin, m = edge_map(50.0, panels=12, order=4)
    np.testing.assert_allclose(gap, 2 * J_EDGE * y_polar_sin(m), atol=1e-9)
    np.testing.assert_allclose(kmin, model.k_center(m), atol=1e-6)
    np.testing.assert_allclose(model.k_center(m)[:, 0], -J_EDGE * m[:, 1] / V_EDGE)
    closed = y_polar_sin(unit_vectors(THETA_E, PHI_E)) < 1e-9
    assert closed.sum() == 2  # m = +y and m = -y
    assert np.all(np.isnan(ds.berry_curvature_theta_phi.values[closed]))
    assert np.all(np.isfinite(ds.berry_curvature_theta_phi.values[~closed]))


def edge_errors(kc, magnitude=1.0):
    _, ds, _, _, _ = edge_map(kc, magnitude)
    mhat = unit_vectors(THETA_E, PHI_E)
    s_y = y_polar_sin(mhat)
    ok = s_y > 0.2  # away from the gap closings at m parallel to +/-y
    om_vec = ds.berry_curvature_m.values
    alpha = ALPHA_EDGE * magnitude
    # eq. 2.39: Omega_{theta phi} = alpha sin(theta_y) / (2 pi a), theta_y from the y axis;
    # equivalently Omega . m_hat = J / (2 pi v |m|) and Omega lies in the x-z plane
    radial = np.einsum("...i,...i->...", om_vec, mhat)
    om_tp_y = magnitude**2 * s_y * radial
    e_tp = np.max(np.abs(om_tp_y / (alpha * s_y / (2 * np.pi)) - 1)[ok])
    expected_vec = J_EDGE / (2 * np.pi * V_EDGE * magnitude) * mhat * np.array([1, 0, 1]) / s_y[..., None] ** 2
    e_vec = np.max(np.abs(om_vec - expected_vec)[ok]) / np.max(np.abs(expected_vec[ok]))
    # eq. 2.40 with gamma_f = 2 |m| a / hbar
    gam = ds.gyromagnetic_ratio.values
    e_gam = np.max(np.abs(gam / (2 * magnitude / (1 + alpha / np.pi)) - 1)[ok])
    # the finite-cutoff closed form: int_{-k_c}^{k_c} dq/(2 pi) of the curvature gives
    # Omega . m_hat = J / (2 pi v |m|) * v k_c / sqrt(v^2 k_c^2 + J^2 |m|^2 sin^2 theta_y)
    D = J_EDGE * magnitude * s_y
    finite = J_EDGE / (2 * np.pi * V_EDGE * magnitude) * V_EDGE * kc / np.sqrt((V_EDGE * kc) ** 2 + D**2)
    e_fin = np.max(np.abs(radial / finite - 1)[ok])
    assert np.all(np.isfinite(gam[ok]))
    return e_tp, e_vec, e_gam, e_fin


def test_ti_edge_berry_curvature_and_gyromagnetic_ratio_converge_in_cutoff():
    cutoffs = [10.0, 20.0, 40.0, 80.0]
    errs = np.array([edge_errors(kc) for kc in cutoffs])
    e_tp, e_vec, e_gam, e_fin = errs.T
    # the quadrature reproduces the exact finite-cutoff integral at every cutoff ...
    assert np.all(e_fin < 1e-9), e_fin
    # ... whose deviation from eqs. 2.39/2.40 is D^2 / (2 v^2 k_c^2): it falls 4x per doubling
    for e in (e_tp, e_vec, e_gam):
        assert np.all(np.diff(e) < 0), errs
        ratios = e[:-1] / e[1:]
        assert np.all((ratios > 3.6) & (ratios < 4.4)), (ratios, errs)
    assert e_tp[-1] < 2e-4 and e_gam[-1] < 1e-4, errs[-1]
    # leading tail at theta_y = pi/2 (D = J |m|): alpha^2 a^2 / (2 (k_c a)^2)
    np.testing.assert_allclose(e_tp, ALPHA_EDGE**2 / (2 * np.array(cutoffs) ** 2), rtol=0.05)


def test_ti_edge_omega_radial_is_uniform_for_other_magnitudes():
    # Omega . m_hat = J / (2 pi v |m|): alpha = J |m| a / v scales with |m|
    e_tp, e_vec, e_gam, e_fin = edge_errors(400.0, magnitude=0.6)
    assert e_fin < 1e-9 and e_tp < 2e-5 and e_vec < 2e-5 and e_gam < 2e-5, (e_tp, e_vec, e_gam, e_fin)


# --------------------------------------------------------------------------------------
# rashba_fm
# --------------------------------------------------------------------------------------
RASHBA = {"m_star": 0.35, "alpha_R": 0.7, "J": 0.12}


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


@pytest.mark.parametrize("mz", [1.0, -0.5])
def test_rashba_fermi_sea_berry_curvature_closed_form(mz):
    """Omega_{mx my} of the Fermi sea for m = m_z z, mu in the exchange gap (T = 0).

    The lower band is filled for |k| < k_F, the upper band is empty (E_+ >= |J m_z| > mu), so
    Omega_{mx my} = int_{|k|<k_F} [dk] J^3 m_z / (2 |d|^3)
                  = J^2 sgn(J m_z) / (4 pi alpha_R^2) (1 - |J m_z| / |d(k_F)|),
    with |d(k_F)| = R from b R^2 - R = b Delta^2 + mu, b = hbar^2 / (2 m* alpha_R^2).
    """
    model = get_model("rashba_fm", **RASHBA)
    aR, J = RASHBA["alpha_R"], RASHBA["J"]
    delta = abs(J * mz)
    mu = 0.3 * delta
    b = HBAR2_OVER_2ME / (RASHBA["m_star"] * aR**2)
    R = (1 + np.sqrt(1 + 4 * b * (b * delta**2 + mu))) / (2 * b)
    kF = np.sqrt(R**2 - delta**2) / aR
    expected = J**2 * np.sign(J * mz) / (4 * np.pi * aR**2) * (1 - delta / R)
    # panel edge exactly on the Fermi circle (k_c g = k_F), so the occupation step is resolved
    mesh = disc_mesh(2 * kF, 20, 10, 0.5, 6)
    out = integrate_over_mesh(sphere_partial_sums, model, np.array([[0.0, 0.0, mz]]), mesh,
                              Electrons(chemical_potential=mu))
    om = out["omega_mm"][0]
    assert out["n_degenerate"][0] == 0
    np.testing.assert_allclose(om[0, 1], expected, rtol=1e-9)
    np.testing.assert_allclose(om, -om.T, atol=1e-15)
    np.testing.assert_allclose([om[0, 2], om[1, 2]], 0, atol=1e-12 * abs(expected))
    # and it is the Dirac-cone value J^2 / (4 pi alpha_R^2) only when the whole cone is filled
    assert abs(om[0, 1]) < J**2 / (4 * np.pi * aR**2)


def test_docs_models_md_is_in_sync_with_the_registry(repo):
    from magcore.models import describe_models

    assert (repo / "docs" / "models.md").read_text().strip() == describe_models().strip(), (
        "docs/models.md is stale: regenerate it with the command at its top")


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
