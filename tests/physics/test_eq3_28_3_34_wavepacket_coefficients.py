"""Second-order wavepacket coefficients per band (magcore.wavepacket): alpha (eq. 3.28), beta (3.29),
gamma (3.33), eta (3.34), chi (3.46).  Analytic derivatives against finite differences, beta = alpha
for a scalar coupling, gauge invariance, and NaN (not inf) on degenerate pairs.
"""

import numpy as np

from magcore import wavepacket as wp
from magcore.bands import eigensystem
from magcore.models import get_model
from magcore.models.base import Model, broadcast_km
from magcore.models.validation import GAMMA

from physics_helpers import M_GENERIC, rng as _rng


class PTDirac(Model):
    """Four-band PT-symmetric test model: every band is doubly degenerate (E = -/+ |d|),
    d = (sin kx, sin ky, J m_x, J m_y, u + cos kx + cos ky + J m_z) on G_1..G_5."""

    name = "pt_dirac_test"
    n_bands = 4
    dim = 2
    domain = "lattice"

    def __init__(self, u=-1.0, J=0.6):
        self.params = {"u": u, "J": J}

    def _d(self, k, m):
        k, m, batch = broadcast_km(k, m, 2)
        u, J = self.params["u"], self.params["J"]
        return np.stack(np.broadcast_arrays(np.sin(k[..., 0]), np.sin(k[..., 1]), J * m[..., 0], J * m[..., 1],
                                            u + np.cos(k[..., 0]) + np.cos(k[..., 1]) + J * m[..., 2]), -1)

    def hamiltonian(self, k, m):
        return np.einsum("...a,aij->...ij", self._d(k, m), GAMMA)

    def dh_dk(self, k, m):
        k, m, batch = broadcast_km(k, m, 2)
        kx = np.broadcast_to(k[..., 0], batch)
        ky = np.broadcast_to(k[..., 1], batch)
        dx = np.cos(kx)[..., None, None] * GAMMA[0] - np.sin(kx)[..., None, None] * GAMMA[4]
        dy = np.cos(ky)[..., None, None] * GAMMA[1] - np.sin(ky)[..., None, None] * GAMMA[4]
        return np.stack([dx, dy], axis=-3)

    def dh_dm(self, k, m):
        k, m, batch = broadcast_km(k, m, 2)
        J = self.params["J"]
        return np.broadcast_to(J * GAMMA[2:5], batch + (3, 4, 4)).copy()

    def lattice_vectors(self):
        return np.eye(2)


class ScalarCoupling(Model):
    """tmd at a fixed magnetization plus m_x times the identity: dH/dm_x = 1 (a scalar potential)."""

    name = "scalar_coupling_test"
    n_bands = 6
    dim = 2
    domain = "lattice"

    def __init__(self):
        self.base = get_model("tmd")
        self.params = {}

    def hamiltonian(self, k, m):
        k, m, batch = broadcast_km(k, m, 2)
        return self.base.hamiltonian(k, M_GENERIC) + m[..., 0, None, None] * np.eye(6)

    def dh_dk(self, k, m):
        k, m, batch = broadcast_km(k, m, 2)
        return np.broadcast_to(self.base.dh_dk(k, M_GENERIC), batch + (2, 6, 6))

    def dh_dm(self, k, m):
        k, m, batch = broadcast_km(k, m, 2)
        out = np.zeros(batch + (3, 6, 6), complex)
        out[..., 0, :, :] = np.eye(6)
        return out

    def lattice_vectors(self):
        return self.base.lattice_vectors()


KEYS = ("berry_kk", "berry_km", "berry_mm", "spin_dipole", "alpha", "dalpha_dm", "beta", "gamma", "eta", "chi")


# ---- analytic derivatives ----------------------------------------------------------------------------------


def test_analytic_m_derivative_of_alpha_matches_finite_differences():
    model = get_model("tmd")
    k = _rng().uniform(-1, 1, (30, 2))
    c = wp.band_coefficients(model, k, M_GENERIC)
    h = 1e-3
    for l in range(3):
        e = np.zeros(3)
        e[l] = h
        a = {s: wp.band_coefficients(model, k, M_GENERIC + s * e)["alpha"] for s in (-2, -1, 1, 2)}
        fd = (4 * (a[1] - a[-1]) / (2 * h) - (a[2] - a[-2]) / (4 * h)) / 3
        np.testing.assert_allclose(c["dalpha_dm"][..., l, :], fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())


