"""The six-band TMD model (eqs. 3.78-3.80, the nearest-neighbour three-band model of Liu et al. 2013):
K-point spectrum and 2 lambda valence splitting for all six materials, the compiled operators
against the three-band formulas, the exchange splitting, the lattice, time reversal and material
handling.
"""

import numpy as np
import pytest

from magcore.bands import eigensystem, energies
from magcore.geometry import berry_curvature, matrix_elements
from magcore.models import get_model
from magcore.models.tmd import MATERIALS

SQRT3 = np.sqrt(3.0)


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
