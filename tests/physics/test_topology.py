"""Validation models qwz / dirac4d, interband and non-Abelian geometry, and topological invariants.

Conventions under test (docs/physics.md): Omega = -2 Im <d_i u|d_j u>, C1 = (1/2 pi) int d^2k Omega_xy,
C2 = (1/32 pi^2) int d^4k eps^{ijkl} tr(F_ij F_kl) with eps^{1234} = +1.  Each invariant is
computed twice, by link variables (no derivatives of H) and by sum over states (no eigenvector
overlaps), and the two must agree on the integers fixed below.
"""

from __future__ import annotations

import numpy as np
import pytest

from magcore import geometry, topology
from magcore.bands import eigensystem, eigensystem_two_band
from magcore.models import get_model
from magcore.models.validation import GAMMA, SPIN_4D

M0 = np.array([0.0, 0.0, 1.0])

# lower-band Chern number of qwz by phase (this sign convention)
QWZ_PHASES = [(-3.0, 0), (-1.5, 1), (-0.5, 1), (0.5, -1), (1.5, -1), (3.0, 0)]
# second Chern number of the lower two dirac4d bands by phase of m0 (Gamma matrices of validation.py)
DIRAC4D_PHASES = [(-5.0, 0), (-3.0, -1), (-1.0, 3), (1.0, -3), (3.0, 1), (5.0, 0)]


def random_unitary(rng, shape, n):
    z = rng.normal(size=shape + (n, n)) + 1j * rng.normal(size=shape + (n, n))
    q, r = np.linalg.qr(z)
    d = np.diagonal(r, axis1=-2, axis2=-1)
    return q * (d / np.abs(d))[..., None, :]


def dagger(x):
    return np.conj(np.swapaxes(x, -1, -2))


# -- the models ----------------------------------------------------------------------------------

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


# -- first Chern number of qwz -------------------------------------------------------------------

@pytest.mark.parametrize("u, chern", QWZ_PHASES)
def test_qwz_chern_number_links_and_sum_over_states(u, chern):
    model = get_model("qwz", u=u)
    c_link = topology.first_chern_number(model, M0, n_k=24, bands=[0])
    assert abs(c_link - round(c_link)) < 1e-9  # the FHS sum is an integer on any fine-enough grid
    assert round(c_link) == chern
    c_sos = topology.chern_number_sum_over_states(model, M0, n_k=48, bands=[0])
    assert abs(c_sos - chern) < 1e-3
    # the two bands carry opposite Chern numbers
    assert round(topology.first_chern_number(model, M0, n_k=24, bands=[1])) == -chern


def test_qwz_exchange_shifts_the_mass():
    # J m_z s_z adds J m_z to u: u = 1, J m_z = -2 gives the u = -1 phase
    model = get_model("qwz", u=1.0, J=2.0)
    assert round(topology.first_chern_number(model, [0, 0, -1.0], n_k=24)) == 1
    assert round(topology.first_chern_number(model, [0, 0, 1.0], n_k=24)) == 0


def test_chern_number_at_a_gap_closing_is_nan():
    model = get_model("qwz", u=0.0)  # the gap closes at X = (pi, 0), on the n_k = 8 link grid
    assert np.isnan(topology.first_chern_number(model, M0, n_k=8))
    k = np.array([[np.pi, 0.0], [0.3, 0.2]])
    E, U = eigensystem(model, k, M0)
    A = geometry.matrix_elements(U, model.dh_dk(k, M0))
    F, bad = geometry.non_abelian_curvature(E, A, [0])
    assert bad.tolist() == [True, False]
    assert np.isnan(F[0]).all() and np.isfinite(F[1]).all()
    conn, mask = geometry.interband_connection(E, A)
    assert mask[0, 0, 1] and not mask[1].any()
    assert not np.isinf(conn).any() and np.isnan(conn[0, :, 0, 1]).all()


# -- second Chern number of dirac4d --------------------------------------------------------------

@pytest.mark.parametrize("m0, c2", DIRAC4D_PHASES)
def test_dirac4d_second_chern_number_links(m0, c2):
    model = get_model("dirac4d", m0=m0)
    coarse = topology.second_chern_number_links(model, M0, n_k=8)
    fine = topology.second_chern_number_links(model, M0, n_k=12)
    assert round(fine) == c2
    assert abs(fine - c2) < 0.1
    assert abs(fine - c2) < abs(coarse - c2)  # converging towards the integer


def test_link_schemes_converge_to_the_same_integer():
    model = get_model("dirac4d", m0=-1.0)
    errors = {
        s: [abs(topology.second_chern_number_links(model, M0, n_k=n, scheme=s) - 3) for n in (6, 8, 10)]
        for s in topology.SCHEMES
    }
    for s, err in errors.items():
        assert err[0] > err[1] > err[2], s
    assert errors["improved"][-1] < 0.5 * errors["plaquette"][-1]


