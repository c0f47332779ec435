"""The spin monopole (dissertation eq. 1.10), the ground truth of the sign convention: the lower state
of H = m . s has Omega_{m_x m_y} = m_z / (2 |m|^3) (g = 2) with the sum-over-states Berry curvature
Omega = -2 Im <d_i u|d_j u> (defined below eq. 2.7), for the closed-form two-band eigensystem and
for LAPACK eigenvectors.
"""

import numpy as np
import pytest

from magcore.bands import eigensystem
from magcore.geometry import berry_curvature, matrix_elements
from magcore.models import PAULI, Model, TwoBandModel
from magcore.models.base import broadcast_km


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
