"""The Berry curvature defined below eq. 2.7, Omega^n_ij = -2 Im <d_i u_n|d_j u_n>, evaluated by sum
over states: unchanged by random U(1) phases of the eigenvectors (qwz, dirac4d, tmd), the
non-Abelian curvature of a degenerate occupied frame covariant under U(2) rotations, the interband
connection equal to eigenvector derivatives, the occupied curvature of a filled band equal to its
band curvature, NaN (never inf) at degenerate pairs.
"""


import numpy as np

from magcore import geometry, topology
from magcore.bands import eigensystem, eigensystem_two_band
from magcore.geometry import berry_curvature, matrix_elements, occupied_berry_curvature
from magcore.models import get_model
from magcore.occupation import fermi_dirac

from physics_helpers import M0, dagger


def random_unitary(rng, shape, n):
    z = rng.normal(size=shape + (n, n)) + 1j * rng.normal(size=shape + (n, n))
    q, r = np.linalg.qr(z)
    d = np.diagonal(r, axis1=-2, axis2=-1)
    return q * (d / np.abs(d))[..., None, :]


def test_random_phases_leave_gauge_invariants_unchanged():
    # dirac4d with exchange: four non-degenerate bands, four k-parameters
    model = get_model("dirac4d", m0=-1.2, J=0.4)
    m = np.array([0.3, -0.5, 0.8])
    rng = np.random.default_rng(7)
    k = rng.uniform(-np.pi, np.pi, size=(40, 4))
    E, U = eigensystem(model, k, m)
    phases = np.exp(1j * rng.uniform(0, 2 * np.pi, size=(40, 4)))
    U2 = U * phases[:, None, :]
    A = geometry.matrix_elements(U, model.dh_dk(k, m))
    A2 = geometry.matrix_elements(U2, model.dh_dk(k, m))
    assert not np.allclose(A, A2)  # the gauge change is real

    om, _ = geometry.berry_curvature(E, A)
    om2, _ = geometry.berry_curvature(E, A2)
    assert np.allclose(om, om2, atol=1e-10)

    c, _ = geometry.interband_connection(E, A)
    c2, _ = geometry.interband_connection(E, A2)
    assert np.allclose(np.abs(c) ** 2, np.abs(c2) ** 2)
    expected = np.conj(phases)[:, None, :, None] * c * phases[:, None, None, :]
    assert np.allclose(c2, expected)

    F, _ = geometry.non_abelian_curvature(E, A, [0, 1])
    F2, _ = geometry.non_abelian_curvature(E, A2, [0, 1])
    tr = np.trace(F, axis1=-2, axis2=-1)
    assert np.allclose(tr, np.trace(F2, axis1=-2, axis2=-1))
    # tr F is the Abelian sum of the occupied band curvatures
    assert np.allclose(tr.real, om[..., 0] + om[..., 1], atol=1e-10)
    assert np.allclose(tr.imag, 0, atol=1e-12)
    # single band: F is the band curvature
    F0, _ = geometry.non_abelian_curvature(E, A, [0])
    assert np.allclose(F0[..., 0, 0].real, om[..., 0], atol=1e-10)
    assert np.allclose(geometry.second_chern_density(F), geometry.second_chern_density(F2))
    assert np.abs(geometry.second_chern_density(F)).max() > 1e-3