@pytest.mark.parametrize("m0, c2", DIRAC4D_PHASES)
def test_dirac4d_second_chern_number_sum_over_states_converges(m0, c2):
    model = get_model("dirac4d", m0=m0)
    values = [topology.second_chern_number_sum_over_states(model, M0, n_k=n) for n in (8, 12, 16)]
    errors = np.abs(np.array(values) - c2)
    assert np.all(np.diff(errors) < 0), errors
    assert errors[-1] < 2e-3


@pytest.mark.slow
@pytest.mark.parametrize("m0, c2", [(-2.5, -1), (0.5, -3), (4.5, 0)])
def test_dirac4d_second_chern_number_near_transitions(m0, c2):
    # gap 1 (half the mid-phase gap): slower convergence, finer meshes
    model = get_model("dirac4d", m0=m0)
    assert abs(topology.second_chern_number_sum_over_states(model, M0, n_k=28) - c2) < 1e-3
    assert abs(topology.second_chern_number_links(model, M0, n_k=20) - c2) < 0.05


def test_second_chern_number_needs_a_4d_lattice_model():
    with pytest.raises(ValueError):
        topology.second_chern_number_links(get_model("qwz"), M0)
    with pytest.raises(ValueError):
        topology.first_chern_number(get_model("dirac4d"), M0)
    with pytest.raises(ValueError):
        topology.first_chern_number(get_model("ti_surface"), M0)


# -- gauge invariance / covariance ---------------------------------------------------------------

def _geometry(model, k, m, U):
    E = eigensystem(model, k, m)[0]
    A = geometry.matrix_elements(U, model.dh_dk(k, m))
    return E, A


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


def test_bands_store_berry_curvature_in_k_integrates_to_the_chern_number(tmp_path):
    """The bands stage's occupied Omega_{k_x k_y}(k) on the mesh (eq. 2.6, Kubo form) integrates
    to the Chern number that the FHS link method gives independently, at every reference
    direction, and is antisymmetric in (k_i, k_j)."""
    import warnings as _warnings

    from magcore.config import validate
    from magcore.stages import run_bands
    from magcore.study import model_from_config
    from magcore.topology import first_chern_number

    cfg = validate({"study": "chern", "results_dir": str(tmp_path),
                    "model": {"name": "qwz", "parameters": {"u": -1.4, "J": 0.9}}, "electrons": {"filling": 1},
                    "mesh": {"n_k": 64}, "sphere": {"n_theta": 3, "n_phi": 2},
                    "bands": {"reference_directions_deg": [[0, 0], [180, 0]]}})
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        ds = run_bands(cfg, tmp_path / "bands.zarr")
    model = model_from_config(cfg)
    omega = ds.berry_curvature_k.values  # (direction, k_point, k_dim, k_dim2)
    np.testing.assert_allclose(omega, -np.swapaxes(omega, -1, -2), atol=1e-12)
    chern = 2 * np.pi * np.einsum("k,rk->r", ds.mesh_weight.values, omega[..., 0, 1])
    theta = ds.direction_theta.values
    for r, t in enumerate(theta):
        m = np.array([np.sin(t), 0.0, np.cos(t)]) * cfg["magnetization"]["magnitude"]
        reference = first_chern_number(model, m, n_k=64, bands=[0])
        assert abs(chern[r] - reference) < 1e-5, (t, chern[r], reference)  # quadrature error ~1e-7 at n_k = 64
    assert {round(c) for c in chern} == {0, 1}  # m_z = +1 topological, m_z = -1 trivial: not vacuous
    assert ds.berry_curvature_k.attrs["equation"] == "2.6"


def test_bands_store_berry_curvature_in_k_of_a_massive_dirac_cone(tmp_path):
    """TI surface (eq. 2.30) with mass J m_z: the occupied Omega_{k_x k_y} integrated over the
    cutoff disc is (sign m_z / 2) (1 - |J m_z| / sqrt(J^2 m_z^2 + v^2 k_c^2)), odd in m_z."""
    import warnings as _warnings

    from magcore.config import validate
    from magcore.stages import run_bands

    J, v, k_c = 0.7, 1.3, 50.0
    cfg = validate({"study": "cone", "results_dir": str(tmp_path),
                    "model": {"name": "ti_surface", "parameters": {"J": J, "v": v}},
                    "mesh": {"k_cutoff": k_c, "radial_panels": 24, "radial_order": 12},
                    "sphere": {"n_theta": 3, "n_phi": 2},
                    "bands": {"reference_directions_deg": [[0, 0], [180, 0], [60, 0]]}})
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        ds = run_bands(cfg, tmp_path / "bands.zarr")
    total = 2 * np.pi * np.einsum("k,rk->r", ds.mesh_weight.values, ds.berry_curvature_k.values[..., 0, 1])
    mz = np.cos(ds.direction_theta.values)
    expected = 0.5 * np.sign(mz) * (1 - np.abs(J * mz) / np.sqrt((J * mz) ** 2 + (v * k_c) ** 2))
    np.testing.assert_allclose(total, expected, rtol=1e-6)