def test_analytic_k_derivative_in_beta_matches_finite_differences():
    """The total-derivative term of beta (3.29) uses d_k S(V, M; 2) from resolvent perturbation theory."""
    model = get_model("tmd")
    k = _rng().uniform(-1, 1, (30, 2))

    def S2(kk):
        ev = wp._prepare(model, kk, M_GENERIC, second=False)
        return wp._S(ev.V, ev.M, ev.r, 2, ev.rows)

    ev = wp._prepare(model, k, M_GENERIC)
    dS = wp._dS(ev.V, ev.M, ev.r, 2, ev.V, ev.Wkk, ev.Wkm, ev.rows)
    h = 2e-4
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        fd = (4 * (S2(k + e) - S2(k - e)) / (2 * h) - (S2(k + 2 * e) - S2(k - 2 * e)) / (4 * h)) / 3
        np.testing.assert_allclose(dS[:, j], fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())


def test_beta_reduces_to_alpha_for_a_scalar_coupling():
    """If dH/dm_x = 1, a gradient d_j m_x acts like an electric field e E_j = d_j m_x, so
    beta_{i j x} = alpha_ij (3.28 vs 3.29); and eta_{x j x} = gamma_{x j} = 0."""
    model = ScalarCoupling()
    k = _rng().uniform(-1, 1, (25, 2))
    c = wp.band_coefficients(model, k, np.array([0.2, 0.0, 0.0]))
    np.testing.assert_allclose(c["beta"][..., 0, :], c["alpha"], rtol=1e-7, atol=1e-9 * np.abs(c["alpha"]).max())
    np.testing.assert_allclose(c["beta"][..., 1:, :], 0.0, atol=1e-12)
    # gamma's natural size is alpha's with one velocity replaced by dH/dm_x = 1 (~1e3 here): it
    # vanishes to round-off of that size (the orthogonality of the eigenvectors, amplified by the
    # cubed energy denominators)
    scale = np.abs(c["alpha"]).max() / np.abs(c["velocity"]).max()
    np.testing.assert_allclose(c["gamma"][:, 0], 0.0, atol=1e-12 * scale)


# ---- gauge invariance --------------------------------------------------------------------------------------


def test_coefficients_gauge_invariant_under_random_phases():
    model = get_model("tmd")
    k = _rng().uniform(-1.5, 1.5, (40, 2))
    E, U = eigensystem(model, k, M_GENERIC)
    ref = wp.band_coefficients(model, k, M_GENERIC, eig=(E, U))
    phases = np.exp(1j * _rng().uniform(0, 2 * np.pi, E.shape))
    new = wp.band_coefficients(model, k, M_GENERIC, eig=(E, U * phases[:, None, :]))
    for key in KEYS:
        assert np.isfinite(ref[key]).all(), key
        np.testing.assert_allclose(new[key], ref[key], rtol=1e-9, atol=1e-9 * np.abs(ref[key]).max(), err_msg=key)
    grad = _rng(3).normal(size=(2, 3)) * 0.01
    g_ref = wp.texture_geometry(model, k, M_GENERIC, grad, occupied=[0, 1], eig=(E, U))
    g_new = wp.texture_geometry(model, k, M_GENERIC, grad, occupied=[0, 1], eig=(E, U * phases[:, None, :]))
    for key in ("first_chern", "second_chern", "second_chern_nonabelian"):
        np.testing.assert_allclose(g_new[key], g_ref[key], rtol=1e-9, atol=1e-12 * np.abs(g_ref[key]).max())


def _random_u2(rng, shape):
    z = rng.normal(size=shape + (2, 2)) + 1j * rng.normal(size=shape + (2, 2))
    q, r = np.linalg.qr(z)
    return q


def test_degenerate_pairs_nonabelian_invariant_per_band_nan():
    """PT-symmetric model, all bands doubly degenerate: the occupied-subspace second Chern form
    is unchanged by random U(2) rotations inside the pairs; per-band coefficients are NaN (not
    inf) and flagged."""
    model = PTDirac()
    k = _rng().uniform(-np.pi, np.pi, (30, 2))
    m = np.array([0.3, -0.4, 0.5])
    E, U = eigensystem(model, k, m)
    assert np.allclose(E[:, 0], E[:, 1]) and np.allclose(E[:, 2], E[:, 3])
    grad = np.array([[0.0, 0.0, 0.0], [0.05, -0.02, 0.03]])
    ref = wp.texture_geometry(model, k, m, grad, occupied=[0, 1], eig=(E, U))
    W = np.zeros((30, 4, 4), complex)
    W[:, :2, :2] = _random_u2(_rng(5), (30,))
    W[:, 2:, 2:] = _random_u2(_rng(5), (30,))
    new = wp.texture_geometry(model, k, m, grad, occupied=[0, 1], eig=(E, U @ W))
    val = ref["second_chern_nonabelian"]
    assert np.abs(val).max() > 1e-3  # a 4D Dirac structure in (kx, ky, mx, my): nonzero
    np.testing.assert_allclose(new["second_chern_nonabelian"], val, rtol=1e-9, atol=1e-12)
    c = wp.band_coefficients(model, k, m, eig=(E, U))
    assert c["degenerate"].all()
    for key in KEYS:
        assert np.isnan(c[key]).all() and not np.isinf(c[key]).any()