def test_random_u2_rotation_of_the_degenerate_occupied_frame():
    model = get_model("dirac4d", m0=1.0)  # J = 0: E_0 = E_1 and E_2 = E_3 at every k
    rng = np.random.default_rng(3)
    k = rng.uniform(-np.pi, np.pi, size=(30, 4))
    E, U = eigensystem(model, k, M0)
    assert np.allclose(E[:, 0], E[:, 1]) and np.allclose(E[:, 2], E[:, 3])
    W = random_unitary(rng, (30,), 2)
    Wu = random_unitary(rng, (30,), 2)
    U2 = U.copy()
    U2[..., :2] = U[..., :2] @ W
    U2[..., 2:] = U[..., 2:] @ Wu
    A = geometry.matrix_elements(U, model.dh_dk(k, M0))
    A2 = geometry.matrix_elements(U2, model.dh_dk(k, M0))
    F, bad = geometry.non_abelian_curvature(E, A, [0, 1])
    F2, _ = geometry.non_abelian_curvature(E, A2, [0, 1])
    assert not bad.any()
    Wb = W[:, None, None]
    assert np.allclose(F2, dagger(Wb) @ F @ Wb, atol=1e-10)  # covariant
    assert not np.allclose(F2, F, atol=1e-3)
    assert np.allclose(np.trace(F, axis1=-2, axis2=-1), np.trace(F2, axis1=-2, axis2=-1), atol=1e-10)
    FF = np.einsum("...ijab,...klba->...ijkl", F, F)
    FF2 = np.einsum("...ijab,...klba->...ijkl", F2, F2)
    assert np.allclose(FF, FF2, atol=1e-10)
    assert np.allclose(geometry.second_chern_density(F), geometry.second_chern_density(F2), atol=1e-12)
    # the intra-pair interband connection is undefined (degenerate): NaN and flagged, never inf
    conn, mask = geometry.interband_connection(E, A)
    assert mask[:, 0, 1].all() and mask[:, 2, 3].all() and not mask[:, 0, 2].any()
    assert np.isnan(conn[:, :, 0, 1]).all() and not np.isinf(conn).any()


def test_lattice_field_strength_is_gauge_covariant():
    model = get_model("dirac4d", m0=-1.0)
    n = 6
    k = topology._grid(model, n)
    E, U = eigensystem(model, k, M0)
    V = U[..., :2]
    W = random_unitary(np.random.default_rng(5), (n,) * 4, 2)
    for scheme in topology.SCHEMES:
        F = topology.lattice_field_strength(V, scheme=scheme)
        F2 = topology.lattice_field_strength(V @ W, scheme=scheme)
        assert np.allclose(F2, dagger(W) @ F @ W, atol=1e-10), scheme


def test_interband_connection_matches_eigenvector_derivatives():
    # i <n|d_i l> from smooth (north-gauge) closed-form eigenvectors by central differences
    model = get_model("qwz", u=0.6)
    k = np.array([[0.4, -0.7], [1.1, 0.3], [-0.2, 2.0]])
    E, U = eigensystem(model, k, M0)
    A = geometry.matrix_elements(U, model.dh_dk(k, M0))
    conn, mask = geometry.interband_connection(E, A)
    assert not mask.any()
    assert np.allclose(np.diagonal(conn, axis1=-2, axis2=-1), 0)
    h = 1e-5
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        Up = eigensystem_two_band(model.d_vector(k + e, M0))[1]
        Um = eigensystem_two_band(model.d_vector(k - e, M0))[1]
        dU = (Up - Um) / (2 * h)
        fd = 1j * dagger(U) @ dU  # [n, l] = i <n|d_i l>
        assert np.allclose(conn[:, i, 0, 1], fd[:, 0, 1], atol=1e-6)
        assert np.allclose(conn[:, i, 1, 0], fd[:, 1, 0], atol=1e-6)


def test_occupied_curvature_of_the_filled_lower_band_is_its_band_curvature():
    model = get_model("qwz", u=-0.8)
    rng = np.random.default_rng(11)
    k = rng.uniform(-np.pi, np.pi, size=(200, 2))
    E, U = eigensystem(model, k, M0)
    A = geometry.matrix_elements(U, model.dh_dk(k, M0))
    om_band, _ = geometry.berry_curvature(E, A)
    f = np.zeros_like(E)
    f[:, 0] = 1.0
    om_occ, bad = geometry.occupied_berry_curvature(E, f, A)
    assert not bad.any()
    assert np.allclose(om_occ, om_band[..., 0], atol=1e-12)
    assert np.abs(om_occ[:, 0, 1]).max() > 0.05
    # and equals the non-Abelian curvature of the one-band subspace
    F, _ = geometry.non_abelian_curvature(E, A, [0])
    assert np.allclose(F[..., 0, 0].real, om_band[..., 0], atol=1e-12)


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
